/*
 * compress.c - gzip, snappy (raw and xerial-framed), lz4 frame and zstd for
 * record-batch payloads, on top of zlib, libsnappy, liblz4 and libzstd.
 *
 * Invariant: decompression never produces (or allocates room for) more than
 * max_out + 1 bytes: the output buffer grows by doubling and is clamped to
 * that limit, and filling the extra byte means "too big".  Sizes declared by
 * the input (snappy's length prefix, xerial block lengths) are checked
 * against what remains and against max_out before anything is allocated.
 * No shared state: any thread may call these.
 */
#include "compress.h"

#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "wire.h"

/* A growable output buffer that refuses to hold more than max + 1 bytes. */
typedef struct {
    uint8_t *buf;
    size_t len;
    size_t cap;
    size_t limit; /* max_out + 1 (saturating) */
} obuf_t;

static void ob_init(obuf_t *o, size_t inlen, size_t max_out)
{
    o->buf = NULL;
    o->len = o->cap = 0;
    o->limit = max_out == SIZE_MAX ? SIZE_MAX : max_out + 1;
    /* First guess: 4x the input, at least 4 KiB (grown on demand). */
    o->cap = inlen < SIZE_MAX / 4 ? inlen * 4 : SIZE_MAX;
    if (o->cap < 4096)
        o->cap = 4096;
    if (o->cap > o->limit)
        o->cap = o->limit;
}

/* Free space at the end of the buffer (never 0), or NULL once the limit is
 * reached (the output is larger than max_out) or memory runs out. */
static uint8_t *ob_room(obuf_t *o, size_t *avail)
{
    if (o->len == o->limit)
        return NULL;
    if (!o->buf || o->len == o->cap) {
        size_t cap = o->buf ? (o->cap <= o->limit / 2 ? o->cap * 2 : o->limit) : o->cap;
        uint8_t *nb = realloc(o->buf, cap);
        if (!nb)
            return NULL;
        o->buf = nb;
        o->cap = cap;
    }
    *avail = o->cap - o->len;
    return o->buf + o->len;
}

/* Hand the buffer to the caller if it stayed within max_out. */
static int ob_finish(obuf_t *o, int ok, uint8_t **out, size_t *outlen)
{
    if (!ok || o->len == o->limit || (!o->buf && !(o->buf = malloc(1)))) {
        free(o->buf);
        return -1;
    }
    *out = o->buf;
    *outlen = o->len;
    return 0;
}

static int copy_out(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    uint8_t *b = malloc(inlen ? inlen : 1);
    if (!b)
        return -1;
    if (inlen)
        memcpy(b, in, inlen);
    *out = b;
    *outlen = inlen;
    return 0;
}

/* ---- gzip --------------------------------------------------------------- */

static int gzip_compress(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inlen > UINT_MAX || deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t cap = deflateBound(&zs, (uLong)inlen);
    uint8_t *b = cap <= UINT_MAX ? malloc(cap) : NULL;
    int r = Z_STREAM_ERROR;
    if (b) {
        zs.next_in = (Bytef *)in;
        zs.avail_in = (uInt)inlen;
        zs.next_out = b;
        zs.avail_out = (uInt)cap;
        r = deflate(&zs, Z_FINISH);
    }
    size_t n = zs.total_out;
    deflateEnd(&zs);
    if (r != Z_STREAM_END) {
        free(b);
        return -1;
    }
    *out = b;
    *outlen = n;
    return 0;
}

/* After one gzip member ends: go on only if another member follows.  Like
 * Java's GZIPInputStream, bytes after the last member that are not a gzip
 * header are ignored. */
static bool gzip_next_member(const z_stream *zs)
{
    return zs->avail_in >= 2 && zs->next_in[0] == 0x1f && zs->next_in[1] == 0x8b;
}

static int gzip_decompress(const uint8_t *in, size_t inlen, size_t max_out, uint8_t **out, size_t *outlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inlen > UINT_MAX || inflateInit2(&zs, 15 + 32) != Z_OK) /* +32: gzip or zlib header */
        return -1;
    obuf_t o;
    ob_init(&o, inlen, max_out);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)inlen;
    int ok = 0;
    for (;;) {
        size_t avail;
        uint8_t *room = ob_room(&o, &avail);
        if (!room)
            break;
        zs.next_out = room;
        zs.avail_out = avail > UINT_MAX ? UINT_MAX : (uInt)avail;
        uInt before = zs.avail_out;
        int r = inflate(&zs, Z_NO_FLUSH);
        o.len += before - zs.avail_out;
        if (r == Z_STREAM_END) {
            if (!gzip_next_member(&zs)) {
                ok = 1;
                break;
            }
            if (inflateReset(&zs) != Z_OK)
                break;
            continue;
        }
        /* Output room is always offered, so Z_BUF_ERROR (no progress) or
         * all input eaten with room to spare means a truncated stream. */
        if (r != Z_OK || (zs.avail_in == 0 && zs.avail_out != 0))
            break;
    }
    inflateEnd(&zs);
    return ob_finish(&o, ok, out, outlen);
}

/* ---- snappy ------------------------------------------------------------- */

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HDR 16 /* magic, INT32 version, INT32 compatible */

static int snappy_compress_raw(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    size_t n = snappy_max_compressed_length(inlen);
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return -1;
    if (snappy_compress((const char *)in, inlen, (char *)b, &n) != SNAPPY_OK) {
        free(b);
        return -1;
    }
    *out = b;
    *outlen = n;
    return 0;
}

static int snappy_raw_decompress(const uint8_t *in, size_t inlen, size_t max_out, uint8_t **out, size_t *outlen)
{
    size_t n;
    if (snappy_uncompressed_length((const char *)in, inlen, &n) != SNAPPY_OK || n > max_out)
        return -1;
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return -1;
    if (snappy_uncompress((const char *)in, inlen, (char *)b, &n) != SNAPPY_OK) {
        free(b);
        return -1;
    }
    *out = b;
    *outlen = n;
    return 0;
}

/* Pass 1 over xerial blocks: check framing, sum the declared sizes. */
static int xerial_total(const uint8_t *in, size_t inlen, size_t max_out, size_t *total)
{
    size_t pos = XERIAL_HDR, sum = 0;
    while (pos < inlen) {
        if (inlen - pos < 4)
            return -1;
        int32_t blen = be32(in + pos);
        pos += 4;
        size_t n;
        if (blen < 0 || (size_t)blen > inlen - pos ||
            snappy_uncompressed_length((const char *)in + pos, (size_t)blen, &n) != SNAPPY_OK || n > max_out - sum)
            return -1;
        sum += n;
        pos += (size_t)blen;
    }
    *total = sum;
    return 0;
}

static int snappy_xerial_decompress(const uint8_t *in, size_t inlen, size_t max_out, uint8_t **out, size_t *outlen)
{
    size_t total;
    if (xerial_total(in, inlen, max_out, &total) != 0)
        return -1;
    uint8_t *b = malloc(total ? total : 1);
    if (!b)
        return -1;
    size_t pos = XERIAL_HDR, done = 0;
    while (pos < inlen) { /* framing was checked by xerial_total */
        size_t blen = (size_t)be32(in + pos);
        size_t n = total - done;
        pos += 4;
        if (snappy_uncompress((const char *)in + pos, blen, (char *)b + done, &n) != SNAPPY_OK) {
            free(b);
            return -1;
        }
        done += n;
        pos += blen;
    }
    *out = b;
    *outlen = done;
    return 0;
}

static int snappy_decompress(const uint8_t *in, size_t inlen, size_t max_out, uint8_t **out, size_t *outlen)
{
    if (inlen >= XERIAL_HDR && memcmp(in, xerial_magic, sizeof(xerial_magic)) == 0)
        return snappy_xerial_decompress(in, inlen, max_out, out, outlen);
    return snappy_raw_decompress(in, inlen, max_out, out, outlen);
}

/* ---- lz4 ---------------------------------------------------------------- */

static int lz4_compress(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    size_t cap = LZ4F_compressFrameBound(inlen, &prefs);
    uint8_t *b = malloc(cap);
    if (!b)
        return -1;
    size_t n = LZ4F_compressFrame(b, cap, in, inlen, &prefs);
    if (LZ4F_isError(n)) {
        free(b);
        return -1;
    }
    *out = b;
    *outlen = n;
    return 0;
}

static int lz4_decompress(const uint8_t *in, size_t inlen, size_t max_out, uint8_t **out, size_t *outlen)
{
    LZ4F_dctx *dctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        return -1;
    obuf_t o;
    ob_init(&o, inlen, max_out);
    size_t pos = 0, hint = 1; /* hint 0 = a frame just ended */
    int ok = 0;
    /* Concatenated frames are decoded one after the other. */
    while (pos < inlen || hint != 0) {
        size_t avail;
        uint8_t *room = ob_room(&o, &avail);
        if (!room)
            break;
        size_t src = inlen - pos, dst = avail;
        hint = LZ4F_decompress(dctx, room, &dst, in + pos, &src, NULL);
        if (LZ4F_isError(hint) || (src == 0 && dst == 0)) /* error, or truncated */
            break;
        pos += src;
        o.len += dst;
        ok = hint == 0 && pos == inlen;
    }
    LZ4F_freeDecompressionContext(dctx);
    return ob_finish(&o, ok, out, outlen);
}

/* ---- zstd --------------------------------------------------------------- */

static int zstd_compress(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    size_t cap = ZSTD_compressBound(inlen);
    uint8_t *b = malloc(cap);
    if (!b)
        return -1;
    size_t n = ZSTD_compress(b, cap, in, inlen, ZSTD_CLEVEL_DEFAULT);
    if (ZSTD_isError(n)) {
        free(b);
        return -1;
    }
    *out = b;
    *outlen = n;
    return 0;
}

static int zstd_decompress(const uint8_t *in, size_t inlen, size_t max_out, uint8_t **out, size_t *outlen)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (!d)
        return -1;
    obuf_t o;
    ob_init(&o, inlen, max_out);
    ZSTD_inBuffer ib = {in, inlen, 0};
    size_t ret = 1; /* 0 = a frame just ended */
    int ok = 0;
    while (ib.pos < ib.size || ret != 0) {
        size_t avail;
        uint8_t *room = ob_room(&o, &avail);
        if (!room)
            break;
        ZSTD_outBuffer ob = {room, avail, 0};
        size_t before = ib.pos;
        ret = ZSTD_decompressStream(d, &ob, &ib);
        if (ZSTD_isError(ret) || (ob.pos == 0 && ib.pos == before)) /* error, or truncated */
            break;
        o.len += ob.pos;
        ok = ret == 0 && ib.pos == ib.size;
    }
    ZSTD_freeDCtx(d);
    return ob_finish(&o, ok, out, outlen);
}

/* ---- dispatch ----------------------------------------------------------- */

int kcompress(int codec, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    *out = NULL;
    switch (codec) {
    case KCODEC_NONE: return copy_out(in, inlen, out, outlen);
    case KCODEC_GZIP: return gzip_compress(in, inlen, out, outlen);
    case KCODEC_SNAPPY: return snappy_compress_raw(in, inlen, out, outlen);
    case KCODEC_LZ4: return lz4_compress(in, inlen, out, outlen);
    case KCODEC_ZSTD: return zstd_compress(in, inlen, out, outlen);
    default: return -1;
    }
}

int kdecompress(int codec, const uint8_t *in, size_t inlen, size_t max_out, uint8_t **out, size_t *outlen)
{
    *out = NULL;
    switch (codec) {
    case KCODEC_NONE: return inlen <= max_out ? copy_out(in, inlen, out, outlen) : -1;
    case KCODEC_GZIP: return gzip_decompress(in, inlen, max_out, out, outlen);
    case KCODEC_SNAPPY: return snappy_decompress(in, inlen, max_out, out, outlen);
    case KCODEC_LZ4: return lz4_decompress(in, inlen, max_out, out, outlen);
    case KCODEC_ZSTD: return zstd_decompress(in, inlen, max_out, out, outlen);
    default: return -1;
    }
}
