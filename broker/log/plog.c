/*
 * plog.c - one partition's log: an ordered array of segments, the last one
 * active, plus the log start offset, recovery point and leader epoch cache.
 *
 * Invariants: segments are sorted by base and do not overlap
 * (segs[i].next_offset <= segs[i+1].base); there is always at least one
 * segment; log start is in [segs[0].base, LEO]; only the active segment is
 * appended to; recovery point <= LEO.  A fetch range never spans segments.
 * Thread: the broker's network loop thread that owns the partition.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/log/log_int.h"
#include "common/proto.h"
#include "common/util.h"
#include "common/wire.h"
#include "common/wlog.h"

struct plog {
    char *dir; /* <log.dir>/<topic>-<partition> */
    char *topic;
    int32_t partition;
    plog_config_t cfg;
    lseg_t *segs;
    size_t nsegs, cap;
    int64_t log_start;
    int64_t recovery_point;
    bool dir_dirty; /* a segment file was created or deleted since the last flush */
    lepochs_t epochs;
};

void plog_config_defaults(plog_config_t *c)
{
    c->segment_bytes = 1073741824;
    c->segment_ms = 604800000;
    c->retention_ms = 604800000;
    c->retention_bytes = -1;
    c->index_interval_bytes = 4096;
    c->segment_index_bytes = 10485760;
}

static lseg_t *active(const plog_t *l) { return &l->segs[l->nsegs - 1]; }
int64_t plog_start_offset(const plog_t *l) { return l->log_start; }
int64_t plog_end_offset(const plog_t *l) { return active(l)->next_offset; }
const char *plog_topic(const plog_t *l) { return l->topic; }
int32_t plog_partition(const plog_t *l) { return l->partition; }
const char *plog_dir(const plog_t *l) { return l->dir; }
int64_t plog_recovery_point(const plog_t *l) { return l->recovery_point; }
void plog_set_config(plog_t *l, const plog_config_t *c) { l->cfg = *c; }

static int segs_push(plog_t *l, const lseg_t *s)
{
    if (l->nsegs == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 8;
        lseg_t *p = realloc(l->segs, nc * sizeof(*p));
        if (!p)
            return -ENOMEM;
        l->segs = p;
        l->cap = nc;
    }
    l->segs[l->nsegs++] = *s;
    return 0;
}

/* Delete segment i's files and drop it from the array. */
static void segs_remove(plog_t *l, size_t i)
{
    lseg_delete_files(&l->segs[i]);
    memmove(&l->segs[i], &l->segs[i + 1], (l->nsegs - i - 1) * sizeof(lseg_t));
    l->nsegs--;
    l->dir_dirty = true;
}

static int add_new_segment(plog_t *l, int64_t base)
{
    lseg_t s;
    int rc = lseg_create(&s, l->dir, base);
    if (rc < 0)
        return rc;
    if ((rc = segs_push(l, &s)) < 0) {
        lseg_delete_files(&s);
        return rc;
    }
    l->dir_dirty = true;
    return 0;
}

static plog_t *plog_alloc(const char *dir, const char *topic, int32_t partition, const plog_config_t *cfg)
{
    plog_t *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->dir = strdup(dir);
    l->topic = strdup(topic);
    l->partition = partition;
    l->cfg = *cfg;
    if (!l->dir || !l->topic) {
        plog_close(l);
        return NULL;
    }
    return l;
}

void plog_close(plog_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nsegs; i++)
        lseg_close(&l->segs[i]);
    free(l->segs);
    lepochs_free(&l->epochs);
    free(l->dir);
    free(l->topic);
    free(l);
}

void plog_seal(plog_t *l) { lseg_seal_time(active(l)); }

plog_t *plog_new_empty(const char *dir, const char *topic, int32_t partition, const plog_config_t *cfg, char *err,
                       size_t errlen)
{
    plog_t *l = plog_alloc(dir, topic, partition, cfg);
    int rc = l ? 0 : -ENOMEM;
    if (rc == 0 && mkdir(dir, 0755) < 0 && errno != EEXIST)
        rc = -errno;
    if (rc == 0)
        rc = add_new_segment(l, 0);
    if (rc == 0 && plog_flush(l) < 0)
        rc = -EIO;
    if (rc < 0) {
        snprintf(err, errlen, "cannot create log %s: %s", dir, strerror(-rc));
        plog_close(l);
        return NULL;
    }
    return l;
}

/* Index of the segment holding `offset`: the last with base <= offset (0 if none). */
static size_t seg_for(const plog_t *l, int64_t offset)
{
    size_t lo = 0, hi = l->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->segs[mid].base <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : 0;
}

static bool should_roll(const plog_t *l, const lbatch_t *b, size_t len, int64_t now)
{
    const lseg_t *s = active(l);
    if (s->size == 0)
        return false; /* an oversized first batch still goes in: the segment just ends up big */
    int64_t end = s->size + (int64_t)len;
    return end > l->cfg.segment_bytes || end > LOG_MAX_SEG_POS ||
           (l->cfg.segment_ms >= 0 && s->roll_ms >= 0 && now - s->roll_ms > l->cfg.segment_ms) ||
           lseg_index_full(s, l->cfg.segment_index_bytes) ||
           s->next_offset + b->LastOffsetDelta - s->base > INT32_MAX;
}

static int roll(plog_t *l)
{
    lseg_t *old = active(l);
    lseg_seal_time(old);
    wlog_debug("rolling %s-%d at offset %" PRId64, l->topic, l->partition, old->next_offset);
    return add_new_segment(l, old->next_offset);
}

int plog_append(plog_t *l, uint8_t *batch, size_t len, int32_t leader_epoch, int64_t now_ms, int64_t *base_offset)
{
    lbatch_t b;
    if (len < LOG_BATCH_HDR || len > LOG_MAX_SEG_POS)
        return -EINVAL;
    lbatch_parse(batch, &b);
    if (lbatch_size(&b) != (int64_t)len || b.LastOffsetDelta < 0 || b.Magic != 2)
        return -EINVAL;
    int rc;
    if (should_roll(l, &b, len, now_ms) && (rc = roll(l)) < 0)
        return rc;
    lseg_t *s = active(l);
    int64_t leo = s->next_offset;
    put_be64(batch, leo);
    put_be32(batch + 12, leader_epoch);
    b.BaseOffset = leo;
    if ((rc = lseg_append(s, batch, len, &b, l->cfg.index_interval_bytes, now_ms)) < 0)
        return rc;
    *base_offset = leo;
    return 0;
}

/* Jump with the index past batches that surely fit: the last entry whose
 * batch ends below max_offset and starts within the byte budget.  Entries
 * grow in both offset and position, so the test holds for a prefix. */
static int64_t index_skip(const lseg_t *s, int64_t pos, int64_t max_offset, int64_t budget_end)
{
    size_t lo = 0, hi = s->nidx;
    while (lo < hi) { /* first entry that fails */
        size_t mid = lo + (hi - lo) / 2;
        if (s->base + s->idx[mid].rel < max_offset && s->idx[mid].pos <= budget_end)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo && s->idx[lo - 1].pos > pos ? s->idx[lo - 1].pos : pos;
}

/* Extend a range that starts with the whole batch `first` at `pos`. */
static int range_end(const lseg_t *s, int64_t pos, const lbatch_t *first, int64_t max_offset, int64_t max_bytes,
                     int64_t *end)
{
    int64_t p = pos + lbatch_size(first);
    if (s->next_offset <= max_offset && s->size - pos <= max_bytes) {
        *end = s->size;
        return 0;
    }
    int64_t budget_end = max_bytes > s->size - pos ? s->size : pos + max_bytes;
    p = index_skip(s, p, max_offset, budget_end); /* batches before an entry that passes all fit */
    while (p < s->size) {
        lbatch_t b;
        int rc = lseg_read_hdr(s, p, &b);
        if (rc < 0)
            return rc;
        if (lbatch_last(&b) >= max_offset || p + lbatch_size(&b) - pos > max_bytes)
            break;
        p += lbatch_size(&b);
    }
    *end = p;
    return 0;
}

static int read_range(plog_t *l, int64_t offset, int64_t max_offset, int64_t max_bytes, plog_slice_t *out);

/* Fetch puts the result on the wire as an ErrorCode, so I/O errors become Kafka's. */
int plog_read(plog_t *l, int64_t offset, int64_t max_offset, int64_t max_bytes, plog_slice_t *out)
{
    int rc = read_range(l, offset, max_offset, max_bytes, out);
    if (rc < 0) {
        wlog_error("cannot read %s at offset %" PRId64 ": %s", l->dir, offset, strerror(-rc));
        *out = (plog_slice_t){-1, 0, 0, offset};
        return KERR_KAFKA_STORAGE_ERROR;
    }
    return rc;
}

static int read_range(plog_t *l, int64_t offset, int64_t max_offset, int64_t max_bytes, plog_slice_t *out)
{
    *out = (plog_slice_t){-1, 0, 0, offset};
    if (offset < l->log_start || offset > plog_end_offset(l))
        return KERR_OFFSET_OUT_OF_RANGE;
    if (offset >= max_offset || offset == plog_end_offset(l))
        return KERR_NONE;
    for (size_t i = seg_for(l, offset); i < l->nsegs; i++) {
        const lseg_t *s = &l->segs[i];
        int64_t pos, end;
        lbatch_t b;
        int rc = lseg_find(s, offset, &pos, &b);
        if (rc < 0)
            return rc;
        if (pos >= s->size)
            continue; /* offset in a gap after this segment's data */
        if (lbatch_last(&b) >= max_offset)
            return KERR_NONE;
        if ((rc = range_end(s, pos, &b, max_offset, max_bytes, &end)) < 0)
            return rc;
        *out = (plog_slice_t){s->fd, pos, end - pos, b.BaseOffset};
        return KERR_NONE;
    }
    return KERR_NONE;
}

int plog_read_copy(plog_t *l, int64_t offset, int64_t max_offset, int64_t max_bytes, uint8_t **buf, size_t *len)
{
    plog_slice_t sl;
    *buf = NULL;
    *len = 0;
    int rc = plog_read(l, offset, max_offset, max_bytes, &sl);
    if (rc != KERR_NONE || sl.len == 0)
        return rc;
    uint8_t *p = malloc((size_t)sl.len);
    if (!p)
        return KERR_UNKNOWN_SERVER_ERROR;
    if (lfile_pread_all(sl.fd, p, (size_t)sl.len, sl.pos) < 0) {
        free(p);
        return KERR_KAFKA_STORAGE_ERROR;
    }
    *buf = p;
    *len = (size_t)sl.len;
    return KERR_NONE;
}

/* Where to start looking for `ts` in segment s: past the last time entry
 * below ts, since every batch up to that entry's offset has a smaller MaxTimestamp. */
static int64_t time_scan_start(const lseg_t *s, int64_t ts)
{
    size_t lo = 0, hi = s->ntidx;
    while (lo < hi) { /* first entry with ts_e >= ts */
        size_t mid = lo + (hi - lo) / 2;
        if (s->tidx[mid].ts < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? s->base + s->tidx[lo - 1].rel + 1 : s->base;
}

int plog_find_time(plog_t *l, int64_t ts, int64_t *batch_base, int64_t *batch_max_ts)
{
    for (size_t i = seg_for(l, l->log_start); i < l->nsegs; i++) {
        const lseg_t *s = &l->segs[i];
        if (s->size == 0 || s->max_ts < ts)
            continue;
        int64_t from = time_scan_start(s, ts), pos;
        lbatch_t b;
        int rc = lseg_find(s, from > l->log_start ? from : l->log_start, &pos, &b);
        while (rc == 0 && pos < s->size) {
            if (b.MaxTimestamp >= ts) {
                *batch_base = b.BaseOffset;
                *batch_max_ts = b.MaxTimestamp;
                return 0;
            }
            pos += lbatch_size(&b);
            if (pos < s->size)
                rc = lseg_read_hdr(s, pos, &b);
        }
        if (rc < 0)
            return rc;
    }
    return 1;
}

static int epochs_changed(plog_t *l, int changed)
{
    if (changed <= 0)
        return changed;
    int rc = lepochs_write(&l->epochs, l->dir);
    if (rc < 0)
        wlog_error("cannot write leader-epoch-checkpoint of %s: %s", l->dir, strerror(-rc));
    return rc;
}

/* Empty the log and restart it at `offset` (truncation below the first segment). */
static int truncate_fully(plog_t *l, int64_t offset)
{
    while (l->nsegs > 0)
        segs_remove(l, l->nsegs - 1);
    int rc = add_new_segment(l, offset);
    if (rc < 0)
        return rc;
    l->log_start = offset;
    return 0;
}

int plog_restart_at(plog_t *l, int64_t offset)
{
    if (offset < 0)
        return -EINVAL;
    wlog_info("restarting %s-%d at offset %" PRId64 " (was %" PRId64 "..%" PRId64 ")", l->topic, l->partition, offset,
              l->log_start, plog_end_offset(l));
    int rc = truncate_fully(l, offset);
    if (l->recovery_point > offset || l->recovery_point < offset)
        l->recovery_point = offset;
    int erc = epochs_changed(l, lepochs_truncate_end(&l->epochs, offset));
    if (erc >= 0)
        erc = epochs_changed(l, lepochs_truncate_start(&l->epochs, offset));
    return rc < 0 ? rc : erc < 0 ? erc : 0;
}

int plog_truncate_to(plog_t *l, int64_t offset)
{
    if (offset < 0)
        return -EINVAL;
    if (offset >= plog_end_offset(l))
        return 0;
    int rc;
    wlog_info("truncating %s-%d to offset %" PRId64 " (LEO %" PRId64 ")", l->topic, l->partition, offset,
              plog_end_offset(l));
    if (l->segs[0].base > offset) {
        rc = truncate_fully(l, offset);
    } else {
        size_t i = seg_for(l, offset);
        while (l->nsegs > i + 1)
            segs_remove(l, l->nsegs - 1);
        int64_t pos;
        lbatch_t b;
        rc = lseg_find(active(l), offset, &pos, &b);
        if (rc == 0)
            rc = lseg_truncate(active(l), pos, l->cfg.index_interval_bytes);
    }
    int64_t leo = plog_end_offset(l);
    if (l->log_start > leo)
        l->log_start = leo;
    if (l->recovery_point > leo)
        l->recovery_point = leo;
    int erc = epochs_changed(l, lepochs_truncate_end(&l->epochs, leo));
    return rc < 0 ? rc : erc < 0 ? erc : 0;
}

/* Delete closed segments from the front while keep_going(segment) says so. */
static int delete_front(plog_t *l, bool (*pred)(const lseg_t *s, void *arg), void *arg)
{
    int n = 0;
    while (l->nsegs > 1 && pred(&l->segs[0], arg)) {
        wlog_info("deleting segment %s.log of %s-%d", l->segs[0].path, l->topic, l->partition);
        segs_remove(l, 0);
        n++;
    }
    if (n > 0 && l->log_start < l->segs[0].base) {
        l->log_start = l->segs[0].base;
    }
    if (n > 0)
        epochs_changed(l, lepochs_truncate_start(&l->epochs, l->log_start));
    return n;
}

/* The predicate sees segs[0]; the next segment's base is its upper bound. */
struct below_arg { const plog_t *l; int64_t offset; };
static bool pred_below(const lseg_t *s, void *arg)
{
    const struct below_arg *a = arg;
    return s + 1 < a->l->segs + a->l->nsegs && s[1].base <= a->offset;
}

int plog_advance_start(plog_t *l, int64_t offset)
{
    if (offset > plog_end_offset(l))
        return -EINVAL;
    if (offset <= l->log_start)
        return 0;
    l->log_start = offset;
    struct below_arg a = {l, offset};
    delete_front(l, pred_below, &a);
    epochs_changed(l, lepochs_truncate_start(&l->epochs, offset));
    return 0;
}

struct time_arg { int64_t now, retention_ms; };
static bool pred_time(const lseg_t *s, void *arg)
{
    const struct time_arg *a = arg;
    int64_t ts = s->max_ts;
    struct stat st;
    if (ts < 0)
        ts = fstat(s->fd, &st) == 0 ? (int64_t)st.st_mtime * 1000 : a->now;
    return a->now - ts > a->retention_ms;
}

static bool pred_bytes(const lseg_t *s, void *arg)
{
    int64_t *diff = arg;
    if (*diff - s->size < 0)
        return false;
    *diff -= s->size;
    return true;
}

int plog_retention(plog_t *l, int64_t now_ms)
{
    int n = 0;
    if (l->cfg.retention_ms >= 0) {
        struct time_arg a = {now_ms, l->cfg.retention_ms};
        n += delete_front(l, pred_time, &a);
    }
    if (l->cfg.retention_bytes >= 0) {
        int64_t total = 0;
        for (size_t i = 0; i < l->nsegs; i++)
            total += l->segs[i].size;
        int64_t diff = total - l->cfg.retention_bytes;
        n += delete_front(l, pred_bytes, &diff);
    }
    return n;
}

int64_t plog_flush(plog_t *l)
{
    int rc = 0;
    int64_t leo = plog_end_offset(l);
    for (size_t i = 0; i < l->nsegs; i++) {
        bool is_active = i + 1 == l->nsegs;
        lseg_t *s = &l->segs[i];
        if (s->dirty || (!is_active && (s->idx_fd >= 0 || s->tidx_fd >= 0))) {
            int r = lseg_flush(s, is_active);
            if (r < 0 && rc == 0)
                rc = r;
        }
    }
    if (rc == 0 && l->dir_dirty) {
        rc = lfile_fsync_dir(l->dir);
        if (rc == 0)
            l->dir_dirty = false;
    }
    if (rc < 0) {
        wlog_error("cannot flush %s: %s", l->dir, strerror(-rc));
        return rc;
    }
    l->recovery_point = leo;
    return leo;
}

int plog_epoch_assign(plog_t *l, int32_t epoch, int64_t start_offset)
{
    return epochs_changed(l, lepochs_assign(&l->epochs, epoch, start_offset));
}

int32_t plog_latest_epoch(const plog_t *l) { return l->epochs.n ? l->epochs.e[l->epochs.n - 1].epoch : -1; }

int64_t plog_epoch_end_offset(const plog_t *l, int32_t epoch, int32_t *found_epoch)
{
    int32_t dummy;
    return lepochs_end_offset(&l->epochs, epoch, plog_end_offset(l), found_epoch ? found_epoch : &dummy);
}

int plog_validate(plog_t *l, char *err, size_t errlen)
{
    if (l->nsegs == 0) {
        snprintf(err, errlen, "%s: no segments", l->dir);
        return -1;
    }
    for (size_t i = 0; i < l->nsegs; i++) {
        const lseg_t *s = &l->segs[i];
        if (i + 1 < l->nsegs && s->next_offset > s[1].base) {
            snprintf(err, errlen, "%s: segment %" PRId64 " ends at %" PRId64 " past the next base %" PRId64, l->dir,
                     s->base, s->next_offset, s[1].base);
            return -1;
        }
        if (lseg_validate(s, err, errlen) < 0)
            return -1;
    }
    int64_t leo = plog_end_offset(l);
    if (l->log_start < l->segs[0].base || l->log_start > leo || l->recovery_point > leo) {
        snprintf(err, errlen, "%s: log start %" PRId64 " / recovery point %" PRId64 " outside [%" PRId64 ", %" PRId64 "]",
                 l->dir, l->log_start, l->recovery_point, l->segs[0].base, leo);
        return -1;
    }
    for (size_t i = 0; i < l->epochs.n; i++) {
        const lepoch_t *e = &l->epochs.e[i];
        if ((i > 0 && (e->epoch <= e[-1].epoch || e->start < e[-1].start)) || e->start > leo) {
            snprintf(err, errlen, "%s: leader epoch cache out of order at entry %zu", l->dir, i);
            return -1;
        }
    }
    return 0;
}

/* Base offsets of the "<20 digits>.log" files in dir, sorted; stray files removed. */
static int list_segments(const char *dir, int64_t **bases, size_t *n);

/* Remove the files of a segment that was never loaded. */
static void unlink_segment(plog_t *l, int64_t base)
{
    static const char *const exts[] = {".log", ".index", ".timeindex"};
    char p[4096];
    for (size_t i = 0; i < ARRAY_LEN(exts); i++) {
        snprintf(p, sizeof(p), "%s/%020" PRId64 "%s", l->dir, base, exts[i]);
        if (unlink(p) == 0 && i == 0)
            wlog_warn("deleted segment %s after a truncation point", p);
    }
    l->dir_dirty = true;
}

static int load_segments(plog_t *l, const int64_t *bases, size_t n, bool clean)
{
    for (size_t i = 0; i < n; i++) {
        lseg_t s;
        bool truncated;
        /* a segment wholly below the recovery point was fsynced with its indexes */
        bool trust = clean || (i + 1 < n && bases[i + 1] <= l->recovery_point);
        int64_t limit = i + 1 < n ? bases[i + 1] : INT64_MAX;
        int rc = lseg_load(&s, l->dir, bases[i], trust, l->cfg.index_interval_bytes, limit, &truncated);
        if (rc == 0 && (rc = segs_push(l, &s)) < 0)
            lseg_close(&s);
        if (rc < 0)
            return rc;
        if (truncated && i + 1 < n) {
            /* nothing after a torn or corrupt batch can be trusted */
            for (size_t j = i + 1; j < n; j++)
                unlink_segment(l, bases[j]);
            break;
        }
    }
    return 0;
}

static int open_finish(plog_t *l)
{
    int rc = 0;
    if (l->nsegs == 0)
        rc = add_new_segment(l, l->log_start > 0 ? l->log_start : 0);
    if (rc == 0 && plog_end_offset(l) < l->log_start) {
        wlog_warn("%s: log end %" PRId64 " is below the log start %" PRId64 ": starting empty", l->dir,
                  plog_end_offset(l), l->log_start);
        rc = truncate_fully(l, l->log_start);
    }
    if (rc < 0)
        return rc;
    if (l->log_start < l->segs[0].base)
        l->log_start = l->segs[0].base;
    int lrc = lepochs_load(&l->epochs, l->dir);
    if (lrc < 0)
        wlog_warn("%s: ignoring unreadable leader-epoch-checkpoint: %s", l->dir, strerror(-lrc));
    int changed = lepochs_truncate_end(&l->epochs, plog_end_offset(l));
    changed |= lepochs_truncate_start(&l->epochs, l->log_start);
    if (lrc < 0 || changed)
        epochs_changed(l, 1);
    /* recovered bytes may exist only in the page cache: make them durable before trusting them */
    int64_t rp = plog_flush(l);
    return rp < 0 ? (int)rp : 0;
}

plog_t *plog_open(const char *dir, const char *topic, int32_t partition, const plog_config_t *cfg, bool clean,
                  int64_t recovery_point, int64_t log_start, char *err, size_t errlen)
{
    plog_t *l = plog_alloc(dir, topic, partition, cfg);
    if (!l) {
        snprintf(err, errlen, "out of memory opening %s", dir);
        return NULL;
    }
    l->recovery_point = recovery_point > 0 ? recovery_point : 0;
    l->log_start = log_start > 0 ? log_start : 0;
    int64_t *bases = NULL;
    size_t n = 0;
    int rc = list_segments(dir, &bases, &n);
    if (rc == 0)
        rc = load_segments(l, bases, n, clean);
    free(bases);
    if (rc == 0)
        rc = open_finish(l);
    if (rc < 0) {
        snprintf(err, errlen, "cannot load log %s: %s", dir, strerror(-rc));
        plog_close(l);
        return NULL;
    }
    if (!clean)
        wlog_info("recovered %s: log start %" PRId64 ", log end %" PRId64 ", %zu segments", dir, l->log_start,
                  plog_end_offset(l), l->nsegs);
    return l;
}

static bool is_segment_name(const char *name, const char *ext, int64_t *base)
{
    size_t n = strlen(name), el = strlen(ext);
    if (n != 20 + el || strcmp(name + 20, ext) != 0)
        return false;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (name[i] - '0');
    }
    *base = v;
    return true;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Leftovers of interrupted writes, and index files without a log. */
static bool is_stray(const char *dir, const char *name)
{
    int64_t b;
    char p[4096];
    struct stat st;
    if (has_suffix(name, ".tmp") || has_suffix(name, ".deleted") || has_suffix(name, ".swap") ||
        has_suffix(name, ".cleaned"))
        return true;
    if (is_segment_name(name, ".index", &b) || is_segment_name(name, ".timeindex", &b)) {
        snprintf(p, sizeof(p), "%s/%020" PRId64 ".log", dir, b);
        return stat(p, &st) < 0;
    }
    return false;
}

static int list_segments(const char *dir, int64_t **bases, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        int64_t b;
        char p[4096];
        if (is_stray(dir, de->d_name)) {
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            wlog_info("removing stray file %s", p);
            unlink(p);
            continue;
        }
        if (!is_segment_name(de->d_name, ".log", &b))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            int64_t *nb = realloc(*bases, cap * sizeof(int64_t));
            if (!nb) {
                rc = -ENOMEM;
                break;
            }
            *bases = nb;
        }
        (*bases)[(*n)++] = b;
    }
    closedir(d);
    if (rc == 0 && *n > 1)
        qsort(*bases, *n, sizeof(int64_t), cmp_i64);
    return rc;
}
