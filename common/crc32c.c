/*
 * crc32c.c - CRC-32C for record batches (produce validation, log recovery,
 * replica fetch).  Runs on every produced batch, so it picks the fastest path
 * once: the SSE4.2 crc32 instruction (three interleaved 8-byte chains) when
 * the CPU has it, otherwise slicing-by-8 tables.  Both paths compute the same
 * function; the tables and the choice are set up once under pthread_once,
 * after which every call is lock-free.  Called from any thread.
 */
#include "crc32c.h"

#include <pthread.h>

#define CRC32C_POLY 0x82F63B78u /* reflected 0x1EDC6F41 */

static uint32_t tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static uint32_t (*crc_impl)(uint32_t, const uint8_t *, size_t);

static void tables_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
        tab[0][i] = c;
    }
    /* tab[k][i]: CRC of byte i followed by k zero bytes. */
    for (uint32_t i = 0; i < 256; i++)
        for (int k = 1; k < 8; k++)
            tab[k][i] = (tab[k - 1][i] >> 8) ^ tab[0][tab[k - 1][i] & 0xff];
}

/* Loads are spelled byte by byte so the code is endian-neutral; compilers
 * turn it into one load on little-endian machines. */
static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Raw CRC state in, raw state out (no init/final xor). */
static uint32_t crc_slice8(uint32_t c, const uint8_t *p, size_t n)
{
    while (n && ((uintptr_t)p & 7)) {
        c = (c >> 8) ^ tab[0][(c ^ *p++) & 0xff];
        n--;
    }
    while (n >= 8) {
        uint32_t lo = le32(p) ^ c;
        uint32_t hi = le32(p + 4);
        c = tab[7][lo & 0xff] ^ tab[6][(lo >> 8) & 0xff] ^ tab[5][(lo >> 16) & 0xff] ^ tab[4][lo >> 24] ^
            tab[3][hi & 0xff] ^ tab[2][(hi >> 8) & 0xff] ^ tab[1][(hi >> 16) & 0xff] ^ tab[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = (c >> 8) ^ tab[0][(c ^ *p++) & 0xff];
    return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#include <string.h>

/*
 * The crc32 instruction has a latency of three cycles but issues one per
 * cycle, so one dependent chain uses a third of it.  Long inputs run three
 * chains over three adjacent blocks and join them: the CRC of A||B is
 * shift(crc(A), |B|) ^ crc_from_zero(B), where shift() appends |B| zero
 * bytes to the state, a linear map applied here through four 256-entry
 * tables built once per block size.
 */
#define CRC_LONG 8192
#define CRC_SHORT 256

static uint32_t zeros_long[4][256], zeros_short[4][256];

/* GF(2) matrices of 32 columns: mat[i] is the image of bit i. */
static uint32_t gf2_times(const uint32_t *mat, uint32_t vec)
{
    uint32_t sum = 0;
    for (; vec; vec >>= 1, mat++)
        if (vec & 1)
            sum ^= *mat;
    return sum;
}

static void gf2_square(uint32_t *sq, const uint32_t *mat)
{
    for (int i = 0; i < 32; i++)
        sq[i] = gf2_times(mat, mat[i]);
}

/* The operator appending `len` zero bytes (len a power of two). */
static void zeros_op(uint32_t *op, size_t len)
{
    uint32_t a[32], b[32];
    a[0] = CRC32C_POLY; /* one zero bit */
    for (int i = 1; i < 32; i++)
        a[i] = 1u << (i - 1);
    gf2_square(b, a); /* 2 bits */
    gf2_square(a, b); /* 4 bits */
    gf2_square(b, a); /* 8 bits = 1 byte */
    for (; len > 1; len >>= 1) {
        gf2_square(a, b);
        memcpy(b, a, sizeof a);
    }
    memcpy(op, b, sizeof b);
}

static void zeros_tables(uint32_t t[4][256], size_t len)
{
    uint32_t op[32];
    zeros_op(op, len);
    for (uint32_t n = 0; n < 256; n++)
        for (int k = 0; k < 4; k++)
            t[k][n] = gf2_times(op, n << (8 * k));
}

static inline uint32_t shift_state(uint32_t t[4][256], uint32_t c)
{
    return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
}

__attribute__((target("sse4.2"))) static inline uint64_t crc_u64(uint64_t c, const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return _mm_crc32_u64(c, v);
}

/* Three chains over [p, p+3*block): returns the joined state. */
__attribute__((target("sse4.2"))) static uint32_t crc_sse42_3way(uint32_t c, const uint8_t *p, size_t block,
                                                                  uint32_t zeros[4][256])
{
    uint64_t c0 = c, c1 = 0, c2 = 0;
    for (const uint8_t *end = p + block; p < end; p += 8) {
        c0 = crc_u64(c0, p);
        c1 = crc_u64(c1, p + block);
        c2 = crc_u64(c2, p + 2 * block);
    }
    uint32_t r = shift_state(zeros, (uint32_t)c0) ^ (uint32_t)c1;
    return shift_state(zeros, r) ^ (uint32_t)c2;
}

__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t c, const uint8_t *p, size_t n)
{
    while (n && ((uintptr_t)p & 7)) {
        c = _mm_crc32_u8(c, *p++);
        n--;
    }
    for (; n >= 3 * CRC_LONG; p += 3 * CRC_LONG, n -= 3 * CRC_LONG)
        c = crc_sse42_3way(c, p, CRC_LONG, zeros_long);
    for (; n >= 3 * CRC_SHORT; p += 3 * CRC_SHORT, n -= 3 * CRC_SHORT)
        c = crc_sse42_3way(c, p, CRC_SHORT, zeros_short);
    uint64_t c64 = c;
    for (; n >= 8; p += 8, n -= 8)
        c64 = crc_u64(c64, p);
    c = (uint32_t)c64;
    while (n--)
        c = _mm_crc32_u8(c, *p++);
    return c;
}

static void impl_init(void)
{
    tables_init();
    zeros_tables(zeros_long, CRC_LONG);
    zeros_tables(zeros_short, CRC_SHORT);
    __builtin_cpu_init();
    crc_impl = __builtin_cpu_supports("sse4.2") ? crc_sse42 : crc_slice8;
}
#else
static void impl_init(void)
{
    tables_init();
    crc_impl = crc_slice8;
}
#endif

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_once, impl_init);
    return ~crc_impl(~crc, buf, len);
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_once, impl_init);
    return ~crc_slice8(~crc, buf, len);
}
