/*
 * ctl.h - the controller process: one struct that the event loop owns, and
 * the functions the controller's modules call on each other.
 *
 *   elect.c    election, activation, resignation, fenced ZooKeeper writes
 *   events.c   ZooKeeper watch events: brokers, topics, deletions, /controller
 *   pstate.c   the partition state-change function, batches and the
 *              LeaderAndIsr / UpdateMetadata / StopReplica fan-out
 *   channel.c  one sender thread per live broker
 *   admin.c    CreateTopics, DeleteTopics, CreatePartitions (forwarded)
 *   alter.c    AlterPartition and ControlledShutdown from brokers
 *   reassign.c partition reassignment (/admin/reassign_partitions)
 *   balance.c  preferred-leader election (/admin/preferred_replica_election
 *              and the auto-rebalance timer)
 *   unclean.c  unclean-shutdown awareness (R22) and the operator's unclean
 *              election (/admin/unclean_leader_election)
 *   model.c    the cluster model; place.c replica placement
 *
 * Thread: every function declared here runs on the event loop thread.
 */
#ifndef WEIR_CTL_H
#define WEIR_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "zkc.h" /* before zookeeper.h: it selects the synchronous API */

#include "controller/cconfig.h"
#include "controller/channel.h"
#include "controller/model.h"
#include "kserver.h"

#define CTL_DEPOSED (-1000) /* a fenced write found a newer controller epoch */

/* A tagged request whose response someone waits for. */
typedef struct ctl_out {
    uint64_t tag;
    int32_t broker;
    int16_t api_key;
} ctl_out_t;

typedef struct ctl {
    ccfg_t cfg;
    char host[256];
    int port;
    const char *config_path;
    struct event_base *base;
    zkc_t *zk;
    zkc_evq_t *evq;
    int64_t prev_session;
    char cluster_id[23];
    kserver_t *srv;
    cmodel_t m;
    bool active;
    int32_t epoch;        /* controller epoch (ours when active, last seen otherwise) */
    int32_t epoch_zkver;  /* zkVersion of /controller_epoch we wrote */
    chan_hub_t *hub;
    cchan_t **chans;      /* per live broker (active only); index by search */
    int nchans;
    uint64_t next_tag;
    ctl_out_t *out;
    int nout, capout;
    struct pend *pending; /* admin requests waiting (admin.c) */
    struct event *retry_ev;  /* deletion retry timer */
    struct event *balance_ev; /* leader.imbalance.check.interval.seconds */
    struct cshut { int32_t id; int64_t epoch; } *shutting; /* in controlled shutdown */
    int nshutting;
    bool stopping;
} ctl_t;

/* Live and not in controlled shutdown: who may lead or join an ISR (ctx = ctl_t). */
bool ctl_eligible(const void *ctx, int32_t id);
bool ctl_shutting(const void *ctx, int32_t id);
bool ctl_live(const void *ctx, int32_t id); /* registered, shutting down or not */
/* Forget shutting-down brokers that are gone or re-registered (alter.c). */
void ctl_shutting_prune(ctl_t *c);

/* elect.c */
void ctl_elect(ctl_t *c);
void ctl_resign(ctl_t *c, const char *why);
void ctl_on_controller_event(ctl_t *c);
void ctl_session_expired(ctl_t *c);

/* A list of ZooKeeper writes run as epoch-fenced multis. */
typedef struct zkw_op {
    int type; /* ZOO_CREATE_OP, ZOO_SETDATA_OP, ZOO_DELETE_OP */
    char *path;
    char *data;
    int version;
    int err;
    struct Stat stat;
} zkw_op_t;
typedef struct zkw {
    zkw_op_t *ops;
    int n, cap;
} zkw_t;
void zkw_create(zkw_t *w, const char *path, const char *data);
void zkw_set(zkw_t *w, const char *path, const char *data, int version);
void zkw_delete(zkw_t *w, const char *path, int version);
/* Run all ops; returns ZOK if every op succeeded, CTL_DEPOSED (after
 * resigning) if the epoch check failed, else the first error (per-op
 * results in ops[i].err; a failed chunk is retried one op at a time). */
int zkw_commit(ctl_t *c, zkw_t *w);
void zkw_free(zkw_t *w);
/* Post-order delete ops for path and everything below it (reads children). */
void zkw_delete_tree(ctl_t *c, zkw_t *w, const char *path);

/* pstate.c */
typedef struct pref {
    ctopic_t *t;
    int32_t p;
    bool is_new;
} pref_t;
typedef struct cbatch {
    zkw_t w;
    struct cb_change *ch;
    int nch, capch;
} cbatch_t;
/* The single entry point for partition leader/ISR transitions: validates
 * `ns` against the assignment and the current state and queues the state
 * znode write (create when the partition has none); cb_commit logs each
 * transition to the state-change log once it is durable. */
bool ps_change(ctl_t *c, cbatch_t *b, ctopic_t *t, int32_t p, const zn_pstate_t *ns, const char *why);
/* The same for a leader-requested ISR change (AlterPartition): the leader
 * and leader epoch stay as they are. */
bool ps_change_isr(ctl_t *c, cbatch_t *b, ctopic_t *t, int32_t p, const zn_pstate_t *ns, const char *why);
/* Index of the change for (t, p) in the batch's ops, -1 if none; after
 * cb_commit, its ZooKeeper result (ZOK, ZBADVERSION, ...). */
int cb_result(const cbatch_t *b, const ctopic_t *t, int32_t p);
/* Write the batch; apply successful changes to the model; fill *changed
 * (malloc'd, caller frees) with the partitions that changed.  Returns ZOK,
 * CTL_DEPOSED or a ZooKeeper error (some changes may still have applied). */
int cb_commit(ctl_t *c, cbatch_t *b, pref_t **changed, int *nchanged);
void cb_free(cbatch_t *b);
/* LeaderAndIsr for `parts` to each live replica and UpdateMetadata to every
 * live broker.  If tags != NULL, each LeaderAndIsr's tag is stored (one per
 * live broker, in model order; 0 = none sent) for the caller to wait on. */
void ps_propagate(ctl_t *c, const pref_t *parts, int n, uint64_t *tags);
/* Full UpdateMetadata (every partition) + LeaderAndIsr for all of the
 * broker's replicas. */
void ps_send_full(ctl_t *c, int32_t broker);
/* UpdateMetadata with the given partitions (maybe none) to every live broker except `skip`. */
void ps_send_um_all(ctl_t *c, const pref_t *parts, int n, int32_t skip);
uint64_t ps_send_stop(ctl_t *c, int32_t broker, const ctopic_t *t, bool del);
/* StopReplica for just these partitions (untracked). */
void ps_send_stop_parts(ctl_t *c, int32_t broker, const pref_t *parts, int n, bool del);
/* Commit a batch and push it: LeaderAndIsr + UpdateMetadata (lair) or
 * UpdateMetadata only.  changed and nchanged as for cb_commit (may be NULL). */
int ps_commit_push(ctl_t *c, cbatch_t *b, bool lair, pref_t **changed, int *nchanged);
/* Unclean leader election allowed for this topic (topic config, else the
 * controller's unclean.leader.election.enable); re-reads /config/topics/<t>. */
bool ps_unclean_allowed(ctl_t *c, ctopic_t *t);
/* Offline election for every partition that needs it (dead leaders, dead ISR
 * members, no leader).  `only_broker` >= 0 limits it to partitions hosting
 * that broker.  Writes and propagates.  Returns ZOK / CTL_DEPOSED / error. */
int ps_elect_offline(ctl_t *c, int32_t only_broker);
/* Initialise state for partitions that have none (new topics or partitions). */
int ps_init_new(ctl_t *c, ctopic_t *t, uint64_t *tags);

/* events.c */
void ev_dispatch(const zkc_ev_t *ev, void *arg);
int ev_load_all(ctl_t *c);           /* brokers, topics, deletions, with watches */
int ev_reload_states(ctl_t *c);      /* every partition state (at activation) */
void ev_brokers_changed(ctl_t *c);
void ev_deletions_changed(ctl_t *c);
void ev_load_config(ctl_t *c, ctopic_t *t);
/* Re-read one partition's state znode into the model. */
void ev_load_state(ctl_t *c, ctopic_t *t, int32_t p);

/* alter.c */
void alter_partition(kreq_t *req, void *ctx);
void controlled_shutdown(kreq_t *req, void *ctx);

/* reassign.c */
/* zkc_get with a watch that also survives a missing node (exists watch). */
int ctl_get_watched(ctl_t *c, const char *path, char **data, struct Stat *st);
/* An operator's partition-list request znode ({"partitions":[{"topic","partition"}]}:
 * preferred and unclean elections): read it with a watch, call each() for
 * every partition of a live topic (others are logged as skipped), then
 * done(); unless that reports CTL_DEPOSED, delete the node at the version
 * read (a newer request keeps its node and fires the watch again). */
typedef void (*ctl_tp_fn)(ctl_t *c, ctopic_t *t, int32_t p, void *arg);
void ctl_tplist_request(ctl_t *c, const char *path, const char *what, ctl_tp_fn each, int (*done)(ctl_t *, void *),
                        void *arg);
void ra_changed(ctl_t *c);                /* /admin/reassign_partitions changed (also at activation) */
void ra_progress_all(ctl_t *c);           /* finish every reassignment whose target replicas are in sync */
int ra_resume_all(ctl_t *c);              /* at activation: re-send step A of unfinished reassignments */
bool ra_in_progress(const cpart_t *p);

/* balance.c */
void pl_changed(ctl_t *c);                /* /admin/preferred_replica_election changed */
void pl_start(ctl_t *c);                  /* arm the auto-rebalance timer (activation) */
void pl_stop(ctl_t *c);
int pl_elect(ctl_t *c, const pref_t *parts, int n, const char *why);
void del_progress_all(ctl_t *c);

/* unclean.c (R22) */
bool ctl_unclean(const void *ctx, int32_t id); /* registered after an unclean shutdown */
/* For the offline election of t-p: true when R22 keeps the partition
 * leaderless (do not elect); then the block is queued in `b` if it is not
 * recorded yet, with one warning.  announce: warn also about a block already
 * recorded (a controller taking over).  *overridden: R22 would hold but the
 * topic allows unclean elections, so the election goes ahead. */
bool ul_queue(ctl_t *c, cbatch_t *b, ctopic_t *t, int32_t p, bool announce, bool *overridden);
/* R22 keeps this partition leaderless (for preferred and reassignment elections). */
bool ul_holds(ctl_t *c, ctopic_t *t, const cpart_t *cp);
/* At activation, before any request is sent: record every block not yet
 * recorded and warn about each held partition.  ZOK / CTL_DEPOSED / error. */
int ul_record_all(ctl_t *c);
void ul_changed(ctl_t *c); /* /admin/unclean_leader_election changed (also at activation) */

/* main.c: channels and tags */
cchan_t *ctl_chan(ctl_t *c, int32_t broker);
void ctl_chan_open(ctl_t *c, const cbroker_t *b);
void ctl_chan_close(ctl_t *c, int32_t broker);
void ctl_chan_close_all(ctl_t *c);
/* Queue a request body (taken over) to a broker; returns its tag (0 = no channel). */
uint64_t ctl_send(ctl_t *c, int32_t broker, int16_t api_key, int16_t ver, kwr_t *body, bool track);

/* admin.c */
extern const kapi_def_t ctl_apis[];
extern const size_t ctl_napis;
void admin_on_ack(ctl_t *c, uint64_t tag);
void admin_on_topic_gone(ctl_t *c, const char *topic);
void admin_fail_all(ctl_t *c, int16_t err);

/* Deletion progress (events.c), called on StopReplica results. */
void del_on_stop_result(ctl_t *c, uint64_t tag, bool ok);

#endif
