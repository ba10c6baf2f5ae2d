/*
 * bconfig.h - the broker's configuration: Kafka's property names and
 * defaults, one field per key (named after the key).
 */
#ifndef WEIR_BCONFIG_H
#define WEIR_BCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct bcfg {
    int32_t broker_id;                       /* broker.id (required, 0..) */
    char *listeners;                         /* listeners, default PLAINTEXT://127.0.0.1:9092 */
    char *advertised_listeners;              /* advertised.listeners; "" in the file = listeners
                                                (bcfg_resolve copies listeners in) */
    char *log_dirs;                          /* log.dirs (comma list), default /tmp/weir-logs */
    char *zookeeper_connect;                 /* zookeeper.connect (required) host:port[,..][/chroot] */
    int32_t zookeeper_session_timeout_ms;    /* zookeeper.session.timeout.ms, default 6000 */
    int32_t zookeeper_connection_timeout_ms; /* -1 in the file = session timeout (resolved) */
    int32_t num_partitions;                  /* num.partitions, default 1 */
    int16_t default_replication_factor;      /* default.replication.factor, default 1 */
    bool auto_create_topics_enable;          /* auto.create.topics.enable, default true */
    bool delete_topic_enable;                /* delete.topic.enable, default true */
    int64_t log_segment_bytes;               /* log.segment.bytes, default 1073741824, min 14 */
    int64_t log_roll_ms;                     /* log.roll.ms; -1 in the file = log.roll.hours
                                                (after bcfg_resolve: the effective value) */
    int32_t log_roll_hours;                  /* log.roll.hours, default 168 */
    int64_t log_retention_ms;                /* log.retention.ms (-1 unlimited; CFG_UNSET_LONG if absent) */
    int32_t log_retention_minutes;           /* log.retention.minutes (CFG_UNSET_INT if absent) */
    int32_t log_retention_hours;             /* log.retention.hours, default 168 */
    int64_t log_retention_ms_effective;      /* computed: ms, else minutes, else hours; -1 = unlimited */
    int64_t log_retention_bytes;             /* log.retention.bytes, default -1 */
    int64_t log_retention_check_interval_ms; /* log.retention.check.interval.ms, default 300000 */
    int32_t log_index_interval_bytes;        /* log.index.interval.bytes, default 4096 */
    int32_t log_index_size_max_bytes;        /* log.index.size.max.bytes, default 10485760 */
    int64_t log_flush_interval_ms;           /* log.flush.offset.checkpoint.interval.ms, default 60000 */
    int32_t message_max_bytes;               /* message.max.bytes, default 1048588 */
    int32_t socket_request_max_bytes;        /* socket.request.max.bytes, default 104857600 */
    int32_t num_network_threads;             /* num.network.threads, default 3 (1..64) */
    char *broker_rack;                       /* broker.rack, default "" */
    int32_t min_insync_replicas;             /* min.insync.replicas, default 1 */
    int32_t replica_lag_time_max_ms;         /* replica.lag.time.max.ms, default 30000 */
    bool unclean_leader_election_enable;     /* unclean.leader.election.enable, default false */
    int32_t group_initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms, default 3000 */
    int32_t offsets_topic_num_partitions;    /* offsets.topic.num.partitions, default 50 */
    int16_t offsets_topic_replication_factor; /* offsets.topic.replication.factor, default 3 */
    int32_t group_min_session_timeout_ms;   /* group.min.session.timeout.ms, default 6000 */
    int32_t group_max_session_timeout_ms;   /* group.max.session.timeout.ms, default 1800000 */
    int32_t group_max_size;                 /* group.max.size, default 2147483647 */
    int32_t offsets_retention_minutes;      /* offsets.retention.minutes, default 10080 */
    int64_t offsets_retention_check_interval_ms; /* offsets.retention.check.interval.ms, default 600000 */
    int32_t offset_metadata_max_bytes;      /* offset.metadata.max.bytes, default 4096 */
    int32_t offsets_commit_timeout_ms;      /* offsets.commit.timeout.ms, default 5000 */
} bcfg_t;

extern const cfg_def_t bcfg_defs[];
extern const size_t bcfg_ndefs;

/* cfg_cmdline + bcfg_resolve; prints "weir-broker: <message>" and exits
 * EX_CONFIG (78) if the derived checks fail. */
void bcfg_cmdline(int argc, char **argv, bcfg_t *out);

/*
 * Derived values and cross-key checks after cfg_load: connection timeout,
 * log.roll.ms, log_retention_ms_effective, advertised.listeners (copied from
 * listeners when empty; 0.0.0.0 refused), listener, log.dirs and
 * zookeeper.connect syntax.  0, or -1 with a message naming key and value.
 */
int bcfg_resolve(bcfg_t *c, char *err, size_t errlen);

/* Release the strings (cfg_free on the broker table). */
void bcfg_free(bcfg_t *c);

#endif
