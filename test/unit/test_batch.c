/*
 * test_batch.c - RecordBatch v2: the worked example of kafka-protocol.md
 * section 3.4, build/validate/iterate round trips for every codec, every
 * error of kbatch_validate_produce, kbatch_valid_prefix on torn and corrupt
 * tails, and the iterator's cap, stop and all-or-nothing behaviour.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/batch.h"
#include "common/compress.h"
#include "common/crc32c.h"
#include "common/proto.h"

/* Section 3.4, byte for byte (82 bytes). */
static const uint8_t example[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* BaseOffset 0 */
    0x00, 0x00, 0x00, 0x46,                         /* Length 70 */
    0x00, 0x00, 0x00, 0x00,                         /* PartitionLeaderEpoch 0 */
    0x02,                                           /* Magic */
    0xf4, 0xfb, 0x6e, 0x7d,                         /* CRC */
    0x00, 0x00,                                     /* Attributes */
    0x00, 0x00, 0x00, 0x01,                         /* LastOffsetDelta 1 */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* BaseTimestamp */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x05, /* MaxTimestamp */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe9, /* ProducerId 1001 */
    0x00, 0x00,                                     /* ProducerEpoch 0 */
    0x00, 0x00, 0x00, 0x00,                         /* BaseSequence 0 */
    0x00, 0x00, 0x00, 0x02,                         /* RecordsCount 2 */
    0x18, 0x00, 0x00, 0x00, 0x02, 0x6b, 0x02, 0x76, 0x02, 0x02, 0x68, 0x02, 0x78,
    0x0e, 0x00, 0x0a, 0x02, 0x01, 0x02, 0x77, 0x00,
};

/* ---- collecting records ------------------------------------------------- */

#define MAXR 64
typedef struct {
    int n;
    int64_t ts[MAXR];
    int32_t off[MAXR];
    char key[MAXR][64];
    int32_t klen[MAXR], vlen[MAXR], nh[MAXR];
    char val[MAXR][64];
    char hdrs[MAXR][128]; /* "k=v;k=<null>;" */
    int stop_at;          /* return 99 when this many were seen (0 = never) */
} seen_t;

static int hdr_cb(kstr_t k, kstr_t v, void *arg)
{
    char *out = arg;
    size_t l = strlen(out);
    snprintf(out + l, 128 - l, "%.*s=%.*s;", k.len, (const char *)k.ptr, v.len < 0 ? 6 : v.len,
             v.len < 0 ? "<null>" : (const char *)v.ptr);
    return 0;
}

static int rec_cb(const kbatch_hdr_t *h, const krecord_t *r, void *arg)
{
    seen_t *s = arg;
    assert_true(s->n < MAXR);
    int i = s->n++;
    s->ts[i] = h->BaseTimestamp + r->TimestampDelta;
    s->off[i] = r->OffsetDelta;
    s->klen[i] = r->Key.len;
    s->vlen[i] = r->Value.len;
    s->nh[i] = r->HeadersCount;
    if (r->Key.len > 0)
        memcpy(s->key[i], r->Key.ptr, (size_t)r->Key.len < 63 ? (size_t)r->Key.len : 63);
    if (r->Value.len > 0)
        memcpy(s->val[i], r->Value.ptr, (size_t)r->Value.len < 63 ? (size_t)r->Value.len : 63);
    s->hdrs[i][0] = 0;
    assert_int_equal(krecord_foreach_header(r, hdr_cb, s->hdrs[i]), 0);
    return s->stop_at && s->n == s->stop_at ? 99 : 0;
}

/* Recompute the CRC after a test edits bytes past offset 21. */
static void recrc(uint8_t *b, size_t len)
{
    put_be32(b + KBATCH_OFF_CRC, (int32_t)crc32c(0, b + KBATCH_CRC_START, len - KBATCH_CRC_START));
}

/* ---- the worked example ------------------------------------------------- */

static void test_worked_example(void **state)
{
    (void)state;
    assert_int_equal(sizeof(example), 82);
    assert_int_equal(crc32c(0, example + 21, 61), 0xf4fb6e7du);
    kbatch_hdr_t h;
    assert_int_equal(kbatch_validate_produce(example, sizeof(example), 3, &h), KERR_NONE);
    assert_int_equal(h.Length, 70);
    assert_int_equal(h.Magic, 2);
    assert_int_equal(h.CRC, 0xf4fb6e7du);
    assert_int_equal(h.LastOffsetDelta, 1);
    assert_int_equal(h.BaseTimestamp, 1700000000000LL);
    assert_int_equal(h.MaxTimestamp, 1700000000005LL);
    assert_int_equal(h.ProducerId, 1001);
    assert_int_equal(h.ProducerEpoch, 0);
    assert_int_equal(h.BaseSequence, 0);
    assert_int_equal(h.RecordsCount, 2);
    assert_int_equal(kbatch_valid_prefix(example, sizeof(example)), 82);

    seen_t s = {0};
    assert_int_equal(kbatch_foreach_record(example, sizeof(example), 1 << 20, rec_cb, &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.ts[0], 1700000000000LL);
    assert_int_equal(s.ts[1], 1700000000005LL);
    assert_int_equal(s.off[0], 0);
    assert_int_equal(s.off[1], 1);
    assert_int_equal(s.klen[0], 1);
    assert_string_equal(s.key[0], "k");
    assert_string_equal(s.val[0], "v");
    assert_string_equal(s.hdrs[0], "h=x;");
    assert_int_equal(s.klen[1], -1);
    assert_string_equal(s.val[1], "w");
    assert_int_equal(s.nh[1], 0);

    /* The builder encodes the same records byte for byte. */
    const char *hk[] = {"h"};
    const void *hv[] = {"x"};
    krecord_in_t in[2] = {
        {.key = "k", .key_len = 1, .value = "v", .value_len = 1, .timestamp = 1700000000000LL,
         .nheaders = 1, .hkeys = hk, .hvals = hv},
        {.key = NULL, .key_len = -1, .value = "w", .value_len = 1, .timestamp = 1700000000005LL},
    };
    kwr_t w;
    kwr_init(&w, 0);
    assert_int_equal(kbatch_build(&w, 0, in, 2), 0);
    assert_int_equal(w.len, 82);
    assert_memory_equal(w.buf + 61, example + 61, 21);
    assert_memory_equal(w.buf + 21, example + 21, 22); /* Attributes..MaxTimestamp */
    kwr_free(&w);
}

/* ---- round trips -------------------------------------------------------- */

static void build_mixed(kwr_t *w, int codec, int nrec)
{
    static const char *hk[] = {"trace", "empty", "nul"};
    static const void *hv[] = {"abc", "", NULL};
    static const int32_t hl[] = {3, 0, -1};
    krecord_in_t in[MAXR];
    char keys[MAXR][24], vals[MAXR][24];
    for (int i = 0; i < nrec; i++) {
        snprintf(keys[i], sizeof(keys[i]), "key-%d", i);
        snprintf(vals[i], sizeof(vals[i]), "value-%d", i);
        in[i] = (krecord_in_t){.key = keys[i], .key_len = (int32_t)strlen(keys[i]), .value = vals[i],
                               .value_len = (int32_t)strlen(vals[i]), .timestamp = 1000 + (i * 7) % 5};
        switch (i % 4) {
        case 1: in[i].key = NULL; in[i].key_len = -1; break;       /* null key */
        case 2: in[i].value = NULL; in[i].value_len = -1; break;   /* tombstone */
        case 3: in[i].value = ""; in[i].value_len = 0; break;      /* empty value */
        default: in[i].nheaders = 3; in[i].hkeys = hk; in[i].hvals = hv; in[i].hval_lens = hl; break;
        }
    }
    assert_int_equal(kbatch_build(w, codec, in, nrec), 0);
}

static void check_mixed(const seen_t *s, int nrec)
{
    assert_int_equal(s->n, nrec);
    for (int i = 0; i < nrec; i++) {
        char buf[24];
        assert_int_equal(s->off[i], i);
        assert_int_equal(s->ts[i], 1000 + (i * 7) % 5);
        snprintf(buf, sizeof(buf), "key-%d", i);
        if (i % 4 == 1)
            assert_int_equal(s->klen[i], -1);
        else
            assert_string_equal(s->key[i], buf);
        snprintf(buf, sizeof(buf), "value-%d", i);
        if (i % 4 == 2)
            assert_int_equal(s->vlen[i], -1);
        else if (i % 4 == 3)
            assert_int_equal(s->vlen[i], 0);
        else
            assert_string_equal(s->val[i], buf);
        if (i % 4 == 0)
            assert_string_equal(s->hdrs[i], "trace=abc;empty=;nul=<null>;");
        else
            assert_int_equal(s->nh[i], 0);
    }
}

static void test_roundtrip_every_codec(void **state)
{
    (void)state;
    for (int codec = 0; codec <= 4; codec++) {
        kwr_t w;
        kwr_init(&w, 0);
        build_mixed(&w, codec, 40);
        kbatch_hdr_t h;
        assert_int_equal(kbatch_validate_produce(w.buf, w.len, 7, &h), KERR_NONE);
        assert_int_equal(KBATCH_CODEC(h.Attributes), codec);
        assert_int_equal(h.RecordsCount, 40);
        assert_int_equal(h.LastOffsetDelta, 39);
        assert_int_equal(h.BaseTimestamp, 1000);
        assert_int_equal(h.MaxTimestamp, 1004);
        assert_int_equal(h.ProducerId, -1);
        assert_int_equal(h.ProducerEpoch, -1);
        assert_int_equal(h.BaseSequence, -1);
        assert_int_equal(h.Length + 12, (int32_t)w.len);
        assert_int_equal(kbatch_validate_produce(w.buf, w.len, 3, &h),
                         codec == KCODEC_ZSTD ? KERR_UNSUPPORTED_COMPRESSION_TYPE : KERR_NONE);
        assert_int_equal(kbatch_valid_prefix(w.buf, w.len), w.len);
        seen_t s = {0};
        assert_int_equal(kbatch_foreach_record(w.buf, w.len, 1 << 20, rec_cb, &s), 0);
        check_mixed(&s, 40);
        kwr_free(&w);
    }
}

static void test_build_appends_and_rejects(void **state)
{
    (void)state;
    kwr_t w;
    kwr_init(&w, 0);
    kwr_raw(&w, "xyz", 3);
    krecord_in_t r = {.key = "a", .key_len = 1, .value = "b", .value_len = 1, .timestamp = 5};
    assert_int_equal(kbatch_build(&w, 5, &r, 1), -1);
    assert_int_equal(kbatch_build(&w, -1, &r, 1), -1);
    assert_int_equal(w.len, 3); /* unchanged on error */
    assert_int_equal(kbatch_build(&w, KCODEC_LZ4, &r, 1), 0);
    assert_memory_equal(w.buf, "xyz", 3);
    kbatch_hdr_t h;
    assert_int_equal(kbatch_validate_produce(w.buf + 3, w.len - 3, 3, &h), KERR_NONE);
    /* Header values given as C strings when hval_lens is NULL. */
    const char *hk[] = {"a", "b"};
    const void *hv[] = {"1", NULL};
    krecord_in_t r2 = {.value = "v", .value_len = 1, .key_len = -1, .nheaders = 2, .hkeys = hk, .hvals = hv};
    kwr_reset(&w);
    assert_int_equal(kbatch_build(&w, 0, &r2, 1), 0);
    seen_t s = {0};
    assert_int_equal(kbatch_foreach_record(w.buf, w.len, 1024, rec_cb, &s), 0);
    assert_string_equal(s.hdrs[0], "a=1;b=<null>;");
    /* An empty batch builds but is not acceptable from a producer. */
    kwr_reset(&w);
    assert_int_equal(kbatch_build(&w, 0, NULL, 0), 0);
    assert_int_equal(w.len, 61);
    assert_int_equal(kbatch_validate_produce(w.buf, w.len, 3, &h), KERR_INVALID_RECORD);
    kwr_free(&w);
}

/* ---- produce validation errors ------------------------------------------ */

static uint8_t *copy_example(size_t extra)
{
    uint8_t *b = calloc(1, sizeof(example) + extra);
    assert_non_null(b);
    memcpy(b, example, sizeof(example));
    return b;
}

static int validate(const uint8_t *b, size_t len, int16_t ver)
{
    kbatch_hdr_t h;
    return kbatch_validate_produce(b, len, ver, &h);
}

static void test_validate_framing_errors(void **state)
{
    (void)state;
    const size_t n = sizeof(example);
    uint8_t *b = copy_example(n);
    /* Truncated anywhere: the header or the batch does not fit. */
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(validate(b, cut, 3), KERR_CORRUPT_MESSAGE);
    /* Extra bytes, and two whole batches. */
    assert_int_equal(validate(b, n + 1, 3), KERR_INVALID_RECORD);
    memcpy(b + n, example, n);
    assert_int_equal(validate(b, 2 * n, 3), KERR_INVALID_RECORD);
    /* Length below the header size, negative, or past the buffer. */
    put_be32(b + 8, 48);
    assert_int_equal(validate(b, n, 3), KERR_CORRUPT_MESSAGE);
    put_be32(b + 8, -1);
    assert_int_equal(validate(b, n, 3), KERR_CORRUPT_MESSAGE);
    put_be32(b + 8, 71);
    assert_int_equal(validate(b, n, 3), KERR_CORRUPT_MESSAGE);
    put_be32(b + 8, 70);
    /* Magic 1 and 0 are not accepted from produce v3+. */
    b[16] = 1;
    assert_int_equal(validate(b, n, 3), KERR_INVALID_RECORD);
    b[16] = 0;
    assert_int_equal(validate(b, n, 3), KERR_INVALID_RECORD);
    b[16] = 2;
    /* Wrong CRC: in the CRC field, and in a covered byte. */
    b[17] ^= 1;
    assert_int_equal(validate(b, n, 3), KERR_CORRUPT_MESSAGE);
    b[17] ^= 1;
    b[70] ^= 0x40;
    assert_int_equal(validate(b, n, 3), KERR_CORRUPT_MESSAGE);
    b[70] ^= 0x40;
    /* BaseOffset and PartitionLeaderEpoch are outside the CRC. */
    put_be64(b, 12345);
    put_be32(b + 12, 7);
    assert_int_equal(validate(b, n, 3), KERR_NONE);
    free(b);
}

static void test_validate_header_errors(void **state)
{
    (void)state;
    const size_t n = sizeof(example);
    uint8_t *b = copy_example(0);
#define EXPECT_AFTER(stmt, code)                       \
    do {                                               \
        memcpy(b, example, n);                         \
        stmt;                                          \
        recrc(b, n);                                   \
        assert_int_equal(validate(b, n, 7), (code));   \
    } while (0)
    EXPECT_AFTER((void)0, KERR_NONE);
    EXPECT_AFTER(put_be32(b + 57, 3), KERR_INVALID_RECORD);           /* count != LastOffsetDelta+1 */
    EXPECT_AFTER(put_be32(b + 23, 0), KERR_INVALID_RECORD);
    EXPECT_AFTER((put_be32(b + 57, 0), put_be32(b + 23, -1)), KERR_INVALID_RECORD); /* zero records */
    EXPECT_AFTER((put_be32(b + 57, INT32_MIN), put_be32(b + 23, INT32_MAX)), KERR_INVALID_RECORD);
    EXPECT_AFTER(put_be16(b + 21, KBATCH_CONTROL), KERR_INVALID_RECORD);
    EXPECT_AFTER(put_be32(b + 53, -1), KERR_INVALID_RECORD);           /* idempotent without sequence */
    EXPECT_AFTER((put_be64(b + 43, -1), put_be32(b + 53, -1)), KERR_NONE); /* not idempotent: fine */
    EXPECT_AFTER(put_be16(b + 21, KBATCH_LOG_APPEND_TIME), KERR_INVALID_TIMESTAMP);
    EXPECT_AFTER(put_be16(b + 21, KBATCH_TRANSACTIONAL), KERR_NONE);
    for (int codec = 5; codec <= 7; codec++)
        EXPECT_AFTER(put_be16(b + 21, (int16_t)codec), KERR_UNSUPPORTED_COMPRESSION_TYPE);
    /* Records that do not fit their lengths or count (header consistent). */
    EXPECT_AFTER(b[61] = 0x1a, KERR_CORRUPT_MESSAGE);              /* record 1 Length 13: overlaps */
    EXPECT_AFTER(b[61] = 0x16, KERR_CORRUPT_MESSAGE);              /* Length 11: leftover byte */
    EXPECT_AFTER(b[65] = 0x04, KERR_CORRUPT_MESSAGE);              /* key length 2 */
    EXPECT_AFTER(b[65] = 0x03, KERR_CORRUPT_MESSAGE);              /* key length -2 */
    EXPECT_AFTER(b[69] = 0x03, KERR_CORRUPT_MESSAGE);              /* header count -2 */
    EXPECT_AFTER(b[70] = 0x01, KERR_CORRUPT_MESSAGE);              /* header key null */
    EXPECT_AFTER(b[81] = 0x02, KERR_CORRUPT_MESSAGE);              /* record 2 claims a header */
    EXPECT_AFTER((put_be32(b + 57, 1), put_be32(b + 23, 0)), KERR_CORRUPT_MESSAGE); /* 1 declared, 2 present */
    EXPECT_AFTER((put_be32(b + 57, 3), put_be32(b + 23, 2)), KERR_CORRUPT_MESSAGE); /* 3 declared, 2 present */
#undef EXPECT_AFTER
    free(b);
}

static void test_validate_zstd_gate(void **state)
{
    (void)state;
    krecord_in_t r = {.key_len = -1, .value = "zz", .value_len = 2, .timestamp = 1};
    kwr_t w;
    kwr_init(&w, 0);
    assert_int_equal(kbatch_build(&w, KCODEC_ZSTD, &r, 1), 0);
    assert_int_equal(validate(w.buf, w.len, 6), KERR_UNSUPPORTED_COMPRESSION_TYPE);
    assert_int_equal(validate(w.buf, w.len, 7), KERR_NONE);
    assert_int_equal(validate(w.buf, w.len, 9), KERR_NONE);
    kwr_free(&w);
}

/* ---- stored batches ----------------------------------------------------- */

static void test_valid_prefix(void **state)
{
    (void)state;
    kwr_t w;
    kwr_init(&w, 0);
    size_t ends[4] = {0};
    build_mixed(&w, KCODEC_NONE, 3);
    ends[1] = w.len;
    build_mixed(&w, KCODEC_GZIP, 5);
    ends[2] = w.len;
    kwr_raw(&w, example, sizeof(example));
    ends[3] = w.len;
    assert_int_equal(kbatch_valid_prefix(w.buf, w.len), w.len);
    /* A torn tail anywhere keeps exactly the whole batches before it. */
    for (size_t cut = 0; cut <= w.len; cut++) {
        size_t expect = cut >= ends[3] ? ends[3] : cut >= ends[2] ? ends[2] : cut >= ends[1] ? ends[1] : 0;
        assert_int_equal(kbatch_valid_prefix(w.buf, cut), expect);
    }
    /* Corruption stops the walk at the corrupt batch. */
    w.buf[ends[1] + 40] ^= 0x10;
    assert_int_equal(kbatch_valid_prefix(w.buf, w.len), ends[1]);
    w.buf[ends[1] + 40] ^= 0x10;
    w.buf[ends[2] + 16] = 1; /* magic */
    assert_int_equal(kbatch_valid_prefix(w.buf, w.len), ends[2]);
    w.buf[ends[2] + 16] = 2;
    put_be32(w.buf + 8, -61); /* a negative Length on the first batch */
    assert_int_equal(kbatch_valid_prefix(w.buf, w.len), 0);
    put_be32(w.buf + 8, 0); /* Length 0: below the header */
    assert_int_equal(kbatch_valid_prefix(w.buf, w.len), 0);
    put_be32(w.buf + 8, (int32_t)(ends[1] - 12));
    /* Zero bytes after a batch (a preallocated file) are a torn tail. */
    kwr_reserve(&w, 100);
    assert_int_equal(kbatch_valid_prefix(w.buf, w.len), ends[3]);
    kwr_free(&w);
}

/* ---- iteration ---------------------------------------------------------- */

static void test_foreach_stop_cap_and_errors(void **state)
{
    (void)state;
    kwr_t w;
    kwr_init(&w, 0);
    build_mixed(&w, KCODEC_SNAPPY, 20);
    seen_t s = {.stop_at = 5};
    assert_int_equal(kbatch_foreach_record(w.buf, w.len, 1 << 20, rec_cb, &s), 99);
    assert_int_equal(s.n, 5);
    /* The decompressed payload is larger than 64 bytes. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(kbatch_foreach_record(w.buf, w.len, 64, rec_cb, &s), -1);
    assert_int_equal(s.n, 0);
    /* Bytes after the batch are ignored; a batch cut short is an error. */
    size_t len = w.len;
    kwr_raw(&w, "garbage", 7);
    assert_int_equal(kbatch_foreach_record(w.buf, w.len, 1 << 20, rec_cb, &s), 0);
    assert_int_equal(s.n, 20);
    assert_int_equal(kbatch_foreach_record(w.buf, len - 1, 1 << 20, rec_cb, &s), -1);
    kwr_free(&w);

    /* Malformed uncompressed records: no callback runs at all. */
    uint8_t *b = copy_example(0);
    b[81] = 0x02; /* the last record claims a header it lacks */
    memset(&s, 0, sizeof(s));
    assert_int_equal(kbatch_foreach_record(b, sizeof(example), 1 << 20, rec_cb, &s), -1);
    assert_int_equal(s.n, 0);
    memcpy(b, example, sizeof(example));
    put_be32(b + 57, -1); /* negative RecordsCount */
    assert_int_equal(kbatch_foreach_record(b, sizeof(example), 1 << 20, rec_cb, &s), -1);
    memcpy(b, example, sizeof(example));
    put_be16(b + 21, 2); /* claims snappy, payload is not */
    assert_int_equal(kbatch_foreach_record(b, sizeof(example), 1 << 20, rec_cb, &s), -1);
    put_be16(b + 21, 6); /* unknown codec */
    assert_int_equal(kbatch_foreach_record(b, sizeof(example), 1 << 20, rec_cb, &s), -1);
    assert_int_equal(s.n, 0);
    free(b);
}

/* A compressed payload whose records are wrong is caught after decompression. */
static void test_foreach_bad_compressed_records(void **state)
{
    (void)state;
    uint8_t *z;
    size_t zn;
    /* The example's records, minus the last byte. */
    assert_int_equal(kcompress(KCODEC_GZIP, example + 61, 20, &z, &zn), 0);
    kwr_t w;
    kwr_init(&w, 0);
    kwr_raw(&w, example, 61);
    kwr_raw(&w, z, zn);
    put_be32(w.buf + 8, (int32_t)(w.len - 12));
    put_be16(w.buf + 21, KCODEC_GZIP);
    recrc(w.buf, w.len);
    /* Header-level checks pass (records of compressed batches are not walked). */
    assert_int_equal(validate(w.buf, w.len, 3), KERR_NONE);
    seen_t s = {0};
    assert_int_equal(kbatch_foreach_record(w.buf, w.len, 1 << 20, rec_cb, &s), -1);
    assert_int_equal(s.n, 0);
    free(z);
    /* With all 21 bytes it iterates fine. */
    assert_int_equal(kcompress(KCODEC_GZIP, example + 61, 21, &z, &zn), 0);
    w.len = 61;
    kwr_raw(&w, z, zn);
    put_be32(w.buf + 8, (int32_t)(w.len - 12));
    recrc(w.buf, w.len);
    assert_int_equal(kbatch_foreach_record(w.buf, w.len, 1 << 20, rec_cb, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.hdrs[0], "h=x;");
    free(z);
    kwr_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_roundtrip_every_codec),
        cmocka_unit_test(test_build_appends_and_rejects),
        cmocka_unit_test(test_validate_framing_errors),
        cmocka_unit_test(test_validate_header_errors),
        cmocka_unit_test(test_validate_zstd_gate),
        cmocka_unit_test(test_valid_prefix),
        cmocka_unit_test(test_foreach_stop_cap_and_errors),
        cmocka_unit_test(test_foreach_bad_compressed_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
