/*
 * test_crc32c.c - CRC-32C: the standard check value, chaining, unaligned
 * buffers, and agreement of the fast path and the tables with a bitwise
 * reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/crc32c.h"

/* Bit-at-a-time reference, straight from the definition. */
static uint32_t crc_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    }
    return ~c;
}

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (uint8_t)(seed >> 16);
    }
}

static void test_check_value(void **state)
{
    (void)state;
    assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c_sw(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c(0, "", 0), 0);
    /* RFC 3720 B.4 vector: 32 bytes of zeros. */
    uint8_t z[32] = {0};
    assert_int_equal(crc32c(0, z, sizeof(z)), 0x8A9136AAu);
    memset(z, 0xff, sizeof(z));
    assert_int_equal(crc32c(0, z, sizeof(z)), 0x62A8AB43u);
}

static void test_chaining(void **state)
{
    (void)state;
    uint8_t buf[1000];
    fill(buf, sizeof(buf), 7);
    uint32_t whole = crc32c(0, buf, sizeof(buf));
    for (size_t cut = 0; cut <= sizeof(buf); cut += 37) {
        uint32_t c = crc32c(0, buf, cut);
        assert_int_equal(crc32c(c, buf + cut, sizeof(buf) - cut), whole);
        uint32_t s = crc32c_sw(0, buf, cut);
        assert_int_equal(crc32c_sw(s, buf + cut, sizeof(buf) - cut), whole);
    }
    assert_int_equal(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

static void test_unaligned_and_lengths(void **state)
{
    (void)state;
    enum { N = 300 };
    uint8_t *buf = malloc(N + 16);
    assert_non_null(buf);
    fill(buf, N + 16, 99);
    for (size_t off = 0; off < 16; off++) {
        for (size_t n = 0; n <= N; n++) {
            uint32_t ref = crc_ref(buf + off, n);
            assert_int_equal(crc32c(0, buf + off, n), ref);
            assert_int_equal(crc32c_sw(0, buf + off, n), ref);
        }
    }
    free(buf);
}

/* Lengths around the interleaved block sizes (3 x 256 and 3 x 8192 bytes)
 * from every alignment, whole and split in two calls at odd places. */
static void test_block_boundaries(void **state)
{
    (void)state;
    static const size_t bases[] = {3 * 256, 2 * 3 * 256, 3 * 8192, 3 * 8192 + 3 * 256, 2 * 3 * 8192};
    uint8_t *buf = malloc(2 * 3 * 8192 + 64);
    assert_non_null(buf);
    fill(buf, 2 * 3 * 8192 + 64, 7);
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++)
        for (size_t d = 0; d < 24; d++)
            for (size_t off = 0; off < 8; off += 3) {
                size_t n = bases[b] + d - 9;
                uint32_t ref = crc_ref(buf + off, n);
                assert_int_equal(crc32c(0, buf + off, n), ref);
                assert_int_equal(crc32c(crc32c(0, buf + off, n / 3), buf + off + n / 3, n - n / 3), ref);
            }
    free(buf);
}

static void test_large_random(void **state)
{
    (void)state;
    size_t n = 1 << 20;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    fill(buf, n, 12345);
    uint32_t ref = crc_ref(buf, n);
    assert_int_equal(crc32c(0, buf, n), ref);
    assert_int_equal(crc32c_sw(0, buf, n), ref);
    buf[n / 2] ^= 1; /* a single flipped bit changes the CRC */
    assert_int_not_equal(crc32c(0, buf, n), ref);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_chaining),
        cmocka_unit_test(test_unaligned_and_lengths),
        cmocka_unit_test(test_block_boundaries),
        cmocka_unit_test(test_large_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
