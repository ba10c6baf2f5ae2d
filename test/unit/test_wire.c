/*
 * test_wire.c - every reader and writer primitive of common/wire.c: round
 * trips, the varint examples of kafka-protocol.md section 2.5, overlong and
 * out-of-range varints, truncation (sticky err, zero results), nullable and
 * compact strings/bytes/arrays, array counts against remaining bytes, tag
 * sections, reserve/patch, and the big-endian helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/wire.h"

/* Encode with fn, compare with the expected bytes, decode back. */
#define EXPECT_BYTES(wr, exp, n)                    \
    do {                                            \
        assert_int_equal((wr)->len, (n));           \
        assert_memory_equal((wr)->buf, (exp), (n)); \
    } while (0)

static void test_fixed_roundtrip(void **state)
{
    (void)state;
    kwr_t w;
    kwr_init(&w, 0);
    kwr_i8(&w, -128);
    kwr_i16(&w, -2);
    kwr_i32(&w, INT32_MIN);
    kwr_i64(&w, INT64_MAX);
    kwr_u32(&w, 0xDEADBEEFu);
    kwr_bool(&w, true);
    kwr_bool(&w, false);
    kwr_i16(&w, 0x1234);
    assert_false(w.oom);
    static const uint8_t exp[] = {0x80, 0xff, 0xfe, 0x80, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xde, 0xad, 0xbe, 0xef, 1, 0, 0x12, 0x34};
    EXPECT_BYTES(&w, exp, sizeof(exp));
    krd_t r;
    krd_init(&r, w.buf, w.len);
    assert_int_equal(krd_i8(&r), -128);
    assert_int_equal(krd_i16(&r), -2);
    assert_int_equal(krd_i32(&r), INT32_MIN);
    assert_true(krd_i64(&r) == INT64_MAX);
    assert_int_equal(krd_u32(&r), 0xDEADBEEFu);
    assert_true(krd_bool(&r));
    assert_false(krd_bool(&r));
    assert_int_equal(krd_remain(&r), 2);
    assert_int_equal(krd_i16(&r), 0x1234);
    assert_int_equal(krd_remain(&r), 0);
    assert_false(r.err);
    kwr_free(&w);
}

static void test_varint_examples(void **state)
{
    (void)state;
    static const struct {
        int32_t v;
        uint8_t b[2];
        size_t n;
    } ex[] = {{0, {0x00}, 1},     {-1, {0x01}, 1},         {1, {0x02}, 1},         {-64, {0x7f}, 1},
              {63, {0x7e}, 1},    {64, {0x80, 0x01}, 2},   {300, {0xd8, 0x04}, 2}, {-300, {0xd7, 0x04}, 2}};
    for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
        kwr_t w;
        kwr_init(&w, 0);
        kwr_varint(&w, ex[i].v);
        EXPECT_BYTES(&w, ex[i].b, ex[i].n);
        krd_t r;
        krd_init(&r, w.buf, w.len);
        assert_int_equal(krd_varint(&r), ex[i].v);
        assert_false(r.err);
        kwr_reset(&w);
        kwr_varlong(&w, ex[i].v); /* same zig-zag encoding for small values */
        EXPECT_BYTES(&w, ex[i].b, ex[i].n);
        krd_init(&r, w.buf, w.len);
        assert_true(krd_varlong(&r) == ex[i].v);
        kwr_free(&w);
    }
    kwr_t w;
    kwr_init(&w, 0);
    kwr_uvarint(&w, 300);
    EXPECT_BYTES(&w, "\xac\x02", 2);
    kwr_free(&w);
}

static void test_varint_extremes(void **state)
{
    (void)state;
    const int32_t v32[] = {INT32_MIN, INT32_MAX, -65, 65, 8191, -8192, 1 << 20};
    const int64_t v64[] = {INT64_MIN, INT64_MAX, -1, (int64_t)1 << 40, -((int64_t)1 << 50)};
    const uint32_t u32[] = {0, 127, 128, 16383, 16384, UINT32_MAX};
    kwr_t w;
    kwr_init(&w, 4); /* grows past its initial size */
    for (size_t i = 0; i < 7; i++)
        kwr_varint(&w, v32[i]);
    for (size_t i = 0; i < 5; i++)
        kwr_varlong(&w, v64[i]);
    for (size_t i = 0; i < 6; i++)
        kwr_uvarint(&w, u32[i]);
    krd_t r;
    krd_init(&r, w.buf, w.len);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(krd_varint(&r), v32[i]);
    for (size_t i = 0; i < 5; i++)
        assert_true(krd_varlong(&r) == v64[i]);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(krd_uvarint(&r), u32[i]);
    assert_false(r.err);
    assert_int_equal(krd_remain(&r), 0);
    kwr_free(&w);
    /* Longest forms: 5 bytes for 32 bits, 10 for 64. */
    kwr_init(&w, 0);
    kwr_uvarint(&w, UINT32_MAX);
    EXPECT_BYTES(&w, "\xff\xff\xff\xff\x0f", 5);
    kwr_reset(&w);
    kwr_varlong(&w, INT64_MIN);
    EXPECT_BYTES(&w, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);
    kwr_free(&w);
}

static void expect_bad_uvarint(const char *b, size_t n)
{
    krd_t r;
    krd_init(&r, b, n);
    assert_int_equal(krd_uvarint(&r), 0);
    assert_true(r.err);
}

static void test_varint_overlong(void **state)
{
    (void)state;
    expect_bad_uvarint("\x80\x80\x80\x80\x80\x00", 6); /* six bytes */
    expect_bad_uvarint("\xff\xff\xff\xff\x1f", 5);     /* 33 bits */
    expect_bad_uvarint("\xff\xff\xff\xff\x7f", 5);
    krd_t r;
    krd_init(&r, "\xff\xff\xff\xff\x1f", 5);
    assert_int_equal(krd_varint(&r), 0);
    assert_true(r.err);
    /* varlong: 11 bytes, or a 10th byte carrying bits past 64 */
    krd_init(&r, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11);
    assert_true(krd_varlong(&r) == 0);
    assert_true(r.err);
    krd_init(&r, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10);
    assert_true(krd_varlong(&r) == 0);
    assert_true(r.err);
    krd_init(&r, "\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);
    assert_true(krd_varlong(&r) == INT64_MAX);
    assert_false(r.err);
}

/* Each primitive on a buffer one byte short: err set, 0 returned, sticky. */
static void test_truncation_every_primitive(void **state)
{
    (void)state;
    static const uint8_t full[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    krd_t r;
#define SHORT(expr, avail)                   \
    do {                                     \
        krd_init(&r, full, (avail));         \
        assert_true((expr) == 0);            \
        assert_true(r.err);                  \
        assert_int_equal(krd_remain(&r), 0); \
        assert_int_equal(krd_i8(&r), 0);     \
    } while (0)
    SHORT(krd_i8(&r), 0);
    SHORT(krd_i16(&r), 1);
    SHORT(krd_i32(&r), 3);
    SHORT(krd_i64(&r), 7);
    SHORT(krd_u32(&r), 3);
    SHORT(krd_bool(&r), 0);
    SHORT(krd_uvarint(&r), 4); /* continuation bits with no end */
    SHORT(krd_varint(&r), 2);
    SHORT(krd_varlong(&r), 9);
    SHORT(krd_raw(&r, 5) != NULL, 4);
    SHORT((krd_skip(&r, 5), 0), 4);
    SHORT(krd_array(&r, false, true, 1), 3);
    SHORT(krd_array(&r, true, true, 1), 3);
#undef SHORT
    /* Strings/bytes whose payload is cut short. */
    krd_init(&r, "\x00\x05" "abcd", 6);
    assert_null(krd_str(&r, false, false).ptr);
    assert_true(r.err);
    krd_init(&r, "\x00\x00\x00\x05" "abcd", 8);
    assert_int_equal(krd_bytes(&r, false, true).len, -1);
    assert_true(r.err);
    krd_init(&r, "\x06" "abcd", 5);
    assert_null(krd_str(&r, true, true).ptr);
    assert_true(r.err);
    krd_init(&r, "\x00", 1);
    krd_str(&r, false, true);
    assert_true(r.err);
    /* After an error every read returns zero, even with bytes left. */
    krd_init(&r, "\x00\x05" "abcdefgh", 10);
    krd_skip(&r, 11);
    assert_true(r.err);
    assert_int_equal(krd_i16(&r), 0);
    assert_null(krd_raw(&r, 1));
    assert_int_equal(krd_str(&r, false, false).len, -1);
}

static void test_strings_and_bytes(void **state)
{
    (void)state;
    kwr_t w;
    kwr_init(&w, 0);
    kwr_str(&w, false, "abc");
    kwr_str(&w, false, NULL);
    kwr_str(&w, true, "hey");
    kwr_str(&w, true, NULL);
    kwr_str(&w, false, "");
    kwr_bytes(&w, false, "\x01\x02", 2);
    kwr_bytes(&w, false, NULL, -1);
    kwr_bytes(&w, true, "\x03", 1);
    kwr_bytes(&w, true, NULL, -1);
    kstr_t v = {(const uint8_t *)"view", 4};
    kwr_kstr(&w, true, v);
    static const uint8_t exp[] = {0, 3, 'a', 'b', 'c', 0xff, 0xff, 4, 'h', 'e', 'y', 0, 0, 0,
                                  0, 0, 0, 2, 1, 2, 0xff, 0xff, 0xff, 0xff, 2, 3, 0, 5, 'v', 'i', 'e', 'w'};
    EXPECT_BYTES(&w, exp, sizeof(exp));

    krd_t r;
    krd_init(&r, w.buf, w.len);
    assert_true(kstr_eq(krd_str(&r, false, false), "abc"));
    assert_true(kstr_eq(krd_str(&r, false, true), NULL));
    assert_true(kstr_eq(krd_str(&r, true, false), "hey"));
    assert_true(kstr_eq(krd_str(&r, true, true), NULL));
    kstr_t e = krd_str(&r, false, false);
    assert_int_equal(e.len, 0);
    assert_true(kstr_eq(e, ""));
    kstr_t b = krd_bytes(&r, false, false);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.ptr, "\x01\x02", 2);
    assert_int_equal(krd_bytes(&r, false, true).len, -1);
    b = krd_bytes(&r, true, false);
    assert_int_equal(b.len, 1);
    assert_int_equal(krd_bytes(&r, true, true).len, -1);
    assert_true(kstr_eq(krd_str(&r, true, false), "view"));
    assert_false(r.err);
    assert_int_equal(krd_remain(&r), 0);

    /* Null where not allowed is an error, classic and compact. */
    krd_init(&r, "\xff\xff", 2);
    krd_str(&r, false, false);
    assert_true(r.err);
    krd_init(&r, "\x00", 1);
    krd_str(&r, true, false);
    assert_true(r.err);
    krd_init(&r, "\xff\xff\xff\xff", 4);
    krd_bytes(&r, false, false);
    assert_true(r.err);
    krd_init(&r, "\xff\xfe", 2); /* -2 is never null */
    krd_str(&r, false, true);
    assert_true(r.err);
    krd_init(&r, "\xff\xff\xff\xfe", 4);
    krd_bytes(&r, false, true);
    assert_true(r.err);
    kwr_free(&w);
}

static void test_kstr_helpers(void **state)
{
    (void)state;
    kstr_t s = {(const uint8_t *)"abcdef", 3};
    assert_true(kstr_eq(s, "abc"));
    assert_false(kstr_eq(s, "abcd"));
    assert_false(kstr_eq(s, "ab"));
    assert_false(kstr_eq(s, NULL));
    kstr_t n = {NULL, -1};
    assert_true(kstr_eq(n, NULL));
    assert_false(kstr_eq(n, ""));
    char *d = kstr_dup(s);
    assert_string_equal(d, "abc");
    free(d);
    assert_null(kstr_dup(n));
}

static void test_arrays(void **state)
{
    (void)state;
    kwr_t w;
    kwr_init(&w, 0);
    kwr_array(&w, false, 2);
    kwr_array(&w, false, -1);
    kwr_array(&w, true, 2);
    kwr_array(&w, true, -1);
    kwr_array(&w, true, 0);
    static const uint8_t exp[] = {0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 3, 0, 1};
    EXPECT_BYTES(&w, exp, sizeof(exp));
    kwr_free(&w);

    krd_t r;
    krd_init(&r, "\x00\x00\x00\x02" "ab", 6);
    assert_int_equal(krd_array(&r, false, false, 1), 2);
    assert_false(r.err);
    krd_init(&r, "\x00\x00\x00\x02" "ab", 6);
    assert_int_equal(krd_array(&r, false, false, 2), 0); /* 2 elements of >=2 bytes need 4 */
    assert_true(r.err);
    krd_init(&r, "\x00\x00\x00\x03" "ab", 6);
    assert_int_equal(krd_array(&r, false, false, 0), 0); /* 0 counts as 1 */
    assert_true(r.err);
    krd_init(&r, "\x7f\xff\xff\xff", 4);
    krd_array(&r, false, false, 1);
    assert_true(r.err);
    /* Null: allowed only when nullable; other negatives never. */
    krd_init(&r, "\xff\xff\xff\xff", 4);
    assert_int_equal(krd_array(&r, false, true, 1), -1);
    assert_false(r.err);
    krd_init(&r, "\xff\xff\xff\xff", 4);
    krd_array(&r, false, false, 1);
    assert_true(r.err);
    krd_init(&r, "\xff\xff\xff\xfe", 4);
    krd_array(&r, false, true, 1);
    assert_true(r.err);
    /* Compact: count+1, 0 = null. */
    krd_init(&r, "\x03" "xy", 3);
    assert_int_equal(krd_array(&r, true, false, 1), 2);
    krd_init(&r, "\x00", 1);
    assert_int_equal(krd_array(&r, true, true, 1), -1);
    assert_false(r.err);
    krd_init(&r, "\x00", 1);
    krd_array(&r, true, false, 1);
    assert_true(r.err);
    krd_init(&r, "\x01", 1);
    assert_int_equal(krd_array(&r, true, false, 4), 0); /* empty array, no bytes needed */
    assert_false(r.err);
    krd_init(&r, "\xff\xff\xff\xff\x0f", 5);
    krd_array(&r, true, true, 1);
    assert_true(r.err);
}

static void test_tags(void **state)
{
    (void)state;
    kwr_t w;
    kwr_init(&w, 0);
    kwr_tags(&w);
    EXPECT_BYTES(&w, "\x00", 1);
    kwr_free(&w);
    /* two tagged fields (tag 0 size 2, tag 5 size 0), then an INT16 */
    static const uint8_t t[] = {2, 0, 2, 0xaa, 0xbb, 5, 0, 0x01, 0x02};
    krd_t r;
    krd_init(&r, t, sizeof(t));
    krd_tags(&r);
    assert_false(r.err);
    assert_int_equal(krd_i16(&r), 0x0102);
    krd_init(&r, t, 4); /* a field's data cut short */
    krd_tags(&r);
    assert_true(r.err);
    krd_init(&r, "\x05\x00", 2); /* five fields announced, one byte follows */
    krd_tags(&r);
    assert_true(r.err);
    krd_init(&r, "\x00", 1);
    krd_tags(&r);
    assert_false(r.err);
    assert_int_equal(krd_remain(&r), 0);
}

static void test_reserve_patch_and_growth(void **state)
{
    (void)state;
    kwr_t w;
    kwr_init(&w, 0);
    kwr_i8(&w, 7);
    size_t off32 = kwr_reserve(&w, 4);
    size_t off16 = kwr_reserve(&w, 2);
    assert_int_equal(off32, 1);
    assert_int_equal(off16, 5);
    assert_int_equal(w.len, 7);
    assert_memory_equal(w.buf + 1, "\0\0\0\0\0\0", 6); /* reserved bytes are zeroed */
    for (int i = 0; i < 10000; i++)
        kwr_i32(&w, i);
    kwr_put_i32_at(&w, off32, 0x01020304);
    kwr_put_i16_at(&w, off16, -2);
    assert_memory_equal(w.buf, "\x07\x01\x02\x03\x04\xff\xfe", 7);
    size_t len = w.len;
    kwr_put_i32_at(&w, len - 3, 0x11111111); /* out of range: ignored */
    kwr_put_i16_at(&w, len - 1, 0x1111);
    assert_int_equal(w.len, len);
    krd_t r;
    krd_init(&r, w.buf + 7, w.len - 7);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(krd_i32(&r), i);
    assert_false(w.oom);
    kwr_reset(&w);
    assert_int_equal(w.len, 0);
    kwr_raw(&w, NULL, 0);
    assert_int_equal(w.len, 0);
    assert_false(w.oom);
    /* A classic STRING cannot hold more than 32767 bytes: the frame is
     * poisoned instead of getting a wrapped length. */
    char *big = malloc(40000);
    memset(big, 'a', 40000);
    kstr_t s = {(const uint8_t *)big, 40000};
    kwr_kstr(&w, false, s);
    assert_true(w.oom);
    kwr_reset(&w);
    kwr_kstr(&w, true, s);
    assert_false(w.oom);
    assert_int_equal(w.len, 3 + 40000);
    free(big);
    kwr_free(&w);
    assert_null(w.buf);
}

static void test_raw_skip_remain(void **state)
{
    (void)state;
    krd_t r;
    krd_init(&r, "abcdef", 6);
    const uint8_t *p = krd_raw(&r, 2);
    assert_memory_equal(p, "ab", 2);
    krd_skip(&r, 1);
    assert_int_equal(krd_remain(&r), 3);
    assert_non_null(krd_raw(&r, 0));
    assert_memory_equal(krd_raw(&r, 3), "def", 3);
    assert_int_equal(krd_remain(&r), 0);
    assert_false(r.err);
    assert_null(krd_raw(&r, 1));
    assert_true(r.err);
}

static void test_kstr_cstr(void **state)
{
    (void)state;
    char *c = kstr_cstr((kstr_t){NULL, -1});
    assert_string_equal(c, "");
    free(c);
    c = kstr_cstr((kstr_t){(const uint8_t *)"abc", 2});
    assert_string_equal(c, "ab");
    free(c);
    assert_null(kstr_cstr((kstr_t){(const uint8_t *)"a\0b", 3}));
}

static void test_be_helpers(void **state)
{
    (void)state;
    uint8_t b[8];
    put_be16(b, -2);
    assert_memory_equal(b, "\xff\xfe", 2);
    assert_int_equal(be16(b), -2);
    put_be32(b, INT32_MIN + 5);
    assert_memory_equal(b, "\x80\x00\x00\x05", 4);
    assert_int_equal(be32(b), INT32_MIN + 5);
    put_be64(b, (int64_t)0x0102030405060708LL);
    assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_true(be64(b) == 0x0102030405060708LL);
    put_be64(b, -1);
    assert_true(be64(b) == -1);
    put_be64(b, INT64_MIN);
    assert_true(be64(b) == INT64_MIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_roundtrip),
        cmocka_unit_test(test_varint_examples),
        cmocka_unit_test(test_varint_extremes),
        cmocka_unit_test(test_varint_overlong),
        cmocka_unit_test(test_truncation_every_primitive),
        cmocka_unit_test(test_strings_and_bytes),
        cmocka_unit_test(test_kstr_helpers),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_reserve_patch_and_growth),
        cmocka_unit_test(test_raw_skip_remain),
        cmocka_unit_test(test_be_helpers),
        cmocka_unit_test(test_kstr_cstr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
