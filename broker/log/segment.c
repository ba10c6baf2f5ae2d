/*
 * segment.c - one log segment: the .log file of whole record batches and its
 * sparse .index / .timeindex, kept in memory as arrays and on disk as files.
 *
 * Owns: the segment's fds, its in-memory indexes, recovery of a segment file
 * (re-validating every batch, CRC included, and cutting at the first bad one)
 * and the lookups that turn an offset into a file position.
 *
 * Index rule (Kafka's LogSegment.append/recover, so a rebuilt index matches a
 * written one): before a batch at position q is counted, if q minus the
 * position of the last indexed batch exceeds index.interval.bytes, the batch
 * is indexed as (its last offset - base, q) and the time index gets
 * (largest MaxTimestamp so far, its offset) if that timestamp grew.
 *
 * Invariant: [0, size) is a chain of whole batches with increasing offsets;
 * index entries point at batch starts; index files equal the arrays.
 * Thread: the owning partition log's thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/log/log_int.h"
#include "common/crc32c.h"
#include "common/util.h"
#include "common/wire.h"
#include "common/wlog.h"

#define SEG_CRC_CHUNK 65536

void lbatch_parse(const uint8_t *h, lbatch_t *b)
{
    b->BaseOffset = be64(h);
    b->Length = be32(h + 8);
    b->Magic = (int8_t)h[16];
    b->Crc = (uint32_t)be32(h + 17);
    b->LastOffsetDelta = be32(h + 23);
    b->MaxTimestamp = be64(h + 35);
    b->RecordsCount = be32(h + 57);
}

static char *seg_file(const lseg_t *s, const char *ext, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s", s->path, ext);
    return buf;
}

static void seg_init(lseg_t *s, const char *dir, int64_t base)
{
    memset(s, 0, sizeof(*s));
    s->base = base;
    s->next_offset = base;
    s->fd = s->idx_fd = s->tidx_fd = -1;
    s->max_ts = s->max_ts_off = -1;
    s->roll_ms = -1;
    size_t n = strlen(dir) + 32;
    s->path = malloc(n);
    if (s->path)
        snprintf(s->path, n, "%s/%020" PRId64, dir, base);
}

static void seg_reset_state(lseg_t *s)
{
    s->next_offset = s->base;
    s->size = 0;
    s->nidx = s->ntidx = 0;
    s->max_ts = s->max_ts_off = -1;
    s->last_idx_pos = 0;
}

/* Index files are opened lazily: closed segments do not hold them. */
static int seg_open_index_fds(lseg_t *s, bool trunc)
{
    char p[4096];
    int fl = O_RDWR | O_CREAT | O_CLOEXEC | (trunc ? O_TRUNC : 0);
    if (s->idx_fd < 0 || trunc) {
        if (s->idx_fd >= 0)
            close(s->idx_fd);
        s->idx_fd = open(seg_file(s, ".index", p, sizeof(p)), fl, 0644);
        if (s->idx_fd < 0)
            return -errno;
    }
    if (s->tidx_fd < 0 || trunc) {
        if (s->tidx_fd >= 0)
            close(s->tidx_fd);
        s->tidx_fd = open(seg_file(s, ".timeindex", p, sizeof(p)), fl, 0644);
        if (s->tidx_fd < 0)
            return -errno;
    }
    return 0;
}

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 64;
    while (nc < need)
        nc *= 2;
    void *p = realloc(*arr, nc * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = nc;
    return true;
}

/* A missed entry only makes the sparse index sparser, so failures are logged, not fatal. */
static void idx_push(lseg_t *s, int32_t rel, int32_t pos)
{
    if (!grow((void **)&s->idx, &s->idx_cap, s->nidx + 1, sizeof(lidx_ent_t)))
        return;
    if (s->defer_idx_io) {
        s->idx[s->nidx++] = (lidx_ent_t){rel, pos};
        return;
    }
    uint8_t e[8];
    put_be32(e, rel);
    put_be32(e + 4, pos);
    if (seg_open_index_fds(s, false) < 0 || lfile_pwrite_all(s->idx_fd, e, 8, (int64_t)s->nidx * 8) < 0) {
        wlog_warn("cannot write offset index of %s: %s", s->path, strerror(errno));
        return;
    }
    s->idx[s->nidx++] = (lidx_ent_t){rel, pos};
    s->dirty = true;
}

static void tidx_push(lseg_t *s, int64_t ts, int32_t rel)
{
    if (!grow((void **)&s->tidx, &s->tidx_cap, s->ntidx + 1, sizeof(tidx_ent_t)))
        return;
    if (s->defer_idx_io) {
        s->tidx[s->ntidx++] = (tidx_ent_t){ts, rel};
        return;
    }
    uint8_t e[12];
    put_be64(e, ts);
    put_be32(e + 8, rel);
    if (seg_open_index_fds(s, false) < 0 || lfile_pwrite_all(s->tidx_fd, e, 12, (int64_t)s->ntidx * 12) < 0) {
        wlog_warn("cannot write time index of %s: %s", s->path, strerror(errno));
        return;
    }
    s->tidx[s->ntidx++] = (tidx_ent_t){ts, rel};
    s->dirty = true;
}

static int64_t tidx_last_ts(const lseg_t *s) { return s->ntidx ? s->tidx[s->ntidx - 1].ts : -1; }

/* Account one batch at `pos` (Kafka's rule, see the file comment). */
static void seg_track(lseg_t *s, int64_t pos, const lbatch_t *b, int32_t interval)
{
    int64_t last = lbatch_last(b);
    if (b->MaxTimestamp > s->max_ts) {
        s->max_ts = b->MaxTimestamp;
        s->max_ts_off = last;
    }
    if (pos - s->last_idx_pos > interval) {
        idx_push(s, (int32_t)(last - s->base), (int32_t)pos);
        if (s->max_ts > tidx_last_ts(s))
            tidx_push(s, s->max_ts, (int32_t)(s->max_ts_off - s->base));
        s->last_idx_pos = pos;
    }
    s->next_offset = last + 1;
    s->size = pos + lbatch_size(b);
}

void lseg_seal_time(lseg_t *s)
{
    if (s->max_ts >= 0 && s->max_ts > tidx_last_ts(s))
        tidx_push(s, s->max_ts, (int32_t)(s->max_ts_off - s->base));
}

bool lseg_index_full(const lseg_t *s, int32_t segment_index_bytes)
{
    size_t max_idx = segment_index_bytes >= 8 ? (size_t)segment_index_bytes / 8 : 1;
    size_t max_tidx = segment_index_bytes >= 12 ? (size_t)segment_index_bytes / 12 : 1;
    return s->nidx >= max_idx || s->ntidx >= max_tidx;
}

int lseg_read_hdr(const lseg_t *s, int64_t pos, lbatch_t *b)
{
    uint8_t h[LOG_BATCH_HDR];
    int rc = lfile_pread_all(s->fd, h, sizeof(h), pos);
    if (rc < 0)
        return rc;
    lbatch_parse(h, b);
    return 0;
}

/* Structural checks of a header at `pos` of a file of `fsize` bytes whose
 * previous batch ended at offset `min_off`; offsets must stay below `limit`. */
static bool seg_hdr_ok(const lseg_t *s, const lbatch_t *b, int64_t pos, int64_t fsize, int64_t min_off, int64_t limit)
{
    if (b->Magic != 2 || b->Length < LOG_BATCH_MIN_LEN || b->LastOffsetDelta < 0 || b->RecordsCount < 0)
        return false;
    if (lbatch_size(b) > fsize - pos || pos + lbatch_size(b) > LOG_MAX_SEG_POS)
        return false;
    if (b->BaseOffset < min_off || b->BaseOffset > INT64_MAX - b->LastOffsetDelta)
        return false;
    int64_t last = lbatch_last(b);
    return last - s->base <= INT32_MAX && last < limit;
}

static int seg_crc_ok(const lseg_t *s, const lbatch_t *b, int64_t pos, uint8_t *buf)
{
    uint32_t crc = 0;
    int64_t at = pos + 21, end = pos + lbatch_size(b);
    while (at < end) {
        size_t n = (size_t)(end - at < SEG_CRC_CHUNK ? end - at : SEG_CRC_CHUNK);
        int rc = lfile_pread_all(s->fd, buf, n, at);
        if (rc < 0)
            return rc;
        crc = crc32c(crc, buf, n);
        at += (int64_t)n;
    }
    return crc == b->Crc;
}

/*
 * Walk batches from `from` (state already set for that point) to the end of a
 * file of `fsize` bytes.  Returns 1 if the whole file is a valid chain, 0 if
 * it stopped at a bad batch (state then describes the valid prefix), <0 on I/O error.
 */
static int seg_scan(lseg_t *s, int64_t from, int64_t fsize, bool check_crc, int32_t interval, int64_t limit)
{
    uint8_t *buf = check_crc ? malloc(SEG_CRC_CHUNK) : NULL;
    if (check_crc && !buf)
        return -ENOMEM;
    int64_t pos = from;
    int rc = 1;
    while (pos < fsize) {
        lbatch_t b;
        if (fsize - pos < LOG_BATCH_HDR) {
            rc = 0;
            break;
        }
        if ((rc = lseg_read_hdr(s, pos, &b)) < 0)
            break;
        int64_t min_off = pos == 0 ? s->base : s->next_offset;
        if (!seg_hdr_ok(s, &b, pos, fsize, min_off, limit)) {
            rc = 0;
            break;
        }
        if (check_crc && (rc = seg_crc_ok(s, &b, pos, buf)) <= 0)
            break;
        seg_track(s, pos, &b, interval);
        pos += lbatch_size(&b);
        rc = 1;
    }
    free(buf);
    return rc;
}

static int seg_open_log(lseg_t *s, int flags)
{
    char p[4096];
    if (!s->path)
        return -ENOMEM;
    s->fd = open(seg_file(s, ".log", p, sizeof(p)), O_RDWR | O_CLOEXEC | flags, 0644);
    return s->fd < 0 ? -errno : 0;
}

int lseg_create(lseg_t *s, const char *dir, int64_t base)
{
    seg_init(s, dir, base);
    int rc = seg_open_log(s, O_CREAT | O_TRUNC);
    if (rc == 0)
        rc = seg_open_index_fds(s, true);
    if (rc < 0) {
        lseg_close(s);
        return rc;
    }
    s->dirty = true;
    return 0;
}

/* Rewrite both index files from the arrays (after a rebuild). */
static int seg_rewrite_indexes(lseg_t *s)
{
    int rc = seg_open_index_fds(s, true);
    if (rc < 0)
        return rc;
    size_t n = s->nidx > s->ntidx ? s->nidx : s->ntidx;
    uint8_t *buf = malloc(n * 12 + 1);
    if (!buf)
        return -ENOMEM;
    for (size_t i = 0; i < s->nidx; i++) {
        put_be32(buf + i * 8, s->idx[i].rel);
        put_be32(buf + i * 8 + 4, s->idx[i].pos);
    }
    rc = lfile_pwrite_all(s->idx_fd, buf, s->nidx * 8, 0);
    for (size_t i = 0; i < s->ntidx && rc == 0; i++) {
        put_be64(buf + i * 12, s->tidx[i].ts);
        put_be32(buf + i * 12 + 8, s->tidx[i].rel);
    }
    if (rc == 0)
        rc = lfile_pwrite_all(s->tidx_fd, buf, s->ntidx * 12, 0);
    free(buf);
    s->dirty = true;
    return rc;
}

/* Scan from 0, cut the file after the valid prefix, rewrite the indexes. */
static int seg_recover(lseg_t *s, int64_t fsize, bool check_crc, int32_t interval, int64_t limit, bool *truncated)
{
    seg_reset_state(s);
    s->defer_idx_io = true;
    int rc = seg_scan(s, 0, fsize, check_crc, interval, limit);
    if (rc >= 0)
        lseg_seal_time(s);
    s->defer_idx_io = false;
    if (rc < 0)
        return rc;
    if (s->size < fsize) {
        wlog_warn("truncating %s.log from %" PRId64 " to %" PRId64 " bytes: corrupt or torn batch", s->path, fsize,
                  s->size);
        if (ftruncate(s->fd, s->size) < 0)
            return -errno;
        *truncated = true;
    }
    return seg_rewrite_indexes(s);
}

/* Read an index file fully; -1 if its size is not a whole number of entries. */
static int seg_read_file(const lseg_t *s, const char *ext, size_t esz, uint8_t **out, size_t *n)
{
    char p[4096];
    *out = NULL;
    *n = 0;
    int fd = open(seg_file(s, ext, p, sizeof(p)), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) == 0 && st.st_size % (off_t)esz == 0 && st.st_size <= INT32_MAX) {
        *n = (size_t)st.st_size / esz;
        *out = malloc((size_t)st.st_size + 1);
        if (*out && lfile_pread_all(fd, *out, (size_t)st.st_size, 0) == 0)
            rc = 0;
    }
    close(fd);
    if (rc < 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* Load and sanity-check both index files against a log of `fsize` bytes. */
static bool seg_load_indexes(lseg_t *s, int64_t fsize)
{
    uint8_t *raw;
    size_t n;
    if (seg_read_file(s, ".index", 8, &raw, &n) < 0)
        return false;
    bool ok = grow((void **)&s->idx, &s->idx_cap, n, sizeof(lidx_ent_t));
    for (size_t i = 0; ok && i < n; i++) {
        lidx_ent_t e = {be32(raw + i * 8), be32(raw + i * 8 + 4)};
        ok = e.rel >= 0 && e.pos > 0 && e.pos < fsize &&
             (i == 0 || (e.rel > s->idx[i - 1].rel && e.pos > s->idx[i - 1].pos));
        s->idx[i] = e;
    }
    s->nidx = ok ? n : 0;
    free(raw);
    if (!ok || seg_read_file(s, ".timeindex", 12, &raw, &n) < 0)
        return false;
    ok = grow((void **)&s->tidx, &s->tidx_cap, n, sizeof(tidx_ent_t));
    for (size_t i = 0; ok && i < n; i++) {
        tidx_ent_t e = {be64(raw + i * 12), be32(raw + i * 12 + 8)};
        ok = e.ts >= 0 && e.rel >= 0 && (i == 0 || (e.ts > s->tidx[i - 1].ts && e.rel >= s->tidx[i - 1].rel));
        s->tidx[i] = e;
    }
    s->ntidx = ok ? n : 0;
    free(raw);
    return ok;
}

/* Trusted load: indexes from files, then scan only the tail after the last
 * index entry.  Returns 1 if consistent, 0 if a full recovery is needed. */
static int seg_load_trusted(lseg_t *s, int64_t fsize, int32_t interval, int64_t limit)
{
    if (!seg_load_indexes(s, fsize))
        return 0;
    int64_t from = 0;
    if (s->nidx) {
        lidx_ent_t e = s->idx[s->nidx - 1];
        lbatch_t b;
        int rc = lseg_read_hdr(s, e.pos, &b);
        if (rc < 0)
            return rc;
        if (!seg_hdr_ok(s, &b, e.pos, fsize, s->base, limit) || lbatch_last(&b) - s->base != e.rel)
            return 0;
        from = e.pos;
        s->last_idx_pos = e.pos;
        s->next_offset = b.BaseOffset;
    }
    if (s->ntidx) {
        s->max_ts = s->tidx[s->ntidx - 1].ts;
        s->max_ts_off = s->base + s->tidx[s->ntidx - 1].rel;
    }
    int rc = seg_scan(s, from, fsize, false, interval, limit);
    if (rc <= 0)
        return rc;
    /* a time entry beyond the data means the files do not describe this log */
    if (s->ntidx && s->max_ts_off >= s->next_offset)
        return 0;
    return 1;
}

static int64_t seg_roll_base(const lseg_t *s)
{
    lbatch_t b;
    int64_t now = now_ms();
    if (s->size == 0)
        return -1;
    if (lseg_read_hdr(s, 0, &b) == 0 && b.MaxTimestamp >= 0 && b.MaxTimestamp <= now)
        return b.MaxTimestamp;
    return now;
}

int lseg_load(lseg_t *s, const char *dir, int64_t base, bool trust_index, int32_t interval, int64_t limit,
              bool *truncated)
{
    seg_init(s, dir, base);
    *truncated = false;
    int rc = seg_open_log(s, 0);
    struct stat st;
    if (rc == 0 && fstat(s->fd, &st) < 0)
        rc = -errno;
    if (rc < 0) {
        lseg_close(s);
        return rc;
    }
    int64_t fsize = st.st_size;
    rc = 0;
    if (trust_index) {
        rc = seg_load_trusted(s, fsize, interval, limit);
        if (rc == 0)
            wlog_warn("index files of %s are inconsistent with its log: rebuilding", s->path);
    }
    if (rc == 0)
        rc = seg_recover(s, fsize, true, interval, limit, truncated);
    if (rc < 0) {
        lseg_close(s);
        return rc;
    }
    s->roll_ms = seg_roll_base(s);
    return 0;
}

int lseg_append(lseg_t *s, const uint8_t *batch, size_t len, const lbatch_t *b, int32_t interval, int64_t now_ms)
{
    int64_t pos = s->size;
    int rc = lfile_pwrite_all(s->fd, batch, len, pos);
    if (rc < 0) {
        /* never leave a partial batch behind the valid chain */
        if (ftruncate(s->fd, pos) < 0)
            wlog_error("cannot cut partial write in %s.log: %s", s->path, strerror(errno));
        return rc;
    }
    if (s->roll_ms < 0)
        s->roll_ms = now_ms;
    s->dirty = true;
    seg_track(s, pos, b, interval);
    return 0;
}

int lseg_find(const lseg_t *s, int64_t offset, int64_t *pos, lbatch_t *b)
{
    size_t lo = 0, hi = s->nidx; /* first entry with base+rel > offset */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->base + s->idx[mid].rel <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    int64_t p = lo ? s->idx[lo - 1].pos : 0;
    while (p < s->size) {
        int rc = lseg_read_hdr(s, p, b);
        if (rc < 0)
            return rc;
        if (b->Length < LOG_BATCH_MIN_LEN)
            return -EIO; /* the chain was validated; this means the file changed under us */
        if (lbatch_last(b) >= offset)
            break;
        p += lbatch_size(b);
    }
    *pos = p < s->size ? p : s->size;
    return 0;
}

int lseg_truncate(lseg_t *s, int64_t pos, int32_t interval)
{
    if (pos >= s->size)
        return 0;
    if (ftruncate(s->fd, pos) < 0)
        return -errno;
    bool cut = false;
    int rc = seg_recover(s, pos, false, interval, INT64_MAX, &cut);
    if (s->size == 0)
        s->roll_ms = -1;
    s->dirty = true;
    return rc;
}

int lseg_flush(lseg_t *s, bool keep_index_open)
{
    int rc = 0;
    if (s->dirty) {
        if (s->fd >= 0 && fdatasync(s->fd) < 0)
            rc = -errno;
        if (s->idx_fd >= 0 && fsync(s->idx_fd) < 0)
            rc = -errno;
        if (s->tidx_fd >= 0 && fsync(s->tidx_fd) < 0)
            rc = -errno;
        if (rc == 0)
            s->dirty = false;
    }
    if (!keep_index_open && !s->dirty) {
        if (s->idx_fd >= 0)
            close(s->idx_fd);
        if (s->tidx_fd >= 0)
            close(s->tidx_fd);
        s->idx_fd = s->tidx_fd = -1;
    }
    return rc;
}

void lseg_close(lseg_t *s)
{
    if (s->fd >= 0)
        close(s->fd);
    if (s->idx_fd >= 0)
        close(s->idx_fd);
    if (s->tidx_fd >= 0)
        close(s->tidx_fd);
    s->fd = s->idx_fd = s->tidx_fd = -1;
    free(s->idx);
    free(s->tidx);
    free(s->path);
    s->idx = NULL;
    s->tidx = NULL;
    s->path = NULL;
}

void lseg_delete_files(lseg_t *s)
{
    static const char *const exts[] = {".log", ".index", ".timeindex"};
    char p[4096];
    for (size_t i = 0; s->path && i < ARRAY_LEN(exts); i++)
        if (unlink(seg_file(s, exts[i], p, sizeof(p))) < 0 && errno != ENOENT)
            wlog_warn("cannot delete %s: %s", p, strerror(errno));
    lseg_close(s);
}

#define VFAIL(...)                                                                                                  \
    do {                                                                                                            \
        snprintf(err, errlen, __VA_ARGS__);                                                                         \
        goto fail;                                                                                                  \
    } while (0)

/* The index files must hold exactly the in-memory entries. */
static int seg_validate_files(const lseg_t *s, char *err, size_t errlen)
{
    uint8_t *raw = NULL;
    size_t n;
    if (seg_read_file(s, ".index", 8, &raw, &n) < 0 || n != s->nidx)
        VFAIL("%s.index: file has %zu entries, memory %zu", s->path, n, s->nidx);
    for (size_t i = 0; i < n; i++)
        if (be32(raw + i * 8) != s->idx[i].rel || be32(raw + i * 8 + 4) != s->idx[i].pos)
            VFAIL("%s.index: entry %zu differs from memory", s->path, i);
    free(raw);
    raw = NULL;
    if (seg_read_file(s, ".timeindex", 12, &raw, &n) < 0 || n != s->ntidx)
        VFAIL("%s.timeindex: file has %zu entries, memory %zu", s->path, n, s->ntidx);
    for (size_t i = 0; i < n; i++)
        if (be64(raw + i * 12) != s->tidx[i].ts || be32(raw + i * 12 + 8) != s->tidx[i].rel)
            VFAIL("%s.timeindex: entry %zu differs from memory", s->path, i);
    free(raw);
    return 0;
fail:
    free(raw);
    return -1;
}

/* Check one time index entry against the batch chain being walked. */
static bool tidx_matches(const lseg_t *s, size_t ti, int64_t last, int64_t max_ts)
{
    return s->base + s->tidx[ti].rel == last && s->tidx[ti].ts <= max_ts;
}

int lseg_validate(const lseg_t *s, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(s->fd, &st) < 0 || st.st_size != s->size)
        VFAIL("%s.log: file size differs from segment size %" PRId64, s->path, s->size);
    int64_t pos = 0, next = s->base, max_ts = -1, max_ts_off = -1;
    size_t ii = 0, ti = 0;
    while (pos < s->size) {
        lbatch_t b;
        if (s->size - pos < LOG_BATCH_HDR || lseg_read_hdr(s, pos, &b) < 0)
            VFAIL("%s.log: short batch header at %" PRId64, s->path, pos);
        if (!seg_hdr_ok(s, &b, pos, s->size, next, INT64_MAX))
            VFAIL("%s.log: bad batch at %" PRId64 " (offset %" PRId64 ")", s->path, pos, b.BaseOffset);
        if (ii < s->nidx && s->idx[ii].pos < pos)
            VFAIL("%s.index: entry %zu is not at a batch start", s->path, ii);
        if (ii < s->nidx && s->idx[ii].pos == pos) {
            if (s->base + s->idx[ii].rel != lbatch_last(&b))
                VFAIL("%s.index: entry %zu offset mismatch", s->path, ii);
            ii++;
        }
        if (b.MaxTimestamp > max_ts) {
            max_ts = b.MaxTimestamp;
            max_ts_off = lbatch_last(&b);
        }
        while (ti < s->ntidx && s->base + s->tidx[ti].rel <= lbatch_last(&b)) {
            if (!tidx_matches(s, ti, max_ts_off, max_ts))
                VFAIL("%s.timeindex: entry %zu does not match the log", s->path, ti);
            ti++;
        }
        next = lbatch_last(&b) + 1;
        pos += lbatch_size(&b);
    }
    if (ii != s->nidx || ti != s->ntidx)
        VFAIL("%s: index entries beyond the end of the log", s->path);
    if (next != s->next_offset)
        VFAIL("%s: next offset %" PRId64 " but log ends at %" PRId64, s->path, s->next_offset, next);
    if (max_ts != s->max_ts || (max_ts >= 0 && max_ts_off != s->max_ts_off))
        VFAIL("%s: max timestamp %" PRId64 " but log has %" PRId64, s->path, s->max_ts, max_ts);
    return seg_validate_files(s, err, errlen);
fail:
    return -1;
}
