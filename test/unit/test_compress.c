/*
 * test_compress.c - the batch codecs: round trips per codec and size,
 * foreign framings (xerial snappy, zlib, concatenated gzip members, zstd
 * without a content size, lz4 with checksums), the max_out cap, truncated and
 * garbage input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "common/compress.h"
#include "common/wire.h"

static const int codecs[] = {KCODEC_NONE, KCODEC_GZIP, KCODEC_SNAPPY, KCODEC_LZ4, KCODEC_ZSTD};

/* Compressible but not trivial: text-like runs with some noise. */
static uint8_t *sample(size_t n, uint32_t seed)
{
    uint8_t *b = malloc(n ? n : 1);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (i % 7 == 0) ? (uint8_t)(seed >> 16) : (uint8_t)("weir-kafka "[i % 11]);
    }
    return b;
}

static void expect_roundtrip(int codec, const uint8_t *in, size_t n)
{
    uint8_t *z = NULL, *d = NULL;
    size_t zn = 0, dn = 0;
    assert_int_equal(kcompress(codec, in, n, &z, &zn), 0);
    assert_non_null(z);
    assert_int_equal(kdecompress(codec, z, zn, n, &d, &dn), 0);
    assert_int_equal(dn, n);
    if (n)
        assert_memory_equal(d, in, n);
    free(d);
    /* One byte below the real size must be refused. */
    if (n > 0) {
        d = (uint8_t *)1;
        assert_int_equal(kdecompress(codec, z, zn, n - 1, &d, &dn), -1);
        assert_null(d);
    }
    free(z);
}

static void test_roundtrip_all_codecs(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 13, 4096, 65535, 65536, 65537, 300000, 2u << 20};
    for (size_t c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++) {
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            uint8_t *in = sample(sizes[s], (uint32_t)(c * 100 + s));
            expect_roundtrip(codecs[c], in, sizes[s]);
            free(in);
        }
    }
}

static void test_compress_shrinks_and_framing(void **state)
{
    (void)state;
    size_t n = 100000;
    uint8_t *in = sample(n, 3);
    uint8_t *z;
    size_t zn;
    assert_int_equal(kcompress(KCODEC_GZIP, in, n, &z, &zn), 0);
    assert_true(zn < n);
    assert_int_equal(z[0], 0x1f); /* RFC 1952 magic, not zlib */
    assert_int_equal(z[1], 0x8b);
    free(z);
    assert_int_equal(kcompress(KCODEC_LZ4, in, n, &z, &zn), 0);
    static const uint8_t lz4_magic[4] = {0x04, 0x22, 0x4d, 0x18};
    assert_memory_equal(z, lz4_magic, 4);
    assert_int_equal(z[4] & 0x20, 0x20); /* FLG: independent blocks */
    assert_int_equal(z[5], 0x40);        /* BD: 64 KiB blocks */
    free(z);
    assert_int_equal(kcompress(KCODEC_ZSTD, in, n, &z, &zn), 0);
    static const uint8_t zstd_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    assert_memory_equal(z, zstd_magic, 4);
    free(z);
    assert_int_equal(kcompress(KCODEC_SNAPPY, in, n, &z, &zn), 0);
    size_t ulen;
    assert_int_equal(snappy_uncompressed_length((const char *)z, zn, &ulen), SNAPPY_OK);
    assert_int_equal(ulen, n); /* a raw block, not xerial */
    free(z);
    free(in);
}

/* xerial framing as snappy-java / kafka-python write it, 32 KiB blocks. */
static void build_xerial(kwr_t *w, const uint8_t *in, size_t n, size_t blk)
{
    static const uint8_t hdr[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
    kwr_raw(w, hdr, sizeof(hdr));
    for (size_t off = 0; off < n; off += blk) {
        size_t len = n - off < blk ? n - off : blk;
        size_t zn = snappy_max_compressed_length(len);
        uint8_t *z = malloc(zn);
        assert_int_equal(snappy_compress((const char *)in + off, len, (char *)z, &zn), SNAPPY_OK);
        kwr_i32(w, (int32_t)zn);
        kwr_raw(w, z, zn);
        free(z);
    }
}

static void test_snappy_xerial(void **state)
{
    (void)state;
    size_t n = 100000; /* 4 blocks, the last one partial */
    uint8_t *in = sample(n, 11);
    kwr_t w;
    kwr_init(&w, 0);
    build_xerial(&w, in, n, 32768);
    uint8_t *d;
    size_t dn;
    assert_int_equal(kdecompress(KCODEC_SNAPPY, w.buf, w.len, n, &d, &dn), 0);
    assert_int_equal(dn, n);
    assert_memory_equal(d, in, n);
    free(d);
    /* Cap: the sum of blocks counts, not one block. */
    assert_int_equal(kdecompress(KCODEC_SNAPPY, w.buf, w.len, n - 1, &d, &dn), -1);
    assert_int_equal(kdecompress(KCODEC_SNAPPY, w.buf, w.len, 40000, &d, &dn), -1);
    /* Truncated in a block, in a length prefix, and a block length too big. */
    assert_int_equal(kdecompress(KCODEC_SNAPPY, w.buf, w.len - 1, n, &d, &dn), -1);
    assert_int_equal(kdecompress(KCODEC_SNAPPY, w.buf, 16 + 2, n, &d, &dn), -1);
    put_be32(w.buf + 16, 0x7fffffff);
    assert_int_equal(kdecompress(KCODEC_SNAPPY, w.buf, w.len, n, &d, &dn), -1);
    put_be32(w.buf + 16, -5);
    assert_int_equal(kdecompress(KCODEC_SNAPPY, w.buf, w.len, n, &d, &dn), -1);
    /* Header only: no blocks, empty output. */
    assert_int_equal(kdecompress(KCODEC_SNAPPY, w.buf, 16, n, &d, &dn), 0);
    assert_int_equal(dn, 0);
    free(d);
    kwr_free(&w);
    /* One small block. */
    kwr_init(&w, 0);
    build_xerial(&w, (const uint8_t *)"hello", 5, 32768);
    assert_int_equal(kdecompress(KCODEC_SNAPPY, w.buf, w.len, 5, &d, &dn), 0);
    assert_int_equal(dn, 5);
    assert_memory_equal(d, "hello", 5);
    free(d);
    kwr_free(&w);
    free(in);
}

static void test_gzip_variants(void **state)
{
    (void)state;
    const char *a = "first member ", *b = "second member";
    uint8_t *za, *zb;
    size_t na, nb;
    assert_int_equal(kcompress(KCODEC_GZIP, (const uint8_t *)a, strlen(a), &za, &na), 0);
    assert_int_equal(kcompress(KCODEC_GZIP, (const uint8_t *)b, strlen(b), &zb, &nb), 0);
    kwr_t w;
    kwr_init(&w, 0);
    kwr_raw(&w, za, na);
    kwr_raw(&w, zb, nb);
    uint8_t *d;
    size_t dn;
    /* Concatenated members decode as one stream (Java's GZIPInputStream does). */
    assert_int_equal(kdecompress(KCODEC_GZIP, w.buf, w.len, 100, &d, &dn), 0);
    assert_int_equal(dn, strlen(a) + strlen(b));
    assert_memory_equal(d, "first member second member", dn);
    free(d);
    /* Truncated member: error, never partial success. */
    assert_int_equal(kdecompress(KCODEC_GZIP, za, na - 1, 100, &d, &dn), -1);
    assert_int_equal(kdecompress(KCODEC_GZIP, za, 10, 100, &d, &dn), -1);
    kwr_free(&w);
    free(za);
    free(zb);

    /* zlib-wrapped input is accepted too. */
    uint8_t zl[128];
    uLongf zln = sizeof(zl);
    assert_int_equal(compress(zl, &zln, (const Bytef *)"zlib body", 9), Z_OK);
    assert_int_equal(kdecompress(KCODEC_GZIP, zl, zln, 100, &d, &dn), 0);
    assert_int_equal(dn, 9);
    assert_memory_equal(d, "zlib body", 9);
    free(d);
}

static void test_zstd_without_content_size(void **state)
{
    (void)state;
    size_t n = 200000;
    uint8_t *in = sample(n, 5);
    ZSTD_CCtx *c = ZSTD_createCCtx();
    size_t cap = ZSTD_compressBound(n);
    uint8_t *z = malloc(cap);
    ZSTD_outBuffer ob = {z, cap, 0};
    /* Feed in two pieces without pledging a size, as a streaming producer. */
    ZSTD_inBuffer ib = {in, n / 2, 0};
    assert_false(ZSTD_isError(ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_continue)));
    ZSTD_inBuffer ib2 = {in + n / 2, n - n / 2, 0};
    size_t r;
    do {
        r = ZSTD_compressStream2(c, &ob, &ib2, ZSTD_e_end);
        assert_false(ZSTD_isError(r));
    } while (r != 0);
    ZSTD_freeCCtx(c);
    assert_true(ZSTD_getFrameContentSize(z, ob.pos) == ZSTD_CONTENTSIZE_UNKNOWN);
    uint8_t *d;
    size_t dn;
    assert_int_equal(kdecompress(KCODEC_ZSTD, z, ob.pos, n, &d, &dn), 0);
    assert_int_equal(dn, n);
    assert_memory_equal(d, in, n);
    free(d);
    assert_int_equal(kdecompress(KCODEC_ZSTD, z, ob.pos, n - 1, &d, &dn), -1);
    assert_int_equal(kdecompress(KCODEC_ZSTD, z, ob.pos - 1, n, &d, &dn), -1);
    free(z);
    free(in);
}

static void test_lz4_with_checksums(void **state)
{
    (void)state;
    size_t n = 150000;
    uint8_t *in = sample(n, 9);
    LZ4F_preferences_t p;
    memset(&p, 0, sizeof(p));
    p.frameInfo.contentSize = n;
    p.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    p.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
    p.frameInfo.blockSizeID = LZ4F_max256KB;
    size_t cap = LZ4F_compressFrameBound(n, &p);
    uint8_t *z = malloc(cap);
    size_t zn = LZ4F_compressFrame(z, cap, in, n, &p);
    assert_false(LZ4F_isError(zn));
    uint8_t *d;
    size_t dn;
    assert_int_equal(kdecompress(KCODEC_LZ4, z, zn, n, &d, &dn), 0);
    assert_int_equal(dn, n);
    assert_memory_equal(d, in, n);
    free(d);
    /* A flipped payload byte fails the content checksum. */
    z[zn / 2] ^= 0x55;
    assert_int_equal(kdecompress(KCODEC_LZ4, z, zn, n, &d, &dn), -1);
    free(z);
    free(in);
}

/* A tiny input that expands hugely must stop at the cap. */
static void test_bomb_capped(void **state)
{
    (void)state;
    size_t n = 64u << 20;
    uint8_t *zeros = calloc(1, n);
    assert_non_null(zeros);
    for (size_t c = 1; c < sizeof(codecs) / sizeof(codecs[0]); c++) {
        uint8_t *z, *d = NULL;
        size_t zn, dn;
        assert_int_equal(kcompress(codecs[c], zeros, n, &z, &zn), 0);
        assert_true(zn < n / 16); /* snappy tops out near 21:1 */
        assert_int_equal(kdecompress(codecs[c], z, zn, 1u << 20, &d, &dn), -1);
        assert_null(d);
        assert_int_equal(kdecompress(codecs[c], z, zn, n, &d, &dn), 0);
        assert_int_equal(dn, n);
        free(d);
        free(z);
    }
    free(zeros);
}

static void test_garbage_and_truncation(void **state)
{
    (void)state;
    uint8_t junk[256];
    uint32_t s = 1;
    for (size_t i = 0; i < sizeof(junk); i++) {
        s = s * 1103515245u + 12345u;
        junk[i] = (uint8_t)(s >> 16);
    }
    uint8_t *d;
    size_t dn;
    for (size_t c = 1; c < sizeof(codecs) / sizeof(codecs[0]); c++) {
        d = (uint8_t *)1;
        assert_int_equal(kdecompress(codecs[c], junk, sizeof(junk), 1 << 20, &d, &dn), -1);
        assert_null(d);
        assert_int_equal(kdecompress(codecs[c], junk, 0, 1 << 20, &d, &dn), -1);

        /* Every strict prefix of a valid stream is an error. */
        uint8_t *in = sample(5000, 77), *z;
        size_t zn;
        assert_int_equal(kcompress(codecs[c], in, 5000, &z, &zn), 0);
        for (size_t cut = 0; cut < zn; cut++)
            assert_int_equal(kdecompress(codecs[c], z, cut, 1 << 20, &d, &dn), -1);
        free(z);
        free(in);
    }
    assert_int_equal(kdecompress(7, junk, 10, 100, &d, &dn), -1);
    assert_int_equal(kcompress(5, junk, 10, &d, &dn), -1);
    /* codec 0 is a copy, still capped */
    assert_int_equal(kdecompress(KCODEC_NONE, junk, 10, 9, &d, &dn), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all_codecs),
        cmocka_unit_test(test_compress_shrinks_and_framing),
        cmocka_unit_test(test_snappy_xerial),
        cmocka_unit_test(test_gzip_variants),
        cmocka_unit_test(test_zstd_without_content_size),
        cmocka_unit_test(test_lz4_with_checksums),
        cmocka_unit_test(test_bomb_capped),
        cmocka_unit_test(test_garbage_and_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
