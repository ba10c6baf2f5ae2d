/*
 * bconfig.c - the broker's configuration table and its derived values.
 *
 * Owns: bcfg_defs[] (Kafka's names, defaults and ranges; the same table
 * drives parsing, --override, --help and conf/broker.properties) and the
 * resolution of keys that depend on other keys (retention ms/minutes/hours,
 * log.roll.ms/hours, connection timeout, advertised.listeners).
 *
 * Invariants: after bcfg_cmdline/bcfg_resolve, log_retention_ms_effective,
 * log_roll_ms and zookeeper_connection_timeout_ms hold effective values and
 * advertised_listeners is never empty.
 *
 * Thread: main thread at start-up (and on reload, into a fresh bcfg_t).
 */
#include "broker/bconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#define F(field) offsetof(bcfg_t, field)
#define I32MAX INT32_MAX
#define I64MAX INT64_MAX

const cfg_def_t bcfg_defs[] = {
    {"broker.id", CFG_INT, NULL, 0, I32MAX, F(broker_id), true,
     "The broker id of this server; unique in the cluster"},
    {"listeners", CFG_STRING, "PLAINTEXT://127.0.0.1:9092", 0, 0, F(listeners), false,
     "Comma list of NAME://host:port to listen on; the first is used; empty host = all interfaces"},
    {"advertised.listeners", CFG_STRING, "", 0, 0, F(advertised_listeners), false,
     "Listeners published in ZooKeeper and Metadata for clients and other brokers; empty = listeners"},
    {"log.dirs", CFG_STRING, "/tmp/weir-logs", 0, 0, F(log_dirs), false,
     "Comma list of directories holding the partition logs"},
    {"zookeeper.connect", CFG_STRING, NULL, 0, 0, F(zookeeper_connect), true,
     "ZooKeeper connection string host:port[,host:port...][/chroot]; the chroot is created if missing"},
    {"zookeeper.session.timeout.ms", CFG_INT, "6000", 1, I32MAX, F(zookeeper_session_timeout_ms), false,
     "ZooKeeper session timeout: how long a silent broker stays registered"},
    {"zookeeper.connection.timeout.ms", CFG_INT, "-1", -1, I32MAX, F(zookeeper_connection_timeout_ms), false,
     "Max time to wait for the first ZooKeeper connection; -1 = zookeeper.session.timeout.ms"},
    {"num.partitions", CFG_INT, "1", 1, I32MAX, F(num_partitions), false,
     "Default partition count for auto-created topics and CreateTopics with -1"},
    {"default.replication.factor", CFG_SHORT, "1", 1, INT16_MAX, F(default_replication_factor), false,
     "Default replication factor for auto-created topics and CreateTopics with -1"},
    {"auto.create.topics.enable", CFG_BOOL, "true", 0, 0, F(auto_create_topics_enable), false,
     "Create a topic when a client asks Metadata for one that does not exist"},
    {"delete.topic.enable", CFG_BOOL, "true", 0, 0, F(delete_topic_enable), false,
     "Allow DeleteTopics; when false the request fails with TOPIC_DELETION_DISABLED"},
    {"log.segment.bytes", CFG_LONG, "1073741824", 14, I32MAX, F(log_segment_bytes), false,
     "Maximum size of one segment file before a new one is rolled"},
    {"log.roll.ms", CFG_LONG, "-1", -1, I64MAX, F(log_roll_ms), false,
     "Roll a new segment after this many ms even if not full; -1 = log.roll.hours"},
    {"log.roll.hours", CFG_INT, "168", 1, I32MAX, F(log_roll_hours), false,
     "Roll a new segment after this many hours (used when log.roll.ms is -1)"},
    {"log.retention.ms", CFG_LONG, NULL, -1, I64MAX, F(log_retention_ms), false,
     "Delete closed segments older than this; -1 = keep forever; wins over minutes and hours"},
    {"log.retention.minutes", CFG_INT, NULL, -1, I32MAX, F(log_retention_minutes), false,
     "Retention in minutes, used when log.retention.ms is not set; wins over hours"},
    {"log.retention.hours", CFG_INT, "168", -1, I32MAX, F(log_retention_hours), false,
     "Retention in hours, used when neither log.retention.ms nor log.retention.minutes is set"},
    {"log.retention.bytes", CFG_LONG, "-1", -1, I64MAX, F(log_retention_bytes), false,
     "Delete oldest closed segments while a partition is larger than this; -1 = no size limit"},
    {"log.retention.check.interval.ms", CFG_LONG, "300000", 1, I64MAX, F(log_retention_check_interval_ms),
     false, "How often the retention task looks for segments to delete"},
    {"log.index.interval.bytes", CFG_INT, "4096", 0, I32MAX, F(log_index_interval_bytes), false,
     "Bytes of log between two entries of the sparse offset index"},
    {"log.index.size.max.bytes", CFG_INT, "10485760", 4, I32MAX, F(log_index_size_max_bytes), false,
     "Maximum size of an offset index file; a full index rolls the segment"},
    {"log.flush.offset.checkpoint.interval.ms", CFG_LONG, "60000", 0, I32MAX, F(log_flush_interval_ms), false,
     "How often the recovery-point checkpoint of each log dir is written"},
    {"message.max.bytes", CFG_INT, "1048588", 0, I32MAX, F(message_max_bytes), false,
     "Largest record batch the broker accepts (topic override: max.message.bytes)"},
    {"socket.request.max.bytes", CFG_INT, "104857600", 1, I32MAX, F(socket_request_max_bytes), false,
     "Largest request frame accepted on a connection; bigger frames close it"},
    {"num.network.threads", CFG_INT, "3", 1, 64, F(num_network_threads), false,
     "Network threads for connections; this version serves every connection from one event loop and logs a notice for values above 1"},
    {"broker.rack", CFG_STRING, "", 0, 0, F(broker_rack), false,
     "Rack of this broker, used for rack-aware replica placement; empty = none"},
    {"min.insync.replicas", CFG_INT, "1", 1, I32MAX, F(min_insync_replicas), false,
     "Minimum ISR size for an acks=all produce to succeed"},
    {"replica.lag.time.max.ms", CFG_INT, "30000", 1, I32MAX, F(replica_lag_time_max_ms), false,
     "A follower not caught up for this long is removed from the ISR"},
    {"unclean.leader.election.enable", CFG_BOOL, "false", 0, 0, F(unclean_leader_election_enable), false,
     "Allow a replica outside the ISR to become leader (may lose acknowledged data)"},
    {"group.initial.rebalance.delay.ms", CFG_INT, "3000", 0, I32MAX, F(group_initial_rebalance_delay_ms),
     false, "How long a new consumer group waits for more members before its first rebalance"},
    {"offsets.topic.num.partitions", CFG_INT, "50", 1, I32MAX, F(offsets_topic_num_partitions), false,
     "Partition count of __consumer_offsets (do not change after it exists)"},
    {"offsets.topic.replication.factor", CFG_SHORT, "3", 1, INT16_MAX, F(offsets_topic_replication_factor),
     false, "Replication factor of __consumer_offsets; creation waits until this many brokers are alive"},
    {"group.min.session.timeout.ms", CFG_INT, "6000", 0, I32MAX, F(group_min_session_timeout_ms), false,
     "Smallest session timeout a group member may ask for (else INVALID_SESSION_TIMEOUT)"},
    {"group.max.session.timeout.ms", CFG_INT, "1800000", 0, I32MAX, F(group_max_session_timeout_ms), false,
     "Largest session timeout a group member may ask for (else INVALID_SESSION_TIMEOUT)"},
    {"group.max.size", CFG_INT, "2147483647", 1, I32MAX, F(group_max_size), false,
     "Most members a consumer group may have (else GROUP_MAX_SIZE_REACHED)"},
    {"offsets.retention.minutes", CFG_INT, "10080", 1, I32MAX, F(offsets_retention_minutes), false,
     "How long committed offsets of a group without members are kept"},
    {"offsets.retention.check.interval.ms", CFG_LONG, "600000", 1, I64MAX, F(offsets_retention_check_interval_ms),
     false, "How often expired committed offsets are looked for"},
    {"offset.metadata.max.bytes", CFG_INT, "4096", 0, I32MAX, F(offset_metadata_max_bytes), false,
     "Longest metadata string an offset commit may carry (else OFFSET_METADATA_TOO_LARGE)"},
    {"offsets.commit.timeout.ms", CFG_INT, "5000", 1, I32MAX, F(offsets_commit_timeout_ms), false,
     "How long a write to __consumer_offsets may wait for all in-sync replicas"},
};
const size_t bcfg_ndefs = sizeof bcfg_defs / sizeof bcfg_defs[0];

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Kafka: log.retention.ms, else minutes, else hours; any negative = unlimited. */
static void resolve_retention(bcfg_t *c)
{
    int64_t ms;
    if (c->log_retention_ms != CFG_UNSET_LONG)
        ms = c->log_retention_ms;
    else if (c->log_retention_minutes != CFG_UNSET_INT)
        ms = (int64_t)c->log_retention_minutes * 60 * 1000;
    else
        ms = (int64_t)c->log_retention_hours * 60 * 60 * 1000;
    c->log_retention_ms_effective = ms < 0 ? -1 : ms;
}

static int check_log_dirs(const char *v, char *err, size_t errlen)
{
    if (v[0] == '\0' || v[0] == ',' || v[strlen(v) - 1] == ',' || strstr(v, ",,"))
        return fail(err, errlen, "Invalid value '%s' for configuration 'log.dirs': expected a comma list of "
                                 "directories", v);
    return 0;
}

static int resolve_listeners(bcfg_t *c, char *err, size_t errlen)
{
    if (cfg_check_listeners("listeners", c->listeners, err, errlen) < 0)
        return -1;
    if (c->advertised_listeners[0] == '\0') {
        char *copy = strdup(c->listeners);
        if (!copy)
            return fail(err, errlen, "Out of memory");
        free(c->advertised_listeners);
        c->advertised_listeners = copy;
        return 0;
    }
    if (cfg_check_listeners("advertised.listeners", c->advertised_listeners, err, errlen) < 0)
        return -1;
    /* Clients cannot connect to the wildcard address: refuse it up front
     * instead of letting every client fail later with a confusing error. */
    for (const char *s = c->advertised_listeners; s; s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL) {
        char host[256];
        int port;
        if (cfg_parse_listener(s, host, sizeof host, &port) == 0 &&
            (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0))
            return fail(err, errlen, "Invalid value '%s' for configuration 'advertised.listeners': "
                                     "cannot advertise the wildcard address %s; use a routable host",
                        c->advertised_listeners, host);
    }
    return 0;
}

int bcfg_resolve(bcfg_t *c, char *err, size_t errlen)
{
    if (c->zookeeper_connection_timeout_ms < 0)
        c->zookeeper_connection_timeout_ms = c->zookeeper_session_timeout_ms;
    if (c->log_roll_ms == 0)
        return fail(err, errlen, "Invalid value '0' for configuration 'log.roll.ms': must be at least 1, "
                                 "or -1 to use log.roll.hours");
    if (c->log_roll_ms < 0)
        c->log_roll_ms = (int64_t)c->log_roll_hours * 60 * 60 * 1000;
    resolve_retention(c);
    if (check_log_dirs(c->log_dirs, err, errlen) < 0)
        return -1;
    if (cfg_check_zk_connect("zookeeper.connect", c->zookeeper_connect, err, errlen) < 0)
        return -1;
    if (c->message_max_bytes > c->socket_request_max_bytes)
        return fail(err, errlen, "Invalid value '%d' for configuration 'message.max.bytes': larger than "
                                 "socket.request.max.bytes (%d), so such batches could never arrive",
                    (int)c->message_max_bytes, (int)c->socket_request_max_bytes);
    return resolve_listeners(c, err, errlen);
}

void bcfg_cmdline(int argc, char **argv, bcfg_t *out)
{
    cfg_cmdline("weir-broker", argc, argv, bcfg_defs, bcfg_ndefs, out);
    char err[512];
    if (bcfg_resolve(out, err, sizeof err) < 0) {
        fprintf(stderr, "weir-broker: %s\n", err);
        bcfg_free(out);
        exit(EX_CONFIG);
    }
}

void bcfg_free(bcfg_t *c) { cfg_free(bcfg_defs, bcfg_ndefs, c); }
