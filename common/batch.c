/*
 * batch.c - RecordBatch v2: the checks the broker applies to produced
 * batches (in Kafka's order and with Kafka's error codes), the check log
 * recovery and followers apply to stored batches, record iteration (with
 * decompression) and a builder for tools and tests.
 *
 * Invariants: nothing here trusts a length from the bytes.  Batch Length is
 * checked against the buffer before the CRC or payload is touched; every
 * record varint length is checked against the bytes left in its record, and
 * a record must consume exactly its Length.  Iteration never allocates
 * except the decompressed payload, which is capped by the caller.
 * Thread: any; no shared state.
 */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "crc32c.h"
#include "proto.h"

#define MIN_LENGTH (KBATCH_HDR_SIZE - KBATCH_LOG_OVERHEAD)

int kbatch_parse_hdr(const uint8_t *p, size_t len, kbatch_hdr_t *h)
{
    if (len < KBATCH_HDR_SIZE)
        return -1;
    h->BaseOffset = be64(p + KBATCH_OFF_BASE_OFFSET);
    h->Length = be32(p + KBATCH_OFF_LENGTH);
    h->PartitionLeaderEpoch = be32(p + KBATCH_OFF_LEADER_EPOCH);
    h->Magic = (int8_t)p[KBATCH_OFF_MAGIC];
    h->CRC = (uint32_t)be32(p + KBATCH_OFF_CRC);
    h->Attributes = be16(p + KBATCH_OFF_ATTRIBUTES);
    h->LastOffsetDelta = be32(p + KBATCH_OFF_LAST_OFFSET_DELTA);
    h->BaseTimestamp = be64(p + KBATCH_OFF_BASE_TIMESTAMP);
    h->MaxTimestamp = be64(p + KBATCH_OFF_MAX_TIMESTAMP);
    h->ProducerId = be64(p + KBATCH_OFF_PRODUCER_ID);
    h->ProducerEpoch = be16(p + KBATCH_OFF_PRODUCER_EPOCH);
    h->BaseSequence = be32(p + KBATCH_OFF_BASE_SEQUENCE);
    h->RecordsCount = be32(p + KBATCH_OFF_RECORDS_COUNT);
    return 0;
}

/* ---- record parsing ----------------------------------------------------- */

/* A VARINT-length byte string inside a record (-1 = null if allowed). */
static kstr_t var_bytes(krd_t *rd, int nullable)
{
    kstr_t s = {NULL, -1};
    int32_t n = krd_varint(rd);
    if (rd->err)
        return s;
    if (n < 0) {
        if (n != -1 || !nullable)
            rd->err = true;
        return s;
    }
    s.ptr = krd_raw(rd, (size_t)n); /* sets err if n > remaining */
    s.len = s.ptr ? n : -1;
    return s;
}

/* Skip HeadersCount headers; they must fit the record. */
static void skip_headers(krd_t *rd, int32_t count)
{
    for (int32_t i = 0; i < count && !rd->err; i++) {
        (void)var_bytes(rd, 0); /* HeaderKey: never null */
        (void)var_bytes(rd, 1); /* HeaderValue */
    }
}

/* Read one record from the payload reader.  0 or -1. */
static int record_next(krd_t *rd, krecord_t *r)
{
    int32_t len = krd_varint(rd);
    if (rd->err || len < 0 || (size_t)len > krd_remain(rd))
        return -1;
    krd_t sub;
    krd_init(&sub, rd->buf + rd->pos, (size_t)len);
    krd_skip(rd, (size_t)len);

    r->Attributes = krd_i8(&sub);
    r->TimestampDelta = krd_varlong(&sub);
    r->OffsetDelta = krd_varint(&sub);
    r->Key = var_bytes(&sub, 1);
    r->Value = var_bytes(&sub, 1);
    r->HeadersCount = krd_varint(&sub);
    if (sub.err || r->HeadersCount < 0)
        return -1;
    r->Headers = sub.buf + sub.pos;
    skip_headers(&sub, r->HeadersCount);
    r->HeadersLen = (size_t)(sub.buf + sub.pos - r->Headers);
    /* The record must be exactly Length bytes. */
    return sub.err || krd_remain(&sub) != 0 ? -1 : 0;
}

typedef int (*record_fn)(const kbatch_hdr_t *h, const krecord_t *r, void *arg);

/* Walk count records filling payload exactly; fn NULL = check only. */
static int walk_records(const kbatch_hdr_t *h, const uint8_t *p, size_t len, record_fn fn, void *arg)
{
    krd_t rd;
    krd_init(&rd, p, len);
    for (int32_t i = 0; i < h->RecordsCount; i++) {
        krecord_t r;
        if (record_next(&rd, &r) != 0)
            return -1;
        if (fn) {
            int rc = fn(h, &r, arg);
            if (rc)
                return rc;
        }
    }
    return krd_remain(&rd) == 0 ? 0 : -1; /* no bytes after the last record */
}

int krecord_foreach_header(const krecord_t *r, int (*fn)(kstr_t key, kstr_t value, void *arg), void *arg)
{
    krd_t rd;
    krd_init(&rd, r->Headers, r->HeadersLen);
    for (int32_t i = 0; i < r->HeadersCount; i++) {
        kstr_t k = var_bytes(&rd, 0);
        kstr_t v = var_bytes(&rd, 1);
        if (rd.err)
            return -1;
        int rc = fn(k, v, arg);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- validation --------------------------------------------------------- */

static uint32_t batch_crc(const uint8_t *p, size_t total)
{
    return crc32c(0, p + KBATCH_CRC_START, total - KBATCH_CRC_START);
}

/* Framing: magic 2 and a Length that covers a header and fits in len. */
static int framing_ok(const kbatch_hdr_t *h, size_t len)
{
    return h->Magic == 2 && h->Length >= MIN_LENGTH && (size_t)h->Length <= len - KBATCH_LOG_OVERHEAD;
}

int kbatch_validate_produce(const uint8_t *p, size_t len, int16_t produce_version, kbatch_hdr_t *h)
{
    if (kbatch_parse_hdr(p, len, h) != 0)
        return KERR_CORRUPT_MESSAGE;
    /* Exactly one magic-2 batch (checked before Length: v0/v1 sets frame
     * differently, so their Length would be meaningless). */
    if (h->Magic != 2)
        return KERR_INVALID_RECORD;
    if (!framing_ok(h, len))
        return KERR_CORRUPT_MESSAGE;
    if ((size_t)h->Length != len - KBATCH_LOG_OVERHEAD)
        return KERR_INVALID_RECORD;
    int codec = KBATCH_CODEC(h->Attributes);
    if (codec > KCODEC_ZSTD || (codec == KCODEC_ZSTD && produce_version < 7))
        return KERR_UNSUPPORTED_COMPRESSION_TYPE;
    if (batch_crc(p, len) != h->CRC)
        return KERR_CORRUPT_MESSAGE;
    if (h->RecordsCount <= 0 || (int64_t)h->LastOffsetDelta + 1 != h->RecordsCount)
        return KERR_INVALID_RECORD;
    if (h->Attributes & KBATCH_CONTROL)
        return KERR_INVALID_RECORD;
    if (h->ProducerId >= 0 && h->BaseSequence < 0)
        return KERR_INVALID_RECORD;
    if (h->Attributes & KBATCH_LOG_APPEND_TIME)
        return KERR_INVALID_TIMESTAMP;
    if (codec == KCODEC_NONE &&
        walk_records(h, p + KBATCH_HDR_SIZE, len - KBATCH_HDR_SIZE, NULL, NULL) != 0)
        return KERR_CORRUPT_MESSAGE;
    return KERR_NONE;
}

size_t kbatch_valid_prefix(const uint8_t *p, size_t len)
{
    size_t pos = 0;
    kbatch_hdr_t h;
    while (kbatch_parse_hdr(p + pos, len - pos, &h) == 0) {
        /* LastOffsetDelta < 0 would make the next offset go backwards. */
        if (!framing_ok(&h, len - pos) || h.LastOffsetDelta < 0)
            break;
        size_t total = (size_t)h.Length + KBATCH_LOG_OVERHEAD;
        if (batch_crc(p + pos, total) != h.CRC)
            break;
        pos += total;
    }
    return pos;
}

/* ---- iteration ---------------------------------------------------------- */

int kbatch_foreach_record(const uint8_t *batch, size_t len, size_t max_decompressed, record_fn fn, void *arg)
{
    kbatch_hdr_t h;
    if (kbatch_parse_hdr(batch, len, &h) != 0 || !framing_ok(&h, len) || h.RecordsCount < 0)
        return -1;
    int codec = KBATCH_CODEC(h.Attributes);
    const uint8_t *payload = batch + KBATCH_HDR_SIZE;
    size_t plen = (size_t)h.Length + KBATCH_LOG_OVERHEAD - KBATCH_HDR_SIZE;
    uint8_t *plain = NULL;
    if (codec != KCODEC_NONE) {
        if (codec > KCODEC_ZSTD || kdecompress(codec, payload, plen, max_decompressed, &plain, &plen) != 0)
            return -1;
        payload = plain;
    }
    /* Check everything first so a malformed batch yields no callbacks. */
    int rc = walk_records(&h, payload, plen, NULL, NULL);
    if (rc == 0)
        rc = walk_records(&h, payload, plen, fn, arg);
    free(plain);
    return rc;
}

/* ---- builder ------------------------------------------------------------ */

static void put_var_bytes(kwr_t *w, const void *p, int32_t len)
{
    if (len < 0) {
        kwr_varint(w, -1);
        return;
    }
    kwr_varint(w, len);
    kwr_raw(w, p, (size_t)len);
}

/* Append one record (Length varint + body) to w, using scratch for the body. */
static void put_record(kwr_t *w, kwr_t *scratch, const krecord_in_t *r, int32_t offset_delta, int64_t base_ts)
{
    kwr_reset(scratch);
    kwr_i8(scratch, 0);
    kwr_varlong(scratch, r->timestamp - base_ts);
    kwr_varint(scratch, offset_delta);
    put_var_bytes(scratch, r->key, r->key ? r->key_len : (r->key_len < 0 ? -1 : 0));
    put_var_bytes(scratch, r->value, r->value ? r->value_len : (r->value_len < 0 ? -1 : 0));
    kwr_varint(scratch, r->nheaders);
    for (int i = 0; i < r->nheaders; i++) {
        put_var_bytes(scratch, r->hkeys[i], (int32_t)strlen(r->hkeys[i]));
        const void *v = r->hvals ? r->hvals[i] : NULL;
        int32_t vlen = r->hval_lens ? r->hval_lens[i] : (v ? (int32_t)strlen(v) : -1);
        put_var_bytes(scratch, v, vlen);
    }
    if (scratch->oom) {
        w->oom = true;
        return;
    }
    kwr_varint(w, (int32_t)scratch->len);
    kwr_raw(w, scratch->buf, scratch->len);
}

static void put_header(uint8_t *b, int codec, int n, int64_t base_ts, int64_t max_ts)
{
    memset(b, 0, KBATCH_HDR_SIZE);
    b[KBATCH_OFF_MAGIC] = 2;
    put_be16(b + KBATCH_OFF_ATTRIBUTES, (int16_t)codec);
    put_be32(b + KBATCH_OFF_LAST_OFFSET_DELTA, n - 1);
    put_be64(b + KBATCH_OFF_BASE_TIMESTAMP, base_ts);
    put_be64(b + KBATCH_OFF_MAX_TIMESTAMP, max_ts);
    put_be64(b + KBATCH_OFF_PRODUCER_ID, -1);
    put_be16(b + KBATCH_OFF_PRODUCER_EPOCH, -1);
    put_be32(b + KBATCH_OFF_BASE_SEQUENCE, -1);
    put_be32(b + KBATCH_OFF_RECORDS_COUNT, n);
}

int kbatch_build(kwr_t *wr, int codec, const krecord_in_t *recs, int n)
{
    if (codec < KCODEC_NONE || codec > KCODEC_ZSTD || n < 0 || wr->oom)
        return -1;
    kwr_t body, scratch;
    kwr_init(&body, 256);
    kwr_init(&scratch, 128);
    int64_t base_ts = n ? recs[0].timestamp : -1, max_ts = base_ts;
    for (int i = 0; i < n; i++) {
        put_record(&body, &scratch, &recs[i], i, base_ts);
        if (recs[i].timestamp > max_ts)
            max_ts = recs[i].timestamp;
    }
    kwr_free(&scratch);

    int rc = -1;
    uint8_t *z = NULL;
    const uint8_t *payload = body.buf;
    size_t plen = body.len;
    if (!body.oom && codec != KCODEC_NONE && kcompress(codec, body.buf, body.len, &z, &plen) == 0)
        payload = z;
    if (!body.oom && (codec == KCODEC_NONE || z) && plen <= (size_t)INT32_MAX - MIN_LENGTH) {
        uint8_t *b = kwr_ensure(wr, KBATCH_HDR_SIZE + plen);
        if (b) {
            size_t total = KBATCH_HDR_SIZE + plen;
            put_header(b, codec, n, base_ts, max_ts);
            put_be32(b + KBATCH_OFF_LENGTH, (int32_t)(total - KBATCH_LOG_OVERHEAD));
            if (plen)
                memcpy(b + KBATCH_HDR_SIZE, payload, plen);
            put_be32(b + KBATCH_OFF_CRC, (int32_t)batch_crc(b, total));
            wr->len += total;
            rc = 0;
        }
    }
    free(z);
    kwr_free(&body);
    return rc;
}
