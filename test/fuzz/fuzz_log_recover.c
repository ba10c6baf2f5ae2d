/*
 * fuzz_log_recover.c - recovery scan of arbitrary segment bytes.  The input
 * becomes <dir>/t-0/00000000000000000000.log (the first byte, when present,
 * picks whether a valid-looking second segment and stale index files sit next
 * to it); the dir is opened unclean, and the recovered log must pass
 * plog_validate and serve reads of what it kept.
 * With WEIR_FUZZ_SEEDS=<dir> it first writes segments of valid batches there,
 * since a batch with a correct CRC-32C is out of reach of blind mutation.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/log/log.h"
#include "common/crc32c.h"
#include "common/wire.h"
#include "common/wlog.h"

static int rm_cb(const char *p, const struct stat *sb, int f, struct FTW *ftw)
{
    (void)sb;
    (void)f;
    (void)ftw;
    return remove(p);
}

static void put_file(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        abort();
    if (len && write(fd, data, len) != (ssize_t)len)
        abort();
    close(fd);
}

/* n batches of `payload` opaque bytes each, offsets from 0, CRCs correct. */
static size_t seed_segment(uint8_t *out, int n, size_t payload, int deltas)
{
    size_t at = 0;
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        uint8_t *b = out + at;
        size_t len = 61 + payload;
        memset(b, 0, len);
        put_be64(b, off);
        put_be32(b + 8, (int32_t)(len - 12));
        put_be32(b + 12, 1);
        b[16] = 2;
        put_be32(b + 23, deltas - 1);
        put_be64(b + 27, 1000 + i);
        put_be64(b + 35, 1000 + i * 3);
        put_be64(b + 43, -1);
        put_be32(b + 57, deltas);
        for (size_t k = 61; k < len; k++)
            b[k] = (uint8_t)(k * 7 + (size_t)i);
        put_be32(b + 17, (int32_t)crc32c(0, b + 21, len - 21));
        off += deltas;
        at += len;
    }
    return at;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("WEIR_FUZZ_SEEDS");
    static uint8_t buf[64 * 400];
    static const int shapes[][3] = {{1, 0, 1}, {3, 10, 2}, {20, 40, 1}, {40, 200, 5}, {5, 1000, 3}};
    for (size_t i = 0; dir && *dir && i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        char p[512];
        size_t n = seed_segment(buf, shapes[i][0], (size_t)shapes[i][1], shapes[i][2]);
        snprintf(p, sizeof(p), "%s/seed-log-%zu", dir, i);
        put_file(p, buf, n);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        wlog_setup("fuzz", WLOG_ERROR);
        quiet = 1;
    }
    /* tmpfs when there is one: recovery fsyncs, and disk fsyncs would dominate the run */
    char dir[64], p[256];
    snprintf(dir, sizeof(dir), "%s/weir_fuzz_XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(p, sizeof(p), "%s/t-0", dir);
    mkdir(p, 0755);
    uint8_t mode = size ? data[0] : 0;
    snprintf(p, sizeof(p), "%s/t-0/%020d.log", dir, 0);
    put_file(p, data, size);
    if (mode & 1) { /* stale index files with the same bytes */
        snprintf(p, sizeof(p), "%s/t-0/%020d.index", dir, 0);
        put_file(p, data, size & ~(size_t)7);
        snprintf(p, sizeof(p), "%s/t-0/%020d.timeindex", dir, 0);
        put_file(p, data, size - size % 12);
    }
    if (mode & 2) { /* a later segment that must go if the first is cut */
        snprintf(p, sizeof(p), "%s/t-0/%020d.log", dir, 1000);
        put_file(p, data, size / 2);
    }
    plog_config_t cfg;
    plog_config_defaults(&cfg);
    cfg.index_interval_bytes = 64;
    logmgr_t *m = NULL;
    char err[512];
    const char *dirs[] = {dir};
    if (logmgr_open(dirs, 1, 1, "fuzz", &cfg, &m, err, sizeof(err)) != 0) {
        fprintf(stderr, "open failed: %s\n", err);
        abort();
    }
    plog_t *l = logmgr_get(m, "t", 0);
    if (!l || plog_validate(l, err, sizeof(err)) != 0) {
        fprintf(stderr, "validate failed: %s\n", l ? err : "no log");
        abort();
    }
    uint8_t *buf;
    size_t len;
    if (plog_read_copy(l, plog_start_offset(l), INT64_MAX, 1 << 20, &buf, &len) != 0)
        abort();
    free(buf);
    logmgr_close(m, true);
    nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}
