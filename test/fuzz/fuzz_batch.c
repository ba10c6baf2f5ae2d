/*
 * fuzz_batch.c - libFuzzer harness for the record-batch parsers: produce
 * validation (v3 and v7), the stored-log prefix walk, record iteration with
 * decompression (1 MiB cap), and the codecs directly.  Because random bytes
 * rarely carry a right CRC-32C, the input is also validated once more with
 * its CRC fixed up, so the checks behind the CRC get exercised too.
 * With WEIR_FUZZ_SEEDS=<dir> in the environment (test/fuzz/run.sh sets it to
 * the corpus dir) it first writes valid batches of every codec there as
 * seeds, since compressed payloads are out of reach of blind mutation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/batch.h"
#include "common/compress.h"
#include "common/crc32c.h"

#define CAP (1u << 20)

/* Touch every byte a view claims, so a bad view trips ASan here. */
static unsigned sink;

static void touch(kstr_t s)
{
    for (int32_t i = 0; i < s.len; i++)
        sink += s.ptr[i];
}

static int on_header(kstr_t k, kstr_t v, void *arg)
{
    (void)arg;
    touch(k);
    touch(v);
    return 0;
}

static int on_record(const kbatch_hdr_t *h, const krecord_t *r, void *arg)
{
    (void)h;
    (void)arg;
    touch(r->Key);
    touch(r->Value);
    for (size_t i = 0; i < r->HeadersLen; i++)
        sink += r->Headers[i];
    if (krecord_foreach_header(r, on_header, NULL) != 0)
        abort(); /* the iterator already checked the headers */
    return 0;
}

static void with_fixed_crc(const uint8_t *data, size_t size)
{
    if (size < KBATCH_HDR_SIZE)
        return;
    uint8_t *b = malloc(size);
    if (!b)
        return;
    memcpy(b, data, size);
    put_be32(b + KBATCH_OFF_CRC, (int32_t)crc32c(0, b + KBATCH_CRC_START, size - KBATCH_CRC_START));
    kbatch_hdr_t h;
    (void)kbatch_validate_produce(b, size, 7, &h);
    if (kbatch_valid_prefix(b, size) > size)
        abort();
    free(b);
}

static void write_seed(const char *dir, int n, const uint8_t *p, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/seed-%02d", dir, n);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(p, 1, len, f);
    fclose(f);
}

/* One batch per codec (with headers, null key, tombstone), two batches back
 * to back, and codec-tagged compressed blobs for the kdecompress path. */
static void write_seeds(const char *dir)
{
    static const char *hk[] = {"h1", "h2"};
    static const void *hv[] = {"v", NULL};
    krecord_in_t r[3] = {
        {.key = "key", .key_len = 3, .value = "value value value", .value_len = 17, .timestamp = 1000,
         .nheaders = 2, .hkeys = hk, .hvals = hv},
        {.key_len = -1, .value = "x", .value_len = 1, .timestamp = 1005},
        {.key = "k", .key_len = 1, .value_len = -1, .timestamp = 999},
    };
    kwr_t w, two;
    kwr_init(&w, 0);
    kwr_init(&two, 0);
    for (int codec = 0; codec <= 4; codec++) {
        kwr_reset(&w);
        if (kbatch_build(&w, codec, r, 3) == 0) {
            write_seed(dir, codec, w.buf, w.len);
            kwr_raw(&two, w.buf, w.len);
            uint8_t *z;
            size_t zn;
            if (kcompress(codec, w.buf + KBATCH_HDR_SIZE, w.len - KBATCH_HDR_SIZE, &z, &zn) == 0) {
                kwr_reset(&w);
                kwr_i8(&w, (int8_t)codec);
                kwr_raw(&w, z, zn);
                write_seed(dir, 10 + codec, w.buf, w.len);
                free(z);
            }
        }
    }
    write_seed(dir, 20, two.buf, two.len);
    kwr_free(&w);
    kwr_free(&two);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("WEIR_FUZZ_SEEDS");
    if (dir && *dir)
        write_seeds(dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kbatch_hdr_t h;
    int e3 = kbatch_validate_produce(data, size, 3, &h);
    int e7 = kbatch_validate_produce(data, size, 7, &h);
    if (e3 == 0 && e7 != 0)
        abort(); /* v7 accepts everything v3 does */
    size_t ok = kbatch_valid_prefix(data, size);
    if (ok > size)
        abort();
    if (kbatch_foreach_record(data, size, CAP, on_record, NULL) == 0 && e7 == 0)
        sink++;
    with_fixed_crc(data, size);

    if (size > 0) {
        uint8_t *out = NULL;
        size_t outlen = 0;
        if (kdecompress(data[0] % 5, data + 1, size - 1, CAP, &out, &outlen) == 0) {
            if (outlen > CAP)
                abort();
            free(out);
        }
    }
    return 0;
}
