/*
 * test_log.c - partition log storage against a reference model: appends and
 * reads across segment rolls, clean and unclean reopen (torn tails, flipped
 * bytes, missing indexes), retention, truncation, time lookup, leader epoch
 * cache, checkpoints and meta.properties.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/log/log.h"
#include "broker/log/log_int.h"
#include "common/crc32c.h"
#include "common/proto.h"
#include "common/wire.h"

/* ---- batch builder ---- */

/* A valid v2 batch of n uncompressed records with `vsize`-byte values;
 * record i has timestamp ts + i. */
static uint8_t *make_batch(int n, int64_t ts, size_t vsize, size_t *len)
{
    kwr_t w;
    kwr_init(&w, 256);
    uint8_t hdr[LOG_BATCH_HDR] = {0};
    kwr_raw(&w, hdr, sizeof(hdr));
    uint8_t *val = malloc(vsize + 1);
    for (size_t i = 0; i < vsize; i++)
        val[i] = (uint8_t)('a' + (i + (size_t)ts) % 26);
    for (int i = 0; i < n; i++) {
        kwr_t r;
        kwr_init(&r, 64);
        kwr_i8(&r, 0);
        kwr_varlong(&r, i);
        kwr_varint(&r, i);
        kwr_varint(&r, -1);
        kwr_varint(&r, (int32_t)vsize);
        kwr_raw(&r, val, vsize);
        kwr_varint(&r, 0);
        kwr_varint(&w, (int32_t)r.len);
        kwr_raw(&w, r.buf, r.len);
        kwr_free(&r);
    }
    free(val);
    uint8_t *b = w.buf;
    put_be64(b, 0);
    put_be32(b + 8, (int32_t)(w.len - 12));
    put_be32(b + 12, -1);
    b[16] = 2;
    put_be16(b + 21, 0);
    put_be32(b + 23, n - 1);
    put_be64(b + 27, ts);
    put_be64(b + 35, ts + n - 1);
    put_be64(b + 43, -1);
    put_be16(b + 51, -1);
    put_be32(b + 53, -1);
    put_be32(b + 57, n);
    put_be32(b + 17, (int32_t)crc32c(0, b + 21, w.len - 21));
    *len = w.len;
    return b;
}

/* ---- reference model ---- */

typedef struct mbatch {
    int64_t base, last, max_ts;
    size_t len;
    uint8_t *bytes;
    int seg; /* which segment the log put it in (mirrors the roll rule) */
} mbatch_t;

typedef struct model {
    mbatch_t b[4096];
    size_t n;
    int64_t leo, start;
    int seg;
    int64_t seg_size, segment_bytes;
} model_t;

static void model_init(model_t *m, int64_t segment_bytes)
{
    memset(m, 0, sizeof(*m));
    m->segment_bytes = segment_bytes;
}

static void model_free(model_t *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->b[i].bytes);
    m->n = 0;
}

/* Append a random batch to both the log and the model. */
static void append_one(plog_t *l, model_t *m, int nrec, size_t vsize, int64_t ts)
{
    size_t len;
    uint8_t *b = make_batch(nrec, ts, vsize, &len);
    int64_t base = -7;
    assert_int_equal(plog_append(l, b, len, 3, 1000, &base), 0);
    assert_int_equal(base, m->leo);
    assert_int_equal(be64(b), base);
    assert_int_equal(be32(b + 12), 3);
    if (m->seg_size > 0 && m->seg_size + (int64_t)len > m->segment_bytes) {
        m->seg++;
        m->seg_size = 0;
    }
    m->seg_size += (int64_t)len;
    m->b[m->n++] = (mbatch_t){base, base + nrec - 1, ts + nrec - 1, len, b, m->seg};
    m->leo = base + nrec;
}

/* What plog_read must return, computed from the model. */
static void model_read(const model_t *m, int64_t off, int64_t max_off, int64_t max_bytes, uint8_t **out, size_t *len,
                       int64_t *first)
{
    *out = NULL;
    *len = 0;
    size_t k = 0;
    while (k < m->n && m->b[k].last < off)
        k++;
    if (off >= max_off || k == m->n || m->b[k].last >= max_off)
        return;
    *first = m->b[k].base;
    size_t total = m->b[k].len, j = k + 1;
    while (j < m->n && m->b[j].seg == m->b[k].seg && m->b[j].last < max_off &&
           (int64_t)(total + m->b[j].len) <= max_bytes)
        total += m->b[j++].len;
    *out = malloc(total);
    size_t at = 0;
    for (size_t i = k; i < j; i++) {
        memcpy(*out + at, m->b[i].bytes, m->b[i].len);
        at += m->b[i].len;
    }
    *len = total;
}

static void check_read(plog_t *l, const model_t *m, int64_t off, int64_t max_off, int64_t max_bytes)
{
    uint8_t *want, *got;
    size_t wlen, glen;
    int64_t first = -1;
    model_read(m, off, max_off, max_bytes, &want, &wlen, &first);
    plog_slice_t sl;
    assert_int_equal(plog_read(l, off, max_off, max_bytes, &sl), KERR_NONE);
    assert_int_equal(sl.len, (int64_t)wlen);
    if (wlen)
        assert_int_equal(sl.first_offset, first);
    assert_int_equal(plog_read_copy(l, off, max_off, max_bytes, &got, &glen), KERR_NONE);
    assert_int_equal(glen, wlen);
    if (wlen)
        assert_memory_equal(got, want, wlen);
    free(want);
    free(got);
}

static void check_all(plog_t *l, const model_t *m)
{
    char err[512] = "";
    if (plog_validate(l, err, sizeof(err)) != 0)
        fail_msg("validate: %s", err);
    assert_int_equal(plog_end_offset(l), m->leo);
    for (size_t i = 0; i < m->n; i++) {
        if (m->b[i].last < plog_start_offset(l))
            continue;
        int64_t off = m->b[i].base + (m->b[i].last - m->b[i].base) / 2;
        if (off < plog_start_offset(l))
            off = plog_start_offset(l);
        check_read(l, m, off, INT64_MAX, 1);
        check_read(l, m, off, m->leo, 1 << 30);
    }
}

/* ---- temp dirs and managers ---- */

static int rm_cb(const char *p, const struct stat *sb, int f, struct FTW *ftw)
{
    (void)sb;
    (void)f;
    (void)ftw;
    return remove(p);
}

static char *tmp_dir(void)
{
    char *d = strdup("/tmp/weir_log_XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rm_dir(char *d)
{
    nftw(d, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}

static logmgr_t *open_mgr(const char *dir, const plog_config_t *cfg)
{
    logmgr_t *m = NULL;
    char err[512] = "";
    const char *dirs[] = {dir};
    if (logmgr_open(dirs, 1, 1, "clusterA", cfg, &m, err, sizeof(err)) != 0)
        fail_msg("logmgr_open: %s", err);
    return m;
}

static void small_cfg(plog_config_t *c, int64_t segment_bytes)
{
    plog_config_defaults(c);
    c->segment_bytes = segment_bytes;
    c->index_interval_bytes = 200;
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}


/* The .index/.timeindex bytes Kafka's rule gives for segment `seg` of the
 * model (an entry when a batch starts more than `interval` bytes after the
 * last indexed one, plus the final time entry written when a segment closes),
 * compared with the files. */
static void check_index_files(const char *pdir, const model_t *m, int seg, int32_t interval)
{
    uint8_t want_i[8192], want_t[8192];
    size_t ni = 0, nt = 0, k = 0;
    while (k < m->n && m->b[k].seg != seg)
        k++;
    assert_true(k < m->n);
    int64_t base = m->b[k].base, pos = 0, last_idx = 0, max_ts = -1, max_off = -1, last_t = -1;
    for (; k < m->n && m->b[k].seg == seg; k++) {
        if (m->b[k].max_ts > max_ts) {
            max_ts = m->b[k].max_ts;
            max_off = m->b[k].last;
        }
        if (pos - last_idx > interval) {
            put_be32(want_i + ni, (int32_t)(m->b[k].last - base));
            put_be32(want_i + ni + 4, (int32_t)pos);
            ni += 8;
            if (max_ts > last_t) {
                put_be64(want_t + nt, max_ts);
                put_be32(want_t + nt + 8, (int32_t)(max_off - base));
                nt += 12;
                last_t = max_ts;
            }
            last_idx = pos;
        }
        pos += (int64_t)m->b[k].len;
    }
    if (max_ts > last_t) {
        put_be64(want_t + nt, max_ts);
        put_be32(want_t + nt + 8, (int32_t)(max_off - base));
        nt += 12;
    }
    char p[600], *got;
    snprintf(p, sizeof(p), "%s/%020" PRId64 ".index", pdir, base);
    assert_int_equal(lfile_read_small(p, &got, 1 << 20), 0);
    assert_int_equal(file_size(p), (int64_t)ni);
    assert_memory_equal(got, want_i, ni);
    free(got);
    snprintf(p, sizeof(p), "%s/%020" PRId64 ".timeindex", pdir, base);
    assert_int_equal(lfile_read_small(p, &got, 1 << 20), 0);
    assert_int_equal(file_size(p), (int64_t)nt);
    assert_memory_equal(got, want_t, nt);
    free(got);
}

/* ---- tests ---- */

static void fill_random(plog_t *l, model_t *m, int n, unsigned *seed)
{
    for (int i = 0; i < n; i++)
        append_one(l, m, 1 + rand_r(seed) % 5, (size_t)(rand_r(seed) % 300), 1000000 + (int64_t)m->leo * 10);
}

static void test_random_appends_and_reads(void **state)
{
    (void)state;
    char *dir = tmp_dir();
    plog_config_t cfg;
    small_cfg(&cfg, 2000);
    logmgr_t *mg = open_mgr(dir, &cfg);
    plog_t *l = logmgr_create(mg, "orders", 0, &cfg);
    assert_non_null(l);
    static model_t m;
    model_init(&m, cfg.segment_bytes);
    unsigned seed = 42;
    for (int round = 0; round < 40; round++) {
        fill_random(l, &m, 10, &seed);
        for (int k = 0; k < 20; k++) {
            int64_t off = rand_r(&seed) % (m.leo + 1);
            int64_t hw = rand_r(&seed) % (m.leo + 2);
            int64_t mb = rand_r(&seed) % 3000;
            check_read(l, &m, off, hw, mb);
        }
    }
    assert_true(m.seg > 10); /* rolls happened */
    check_all(l, &m);
    /* clean close and reopen: same log */
    logmgr_close(mg, true);
    char p[512];
    snprintf(p, sizeof(p), "%s/.kafka_cleanshutdown", dir);
    assert_true(file_exists(p));
    mg = open_mgr(dir, &cfg);
    assert_false(file_exists(p));
    l = logmgr_get(mg, "orders", 0);
    assert_non_null(l);
    check_all(l, &m);
    fill_random(l, &m, 20, &seed);
    check_all(l, &m);
    logmgr_close(mg, true);
    model_free(&m);
    rm_dir(dir);
}

static void test_out_of_range_and_limits(void **state)
{
    (void)state;
    char *dir = tmp_dir();
    plog_config_t cfg;
    small_cfg(&cfg, 1 << 20);
    logmgr_t *mg = open_mgr(dir, &cfg);
    plog_t *l = logmgr_create(mg, "t", 0, &cfg);
    static model_t m;
    model_init(&m, cfg.segment_bytes);
    for (int i = 0; i < 5; i++)
        append_one(l, &m, 2, 500, 100 + i);
    plog_slice_t sl;
    assert_int_equal(plog_read(l, 11, INT64_MAX, 1000, &sl), KERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(plog_read(l, -1, INT64_MAX, 1000, &sl), KERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(plog_read(l, 10, INT64_MAX, 1000, &sl), KERR_NONE);
    assert_int_equal(sl.len, 0);
    /* max_bytes 1: the first batch still comes whole, only it */
    assert_int_equal(plog_read(l, 3, INT64_MAX, 1, &sl), KERR_NONE);
    assert_int_equal(sl.len, (int64_t)m.b[1].len);
    assert_int_equal(sl.first_offset, 2);
    /* high watermark 5: batches [2,3] and [4,5]: only [2,3] is below it */
    assert_int_equal(plog_read(l, 2, 5, 1 << 20, &sl), KERR_NONE);
    assert_int_equal(sl.len, (int64_t)m.b[1].len);
    assert_int_equal(plog_read(l, 4, 5, 1 << 20, &sl), KERR_NONE);
    assert_int_equal(sl.len, 0);
    assert_int_equal(plog_read(l, 0, 6, 1 << 20, &sl), KERR_NONE);
    assert_int_equal(sl.len, (int64_t)(m.b[0].len + m.b[1].len + m.b[2].len));
    /* after moving the log start, reads below it are out of range */
    assert_int_equal(plog_advance_start(l, 3), 0);
    assert_int_equal(plog_start_offset(l), 3);
    assert_int_equal(plog_read(l, 2, INT64_MAX, 1, &sl), KERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(plog_read(l, 3, INT64_MAX, 1, &sl), KERR_NONE);
    assert_int_equal(sl.first_offset, 2); /* the batch holding offset 3 */
    assert_int_equal(plog_advance_start(l, 11), -EINVAL);
    logmgr_close(mg, true);
    model_free(&m);
    rm_dir(dir);
}

/* Unclean close, then cut the active segment mid-batch. */
static void test_torn_tail(void **state)
{
    (void)state;
    char *dir = tmp_dir();
    plog_config_t cfg;
    small_cfg(&cfg, 3000);
    logmgr_t *mg = open_mgr(dir, &cfg);
    plog_t *l = logmgr_create(mg, "torn-topic", 2, &cfg);
    static model_t m;
    model_init(&m, cfg.segment_bytes);
    unsigned seed = 7;
    fill_random(l, &m, 60, &seed);
    logmgr_close(mg, false);
    /* cut the last batch in half */
    mbatch_t *last = &m.b[m.n - 1];
    int64_t seg_base = last->base;
    for (size_t i = m.n; i-- > 0 && m.b[i].seg == last->seg;)
        seg_base = m.b[i].base;
    char p[512];
    snprintf(p, sizeof(p), "%s/torn-topic-2/%020" PRId64 ".log", dir, seg_base);
    int64_t sz = file_size(p);
    assert_true(sz > 0);
    assert_int_equal(truncate(p, sz - (int64_t)last->len / 2), 0);
    mg = open_mgr(dir, &cfg);
    l = logmgr_get(mg, "torn-topic", 2);
    assert_non_null(l);
    free(last->bytes);
    m.n--;
    m.leo = last->base;
    check_all(l, &m);
    assert_int_equal(file_size(p), sz - (int64_t)last->len);
    /* appends continue at the recovered end */
    append_one(l, &m, 3, 50, 5);
    check_all(l, &m);
    logmgr_close(mg, true);
    model_free(&m);
    rm_dir(dir);
}

/* A flipped byte inside an older segment: everything from that batch on goes. */
static void test_corrupt_middle(void **state)
{
    (void)state;
    char *dir = tmp_dir();
    plog_config_t cfg;
    small_cfg(&cfg, 2000);
    logmgr_t *mg = open_mgr(dir, &cfg);
    plog_t *l = logmgr_create(mg, "c", 0, &cfg);
    static model_t m;
    model_init(&m, cfg.segment_bytes);
    unsigned seed = 99;
    fill_random(l, &m, 80, &seed);
    assert_true(m.seg >= 4);
    logmgr_close(mg, false);
    /* without a recovery point every segment is re-validated */
    char p[512];
    snprintf(p, sizeof(p), "%s/recovery-point-offset-checkpoint", dir);
    assert_int_equal(unlink(p), 0);
    size_t k = 0; /* second batch of segment 2 */
    while (m.b[k].seg != 2)
        k++;
    k++;
    assert_int_equal(m.b[k].seg, 2);
    int64_t seg_base = m.b[k - 1].base, pos = (int64_t)m.b[k - 1].len;
    snprintf(p, sizeof(p), "%s/c-0/%020" PRId64 ".log", dir, seg_base);
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    uint8_t byte;
    assert_int_equal(pread(fd, &byte, 1, pos + 40), 1);
    byte ^= 0x5a;
    assert_int_equal(pwrite(fd, &byte, 1, pos + 40), 1);
    close(fd);
    mg = open_mgr(dir, &cfg);
    l = logmgr_get(mg, "c", 0);
    int64_t later = -1;
    for (size_t i = k; i < m.n; i++)
        if (m.b[i].seg == 3 && later < 0)
            later = m.b[i].base;
    m.leo = m.b[k].base;
    for (size_t i = k; i < m.n; i++)
        free(m.b[i].bytes);
    m.n = k;
    check_all(l, &m);
    snprintf(p, sizeof(p), "%s/c-0/%020" PRId64 ".log", dir, later);
    assert_false(file_exists(p)); /* segments after the truncation point are deleted */
    logmgr_close(mg, true);
    model_free(&m);
    rm_dir(dir);
}

/* fixed_len 0: random batches; else fixed batches of that many bytes with
 * the interval at exactly 3 batches (the > versus >= boundary of the rule)
 * and 10 batches a segment, so segment ends are not indexed. */
static void missing_indexes_case(int64_t fixed_len)
{
    char *dir = tmp_dir();
    plog_config_t cfg;
    small_cfg(&cfg, fixed_len ? 10 * fixed_len : 4000);
    if (fixed_len)
        cfg.index_interval_bytes = (int32_t)(3 * fixed_len);
    logmgr_t *mg = open_mgr(dir, &cfg);
    plog_t *l = logmgr_create(mg, "ix", 1, &cfg);
    static model_t m;
    model_init(&m, cfg.segment_bytes);
    unsigned seed = 5;
    if (fixed_len)
        for (int i = 0; i < 45; i++)
            append_one(l, &m, 1, 20, 100 + i);
    else
        fill_random(l, &m, 50, &seed);
    logmgr_close(mg, true);
    char p[512];
    snprintf(p, sizeof(p), "%s/ix-1/%020d.index", dir, 0);
    int64_t isz = file_size(p);
    assert_true(isz > 0);
    assert_int_equal(unlink(p), 0);
    snprintf(p, sizeof(p), "%s/ix-1/%020d.timeindex", dir, 0);
    assert_int_equal(unlink(p), 0);
    mg = open_mgr(dir, &cfg);
    l = logmgr_get(mg, "ix", 1);
    check_all(l, &m);
    snprintf(p, sizeof(p), "%s/ix-1/%020d.index", dir, 0);
    assert_int_equal(file_size(p), isz);
    logmgr_close(mg, true);
    /* written (segments 1..), rebuilt (segment 0): both exactly Kafka's entries */
    snprintf(p, sizeof(p), "%s/ix-1", dir);
    for (int seg = 0; seg <= m.seg; seg++)
        check_index_files(p, &m, seg, cfg.index_interval_bytes);
    /* the same after an unclean stop that rebuilds every segment */
    mg = open_mgr(dir, &cfg);
    logmgr_close(mg, false);
    snprintf(p, sizeof(p), "%s/recovery-point-offset-checkpoint", dir);
    assert_int_equal(unlink(p), 0);
    mg = open_mgr(dir, &cfg);
    check_all(logmgr_get(mg, "ix", 1), &m);
    logmgr_close(mg, false);
    snprintf(p, sizeof(p), "%s/ix-1", dir);
    for (int seg = 0; seg <= m.seg; seg++)
        check_index_files(p, &m, seg, cfg.index_interval_bytes);
    model_free(&m);
    rm_dir(dir);
}

static void test_missing_indexes_rebuilt(void **state)
{
    (void)state;
    size_t len;
    free(make_batch(1, 0, 20, &len));
    missing_indexes_case(0);
    missing_indexes_case((int64_t)len);
}

static int count_logs(const char *pdir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls %s/*.log 2>/dev/null | wc -l", pdir);
    FILE *f = popen(cmd, "r");
    int n = -1;
    assert_int_equal(fscanf(f, "%d", &n), 1);
    pclose(f);
    return n;
}

static void test_retention(void **state)
{
    (void)state;
    char *dir = tmp_dir();
    plog_config_t cfg;
    small_cfg(&cfg, 1000);
    logmgr_t *mg = open_mgr(dir, &cfg);
    plog_t *l = logmgr_create(mg, "r", 0, &cfg);
    static model_t m;
    model_init(&m, cfg.segment_bytes);
    /* ten segments of two ~400-byte batches; timestamps grow by segment */
    for (int i = 0; i < 20; i++)
        append_one(l, &m, 1, 330, 1000 * (i / 2 + 1));
    assert_int_equal(m.seg, 9);
    char pdir[512];
    snprintf(pdir, sizeof(pdir), "%s/r-0", dir);
    assert_int_equal(count_logs(pdir), 10);
    /* unlimited: nothing goes */
    cfg.retention_ms = -1;
    cfg.retention_bytes = -1;
    plog_set_config(l, &cfg);
    assert_int_equal(logmgr_retention(mg, 1000000), 0);
    /* by time: segments whose newest batch is older than now - 3500 (ts 1000..3000) */
    cfg.retention_ms = 3500;
    plog_set_config(l, &cfg);
    assert_int_equal(plog_retention(l, 6600), 3);
    assert_int_equal(plog_start_offset(l), 6);
    assert_int_equal(count_logs(pdir), 7);
    /* by bytes: keep at most 3 segments' worth; the active one is never deleted */
    cfg.retention_ms = -1;
    cfg.retention_bytes = 3 * (int64_t)(m.b[0].len * 2);
    plog_set_config(l, &cfg);
    assert_int_equal(logmgr_retention(mg, 6600), 4);
    assert_int_equal(plog_start_offset(l), 14);
    assert_int_equal(count_logs(pdir), 3);
    plog_slice_t sl;
    assert_int_equal(plog_read(l, 13, INT64_MAX, 1, &sl), KERR_OFFSET_OUT_OF_RANGE);
    check_all(l, &m);
    cfg.retention_bytes = 0;
    plog_set_config(l, &cfg);
    assert_int_equal(plog_retention(l, 6600), 2);
    assert_int_equal(count_logs(pdir), 1);
    /* the log start survives a restart through log-start-offset-checkpoint */
    logmgr_close(mg, true);
    mg = open_mgr(dir, &cfg);
    assert_int_equal(plog_start_offset(logmgr_get(mg, "r", 0)), 18);
    logmgr_close(mg, true);
    model_free(&m);
    rm_dir(dir);
}

static void test_truncate_to(void **state)
{
    (void)state;
    char *dir = tmp_dir();
    plog_config_t cfg;
    small_cfg(&cfg, 1500);
    logmgr_t *mg = open_mgr(dir, &cfg);
    plog_t *l = logmgr_create(mg, "tr", 0, &cfg);
    static model_t m;
    model_init(&m, cfg.segment_bytes);
    for (int i = 0; i < 30; i++)
        append_one(l, &m, 3, 100 + i * 7, 100 * i);
    assert_int_equal(plog_epoch_assign(l, 1, 0), 0);
    assert_int_equal(plog_epoch_assign(l, 4, 45), 0);
    /* offset 46 is inside batch [45,47]: the log ends at 45 */
    assert_int_equal(plog_truncate_to(l, 46), 0);
    size_t k = 15;
    assert_int_equal(m.b[k].base, 45);
    for (size_t i = k; i < m.n; i++)
        free(m.b[i].bytes);
    m.n = k;
    m.leo = 45;
    m.seg = m.b[k - 1].seg;
    m.seg_size = 0;
    for (size_t i = 0; i < k; i++)
        if (m.b[i].seg == m.seg)
            m.seg_size += (int64_t)m.b[i].len;
    check_all(l, &m);
    assert_int_equal(plog_latest_epoch(l), 1); /* epoch 4 started at 45, now gone */
    append_one(l, &m, 2, 10, 99999);
    check_all(l, &m);
    /* below the first segment after retention: the log restarts there */
    cfg.retention_bytes = 0;
    plog_set_config(l, &cfg);
    assert_true(plog_retention(l, 0) > 0);
    int64_t first = plog_start_offset(l);
    assert_int_equal(plog_truncate_to(l, first - 5), 0);
    assert_int_equal(plog_end_offset(l), first - 5);
    assert_int_equal(plog_start_offset(l), first - 5);
    char err[256];
    assert_int_equal(plog_validate(l, err, sizeof(err)), 0);
    logmgr_close(mg, true);
    model_free(&m);
    rm_dir(dir);
}

static void test_find_time(void **state)
{
    (void)state;
    char *dir = tmp_dir();
    plog_config_t cfg;
    small_cfg(&cfg, 2000);
    cfg.index_interval_bytes = 100;
    logmgr_t *mg = open_mgr(dir, &cfg);
    plog_t *l = logmgr_create(mg, "ft", 0, &cfg);
    static model_t m;
    model_init(&m, cfg.segment_bytes);
    /* MaxTimestamp of batch i = 1000 + 10*i, except a late outlier at i == 30 */
    for (int i = 0; i < 60; i++)
        append_one(l, &m, 1 + i % 3, 80, i == 30 ? 5000 : 1000 + 10 * i - 1);
    for (int64_t ts = 900; ts <= 5100; ts += 7) {
        int64_t base = -1, mts = -1;
        size_t k = 0;
        while (k < m.n && m.b[k].max_ts < ts)
            k++;
        int rc = plog_find_time(l, ts, &base, &mts);
        if (k == m.n) {
            assert_int_equal(rc, 1);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(base, m.b[k].base);
            assert_int_equal(mts, m.b[k].max_ts);
        }
    }
    logmgr_close(mg, true);
    model_free(&m);
    rm_dir(dir);
}

static void test_epochs(void **state)
{
    (void)state;
    char *dir = tmp_dir();
    plog_config_t cfg;
    small_cfg(&cfg, 1 << 20);
    logmgr_t *mg = open_mgr(dir, &cfg);
    plog_t *l = logmgr_create(mg, "ep", 0, &cfg);
    static model_t m;
    model_init(&m, cfg.segment_bytes);
    int32_t found;
    assert_int_equal(plog_latest_epoch(l), -1);
    assert_int_equal(plog_epoch_end_offset(l, 0, &found), -1);
    assert_int_equal(plog_epoch_assign(l, 2, 0), 0);
    for (int i = 0; i < 5; i++)
        append_one(l, &m, 2, 10, i);
    assert_int_equal(plog_epoch_assign(l, 5, 10), 0);
    assert_int_equal(plog_epoch_assign(l, 3, 12), 0); /* older epoch: ignored */
    for (int i = 0; i < 3; i++)
        append_one(l, &m, 2, 10, i);
    assert_int_equal(plog_latest_epoch(l), 5);
    assert_int_equal(plog_epoch_end_offset(l, 5, &found), 16);
    assert_int_equal(found, 5);
    assert_int_equal(plog_epoch_end_offset(l, 2, &found), 10);
    assert_int_equal(found, 2);
    assert_int_equal(plog_epoch_end_offset(l, 4, &found), 10); /* between: floor epoch 2 */
    assert_int_equal(found, 2);
    assert_int_equal(plog_epoch_end_offset(l, 1, &found), 0);
    assert_int_equal(found, 1);
    assert_int_equal(plog_epoch_end_offset(l, 6, &found), -1);
    assert_int_equal(found, -1);
    logmgr_close(mg, false);
    char p[512], *text;
    snprintf(p, sizeof(p), "%s/ep-0/leader-epoch-checkpoint", dir);
    assert_int_equal(lfile_read_small(p, &text, 4096), 0);
    assert_string_equal(text, "0\n2\n2 0\n5 10\n");
    free(text);
    mg = open_mgr(dir, &cfg);
    l = logmgr_get(mg, "ep", 0);
    assert_int_equal(plog_latest_epoch(l), 5);
    assert_int_equal(plog_epoch_end_offset(l, 2, &found), 10);
    /* moving the log start clamps the first epoch to it */
    assert_int_equal(plog_advance_start(l, 12), 0);
    assert_int_equal(lfile_read_small(p, &text, 4096), 0);
    assert_string_equal(text, "0\n1\n5 12\n");
    free(text);
    logmgr_close(mg, true);
    model_free(&m);
    rm_dir(dir);
}

static void test_meta_properties(void **state)
{
    (void)state;
    char *dir = tmp_dir();
    plog_config_t cfg;
    plog_config_defaults(&cfg);
    logmgr_t *mg = open_mgr(dir, &cfg);
    logmgr_close(mg, true);
    char p[512], *text;
    snprintf(p, sizeof(p), "%s/meta.properties", dir);
    assert_int_equal(lfile_read_small(p, &text, 4096), 0);
    assert_non_null(strstr(text, "\ncluster.id=clusterA\n"));
    assert_non_null(strstr(text, "\nbroker.id=1\n"));
    assert_non_null(strstr(text, "\nversion=0\n"));
    free(text);
    const char *dirs[] = {dir};
    char err[512] = "", want[700];
    mg = NULL;
    assert_int_equal(logmgr_open(dirs, 1, 1, "clusterB", &cfg, &mg, err, sizeof(err)), -1);
    assert_null(mg);
    snprintf(want, sizeof(want), "log dir %s belongs to cluster clusterA, but ZooKeeper cluster id is clusterB", dir);
    assert_string_equal(err, want);
    assert_int_equal(logmgr_open(dirs, 1, 2, "clusterA", &cfg, &mg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "belongs to broker 1"));
    rm_dir(dir);
}

static int64_t hw_cb(plog_t *l, void *arg)
{
    (void)arg;
    return plog_partition(l) == 1 ? -1 : plog_end_offset(l) - 1;
}

static void test_checkpoints(void **state)
{
    (void)state;
    char *dir = tmp_dir(), p[512];
    /* raw round trip, including a topic with dashes */
    lckpt_ent_t e[] = {{"a-b-c", 3, 42}, {"x", 0, 0}, {"a-b-c", 1, 7}};
    snprintf(p, sizeof(p), "%s/ck", dir);
    assert_int_equal(lckpt_write(p, e, 3), 0);
    lckpt_ent_t *r;
    size_t n;
    assert_int_equal(lckpt_read(p, &r, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(lckpt_find(r, n, "a-b-c", 3), 42);
    assert_int_equal(lckpt_find(r, n, "a-b-c", 1), 7);
    assert_int_equal(lckpt_find(r, n, "x", 0), 0);
    assert_int_equal(lckpt_find(r, n, "x", 1), -1);
    lckpt_free(r, n);
    FILE *f = fopen(p, "w");
    fputs("0\n2\nt 0 5\n", f); /* count says 2, one line */
    fclose(f);
    assert_int_equal(lckpt_read(p, &r, &n), -EINVAL);
    unlink(p);
    /* through the manager: HW and recovery point survive a restart */
    plog_config_t cfg;
    small_cfg(&cfg, 1 << 20);
    logmgr_t *mg = open_mgr(dir, &cfg);
    static model_t m;
    model_init(&m, cfg.segment_bytes);
    plog_t *l0 = logmgr_create(mg, "my-topic", 0, &cfg);
    plog_t *l1 = logmgr_create(mg, "my-topic", 1, &cfg);
    for (int i = 0; i < 4; i++)
        append_one(l0, &m, 2, 10, i);
    assert_int_equal(logmgr_read_hw(mg, l0), -1);
    assert_int_equal(logmgr_write_hw_checkpoint(mg, hw_cb, NULL), 0);
    assert_int_equal(logmgr_checkpoint(mg), 0);
    snprintf(p, sizeof(p), "%s/recovery-point-offset-checkpoint", dir);
    assert_int_equal(lckpt_read(p, &r, &n), 0);
    assert_int_equal(lckpt_find(r, n, "my-topic", 0), 8);
    assert_int_equal(lckpt_find(r, n, "my-topic", 1), 0);
    lckpt_free(r, n);
    (void)l1;
    logmgr_close(mg, true);
    mg = open_mgr(dir, &cfg);
    assert_int_equal(logmgr_read_hw(mg, logmgr_get(mg, "my-topic", 0)), 7);
    assert_int_equal(logmgr_read_hw(mg, logmgr_get(mg, "my-topic", 1)), -1);
    assert_int_equal(plog_end_offset(logmgr_get(mg, "my-topic", 0)), 8);
    /* delete leaves nothing behind */
    assert_int_equal(logmgr_delete(mg, "my-topic", 1), 0);
    assert_null(logmgr_get(mg, "my-topic", 1));
    snprintf(p, sizeof(p), "%s/my-topic-1", dir);
    assert_false(file_exists(p));
    assert_int_equal(logmgr_delete(mg, "my-topic", 1), -ENOENT);
    logmgr_close(mg, true);
    model_free(&m);
    rm_dir(dir);
}

static void append_at(plog_t *l, int64_t now, int64_t *base)
{
    size_t len;
    uint8_t *b = make_batch(1, now, 100, &len);
    assert_int_equal(plog_append(l, b, len, 0, now, base), 0);
    free(b);
}

static void test_roll_triggers(void **state)
{
    (void)state;
    char *dir = tmp_dir(), pdir[512];
    plog_config_t cfg;
    small_cfg(&cfg, 1 << 20);
    cfg.segment_ms = 1000;
    logmgr_t *mg = open_mgr(dir, &cfg);
    plog_t *l = logmgr_create(mg, "roll", 0, &cfg);
    snprintf(pdir, sizeof(pdir), "%s/roll-0", dir);
    int64_t base;
    append_at(l, 5000, &base);
    append_at(l, 6000, &base); /* exactly segment.ms later: no roll yet */
    assert_int_equal(count_logs(pdir), 1);
    append_at(l, 6001, &base);
    assert_int_equal(count_logs(pdir), 2);
    char p[600];
    snprintf(p, sizeof(p), "%s/%020d.log", pdir, 2);
    assert_true(file_exists(p)); /* named after the LEO at the roll */
    /* a full offset index (segment.index.bytes / 8 entries) rolls too */
    cfg.segment_ms = -1;
    cfg.index_interval_bytes = 0;
    cfg.segment_index_bytes = 24;
    plog_set_config(l, &cfg);
    for (int i = 0; i < 8; i++)
        append_at(l, 7000 + i, &base);
    assert_int_equal(count_logs(pdir), 4); /* 24/12 = 2 time entries fill a segment: bases 0, 2, 5, 8 */
    char err[256];
    assert_int_equal(plog_validate(l, err, sizeof(err)), 0);
    logmgr_close(mg, true);
    rm_dir(dir);
}

static void count_cb(plog_t *l, void *arg)
{
    (void)l;
    ++*(int *)arg;
}

static void test_open_cleans_leftovers(void **state)
{
    (void)state;
    char *dir = tmp_dir(), p[512];
    plog_config_t cfg;
    small_cfg(&cfg, 1 << 20);
    logmgr_t *mg = open_mgr(dir, &cfg);
    static model_t m;
    model_init(&m, cfg.segment_bytes);
    append_one(logmgr_create(mg, "a-1-b", 7, &cfg), &m, 2, 10, 1);
    assert_null(logmgr_create(mg, "bad/name", 0, &cfg));
    logmgr_close(mg, true);
    snprintf(p, sizeof(p), "%s/gone-3.0123abcd-delete", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/gone-3.0123abcd-delete/%020d.log", dir, 0);
    fclose(fopen(p, "w"));
    snprintf(p, sizeof(p), "%s/recovery-point-offset-checkpoint.tmp", dir);
    fclose(fopen(p, "w"));
    snprintf(p, sizeof(p), "%s/a-1-b-7/%020d.index", dir, 500);
    fclose(fopen(p, "w"));
    snprintf(p, sizeof(p), "%s/a-1-b-7/leader-epoch-checkpoint.tmp", dir);
    fclose(fopen(p, "w"));
    mg = open_mgr(dir, &cfg);
    int n = 0;
    logmgr_foreach(mg, count_cb, &n);
    assert_int_equal(n, 1);
    plog_t *l = logmgr_get(mg, "a-1-b", 7);
    assert_non_null(l);
    assert_string_equal(plog_topic(l), "a-1-b");
    assert_int_equal(plog_partition(l), 7);
    check_all(l, &m);
    assert_false(file_exists(p));
    snprintf(p, sizeof(p), "%s/a-1-b-7/%020d.index", dir, 500);
    assert_false(file_exists(p));
    snprintf(p, sizeof(p), "%s/recovery-point-offset-checkpoint.tmp", dir);
    assert_false(file_exists(p));
    snprintf(p, sizeof(p), "%s/gone-3.0123abcd-delete", dir);
    assert_false(file_exists(p));
    assert_true(logmgr_create(mg, "a-1-b", 7, &cfg) == l); /* existing log returned */
    logmgr_close(mg, true);
    model_free(&m);
    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_appends_and_reads),
        cmocka_unit_test(test_out_of_range_and_limits),
        cmocka_unit_test(test_torn_tail),
        cmocka_unit_test(test_corrupt_middle),
        cmocka_unit_test(test_missing_indexes_rebuilt),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_truncate_to),
        cmocka_unit_test(test_find_time),
        cmocka_unit_test(test_epochs),
        cmocka_unit_test(test_meta_properties),
        cmocka_unit_test(test_checkpoints),
        cmocka_unit_test(test_open_cleans_leftovers),
        cmocka_unit_test(test_roll_triggers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
