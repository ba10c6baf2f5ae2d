/*
 * model.h - the controller's in-memory view of the cluster: live brokers,
 * topics with their replica assignment, per-partition leader/ISR state and
 * topic configs.  Everything here is rebuildable from ZooKeeper; the model
 * only caches what was last read or successfully written there.
 *
 * Thread: the controller's event loop only.
 */
#ifndef WEIR_CTL_MODEL_H
#define WEIR_CTL_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "znode.h"

#define CM_LEADER_NONE (-1)
#define CM_LEADER_DELETING (-2) /* UpdateMetadata's LeaderDuringDelete */

typedef struct cbroker {
    int32_t id;
    int64_t epoch; /* czxid of /brokers/ids/<id> */
    char host[256];
    int32_t port;
    char rack[64]; /* "" = none */
} cbroker_t;

typedef struct cpart {
    int32_t nrep;
    int32_t *rep;       /* assignment order; head = preferred leader */
    bool has_state;     /* state znode read or written */
    zn_pstate_t st;
    int32_t zkver;      /* zkVersion of the state znode (partition epoch) */
} cpart_t;

/* Per-broker progress of a topic deletion's StopReplica(delete=true). */
enum { CM_DEL_UNSENT = 0, CM_DEL_SENT = 1, CM_DEL_DONE = 2 };

typedef struct ctopic {
    char *name;
    char topic_id[23];
    int32_t nparts;
    cpart_t *parts;
    zn_kv_t *cfg;
    int ncfg;
    bool deleting;
    int ndel;             /* brokers holding replicas, for deletion */
    int32_t *del_broker;
    uint8_t *del_state;   /* CM_DEL_* */
    uint64_t *del_tag;    /* channel tag of the StopReplica in flight */
} ctopic_t;

typedef struct cmodel {
    cbroker_t *brokers; /* live brokers, sorted by id */
    int nbrokers;
    ctopic_t **topics;  /* sorted by name */
    int ntopics;
} cmodel_t;

void cm_init(cmodel_t *m);
void cm_free(cmodel_t *m);

const cbroker_t *cm_broker(const cmodel_t *m, int32_t id);
bool cm_live(const cmodel_t *m, int32_t id);
/* Insert or replace (by id). */
void cm_broker_put(cmodel_t *m, const cbroker_t *b);
void cm_broker_del(cmodel_t *m, int32_t id);

ctopic_t *cm_topic(const cmodel_t *m, const char *name);
/* Create an empty topic entry (name copied) and insert it; existing → returned as is. */
ctopic_t *cm_topic_add(cmodel_t *m, const char *name);
void cm_topic_del(cmodel_t *m, const char *name);
/* Replace the topic's assignment with `a` (partitions kept where they exist;
 * a partition's state survives when its replica list is unchanged). */
void cm_topic_set_assignment(ctopic_t *t, const zn_assignment_t *a);
void cm_topic_set_config(ctopic_t *t, zn_kv_t *kv, int n); /* takes ownership */
/* Number of brokers in the union of the topic's replicas (fills del_* arrays). */
void cm_topic_start_delete(ctopic_t *t);

bool cm_contains(const int32_t *a, int n, int32_t v);

/*
 * Offline election (Kafka's OfflinePartitionLeaderElection, unclean off):
 * drop dead brokers from the ISR; keep a live leader that is in the ISR,
 * otherwise pick the first replica in assignment order that is live and in
 * the ISR.  With no live ISR member: leader -1 and the ISR keeps one member
 * (the old leader if it was in the ISR, else the ISR's last member) so it is
 * never empty.  Any change bumps leader_epoch.  Returns true if *out differs
 * from the current state.  Pure: `live(ctx, id)` decides liveness.
 */
bool cm_elect_offline(const cpart_t *p, bool (*live)(const void *ctx, int32_t id), const void *ctx,
                      int32_t controller_epoch, zn_pstate_t *out);
/* Initial state of a new partition: leader = first live replica, ISR = live
 * replicas, leader_epoch 0.  Returns false if no replica is live. */
bool cm_initial_state(const cpart_t *p, bool (*live)(const void *ctx, int32_t id), const void *ctx,
                      int32_t controller_epoch, zn_pstate_t *out);
/* Liveness predicate over a cmodel_t (ctx = the model). */
bool cm_live_pred(const void *ctx, int32_t id);

/* Checks the invariants of a partition state against its assignment:
 * ISR non-empty, members distinct and assigned, leader -1 or in the ISR. */
bool cm_state_valid(const cpart_t *p, const zn_pstate_t *s);

#endif
