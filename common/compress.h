/*
 * compress.h - the record-batch compression codecs (Attributes bits 0-2).
 *
 *   0 none    a plain copy (so callers need no special case)
 *   1 gzip    compress: RFC 1952 gzip; decompress: gzip or zlib, concatenated
 *             gzip members accepted
 *   2 snappy  compress: one raw snappy block; decompress: a raw block or
 *             xerial framing ("\x82SNAPPY\0" + version + compat + blocks)
 *   3 lz4     LZ4 frame format, independent 64 KiB blocks
 *   4 zstd    zstd frame; decompressed by streaming, so frames without a
 *             content size work
 *
 * Both return 0 on success and set *out (malloc'd, caller frees; never NULL
 * on success) and *outlen, or -1 with *out == NULL.  kdecompress fails rather
 * than produce more than max_out bytes, whatever the input claims, so
 * hostile input cannot make it allocate much more than max_out.
 * Thread-safe (no shared state).
 */
#ifndef WEIR_COMPRESS_H
#define WEIR_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

enum kcodec {
    KCODEC_NONE = 0,
    KCODEC_GZIP = 1,
    KCODEC_SNAPPY = 2,
    KCODEC_LZ4 = 3,
    KCODEC_ZSTD = 4,
};

int kcompress(int codec, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen);
int kdecompress(int codec, const uint8_t *in, size_t inlen, size_t max_out, uint8_t **out, size_t *outlen);

#endif
