/*
 * cconfig.h - the controller's configuration: Kafka's property names and
 * defaults where the concept exists, one field per key.
 */
#ifndef WEIR_CCONFIG_H
#define WEIR_CCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct ccfg {
    int32_t controller_id;                /* controller.id (required, 0..) */
    char *listeners;                      /* listeners, default PLAINTEXT://127.0.0.1:9093 */
    char *zookeeper_connect;              /* zookeeper.connect (required) host:port[,..][/chroot] */
    int32_t zookeeper_session_timeout_ms; /* zookeeper.session.timeout.ms, default 6000 */
    int32_t num_partitions;               /* num.partitions: CreateTopics with -1 and auto-creation, default 1 */
    int16_t default_replication_factor;   /* default.replication.factor, default 1 */
    int32_t controller_socket_timeout_ms; /* controller.socket.timeout.ms, default 30000 */
    bool delete_topic_enable;             /* delete.topic.enable, default true */
    bool unclean_leader_election_enable;  /* unclean.leader.election.enable, default false */
    bool auto_leader_rebalance_enable;    /* auto.leader.rebalance.enable, default true */
    int32_t leader_imbalance_per_broker_percentage; /* leader.imbalance.per.broker.percentage, default 10 */
    int32_t leader_imbalance_check_interval_seconds; /* leader.imbalance.check.interval.seconds, default 300 */
} ccfg_t;

extern const cfg_def_t ccfg_defs[];
extern const size_t ccfg_ndefs;

/* cfg_cmdline + ccfg_resolve; prints "weir-controller: <message>" and exits
 * EX_CONFIG (78) on a bad value. */
void ccfg_cmdline(int argc, char **argv, ccfg_t *out);

/* Cross-key and syntax checks after cfg_load (listeners, zookeeper.connect).
 * 0, or -1 with a message naming key and value. */
int ccfg_resolve(ccfg_t *c, char *err, size_t errlen);

/* Release the strings (cfg_free on the controller table). */
void ccfg_free(ccfg_t *c);

#endif
