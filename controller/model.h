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
    bool unclean;  /* registered as restarted after an unclean shutdown (R22) */
} cbroker_t;

typedef struct cpart {
    int32_t nrep;
    int32_t *rep;       /* assignment order; head = preferred leader */
    bool has_state;     /* state znode read or written */
    zn_pstate_t st;
    int32_t zkver;      /* zkVersion of the state znode (partition epoch) */
    int64_t mzxid;      /* zxid of the state znode's last write (INT64_MAX: written by us) */
    /* Reassignment in progress (from the topic znode): rep = TRS ++ (ORS-TRS),
     * add = TRS-ORS, rem = ORS-TRS; both empty when none. */
    int32_t nadd, *add;
    int32_t nrem, *rem;
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

typedef bool (*cm_pred_t)(const void *ctx, int32_t id);

/* cm_elect_offline with `unclean` allowed: when no live ISR member exists,
 * the first live replica in assignment order leads with ISR [leader]
 * (*was_unclean set).  Without it, identical to cm_elect_offline. */
bool cm_elect_offline_ex(const cpart_t *p, cm_pred_t live, const void *ctx, int32_t controller_epoch, bool unclean,
                         zn_pstate_t *out, bool *was_unclean);
/*
 * Controlled-shutdown election (Kafka's ControlledShutdownLeaderElection
 * plus the OfflineReplica ISR removal): ISR minus the brokers `shutting`
 * names; the leader stays if it is live and still in that ISR, else the
 * first replica in assignment order that is live and in it.  Leader epoch
 * bumped.  Returns false (no change possible) when the new ISR would be empty
 * or no leader is left (RF 1, no in-sync successor): the partition remains
 * where it is.  `live` must be true for shutting brokers' liveness too.
 */
bool cm_elect_shutdown(const cpart_t *p, cm_pred_t live, cm_pred_t shutting, const void *ctx,
                       int32_t controller_epoch, zn_pstate_t *out);
/* Preferred election: the assignment head leads if it is live, in the ISR
 * and not the leader already; ISR unchanged, epoch bumped. */
bool cm_elect_preferred(const cpart_t *p, cm_pred_t live, const void *ctx, int32_t controller_epoch,
                        zn_pstate_t *out);
/*
 * The end of a reassignment (steps c+d of KIP-455 in one write): leader =
 * the current one if it is live and in `trs`, else the first member of `trs`
 * that is live and in the ISR; ISR = ISR restricted to `trs`; epoch bumped.
 * False when no member of trs is live and in sync.
 */
bool cm_elect_reassign(const cpart_t *p, const int32_t *trs, int ntrs, cm_pred_t live, const void *ctx,
                       int32_t controller_epoch, zn_pstate_t *out);

/*
 * Unclean-shutdown awareness (R22) for a partition whose ISR is exactly one
 * broker x and which has another assigned replica (with a single replica
 * there is no other copy to wait for, and nothing to protect):
 *   CM_R22_HOLD    the state records the block (no leader, ISR [x]): x must
 *                  not be elected; nothing to write;
 *   CM_R22_RECORD  x registered as restarted after an unclean shutdown
 *                  (x_unclean) and the partition has no leader, or x leads
 *                  it only by a state written before x's current
 *                  registration (x_newer: a bounce no controller saw, e.g.
 *                  while none was active): *out = leader -1, ISR [x], the
 *                  block recorded; the leader epoch is bumped when a leader
 *                  is removed, kept otherwise;
 *   CM_R22_NONE    no restriction (also when x leads by a state written
 *                  after it registered: a controller elected it knowingly).
 * The block is recorded in ZooKeeper so that it outlives x's registration:
 * x restarting cleanly before the partition was resolved does not lift it.
 * Unclean leader election enabled for the topic overrides all of it; the
 * caller checks that (it needs the topic config).
 */
typedef enum { CM_R22_NONE, CM_R22_HOLD, CM_R22_RECORD } cm_r22_t;
cm_r22_t cm_r22_decide(const cpart_t *p, bool x_unclean, bool x_newer, int32_t controller_epoch, zn_pstate_t *out);

/*
 * R22 for an ISR of two or more (at controller takeover): members for which
 * `unseen` holds (registered after an unclean shutdown, after the state was
 * last written: they crashed and came back while no controller ran) leave
 * the ISR when a remaining member is live; if the leader is among them, the
 * first live remaining member in assignment order leads.  Leader epoch
 * bumped.  False when nothing changes (then the sole-member rules apply).
 */
bool cm_r22_shrink(const cpart_t *p, cm_pred_t unseen, cm_pred_t live, const void *ctx, int32_t controller_epoch,
                   zn_pstate_t *out);
/*
 * The operator's unclean election (scripts/leader-election.sh --election-type
 * unclean): for a partition without a live leader, the first ISR member in
 * assignment order that is eligible (live, not shutting down), else the
 * first live one, leads, even one blocked by R22; only if no ISR member is
 * live does the first eligible, else live, replica lead with ISR [leader]
 * (Kafka's unclean rule, and *was_unclean set).  Leader epoch bumped, block
 * cleared.  False when the partition has a live leader already or no
 * replica is live.
 */
bool cm_elect_override(const cpart_t *p, cm_pred_t eligible, cm_pred_t live, const void *ctx,
                       int32_t controller_epoch, zn_pstate_t *out, bool *was_unclean);

/* Reassignment sets (Kafka's RS = (TRS ++ ORS).distinct, AR = TRS-ORS,
 * RR = ORS-TRS).  rs needs nors+ntrs slots, ar ntrs, rr nors. */
void cm_ra_plan(const int32_t *ors, int nors, const int32_t *trs, int ntrs, int32_t *rs, int *nrs, int32_t *ar,
                int *nar, int32_t *rr, int *nrr);
/* TRS (rep minus rem) and ORS (rep minus add) of a partition; out needs nrep slots. */
int cm_ra_target(const cpart_t *p, int32_t *out);
int cm_ra_original(const cpart_t *p, int32_t *out);
/* Every TRS member is in the ISR: the reassignment may complete. */
bool cm_ra_caught_up(const cpart_t *p);
/*
 * Step A again, for a controller taking over a reassignment recorded in the
 * topic znode: the previous controller may have died between writing the
 * adding/removing replicas and the epoch bump that tells the replicas, and
 * brokers ignore a LeaderAndIsr at the leader epoch they already hold, so
 * the leader would never learn of the adding replicas.  Same leader and ISR,
 * leader epoch bumped.  False (nothing to send) when the partition has no
 * state or no leader, is not moving, or its target is already in sync.
 */
bool cm_ra_resume(const cpart_t *p, int32_t controller_epoch, zn_pstate_t *out);

/*
 * AlterPartition validation, Kafka's order (tryProcessAlterPartition):
 * higher leader or partition epoch than ours -> NOT_CONTROLLER; lower
 * leader epoch -> FENCED_LEADER_EPOCH; sender not the leader ->
 * NOT_LEADER_OR_FOLLOWER; same ISR as now -> 0 with *current (answer with
 * the current state); lower partition epoch -> INVALID_UPDATE_VERSION; a
 * member not live (per `live`) or not a replica -> INELIGIBLE_REPLICA; empty,
 * oversized, duplicated or leaderless ISR -> INVALID_REQUEST; else 0 (write).
 * No state at all -> UNKNOWN_TOPIC_OR_PARTITION.
 */
int16_t cm_ap_check(const cpart_t *p, int32_t sender, int32_t leader_epoch, int32_t partition_epoch,
                    const int32_t *isr, int nisr, cm_pred_t live, const void *ctx, bool *current);

/* Partitions (with state, topic not being deleted) whose preferred replica
 * is `broker`; *not_led: how many of them it does not lead. */
int cm_preferred_count(const cmodel_t *m, int32_t broker, int *not_led);

/* Checks the invariants of a partition state against its assignment:
 * ISR non-empty, members distinct and assigned, leader -1 or in the ISR, and
 * an R22 block only on a leaderless partition with a one-member ISR. */
bool cm_state_valid(const cpart_t *p, const zn_pstate_t *s);

#endif
