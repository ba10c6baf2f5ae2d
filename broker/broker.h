/*
 * broker.h - the broker's state: one event loop owns everything here.
 *
 * bk_t holds the configuration, the log manager, the metadata cache the
 * controller pushes (UpdateMetadata), the partitions this broker hosts
 * (LeaderAndIsr), the ZooKeeper session and the forwarding channel to the
 * active controller.  Partition state carries leader, leader epoch, ISR and
 * the high watermark from the start, so replication builds on it.
 * Thread: the network loop thread, except where a function says otherwise.
 */
#ifndef WEIR_BROKER_H
#define WEIR_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include "bconfig.h"
#include "kserver.h"
#include "log/log.h"
#include "wire.h"
#include "zkc.h"

struct event_base;
struct event;

/* ---- metadata cache (broker/meta.c) ---- */
typedef struct mpart {
    int32_t leader, leader_epoch, controller_epoch, zk_version;
    int32_t *isr, nisr;
    int32_t *replicas, nreplicas;
    int32_t *offline, noffline;
} mpart_t;

typedef struct mtopic {
    char *name;
    int32_t nparts;
    mpart_t *parts;
    struct mtopic *next; /* hash chain */
} mtopic_t;

typedef struct mbroker {
    int32_t id;
    char *host;
    int32_t port;
    char *rack;
} mbroker_t;

typedef struct meta {
    mtopic_t **buckets;
    size_t nbuckets, ntopics;
    mbroker_t *brokers;
    int nbrokers;
} meta_t;

void meta_init(meta_t *m);
void meta_free(meta_t *m);
mtopic_t *meta_topic(const meta_t *m, const char *name, size_t len);
const mbroker_t *meta_broker(const meta_t *m, int32_t id);
void meta_foreach_topic(const meta_t *m, void (*fn)(const mtopic_t *t, void *arg), void *arg);
struct ctl_state;
void meta_apply(meta_t *m, const struct ctl_state *s);

/* ---- hosted partitions (broker/partition.c) ---- */

/* What a leader knows of one follower (Kafka's Replica fetch state). */
typedef struct rfollower {
    int32_t id;
    int64_t leo;                 /* -1 until its first fetch */
    int64_t last_caught_up_ms;   /* monotonic; 0 = never */
    int64_t last_fetch_leader_leo;
    int64_t last_fetch_ms;
} rfollower_t;

enum follow_state { FOLLOW_NONE, FOLLOW_TRUNCATING, FOLLOW_FETCHING };

typedef struct bpart {
    char *topic;
    int32_t partition;
    plog_t *log;
    int32_t leader, leader_epoch, controller_epoch, zk_version;
    int32_t *isr, nisr;
    int32_t *replicas, nreplicas;
    int64_t hw;                 /* high watermark: consumers never see records at or above it */
    int32_t min_insync;         /* topic min.insync.replicas (or the broker default) */
    int32_t max_message_bytes;  /* topic max.message.bytes (or message.max.bytes) */
    bool is_leader;
    /* leader side */
    rfollower_t *fol;           /* one per replica other than us */
    int32_t nfol;
    int64_t epoch_start_offset; /* our LEO when this leader epoch began */
    int64_t led_since_ms;       /* monotonic time this leader epoch began here */
    bool isr_inflight;          /* one AlterPartition at a time */
    int32_t *pending_isr, npending; /* requested ISR while in flight */
    /* follower side */
    enum follow_state follow;
    struct fetcher *fetcher;
    struct bpart *next;         /* hash chain */
} bpart_t;

typedef struct bk bk_t;

bpart_t *bpart_get(bk_t *b, const char *topic, size_t tlen, int32_t partition);
bpart_t *bpart_create(bk_t *b, const char *topic, int32_t partition);
void bpart_remove(bk_t *b, bpart_t *p, bool delete_log);
void bpart_foreach(bk_t *b, void (*fn)(bpart_t *p, void *arg), void *arg);
/* Recompute the high watermark after the log or the ISR changed. */
void bpart_update_hw(bk_t *b, bpart_t *p);
/* Load per-topic configuration from /config/topics/<t> into the partition and its log. */
void bpart_load_config(bk_t *b, bpart_t *p);

/* ---- replication (broker/replica/) ---- */
/* Leadership changed by LeaderAndIsr: set up the leader or follower side. */
void repl_become_leader(bk_t *b, bpart_t *p);
void repl_become_follower(bk_t *b, bpart_t *p, const char *leader_host, int32_t leader_port);
/* The partition stops being replicated here (StopReplica, removal). */
void repl_stop(bk_t *b, bpart_t *p);
/* A follower fetched at `offset` (its log end offset). */
void repl_follower_fetched(bk_t *b, bpart_t *p, int32_t replica_id, int64_t offset);
/* Maximal ISR size: committed ISR plus a pending expansion. */
int32_t repl_max_isr_size(const bpart_t *p);
/* Periodic ISR shrink check (every replica.lag.time.max.ms / 2). */
void repl_check_isr(bk_t *b);
void repl_shutdown(bk_t *b);
/* Acknowledge waiting acks=all produces whose offsets the HW now covers. */
void produce_wakeup(bk_t *b);
void produce_free_waiters(bk_t *b);

/* ---- fetch long polls (broker/api/fetch.c) ---- */
/* Called after an append or a HW move: re-evaluates waiting fetches soon. */
void fetch_wakeup(bk_t *b);
void fetch_free_waiters(bk_t *b);
/* This broker now leads p: answer the waiting fetches of p's followers now,
 * so that their next fetch can name p. */
void fetch_leader_changed(bk_t *b, const bpart_t *p);

/* ---- forwarding to the active controller (broker/fwd.c) ---- */
typedef void (*fwd_cb)(void *arg, const uint8_t *resp, size_t len); /* resp NULL = failed */
/* Send a request to the active controller; cb runs on the loop with the response body. */
void fwd_call(bk_t *b, int16_t api_key, int16_t api_version, const char *client_id, const uint8_t *body,
              size_t len, int timeout_ms, fwd_cb cb, void *arg);
/* The same with flexible request/response headers (AlterPartition). */
void fwd_call_flex(bk_t *b, int16_t api_key, int16_t api_version, const char *client_id, const uint8_t *body,
                   size_t len, int timeout_ms, fwd_cb cb, void *arg);
/* Re-read /controller (called on start and on its watch). */
void fwd_controller_changed(bk_t *b);
void fwd_free(bk_t *b);
/* Name the active controller directly (without ZooKeeper: tests). */
void fwd_set_controller(bk_t *b, int32_t id, const char *host, int port);
/* True when an active controller is known. */
bool fwd_known(bk_t *b);

struct bk {
    bcfg_t cfg;
    struct event_base *base;
    kserver_t *srv;
    logmgr_t *logs;
    plog_config_t log_defaults;
    meta_t meta;
    bpart_t **pbuckets;
    size_t npbuckets, nparts;
    zkc_t *zk;
    zkc_evq_t *evq;
    char cluster_id[23];
    int64_t broker_epoch;       /* czxid of our /brokers/ids/<id> */
    int64_t prev_session;
    int32_t controller_epoch;   /* highest seen from a controller request */
    char adv_host[256];
    int adv_port;
    struct fwd *fwd;
    struct fetch_waiter *waiters;
    struct event *fetch_ev;
    struct event *retention_ev, *checkpoint_ev, *isr_ev;
    struct fetcher *fetchers;
    struct delayed_produce *dprods;
    bool shutting_down;
    /* Leader lease (R8): monotonic send time of the newest ZooKeeper request
     * that was answered.  Written by libzookeeper's thread. */
    _Atomic int64_t zk_last_ok_ms;
    struct event *lease_ev;
    bool lease_lapsed; /* as last logged by the probe timer */
    int64_t became_leader_ms; /* monotonic time of the newest leader epoch begun here */
    /* Consumer groups (broker/group/): the coordinator's partition side and
     * the group/offsets store. */
    struct coord *coord;
    struct gstore *groups;
};

/* False once ZooKeeper has not answered for 2/3 of the session timeout: the
 * session may be expiring and another leader may already be elected, so this
 * broker must not serve as a leader (checked on every produce and fetch). */
bool bk_lease_valid(bk_t *b);
/* Start probing ZooKeeper for the lease (broker/lease.c). */
void lease_start(bk_t *b);

/* ---- API handlers (broker/api/, one file per API) ---- */
void api_produce(kreq_t *req, void *ctx);
void api_fetch(kreq_t *req, void *ctx);
void api_list_offsets(kreq_t *req, void *ctx);
void api_metadata(kreq_t *req, void *ctx);
void api_find_coordinator(kreq_t *req, void *ctx);
void api_create_topics(kreq_t *req, void *ctx);
void api_delete_topics(kreq_t *req, void *ctx);
void api_create_partitions(kreq_t *req, void *ctx);
void api_describe_configs(kreq_t *req, void *ctx);
void api_offset_for_leader_epoch(kreq_t *req, void *ctx);
void api_leader_and_isr(kreq_t *req, void *ctx);
void api_update_metadata(kreq_t *req, void *ctx);
void api_stop_replica(kreq_t *req, void *ctx);

extern const kapi_def_t bk_apis[];
extern const size_t bk_napis;

/* Ask the controller to create a topic with the broker's defaults (auto-creation). */
void bk_auto_create(bk_t *b, const char *topic, size_t len);
/* Ask the controller to create a topic; configs are key/value pairs
 * (configs[2i], configs[2i+1]).  The outcome is only logged. */
void bk_create_topic(bk_t *b, const char *topic, size_t len, int32_t nparts, int16_t rf,
                     const char *const *configs, int nconfigs);
/* Kafka's topic name rule: [a-zA-Z0-9._-]{1,249}, not "." or "..". */
bool bk_valid_topic(const uint8_t *name, size_t len);

#endif
