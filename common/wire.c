/*
 * wire.c - bounds-checked Kafka primitive reader and growable writer.
 * Every length is checked against what remains before anything uses it.
 */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

void krd_init(krd_t *rd, const void *buf, size_t len)
{
    rd->buf = buf;
    rd->len = len;
    rd->pos = 0;
    rd->err = false;
}

static const uint8_t *take(krd_t *rd, size_t n)
{
    if (rd->err || rd->len - rd->pos < n) {
        rd->err = true;
        return NULL;
    }
    const uint8_t *p = rd->buf + rd->pos;
    rd->pos += n;
    return p;
}

const uint8_t *krd_raw(krd_t *rd, size_t n) { return take(rd, n); }
void krd_skip(krd_t *rd, size_t n) { (void)take(rd, n); }

int8_t krd_i8(krd_t *rd)
{
    const uint8_t *p = take(rd, 1);
    return p ? (int8_t)p[0] : 0;
}

int16_t krd_i16(krd_t *rd)
{
    const uint8_t *p = take(rd, 2);
    return p ? be16(p) : 0;
}

int32_t krd_i32(krd_t *rd)
{
    const uint8_t *p = take(rd, 4);
    return p ? be32(p) : 0;
}

uint32_t krd_u32(krd_t *rd) { return (uint32_t)krd_i32(rd); }

int64_t krd_i64(krd_t *rd)
{
    const uint8_t *p = take(rd, 8);
    return p ? be64(p) : 0;
}

bool krd_bool(krd_t *rd) { return krd_i8(rd) != 0; }

static uint64_t uvarint64(krd_t *rd, int maxbytes)
{
    uint64_t v = 0;
    for (int i = 0; i < maxbytes; i++) {
        const uint8_t *p = take(rd, 1);
        if (!p)
            return 0;
        /* The 10th byte of a 64-bit value carries only bit 63. */
        if (i == 9 && p[0] > 1)
            break;
        v |= (uint64_t)(p[0] & 0x7f) << (7 * i);
        if (!(p[0] & 0x80))
            return v;
    }
    rd->err = true; /* too many continuation bytes, or bits past 64 */
    return 0;
}

uint32_t krd_uvarint(krd_t *rd)
{
    uint64_t v = uvarint64(rd, 5);
    if (v > UINT32_MAX) {
        rd->err = true;
        return 0;
    }
    return (uint32_t)v;
}

int32_t krd_varint(krd_t *rd)
{
    uint32_t u = krd_uvarint(rd);
    return (int32_t)((u >> 1) ^ (~(u & 1) + 1));
}

int64_t krd_varlong(krd_t *rd)
{
    uint64_t u = uvarint64(rd, 10);
    return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

static kstr_t view(krd_t *rd, int64_t len, bool nullable)
{
    kstr_t s = {NULL, -1};
    if (rd->err)
        return s;
    if (len < 0) {
        if (len != -1 || !nullable)
            rd->err = true;
        return s;
    }
    if ((uint64_t)len > rd->len - rd->pos || len > INT32_MAX) {
        rd->err = true;
        return s;
    }
    s.ptr = take(rd, (size_t)len);
    s.len = (int32_t)len;
    return s;
}

kstr_t krd_str(krd_t *rd, bool compact, bool nullable)
{
    int64_t len = compact ? (int64_t)krd_uvarint(rd) - 1 : krd_i16(rd);
    return view(rd, len, nullable);
}

kstr_t krd_bytes(krd_t *rd, bool compact, bool nullable)
{
    int64_t len = compact ? (int64_t)krd_uvarint(rd) - 1 : krd_i32(rd);
    return view(rd, len, nullable);
}

int32_t krd_array(krd_t *rd, bool compact, bool nullable, size_t min_elem_size)
{
    int64_t n = compact ? (int64_t)krd_uvarint(rd) - 1 : krd_i32(rd);
    if (rd->err)
        return 0;
    if (n < 0) {
        if (n != -1 || !nullable)
            rd->err = true;
        return -1;
    }
    if (min_elem_size == 0)
        min_elem_size = 1;
    if ((uint64_t)n > (rd->len - rd->pos) / min_elem_size || n > INT32_MAX) {
        rd->err = true;
        return 0;
    }
    return (int32_t)n;
}

void krd_tags(krd_t *rd)
{
    uint32_t n = krd_uvarint(rd);
    for (uint32_t i = 0; i < n && !rd->err; i++) {
        (void)krd_uvarint(rd);
        uint32_t size = krd_uvarint(rd);
        krd_skip(rd, size);
    }
}

void kwr_init(kwr_t *wr, size_t initial)
{
    wr->buf = initial ? malloc(initial) : NULL;
    wr->cap = wr->buf ? initial : 0;
    wr->len = 0;
    wr->oom = initial && !wr->buf;
}

void kwr_free(kwr_t *wr)
{
    free(wr->buf);
    wr->buf = NULL;
    wr->len = wr->cap = 0;
}

void kwr_reset(kwr_t *wr)
{
    wr->len = 0;
    wr->oom = false;
}

uint8_t *kwr_ensure(kwr_t *wr, size_t n)
{
    if (wr->oom)
        return NULL;
    if (wr->cap - wr->len < n) {
        size_t cap = wr->cap ? wr->cap : 256;
        while (cap - wr->len < n) {
            if (cap > SIZE_MAX / 2) {
                wr->oom = true;
                return NULL;
            }
            cap *= 2;
        }
        uint8_t *nb = realloc(wr->buf, cap);
        if (!nb) {
            wr->oom = true;
            return NULL;
        }
        wr->buf = nb;
        wr->cap = cap;
    }
    return wr->buf + wr->len;
}

void kwr_raw(kwr_t *wr, const void *p, size_t n)
{
    uint8_t *d = kwr_ensure(wr, n);
    if (!d)
        return;
    if (n)
        memcpy(d, p, n);
    wr->len += n;
}

void kwr_i8(kwr_t *wr, int8_t v) { kwr_raw(wr, &v, 1); }

void kwr_i16(kwr_t *wr, int16_t v)
{
    uint8_t b[2];
    put_be16(b, v);
    kwr_raw(wr, b, 2);
}

void kwr_i32(kwr_t *wr, int32_t v)
{
    uint8_t b[4];
    put_be32(b, v);
    kwr_raw(wr, b, 4);
}

void kwr_u32(kwr_t *wr, uint32_t v) { kwr_i32(wr, (int32_t)v); }

void kwr_i64(kwr_t *wr, int64_t v)
{
    uint8_t b[8];
    put_be64(b, v);
    kwr_raw(wr, b, 8);
}

void kwr_bool(kwr_t *wr, bool v) { kwr_i8(wr, v ? 1 : 0); }

static void uvarint64_w(kwr_t *wr, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    kwr_raw(wr, b, n);
}

void kwr_uvarint(kwr_t *wr, uint32_t v) { uvarint64_w(wr, v); }
void kwr_varint(kwr_t *wr, int32_t v) { uvarint64_w(wr, (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31))); }
void kwr_varlong(kwr_t *wr, int64_t v) { uvarint64_w(wr, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63)); }

void kwr_bytes(kwr_t *wr, bool compact, const void *p, int32_t len)
{
    if (len < 0) {
        if (compact)
            kwr_uvarint(wr, 0);
        else
            kwr_i32(wr, -1);
        return;
    }
    if (compact)
        kwr_uvarint(wr, (uint32_t)len + 1);
    else
        kwr_i32(wr, len);
    kwr_raw(wr, p, (size_t)len);
}

void kwr_kstr(kwr_t *wr, bool compact, kstr_t s)
{
    if (s.len < 0) {
        if (compact)
            kwr_uvarint(wr, 0);
        else
            kwr_i16(wr, -1);
        return;
    }
    if (compact) {
        kwr_uvarint(wr, (uint32_t)s.len + 1);
    } else {
        if (s.len > INT16_MAX) {
            wr->oom = true; /* cannot be encoded: poison the frame, never truncate */
            return;
        }
        kwr_i16(wr, (int16_t)s.len);
    }
    kwr_raw(wr, s.ptr, (size_t)s.len);
}

void kwr_str(kwr_t *wr, bool compact, const char *s)
{
    kstr_t v = {(const uint8_t *)s, s ? (int32_t)strlen(s) : -1};
    kwr_kstr(wr, compact, v);
}

void kwr_array(kwr_t *wr, bool compact, int32_t count)
{
    if (compact)
        kwr_uvarint(wr, count < 0 ? 0 : (uint32_t)count + 1);
    else
        kwr_i32(wr, count);
}

void kwr_tags(kwr_t *wr) { kwr_uvarint(wr, 0); }

size_t kwr_reserve(kwr_t *wr, size_t n)
{
    size_t off = wr->len;
    uint8_t *d = kwr_ensure(wr, n);
    if (d) {
        memset(d, 0, n);
        wr->len += n;
    }
    return off;
}

void kwr_put_i32_at(kwr_t *wr, size_t off, int32_t v)
{
    if (!wr->oom && off + 4 <= wr->len)
        put_be32(wr->buf + off, v);
}

void kwr_put_i16_at(kwr_t *wr, size_t off, int16_t v)
{
    if (!wr->oom && off + 2 <= wr->len)
        put_be16(wr->buf + off, v);
}

bool kstr_eq(kstr_t s, const char *c)
{
    if (s.len < 0)
        return c == NULL;
    return c && strlen(c) == (size_t)s.len && memcmp(s.ptr, c, (size_t)s.len) == 0;
}

char *kstr_cstr(kstr_t s)
{
    if (s.len > 0 && memchr(s.ptr, 0, (size_t)s.len))
        return NULL;
    if (s.len < 0)
        s.len = 0;
    char *c = malloc((size_t)s.len + 1);
    if (!c)
        abort();
    if (s.len)
        memcpy(c, s.ptr, (size_t)s.len);
    c[s.len] = '\0';
    return c;
}

char *kstr_dup(kstr_t s)
{
    if (s.len < 0)
        return NULL;
    char *d = malloc((size_t)s.len + 1);
    if (!d)
        return NULL;
    memcpy(d, s.ptr, (size_t)s.len);
    d[s.len] = '\0';
    return d;
}
