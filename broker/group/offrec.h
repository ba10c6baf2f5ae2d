/*
 * offrec.h - the records of __consumer_offsets in Kafka's formats
 * (reference/kafka-protocol.md section 7.4): every key and value starts
 * with an INT16 schema version.  Keys: OffsetCommitKey v0/v1 (group, topic,
 * partition) and GroupMetadataKey v2 (group).  Values: OffsetCommitValue
 * v0-v3 (we write v3, or v1 when an explicit expire timestamp is set) and
 * GroupMetadataValue v0-v3 (we write v3).  A null value is a tombstone and
 * is not passed to the value decoders.
 *
 * Decoders also read value v4, the flexible encoding of the same fields
 * (compact lengths, tagged fields skipped) that Kafka 3.4.1 reads back after
 * a downgrade from a newer broker.  They check every length before reading
 * or allocating, refuse trailing bytes, null where the schema forbids it,
 * and strings holding a NUL byte (they could not round-trip as C strings).
 * Key versions other than 0-2 fail with "unknown key version N"; Kafka
 * 3.4.1+ skips such records while loading, so a caller replaying the topic
 * should skip them too rather than abort the load.
 *
 * Encoders write NULL non-nullable strings as "" and NULL bytes as empty;
 * a STRING longer than 32767 bytes cannot be written and poisons wr (oom).
 * Thread: none (pure).
 */
#ifndef WEIR_OFFREC_H
#define WEIR_OFFREC_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

enum offrec_kind { OFFREC_OFFSET = 1, OFFREC_GROUP = 2 };

typedef struct offrec_key {
    enum offrec_kind kind;
    char *group;       /* always set */
    char *topic;       /* OFFREC_OFFSET only, else NULL */
    int32_t partition; /* OFFREC_OFFSET only, else -1 */
} offrec_key_t;

typedef struct offrec_offset {
    int64_t offset;
    int32_t leader_epoch; /* -1 = none (and in v0-v2) */
    char *metadata;       /* never NULL after decode ("" when empty) */
    int64_t commit_ts;
    int64_t expire_ts;    /* -1 = none; only v1 carries one (negative read as -1) */
} offrec_offset_t;

typedef struct offrec_member {
    char *member_id;
    char *instance_id;    /* NULL = none (v3+ only) */
    char *client_id;
    char *client_host;
    int32_t rebalance_timeout; /* v0: = session_timeout */
    int32_t session_timeout;
    uint8_t *subscription; /* NULL (len 0) when empty after decode */
    int32_t subscription_len;
    uint8_t *assignment;   /* NULL (len 0) when empty after decode */
    int32_t assignment_len;
} offrec_member_t;

typedef struct offrec_group {
    char *protocol_type;
    int32_t generation;
    char *protocol;       /* NULL = none */
    char *leader;         /* NULL = none */
    int64_t state_ts;     /* currentStateTimestamp; -1 = none (v0/v1) */
    offrec_member_t *members;
    int32_t nmembers;
} offrec_group_t;

/* Decoders: 0, or -1 with a message in err (out is then zeroed/freed). */
int offrec_decode_key(const uint8_t *p, size_t n, offrec_key_t *out, char *err, size_t errlen);
int offrec_decode_offset(const uint8_t *p, size_t n, offrec_offset_t *out, char *err, size_t errlen);
int offrec_decode_group(const uint8_t *p, size_t n, offrec_group_t *out, char *err, size_t errlen);

/* Encoders append to wr. */
void offrec_encode_offset_key(kwr_t *wr, const char *group, const char *topic, int32_t partition);
void offrec_encode_group_key(kwr_t *wr, const char *group);
void offrec_encode_offset(kwr_t *wr, const offrec_offset_t *v); /* v3, or v1 if expire_ts >= 0 */
void offrec_encode_group(kwr_t *wr, const offrec_group_t *g);   /* v3 */

void offrec_key_free(offrec_key_t *k);
void offrec_offset_free(offrec_offset_t *v);
void offrec_group_free(offrec_group_t *g);

/* Kafka's partition for a group: abs(Java String.hashCode(group)) % n, the
 * hash taken over the UTF-16 code units of the (UTF-8) name; abs(INT_MIN)
 * is 0; n <= 0 gives 0.  Invalid UTF-8 counts as U+FFFD the way Java's
 * decoder does: one per maximal ill-formed subsequence, and one for a whole
 * encoded surrogate (ED A0-BF xx). */
int32_t offrec_partition_for(const char *group, size_t len, int32_t n);

#endif
