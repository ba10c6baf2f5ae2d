/*
 * fetch.c - Fetch v4-11 with long polls and zero-copy reads.
 *
 * A fetch reads whole stored batches, starting with the one holding the fetch
 * offset and never past the high watermark; the bytes go from the segment
 * file to the socket as libevent file segments (sendfile), never through a
 * user-space copy.  If fewer than MinBytes are available and MaxWaitMs > 0,
 * the request waits: appends wake every waiter (fetch_wakeup), each re-checks
 * its partitions and answers once MinBytes are there or its timer fires.
 * A follower's fetch built before it learnt that this broker leads one more
 * of its partitions cannot name that partition, so it is answered at once
 * (fetch_leader_changed) or soon (FETCH_CATCHUP_WAIT_MS) instead of after
 * its full wait: the next fetch names the partition, and acks=all writes to
 * a new leader are not held for a follower's long poll.
 * Versions 0-3 use the legacy message format, which the log does not store;
 * their partitions get UNSUPPORTED_VERSION.
 * Thread: the network loop.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "proto.h"
#include "util.h"
#include "wlog.h"

/* A follower fetch that leaves out a partition this broker began to lead
 * less than FETCH_CATCHUP_WINDOW_MS ago, and that the follower replicates,
 * waits at most FETCH_CATCHUP_WAIT_MS. */
#define FETCH_CATCHUP_WAIT_MS 10
#define FETCH_CATCHUP_WINDOW_MS 2000

typedef struct fpart {
    int32_t partition;
    int32_t current_leader_epoch; /* -1 = not checked */
    int64_t offset;
    int32_t max_bytes;
} fpart_t;

typedef struct ftopic {
    kstr_t name;
    fpart_t *parts;
    int32_t nparts;
} ftopic_t;

typedef struct fetch_waiter {
    bk_t *b;
    kreq_t *req;
    int32_t replica_id, max_wait, min_bytes, max_bytes;
    int8_t isolation;
    ftopic_t *topics;
    int32_t ntopics;
    struct event *timer;
    bool cut; /* answer at the next wakeup, whatever is available */
    struct fetch_waiter *prev, *next;
} fetch_waiter_t;

typedef struct pread_res {
    int16_t error;
    int64_t hw, log_start;
    plog_slice_t slice;
} pread_res_t;

static void fw_free(fetch_waiter_t *w)
{
    for (int32_t i = 0; i < w->ntopics; i++)
        free(w->topics[i].parts);
    free(w->topics);
    if (w->timer)
        event_free(w->timer);
    free(w);
}

static void read_part(bk_t *b, const fetch_waiter_t *w, kstr_t topic, const fpart_t *fp, int64_t budget,
                      pread_res_t *r)
{
    memset(r, 0, sizeof *r);
    r->hw = r->log_start = -1;
    r->slice.len = 0;
    bpart_t *p = bpart_get(b, (const char *)topic.ptr, (size_t)topic.len, fp->partition);
    if (!p || !p->is_leader || !bk_lease_valid(b)) {
        mtopic_t *t = meta_topic(&b->meta, (const char *)topic.ptr, (size_t)topic.len);
        r->error = (!t || fp->partition < 0 || fp->partition >= t->nparts) ? KERR_UNKNOWN_TOPIC_OR_PARTITION
                                                                             : KERR_NOT_LEADER_OR_FOLLOWER;
        return;
    }
    r->hw = p->hw;
    r->log_start = plog_start_offset(p->log);
    if (fp->current_leader_epoch >= 0 && fp->current_leader_epoch != p->leader_epoch) {
        r->error = fp->current_leader_epoch < p->leader_epoch ? KERR_FENCED_LEADER_EPOCH : KERR_UNKNOWN_LEADER_EPOCH;
        return;
    }
    if (w->req->api_version < 4) {
        r->error = KERR_UNSUPPORTED_VERSION;
        return;
    }
    int64_t max = fp->max_bytes < budget ? fp->max_bytes : budget;
    if (max < 1)
        max = 1; /* the first batch is always sent whole (KIP-74) */
    /* Up to the log end only for a real replica; anyone else reads committed data. */
    bool replica = false;
    for (int32_t i = 0; i < p->nreplicas && w->replica_id >= 0; i++)
        replica |= p->replicas[i] == w->replica_id && w->replica_id != w->b->cfg.broker_id;
    int64_t limit = replica ? plog_end_offset(p->log) : p->hw;
    r->error = (int16_t)plog_read(p->log, fp->offset, limit, max, &r->slice);
    if (r->error)
        r->slice.len = 0;
}

/* Bytes a fetch would return now; sets *has_error if any partition errs. */
static int64_t fetch_available(fetch_waiter_t *w, bool *has_error)
{
    int64_t total = 0;
    *has_error = false;
    for (int32_t i = 0; i < w->ntopics; i++) {
        for (int32_t j = 0; j < w->topics[i].nparts; j++) {
            pread_res_t r;
            read_part(w->b, w, w->topics[i].name, &w->topics[i].parts[j], INT32_MAX, &r);
            if (r.error)
                *has_error = true;
            total += r.slice.len;
        }
    }
    return total;
}

static void add_slice(struct evbuffer *out, const plog_slice_t *s)
{
    int fd = dup(s->fd);
    if (fd < 0)
        return;
    struct evbuffer_file_segment *seg = evbuffer_file_segment_new(fd, s->pos, s->len, EVBUF_FS_CLOSE_ON_FREE);
    if (!seg) {
        close(fd);
        return;
    }
    evbuffer_add_file_segment(out, seg, 0, s->len);
    evbuffer_file_segment_free(seg);
}

static void fetch_respond(fetch_waiter_t *w)
{
    kreq_t *req = w->req;
    int16_t v = req->api_version;
    struct evbuffer *out = evbuffer_new();
    kwr_t wr;
    kwr_init(&wr, 512);
    if (v >= 1)
        kwr_i32(&wr, 0); /* ThrottleTimeMs */
    if (v >= 7) {
        kwr_i16(&wr, KERR_NONE);
        kwr_i32(&wr, 0); /* SessionId: no fetch sessions */
    }
    kwr_array(&wr, false, w->ntopics);
    int64_t total = 0;
    for (int32_t i = 0; i < w->ntopics; i++) {
        ftopic_t *t = &w->topics[i];
        kwr_kstr(&wr, false, t->name);
        kwr_array(&wr, false, t->nparts);
        for (int32_t j = 0; j < t->nparts; j++) {
            pread_res_t r;
            int64_t budget = total == 0 ? w->max_bytes : w->max_bytes - total;
            read_part(w->b, w, t->name, &t->parts[j], budget, &r);
            if (total > 0 && budget <= 0)
                r.slice.len = 0;
            kwr_i32(&wr, t->parts[j].partition);
            kwr_i16(&wr, r.error);
            kwr_i64(&wr, r.hw);
            if (v >= 4)
                kwr_i64(&wr, r.hw); /* LastStableOffset: no transactions */
            if (v >= 5)
                kwr_i64(&wr, r.log_start);
            if (v >= 4)
                kwr_i32(&wr, w->isolation ? 0 : -1); /* AbortedTransactions */
            if (v >= 11)
                kwr_i32(&wr, -1); /* PreferredReadReplica */
            kwr_i32(&wr, (int32_t)r.slice.len);
            if (r.slice.len > 0) {
                evbuffer_add(out, wr.buf, wr.len);
                kwr_reset(&wr);
                add_slice(out, &r.slice);
                total += r.slice.len;
            }
        }
    }
    evbuffer_add(out, wr.buf, wr.len);
    kwr_free(&wr);
    kreq_respond_evb(req, out);
    evbuffer_free(out);
}

static void fw_unlink(bk_t *b, fetch_waiter_t *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else if (b->waiters == w)
        b->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
}

static void fw_finish(fetch_waiter_t *w)
{
    fw_unlink(w->b, w);
    fetch_respond(w);
    fw_free(w);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fw_finish(arg);
}

static void on_wakeup(evutil_socket_t fd, short what, void *arg)
{
    bk_t *b = arg;
    (void)fd;
    (void)what;
    fetch_waiter_t *w = b->waiters;
    while (w) {
        fetch_waiter_t *n = w->next;
        bool err;
        if (w->cut || kreq_conn_closed(w->req) || fetch_available(w, &err) >= w->min_bytes || err)
            fw_finish(w);
        w = n;
    }
}

void fetch_wakeup(bk_t *b)
{
    if (!b->waiters)
        return;
    if (!b->fetch_ev)
        b->fetch_ev = event_new(b->base, -1, 0, on_wakeup, b);
    event_active(b->fetch_ev, 0, 0);
}

static bool replicates(const bpart_t *p, int32_t id)
{
    for (int32_t i = 0; i < p->nreplicas; i++)
        if (p->replicas[i] == id)
            return true;
    return false;
}

void fetch_leader_changed(bk_t *b, const bpart_t *p)
{
    bool any = false;
    for (fetch_waiter_t *w = b->waiters; w; w = w->next)
        if (w->replica_id >= 0 && w->replica_id != b->cfg.broker_id && replicates(p, w->replica_id)) {
            w->cut = true;
            any = true;
        }
    if (any)
        fetch_wakeup(b);
}

typedef struct recent_led {
    int32_t replica;
    int64_t since_ms, n;
} recent_led_t;

static void count_recent_led(bpart_t *p, void *arg)
{
    recent_led_t *c = arg;
    if (p->is_leader && p->led_since_ms >= c->since_ms && replicates(p, c->replica))
        c->n++;
}

/* Does this follower fetch leave out a partition led here since recently
 * that the follower replicates? */
static bool omits_recent_leadership(bk_t *b, const fetch_waiter_t *w)
{
    recent_led_t c = {w->replica_id, mono_ms() - FETCH_CATCHUP_WINDOW_MS, 0};
    if (b->became_leader_ms < c.since_ms || b->became_leader_ms == 0)
        return false; /* no leadership begun lately: nothing to look for */
    bpart_foreach(b, count_recent_led, &c);
    int64_t named = 0;
    for (int32_t i = 0; i < w->ntopics && named < c.n; i++) {
        const ftopic_t *t = &w->topics[i];
        for (int32_t j = 0; j < t->nparts; j++) {
            const bpart_t *p = bpart_get(b, (const char *)t->name.ptr, (size_t)t->name.len, t->parts[j].partition);
            if (p && p->is_leader && p->led_since_ms >= c.since_ms && replicates(p, w->replica_id))
                named++;
        }
    }
    return named < c.n;
}

void fetch_free_waiters(bk_t *b)
{
    while (b->waiters)
        fw_finish(b->waiters);
    if (b->fetch_ev)
        event_free(b->fetch_ev);
    b->fetch_ev = NULL;
}

static bool parse_fetch(kreq_t *req, fetch_waiter_t *w)
{
    krd_t *rd = &req->rd;
    int16_t v = req->api_version;
    w->replica_id = krd_i32(rd);
    w->max_wait = krd_i32(rd);
    w->min_bytes = krd_i32(rd);
    w->max_bytes = v >= 3 ? krd_i32(rd) : INT32_MAX;
    w->isolation = v >= 4 ? krd_i8(rd) : 0;
    if (v >= 7) {
        (void)krd_i32(rd); /* SessionId */
        (void)krd_i32(rd); /* SessionEpoch */
    }
    w->ntopics = krd_array(rd, false, false, 6);
    if (rd->err)
        return false;
    w->topics = calloc((size_t)w->ntopics + 1, sizeof *w->topics);
    for (int32_t i = 0; i < w->ntopics && !rd->err; i++) {
        ftopic_t *t = &w->topics[i];
        t->name = krd_str(rd, false, false);
        int32_t n = krd_array(rd, false, false, 16);
        if (rd->err)
            return false;
        t->parts = calloc((size_t)n + 1, sizeof *t->parts);
        t->nparts = n;
        for (int32_t j = 0; j < n && !rd->err; j++) {
            fpart_t *fp = &t->parts[j];
            fp->partition = krd_i32(rd);
            fp->current_leader_epoch = v >= 9 ? krd_i32(rd) : -1;
            fp->offset = krd_i64(rd);
            if (v >= 5)
                (void)krd_i64(rd); /* LogStartOffset (followers) */
            fp->max_bytes = krd_i32(rd);
        }
    }
    if (v >= 7) {
        int32_t nf = krd_array(rd, false, false, 6);
        for (int32_t i = 0; i < nf && !rd->err; i++) {
            (void)krd_str(rd, false, false);
            int32_t np = krd_array(rd, false, false, 4);
            krd_skip(rd, (size_t)np * 4);
        }
    }
    if (v >= 11)
        (void)krd_str(rd, false, false); /* RackId */
    return !rd->err;
}

/* A follower's fetch offset is its log end offset: the leader's view of it. */
static void note_follower_positions(bk_t *b, const fetch_waiter_t *w)
{
    for (int32_t i = 0; i < w->ntopics; i++) {
        const ftopic_t *t = &w->topics[i];
        for (int32_t j = 0; j < t->nparts; j++) {
            const fpart_t *fp = &t->parts[j];
            bpart_t *p = bpart_get(b, (const char *)t->name.ptr, (size_t)t->name.len, fp->partition);
            /* Only a position the leader can serve counts (Kafka records it after a successful read). */
            if (p && p->is_leader && (fp->current_leader_epoch < 0 || fp->current_leader_epoch == p->leader_epoch) &&
                fp->offset >= plog_start_offset(p->log) && fp->offset <= plog_end_offset(p->log))
                repl_follower_fetched(b, p, w->replica_id, fp->offset);
        }
    }
}

void api_fetch(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    fetch_waiter_t *w = calloc(1, sizeof *w);
    w->b = b;
    w->req = req;
    if (!parse_fetch(req, w)) {
        fw_free(w);
        kreq_close(req, "malformed Fetch request");
        return;
    }
    if (w->max_bytes <= 0)
        w->max_bytes = 1;
    if (w->replica_id >= 0)
        note_follower_positions(b, w);
    bool err;
    if (w->max_wait <= 0 || fetch_available(w, &err) >= w->min_bytes || err) {
        fetch_respond(w);
        fw_free(w);
        return;
    }
    if (w->replica_id >= 0 && w->max_wait > FETCH_CATCHUP_WAIT_MS && omits_recent_leadership(b, w))
        w->max_wait = FETCH_CATCHUP_WAIT_MS;
    w->timer = evtimer_new(b->base, on_timeout, w);
    struct timeval tv = {w->max_wait / 1000, (w->max_wait % 1000) * 1000};
    evtimer_add(w->timer, &tv);
    w->next = b->waiters;
    if (b->waiters)
        b->waiters->prev = w;
    b->waiters = w;
}
