/*
 * batch.h - RecordBatch v2 (magic 2): header parsing, produce validation,
 * stored-log validation, record iteration and a batch builder.
 * Layout: reference/kafka-protocol.md section 3.  Field names are the wire
 * names.  Thread: none (pure functions over caller-owned bytes).
 */
#ifndef WEIR_BATCH_H
#define WEIR_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define KBATCH_HDR_SIZE 61
/* Byte positions inside the header (the CRC covers [KBATCH_CRC_START, end)). */
#define KBATCH_OFF_BASE_OFFSET 0
#define KBATCH_OFF_LENGTH 8
#define KBATCH_OFF_LEADER_EPOCH 12
#define KBATCH_OFF_MAGIC 16
#define KBATCH_OFF_CRC 17
#define KBATCH_CRC_START 21
#define KBATCH_OFF_ATTRIBUTES 21
#define KBATCH_OFF_LAST_OFFSET_DELTA 23
#define KBATCH_OFF_BASE_TIMESTAMP 27
#define KBATCH_OFF_MAX_TIMESTAMP 35
#define KBATCH_OFF_PRODUCER_ID 43
#define KBATCH_OFF_PRODUCER_EPOCH 51
#define KBATCH_OFF_BASE_SEQUENCE 53
#define KBATCH_OFF_RECORDS_COUNT 57
/* Bytes before the Length field's coverage starts (BaseOffset + Length). */
#define KBATCH_LOG_OVERHEAD 12

typedef struct kbatch_hdr {
    int64_t BaseOffset;
    int32_t Length;
    int32_t PartitionLeaderEpoch;
    int8_t Magic;
    uint32_t CRC;
    int16_t Attributes;
    int32_t LastOffsetDelta;
    int64_t BaseTimestamp, MaxTimestamp, ProducerId;
    int16_t ProducerEpoch;
    int32_t BaseSequence, RecordsCount;
} kbatch_hdr_t;

#define KBATCH_CODEC(attr) ((attr) & 7)
#define KBATCH_LOG_APPEND_TIME 0x08
#define KBATCH_TRANSACTIONAL 0x10
#define KBATCH_CONTROL 0x20

/* Parse the fixed header (no validation beyond len >= 61).  0 or -1. */
int kbatch_parse_hdr(const uint8_t *p, size_t len, kbatch_hdr_t *h);

/*
 * Validate the Records field of one partition of a Produce request (v3+).
 * It must be exactly one magic-2 batch filling len exactly, with a good
 * CRC-32C, RecordsCount > 0 == LastOffsetDelta + 1, no control bit, no
 * LogAppendTime bit, BaseSequence >= 0 when ProducerId >= 0, codec 0..4
 * (zstd only from produce v7).  Uncompressed batches also get their records
 * walked (no allocation).  Returns KERR_NONE or the KERR_* code Kafka
 * answers; *h is filled whenever the 61-byte header could be read.
 */
int kbatch_validate_produce(const uint8_t *p, size_t len, int16_t produce_version, kbatch_hdr_t *h);

/*
 * Validate a stored batch sequence (a segment file, a replica fetch): walk
 * consecutive batches from p checking magic 2, a sane Length and the CRC.
 * Returns how many bytes from p are whole valid batches; the first torn or
 * corrupt batch and everything after it are excluded.
 */
size_t kbatch_valid_prefix(const uint8_t *p, size_t len);

/* One record; views point into the batch (or its decompressed copy, valid
 * only during the callback).  Key/Value len -1 = null. */
typedef struct krecord {
    int32_t Attributes;
    int64_t TimestampDelta;
    int32_t OffsetDelta;
    kstr_t Key;
    kstr_t Value;
    int32_t HeadersCount;
    const uint8_t *Headers; /* the encoded headers, after HeadersCount */
    size_t HeadersLen;
} krecord_t;

/*
 * Iterate the records of the batch at the start of batch[0..len) (bytes past
 * its Length are ignored), decompressing if needed; a decompressed payload
 * larger than max_decompressed is an error.  The whole payload is checked
 * before the first callback, so on -1 no callback has run.  fn returns 0 to
 * continue or nonzero to stop (that value is returned).  Returns 0, fn's
 * value, or -1 on malformed data.  The CRC is not checked here.
 */
int kbatch_foreach_record(const uint8_t *batch, size_t len, size_t max_decompressed,
                          int (*fn)(const kbatch_hdr_t *h, const krecord_t *r, void *arg), void *arg);

/* Visit a record's headers (already checked by the iterator).  HeaderKey is
 * never null; a value len -1 is null.  Same return convention as above. */
int krecord_foreach_header(const krecord_t *r, int (*fn)(kstr_t key, kstr_t value, void *arg), void *arg);

/*
 * Builder (tools, tests, benchmarks): append one complete v2 batch to wr with
 * BaseOffset 0, PartitionLeaderEpoch 0, producer id/epoch/sequence -1,
 * OffsetDelta 0..n-1, BaseTimestamp = the first record's timestamp, payload
 * compressed with codec 0..4, and a correct CRC.  key_len/value_len -1 =
 * null.  Header values: hval_lens[i] (-1 = null), or, when hval_lens is
 * NULL, hvals[i] is a C string (NULL = null).  Returns 0, or -1 with wr
 * unchanged (bad codec, compression failure, out of memory).
 */
typedef struct krecord_in {
    const void *key;
    int32_t key_len;
    const void *value;
    int32_t value_len;
    int64_t timestamp;
    int nheaders;
    const char *const *hkeys;
    const void *const *hvals;
    const int32_t *hval_lens;
} krecord_in_t;
int kbatch_build(kwr_t *wr, int codec, const krecord_in_t *recs, int n);

#endif
