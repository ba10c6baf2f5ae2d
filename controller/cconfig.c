/*
 * cconfig.c - the controller's configuration table.
 *
 * Owns: ccfg_defs[] (the same table drives parsing, --override, --help and
 * conf/controller.properties) and the syntax checks of its string keys.
 * Invariant: after ccfg_cmdline, listeners and zookeeper.connect are well
 * formed.  Thread: main thread at start-up.
 */
#include "controller/cconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#define F(field) offsetof(ccfg_t, field)

const cfg_def_t ccfg_defs[] = {
    {"controller.id", CFG_INT, NULL, 0, INT32_MAX, F(controller_id), true,
     "The id of this controller; unique among the cluster's controllers"},
    {"listeners", CFG_STRING, "PLAINTEXT://127.0.0.1:9093", 0, 0, F(listeners), false,
     "NAME://host:port the controller listens on for brokers (AlterPartition, ControlledShutdown, forwarding)"},
    {"zookeeper.connect", CFG_STRING, NULL, 0, 0, F(zookeeper_connect), true,
     "ZooKeeper connection string host:port[,host:port...][/chroot]; the chroot is created if missing"},
    {"zookeeper.session.timeout.ms", CFG_INT, "6000", 1, INT32_MAX, F(zookeeper_session_timeout_ms), false,
     "ZooKeeper session timeout: how long a dead active controller keeps /controller"},
    {"num.partitions", CFG_INT, "1", 1, INT32_MAX, F(num_partitions), false,
     "Partition count for CreateTopics with -1 and for auto-created topics"},
    {"default.replication.factor", CFG_SHORT, "1", 1, INT16_MAX, F(default_replication_factor), false,
     "Replication factor for CreateTopics with -1 and for auto-created topics"},
    {"controller.socket.timeout.ms", CFG_INT, "30000", 1, INT32_MAX, F(controller_socket_timeout_ms), false,
     "Timeout of a controller-to-broker request before the connection is reset"},
    {"delete.topic.enable", CFG_BOOL, "true", 0, 0, F(delete_topic_enable), false,
     "Allow topic deletion; when false DeleteTopics fails with TOPIC_DELETION_DISABLED"},
    {"unclean.leader.election.enable", CFG_BOOL, "false", 0, 0, F(unclean_leader_election_enable), false,
     "Elect a replica outside the ISR when no in-sync replica is live (may lose data); a topic's own "
     "unclean.leader.election.enable overrides it and is read at election time"},
    {"auto.leader.rebalance.enable", CFG_BOOL, "true", 0, 0, F(auto_leader_rebalance_enable), false,
     "Move leadership back to preferred replicas when a broker's imbalance exceeds "
     "leader.imbalance.per.broker.percentage"},
    {"leader.imbalance.per.broker.percentage", CFG_INT, "10", 0, 100, F(leader_imbalance_per_broker_percentage),
     false, "Per broker, the percentage of the partitions it prefers but does not lead above which a preferred "
     "election runs"},
    {"leader.imbalance.check.interval.seconds", CFG_INT, "300", 1, INT32_MAX,
     F(leader_imbalance_check_interval_seconds), false,
     "How often the active controller checks leader imbalance (first check 5 s after it becomes active)"},
};
const size_t ccfg_ndefs = sizeof ccfg_defs / sizeof ccfg_defs[0];

int ccfg_resolve(ccfg_t *c, char *err, size_t errlen)
{
    if (cfg_check_listeners("listeners", c->listeners, err, errlen) < 0)
        return -1;
    return cfg_check_zk_connect("zookeeper.connect", c->zookeeper_connect, err, errlen);
}

void ccfg_cmdline(int argc, char **argv, ccfg_t *out)
{
    cfg_cmdline("weir-controller", argc, argv, ccfg_defs, ccfg_ndefs, out);
    char err[512];
    if (ccfg_resolve(out, err, sizeof err) < 0) {
        fprintf(stderr, "weir-controller: %s\n", err);
        ccfg_free(out);
        exit(EX_CONFIG);
    }
}

void ccfg_free(ccfg_t *c) { cfg_free(ccfg_defs, ccfg_ndefs, c); }
