/*
 * group.h - consumer groups: the group store (gstore_t, whose replay side
 * is declared in coord.h), Kafka's group state machine (Empty,
 * PreparingRebalance, CompletingRebalance, Stable, Dead), the committed
 * offsets, and the wire handlers of the group APIs (broker/api/groups.c,
 * broker/api/offsets.c).
 *
 * The store reaches its clock, its coordinator checks and its persistence
 * only through a gstore_env_t, so tests drive it with a fake clock and a
 * fake append; gstore_new(b) wires it to now_ms(), coord_check,
 * coord_append and a libevent timer on b->base.
 *
 * Requests that Kafka holds (JoinGroup, SyncGroup, OffsetCommit while its
 * records replicate) take a callback that runs exactly once, possibly
 * before the call returns; the others answer by return value.  Strings
 * passed in are C strings the store copies if it keeps them; pointers in
 * results are valid only during the callback or until the next store call.
 *
 * The structs below are read by the wire handlers and tests (Describe,
 * ListGroups, OffsetFetch); only group.c and gstore.c write them.
 * Thread: the network loop.
 */
#ifndef WEIR_GROUP_H
#define WEIR_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "bconfig.h"
#include "group/coord.h"
#include "kserver.h"

struct event_base;

enum gstate { GS_EMPTY, GS_PREPARING_REBALANCE, GS_COMPLETING_REBALANCE, GS_STABLE, GS_DEAD };

/* Kafka's name of a state ("PreparingRebalance", ...). */
const char *gstate_name(enum gstate st);

/* ---- what the store holds ---- */

typedef struct gproto {
    char *name;
    uint8_t *metadata;
    int32_t metadata_len;
} gproto_t;

typedef struct gjoin_result gjoin_result_t;
typedef void (*gjoin_cb)(void *arg, const gjoin_result_t *r);
/* assignment: the member's bytes (len 0 when none or on error). */
typedef void (*gsync_cb)(void *arg, int16_t err, const uint8_t *assignment, int32_t len);

typedef struct gmember {
    char *member_id;
    char *instance_id; /* group.instance.id; NULL = dynamic member */
    char *client_id, *client_host;
    int32_t session_timeout, rebalance_timeout;
    gproto_t *protos; /* in the member's order of preference */
    int32_t nprotos;
    uint8_t *assignment;
    int32_t assignment_len;
    int64_t deadline;  /* session expiry (NewMemberJoinTimeout for new members) */
    bool is_new;       /* joined, not yet through a completed join */
    bool pending_sync; /* got its JoinGroup answer, has not sent SyncGroup yet */
    gjoin_cb join_cb;  /* set while its JoinGroup is held */
    void *join_arg;
    gsync_cb sync_cb;  /* set while its SyncGroup is held */
    void *sync_arg;
    struct gmember *next; /* join order */
} gmember_t;

/* A member id handed out with MEMBER_ID_REQUIRED, not yet joined. */
typedef struct gpending {
    char *member_id;
    int64_t deadline;
    struct gpending *next;
} gpending_t;

typedef struct goffset {
    char *topic;
    int32_t partition;
    offrec_offset_t v;
    struct goffset *next; /* hash chain */
} goffset_t;

typedef struct group {
    struct gstore *s;
    char *id;
    int32_t part;             /* its __consumer_offsets partition */
    enum gstate state;
    char *protocol_type;      /* NULL = none (offsets-only group) */
    char *protocol;           /* selected protocol; NULL = none */
    char *leader;             /* leader's member id; NULL = none */
    int32_t generation;
    int64_t state_ts;         /* when the state last changed; -1 = unknown */
    gmember_t *members;
    int32_t nmembers;
    gpending_t *pending;
    int32_t npending;
    /* PreparingRebalance: when the held joins complete.  A brand-new group
     * waits group.initial.rebalance.delay.ms at a time while members keep
     * arriving (Kafka's InitialDelayedJoin), within the rebalance timeout. */
    int64_t join_deadline;
    bool initial_delay, new_member_added;
    int64_t delay_ms, delay_remaining;
    int64_t sync_deadline;    /* members that got their join answer must sync by then; -1 = none */
    goffset_t **obuckets;
    size_t nobuckets, noffsets;
    struct gop *ops;          /* writes in flight */
    char **subscribed;        /* topics of the consumer protocol subscriptions */
    int32_t nsubscribed;
    bool subscribed_known;    /* false: unknown (treated as subscribed to all) */
    bool loading;             /* replay of its partition not finished */
    bool has_meta;            /* replay: a group metadata record was seen */
    struct group *next;       /* hash chain */
} group_t;

/* ---- the environment ---- */

typedef struct gstore_env {
    int64_t (*now)(void *ctx);                                 /* wall clock, ms */
    int16_t (*check)(void *ctx, const char *group);            /* as coord_check */
    int32_t (*partition_for)(void *ctx, const char *group);    /* as coord_partition_for */
    void (*append)(void *ctx, const char *group, const coord_rec_t *recs, int n, coord_done_fn done,
                   void *arg);                                 /* as coord_append */
    struct event_base *base; /* non-NULL: a timer there calls gstore_tick */
    void *ctx;
} gstore_env_t;

/* The store with its configuration read from cfg (group.*, offsets.*,
 * offset.metadata.max.bytes). */
gstore_t *gstore_new_env(const bcfg_t *cfg, const gstore_env_t *env);
/* Deadlines: held joins, syncs, sessions, offsets retention.  Runs every
 * 100 ms from the timer when env->base is set. */
void gstore_tick(gstore_t *s);
/* env->check for the group (KERR_NONE when this broker serves it now). */
int16_t gstore_check(gstore_t *s, const char *group);

/* ---- requests ---- */

typedef struct gjoin {
    const char *group, *member_id, *instance_id; /* instance_id NULL = none */
    const char *client_id, *client_host;
    int32_t session_timeout, rebalance_timeout;
    const char *protocol_type;
    const gproto_t *protos;
    int32_t nprotos;
    bool require_known_id; /* JoinGroup v4+ (KIP-394) */
} gjoin_t;

typedef struct gjoin_member {
    const char *member_id, *instance_id;
    const uint8_t *metadata;
    int32_t metadata_len;
} gjoin_member_t;

struct gjoin_result {
    int16_t err;
    int32_t generation;
    const char *protocol;  /* "" = none */
    const char *leader;    /* "" = none */
    const char *member_id;
    const gjoin_member_t *members; /* the leader only */
    int32_t nmembers;
};

void gstore_join(gstore_t *s, const gjoin_t *req, gjoin_cb cb, void *arg);

typedef struct gassign {
    const char *member_id;
    const uint8_t *assignment;
    int32_t len;
} gassign_t;

typedef struct gsync {
    const char *group, *member_id, *instance_id;
    int32_t generation;
    const gassign_t *assign;
    int32_t nassign;
} gsync_t;

void gstore_sync(gstore_t *s, const gsync_t *req, gsync_cb cb, void *arg);
int16_t gstore_heartbeat(gstore_t *s, const char *group, int32_t generation, const char *member_id,
                         const char *instance_id);
int16_t gstore_leave(gstore_t *s, const char *group, const char *member_id);

typedef struct gcommit_part {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    const char *metadata; /* NULL = null */
    int64_t commit_ts;    /* -1 = now (only v1 carries one) */
    int16_t err;          /* preset by the caller (e.g. unknown partition): not stored */
} gcommit_part_t;

typedef struct gcommit {
    const char *group, *member_id, *instance_id;
    int32_t generation;
    int64_t retention_ms; /* > 0: explicit retention (v2-v4) */
    bool no_checks;       /* v0: stored without group validation */
    const gcommit_part_t *parts;
    int32_t nparts;
} gcommit_t;

/* errs[i] answers parts[i]. */
typedef void (*gcommit_cb)(void *arg, const int16_t *errs, int32_t n);
void gstore_commit(gstore_t *s, const gcommit_t *req, gcommit_cb cb, void *arg);

/* A live group (not loading), or NULL. */
const group_t *gstore_group(gstore_t *s, const char *group);
const goffset_t *gstore_offset(const group_t *g, const char *topic, int32_t partition);
/* Every committed offset of g, sorted by topic then partition; *n set.
 * The array (not the offsets) is the caller's to free. */
const goffset_t **gstore_offsets_sorted(const group_t *g, size_t *n);
void gstore_foreach_group(gstore_t *s, void (*fn)(const group_t *g, void *arg), void *arg);
/* The chosen protocol's metadata of m, or NULL. */
const gproto_t *gmember_proto(const gmember_t *m, const char *name);
/* Whether a consumer group subscribes to topic (true when unknown). */
bool group_subscribed(const group_t *g, const char *topic);

/* DeleteGroups: KERR_NONE, GROUP_ID_NOT_FOUND or NON_EMPTY_GROUP. */
int16_t gstore_delete_group(gstore_t *s, const char *group);
/* OffsetDelete: the group-level error; errs[i] for (topics[i], parts[i]). */
int16_t gstore_delete_offsets(gstore_t *s, const char *group, const char *const *topics, const int32_t *parts,
                              int32_t n, int16_t *errs);

/* Checks the invariants of every group (tests). */
bool gstore_validate(gstore_t *s);

/* ---- wire handlers (broker/api/groups.c, broker/api/offsets.c) ---- */
void api_join_group(kreq_t *req, void *ctx);
void api_sync_group(kreq_t *req, void *ctx);
void api_heartbeat(kreq_t *req, void *ctx);
void api_leave_group(kreq_t *req, void *ctx);
void api_describe_groups(kreq_t *req, void *ctx);
void api_list_groups(kreq_t *req, void *ctx);
void api_delete_groups(kreq_t *req, void *ctx);
void api_offset_commit(kreq_t *req, void *ctx);
void api_offset_fetch(kreq_t *req, void *ctx);
void api_offset_delete(kreq_t *req, void *ctx);

/* ---- shared by group.c and gstore.c only ---- */
#ifdef GROUP_INTERNAL
typedef struct gconf {
    int32_t min_session, max_session, max_size, initial_delay, metadata_max;
    int64_t retention_ms, retention_check_ms;
} gconf_t;

struct gstore {
    gstore_env_t env;
    gconf_t conf;
    group_t **buckets;
    size_t nbuckets, ngroups;
    int64_t next_retention;
    struct event *timer;
};

enum gop_kind { GOP_COMMIT, GOP_SYNC, GOP_STATIC, GOP_LOG };

/* A write in flight.  g becomes NULL when the group goes away first. */
typedef struct gop {
    enum gop_kind kind;
    group_t *g;
    char *group_id;
    int32_t generation;
    /* GOP_COMMIT */
    gcommit_cb cb;
    void *arg;
    int16_t *errs;
    int32_t nerrs;
    goffset_t *offs;   /* what is written, with its index in errs */
    int32_t *idx;
    int32_t noffs;
    /* GOP_SYNC: the leader's assignments, per member */
    gassign_t *assign;
    int32_t nassign;
    /* GOP_STATIC: what to restore if the write fails */
    char *old_member_id, *new_member_id;
    gproto_t *old_protos;
    int32_t old_nprotos, old_session, old_rebalance;
    char *old_leader;
    struct gop *prev, *next;
} gop_t;

int64_t gs_now(const gstore_t *s);
group_t *group_find(gstore_t *s, const char *id);
group_t *group_create(gstore_t *s, const char *id);
void group_remove(gstore_t *s, group_t *g);         /* unlink and free (orphans its ops) */
void group_answer_held(group_t *g, int16_t err);    /* held joins/syncs get err */
void group_clear_meta(group_t *g);                  /* members, protocol, leader: gone */
void group_free_member(gmember_t *m);
void group_compute_subscribed(group_t *g);
void group_transition(group_t *g, enum gstate to, const char *reason);
void group_tick(group_t *g, int64_t now);           /* join/sync/session deadlines */
void group_loaded(group_t *g);                      /* replay finished: Empty or Stable */
int16_t group_validate_commit(group_t *g, const gcommit_t *req);
bool group_check(const group_t *g);                 /* invariants hold */
void gs_commit_done(gop_t *op, int16_t err);
void group_store(group_t *g, gop_t *op);            /* write the group metadata record */
gop_t *gop_new(group_t *g, enum gop_kind kind);
void gop_append(gop_t *op, const coord_rec_t *recs, int n);
void gop_free(gop_t *op);
bool group_has_pending_commit(const group_t *g, const char *topic, int32_t partition);
goffset_t *offset_find(const group_t *g, const char *topic, int32_t partition);
void offset_put(group_t *g, const char *topic, int32_t partition, const offrec_offset_t *v);
void offset_del(group_t *g, const char *topic, int32_t partition);
int16_t gs_map_group_err(int16_t err);
char *gs_strdup(const char *s);
void *gs_alloc(size_t n);
#endif

#endif
