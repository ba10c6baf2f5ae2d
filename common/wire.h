/*
 * wire.h - the Kafka wire codec: one bounds-checked reader and one growable
 * writer used by every request and response decoder/encoder.
 *
 * Reader invariants: a read past the end, a negative length that is not a
 * permitted null, or a length larger than what remains sets rd->err and
 * every later read returns zero/empty.  Decoders read all fields and check
 * rd->err once.  Strings and bytes are views into the frame (never copied,
 * never NUL-terminated).
 *
 * Writer: appends big-endian values to a heap buffer that doubles as needed;
 * placeholders (wr_reserve) are patched later for sizes and counts.
 * Thread: none; both are plain values owned by the caller.
 */
#ifndef WEIR_WIRE_H
#define WEIR_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A view of bytes in a frame.  len == -1 means null. */
typedef struct {
    const uint8_t *ptr;
    int32_t len;
} kstr_t;

typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    bool err;
} krd_t;

void krd_init(krd_t *rd, const void *buf, size_t len);
static inline size_t krd_remain(const krd_t *rd) { return rd->err ? 0 : rd->len - rd->pos; }

int8_t krd_i8(krd_t *rd);
int16_t krd_i16(krd_t *rd);
int32_t krd_i32(krd_t *rd);
int64_t krd_i64(krd_t *rd);
uint32_t krd_u32(krd_t *rd);
bool krd_bool(krd_t *rd);
uint32_t krd_uvarint(krd_t *rd);
int32_t krd_varint(krd_t *rd);  /* zig-zag */
int64_t krd_varlong(krd_t *rd); /* zig-zag */
const uint8_t *krd_raw(krd_t *rd, size_t n); /* NULL (and err) if short */
void krd_skip(krd_t *rd, size_t n);

/* STRING (nullable allowed only when 'nullable'); COMPACT_STRING when 'compact'. */
kstr_t krd_str(krd_t *rd, bool compact, bool nullable);
/* BYTES/RECORDS: INT32 length, or UVARINT len+1 when compact. */
kstr_t krd_bytes(krd_t *rd, bool compact, bool nullable);
/*
 * Array count: INT32 (or UVARINT count+1 when compact).  -1 = null (allowed
 * only if nullable).  A count larger than the bytes remaining divided by
 * min_elem_size is an error, so a caller may allocate count elements safely.
 */
int32_t krd_array(krd_t *rd, bool compact, bool nullable, size_t min_elem_size);
/* Skip a tagged-field section (flexible versions). */
void krd_tags(krd_t *rd);

typedef struct {
    uint8_t *buf;
    size_t len;
    size_t cap;
    bool oom;
} kwr_t;

void kwr_init(kwr_t *wr, size_t initial);
void kwr_free(kwr_t *wr);
void kwr_reset(kwr_t *wr);
/* Ensure room for n more bytes; returns a pointer to them (not advanced), or NULL. */
uint8_t *kwr_ensure(kwr_t *wr, size_t n);
void kwr_raw(kwr_t *wr, const void *p, size_t n);
void kwr_i8(kwr_t *wr, int8_t v);
void kwr_i16(kwr_t *wr, int16_t v);
void kwr_i32(kwr_t *wr, int32_t v);
void kwr_i64(kwr_t *wr, int64_t v);
void kwr_u32(kwr_t *wr, uint32_t v);
void kwr_bool(kwr_t *wr, bool v);
void kwr_uvarint(kwr_t *wr, uint32_t v);
void kwr_varint(kwr_t *wr, int32_t v);
void kwr_varlong(kwr_t *wr, int64_t v);
/* STRING / COMPACT_STRING from a C string (NULL = null). */
void kwr_str(kwr_t *wr, bool compact, const char *s);
/* STRING / COMPACT_STRING from a view (len -1 = null). */
void kwr_kstr(kwr_t *wr, bool compact, kstr_t s);
void kwr_bytes(kwr_t *wr, bool compact, const void *p, int32_t len); /* len -1 = null */
void kwr_array(kwr_t *wr, bool compact, int32_t count); /* -1 = null */
void kwr_tags(kwr_t *wr); /* empty tagged-field section */
/* Reserve n bytes to patch later; returns the offset. */
size_t kwr_reserve(kwr_t *wr, size_t n);
void kwr_put_i32_at(kwr_t *wr, size_t off, int32_t v);
void kwr_put_i16_at(kwr_t *wr, size_t off, int16_t v);

/* Big-endian helpers for fixed positions in buffers (batch headers, files). */
static inline int16_t be16(const uint8_t *p) { return (int16_t)((p[0] << 8) | p[1]); }
static inline int32_t be32(const uint8_t *p)
{
    return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]);
}
static inline int64_t be64(const uint8_t *p)
{
    return (int64_t)(((uint64_t)(uint32_t)be32(p) << 32) | (uint32_t)be32(p + 4));
}
static inline void put_be16(uint8_t *p, int16_t v) { p[0] = (uint8_t)((uint16_t)v >> 8); p[1] = (uint8_t)v; }
static inline void put_be32(uint8_t *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    p[0] = (uint8_t)(u >> 24); p[1] = (uint8_t)(u >> 16); p[2] = (uint8_t)(u >> 8); p[3] = (uint8_t)u;
}
static inline void put_be64(uint8_t *p, int64_t v)
{
    put_be32(p, (int32_t)((uint64_t)v >> 32));
    put_be32(p + 4, (int32_t)(uint32_t)v);
}

/* Compare a view with a C string. */
bool kstr_eq(kstr_t s, const char *c);
/* Copy a view into a fresh NUL-terminated heap string (NULL for null). */
char *kstr_dup(kstr_t s);
/* A string field as a C string: "" for null, NULL if it holds a NUL byte
 * (so it cannot round-trip through C); aborts when out of memory. */
char *kstr_cstr(kstr_t s);

#endif
