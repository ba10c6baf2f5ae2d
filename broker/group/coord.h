/*
 * coord.h - the group coordinator's footing: which groups this broker
 * coordinates (the leader of __consumer_offsets partition
 * offrec_partition_for(group)), loading a partition's groups and offsets by
 * replaying it when leadership arrives, dropping them when it leaves, and
 * writing records to it with acks=all.
 *
 * coord.c owns the partition side; group.c (the state machine and the
 * offsets store, gstore_*) owns what the records mean.  The two meet only
 * through the functions below.  Thread: the network loop.
 */
#ifndef WEIR_COORD_H
#define WEIR_COORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "offrec.h"

typedef struct bk bk_t;
typedef struct bpart bpart_t;

#define COORD_TOPIC "__consumer_offsets"

/* ---- coord.c ---- */

/* The __consumer_offsets partition of a group (offsets.topic.num.partitions,
 * or the topic's actual partition count once it exists). */
int32_t coord_partition_for(bk_t *b, const char *group, size_t len);

/*
 * May this broker serve group requests for `group` now?  KERR_NONE when it
 * leads the group's partition and has finished loading it;
 * KERR_COORDINATOR_LOAD_IN_PROGRESS while replaying; KERR_NOT_COORDINATOR
 * when another broker (or nobody) leads it; KERR_COORDINATOR_NOT_AVAILABLE
 * when the topic does not exist yet (its creation is then requested).
 */
int16_t coord_check(bk_t *b, const char *group, size_t len);

/* True while some partition this broker leads is still being replayed
 * (ListGroups then answers COORDINATOR_LOAD_IN_PROGRESS, as Kafka does). */
bool coord_loading(bk_t *b);

/* FindCoordinator: the broker id coordinating `group`, or -1 (creating the
 * topic on first use, like Kafka).  *err as for coord_check, except that
 * NOT_COORDINATOR is never returned (any live leader is an answer). */
int32_t coord_find(bk_t *b, const char *group, size_t len, int16_t *err);

typedef struct coord_rec {
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value;
    int32_t value_len;    /* -1 = tombstone */
} coord_rec_t;

/* err: KERR_NONE once the high watermark passes the records;
 * KERR_NOT_COORDINATOR if leadership moved; KERR_REQUEST_TIMED_OUT after
 * offsets.commit.timeout.ms; KERR_NOT_ENOUGH_REPLICAS(_AFTER_APPEND) /
 * KERR_KAFKA_STORAGE_ERROR / KERR_MESSAGE_TOO_LARGE otherwise.  Callers map
 * these to what each API answers (Kafka: COORDINATOR_NOT_AVAILABLE for the
 * replication errors, NOT_COORDINATOR for the leadership ones,
 * INVALID_COMMIT_OFFSET_SIZE for too large, UNKNOWN_SERVER_ERROR else). */
typedef void (*coord_done_fn)(void *arg, int16_t err);

/* Append recs as one uncompressed batch to the group's partition, with
 * acks=all semantics; cb always runs exactly once, on the loop (possibly
 * before coord_append returns only if it fails at once). */
void coord_append(bk_t *b, const char *group, const coord_rec_t *recs, int n, coord_done_fn cb, void *arg);

/* Ask the controller for the topic with Kafka's offsets-topic settings
 * (at most once a second); Metadata's auto-creation comes here for it. */
void coord_create_topic(bk_t *b);
/* Start-up: without it the broker coordinates nothing. */
void coord_start(bk_t *b);
/* Hooks from the partition layer (LeaderAndIsr, demotion, removal). */
void coord_became_leader(bk_t *b, bpart_t *p);  /* starts the replay */
void coord_lost_leadership(bk_t *b, bpart_t *p);
void coord_partition_changed(bk_t *b, bpart_t *p); /* one of the two, by p->is_leader */
void coord_hw_moved(bk_t *b, bpart_t *p);       /* settles waiting appends (p may be NULL) */
void coord_shutdown(bk_t *b);

/* ---- group.c: the store the replay feeds ---- */

typedef struct gstore gstore_t;
gstore_t *gstore_new(bk_t *b);
void gstore_free(gstore_t *s);
/* One record replayed from partition `part`, in log order.  v / g NULL =
 * tombstone.  The store copies what it keeps. */
void gstore_load_offset(gstore_t *s, int32_t part, const offrec_key_t *k, const offrec_offset_t *v);
void gstore_load_group(gstore_t *s, int32_t part, const char *group, const offrec_group_t *g);
/* Replay of `part` finished: its groups are live (timers start). */
void gstore_load_done(gstore_t *s, int32_t part);
/* This broker no longer coordinates `part`: drop its groups and offsets;
 * held JoinGroup/SyncGroup answers go out with NOT_COORDINATOR. */
void gstore_unload(gstore_t *s, int32_t part);

#endif
