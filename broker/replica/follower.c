/*
 * follower.c - the follower's side of replication.
 *
 * One fetcher per leader broker carries every partition this broker follows
 * from that leader over one connection.  Its thread does the network I/O
 * only (blocking kclient calls), so client traffic on the event loop cannot
 * stall a replica fetch; the loop builds each request from the partitions'
 * state and applies each response: batches are checked (length, magic,
 * CRC-32C), must continue the log exactly at its end, and are appended with
 * the leader's offsets and leader epochs.
 *
 * Before fetching, a partition whose log has leader epochs asks the leader
 * where its lineage diverges (OffsetForLeaderEpoch, KIP-101/KIP-279) and
 * truncates there; it never truncates to its own high watermark.
 * Thread: the loop, except fetcher_main (the fetcher's own thread).
 */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "batch.h"
#include "broker.h"
#include "kclient.h"
#include "proto.h"
#include "util.h"
#include "wlog.h"

#define FETCH_MAX_WAIT_MS 500
#define FETCH_MAX_BYTES (16 << 20)
/* After a failed request the fetcher waits RETRY_FIRST_MS, doubling up to
 * RETRY_BACKOFF_MS while failures go on.  The first failures after a
 * leadership change are mostly a race (this follower heard of the new
 * leader epoch before the leader did: UNKNOWN_LEADER_EPOCH or
 * NOT_LEADER_OR_FOLLOWER) that is over within milliseconds, and acks=all
 * writes to the new leader wait for this follower meanwhile. */
#define RETRY_FIRST_MS 5
#define RETRY_BACKOFF_MS 200

typedef struct fetcher {
    bk_t *b;
    int32_t leader_id;
    pthread_t thr;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* shared with the thread, under mu */
    bool stop;
    char host[256];
    int port;
    bool endpoint_changed;
    bool req_ready;
    int16_t req_api, req_version;
    kwr_t req;
    bool resp_ready;
    uint8_t *resp; /* NULL = the call failed */
    size_t resp_len;
    /* loop only */
    bool inflight;
    int16_t inflight_api;
    int backoff_ms; /* the last retry delay; 0 after a good response */
    int evfd;
    struct event *ev, *retry;
    struct fetcher *next;
} fetcher_t;

static void *fetcher_main(void *arg)
{
    fetcher_t *f = arg;
    kclient_t *conn = NULL;
    char client_id[64], err[256], host[256];
    snprintf(client_id, sizeof client_id, "weir-replica-%d", f->b->cfg.broker_id);
    kwr_t req;
    kwr_init(&req, 0);
    for (;;) {
        pthread_mutex_lock(&f->mu);
        while (!f->stop && !f->req_ready)
            pthread_cond_wait(&f->cv, &f->mu);
        if (f->stop) {
            pthread_mutex_unlock(&f->mu);
            break;
        }
        kwr_t t = req; /* take the request, give back the old buffer */
        req = f->req;
        f->req = t;
        kwr_reset(&f->req);
        f->req_ready = false;
        int16_t api = f->req_api, ver = f->req_version;
        int port = f->port;
        snprintf(host, sizeof host, "%s", f->host);
        if (f->endpoint_changed && conn) {
            kclient_close(conn);
            conn = NULL;
        }
        f->endpoint_changed = false;
        pthread_mutex_unlock(&f->mu);

        uint8_t *resp = NULL;
        size_t resp_len = 0;
        if (!conn)
            conn = kclient_connect(host, port, 3000, err, sizeof err);
        if (conn &&
            kclient_call(conn, api, ver, client_id, req.buf, req.len, FETCH_MAX_WAIT_MS + 5000, &resp, &resp_len) != 0) {
            kclient_close(conn);
            conn = NULL;
            resp = NULL;
        }
        pthread_mutex_lock(&f->mu);
        f->resp = resp;
        f->resp_len = resp_len;
        f->resp_ready = true;
        pthread_mutex_unlock(&f->mu);
        uint64_t one = 1;
        if (write(f->evfd, &one, sizeof one) < 0 && errno != EAGAIN)
            wlog_error("fetcher wake-up failed: %s", strerror(errno));
    }
    if (conn)
        kclient_close(conn);
    kwr_free(&req);
    return NULL;
}

/* ---- request building (loop) ---- */

typedef struct build {
    fetcher_t *f;
    kwr_t *wr;
    int32_t n;
    bool truncating;
} build_t;

static void count_parts(bpart_t *p, void *arg)
{
    build_t *bd = arg;
    if (p->fetcher != bd->f || p->is_leader)
        return;
    if (p->follow == FOLLOW_TRUNCATING && !bd->truncating) {
        bd->truncating = true;
        bd->n = 0;
    }
    if ((p->follow == FOLLOW_TRUNCATING) == bd->truncating && p->follow != FOLLOW_NONE)
        bd->n++;
}

static void write_part(bpart_t *p, void *arg)
{
    build_t *bd = arg;
    if (p->fetcher != bd->f || p->is_leader || p->follow == FOLLOW_NONE ||
        (p->follow == FOLLOW_TRUNCATING) != bd->truncating)
        return;
    kwr_t *wr = bd->wr;
    kwr_str(wr, false, p->topic);
    kwr_array(wr, false, 1);
    kwr_i32(wr, p->partition);
    kwr_i32(wr, p->leader_epoch); /* CurrentLeaderEpoch: fences a stale leader or follower */
    if (bd->truncating) {
        kwr_i32(wr, plog_latest_epoch(p->log)); /* LeaderEpoch */
    } else {
        kwr_i64(wr, plog_end_offset(p->log));   /* FetchOffset */
        kwr_i64(wr, plog_start_offset(p->log)); /* LogStartOffset */
        kwr_i32(wr, p->max_message_bytes > (1 << 20) ? p->max_message_bytes : (1 << 20));
    }
}

static void fetcher_kick(fetcher_t *f);

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fetcher_kick(arg);
}

static void retry_later(fetcher_t *f)
{
    f->backoff_ms = f->backoff_ms <= 0 ? RETRY_FIRST_MS : f->backoff_ms * 2;
    if (f->backoff_ms > RETRY_BACKOFF_MS)
        f->backoff_ms = RETRY_BACKOFF_MS;
    struct timeval tv = {0, f->backoff_ms * 1000};
    evtimer_add(f->retry, &tv);
}

/* Send the next request if none is in flight and something is followed. */
static void fetcher_kick(fetcher_t *f)
{
    bk_t *b = f->b;
    if (f->inflight || b->shutting_down)
        return;
    build_t bd = {f, NULL, 0, false};
    bpart_foreach(b, count_parts, &bd);
    if (bd.n == 0)
        return;
    pthread_mutex_lock(&f->mu);
    kwr_t *wr = &f->req;
    kwr_reset(wr);
    bd.wr = wr;
    kwr_i32(wr, b->cfg.broker_id); /* ReplicaId */
    if (bd.truncating) {
        f->req_api = KAPI_OFFSET_FOR_LEADER_EPOCH;
        f->req_version = 3;
    } else {
        f->req_api = KAPI_FETCH;
        f->req_version = 11;
        kwr_i32(wr, FETCH_MAX_WAIT_MS);
        kwr_i32(wr, 1);               /* MinBytes */
        kwr_i32(wr, FETCH_MAX_BYTES); /* MaxBytes */
        kwr_i8(wr, 0);                /* IsolationLevel */
        kwr_i32(wr, 0);               /* SessionId */
        kwr_i32(wr, -1);              /* SessionEpoch: no fetch session */
    }
    kwr_array(wr, false, bd.n);
    bpart_foreach(b, write_part, &bd);
    if (!bd.truncating) {
        kwr_array(wr, false, 0); /* ForgottenTopicsData */
        kwr_str(wr, false, b->cfg.broker_rack);
    }
    f->inflight_api = f->req_api;
    f->req_ready = true;
    f->inflight = true;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* ---- response handling (loop) ---- */

static bpart_t *followed(fetcher_t *f, kstr_t topic, int32_t partition, enum follow_state st)
{
    bpart_t *p = bpart_get(f->b, (const char *)topic.ptr, (size_t)topic.len, partition);
    return p && p->fetcher == f && !p->is_leader && p->follow == st ? p : NULL;
}

/* Append the leader's batches that continue our log exactly; false on a gap or bad data. */
static bool append_batches(bk_t *b, bpart_t *p, uint8_t *data, size_t len)
{
    size_t valid = kbatch_valid_prefix(data, len);
    /* A fetch may end in a partial batch (size limits); anything else that
     * fails validation is corrupt: keep what is good, back off, fetch again. */
    bool corrupt = false;
    if (valid < len && len - valid >= KBATCH_HDR_SIZE) {
        kbatch_hdr_t th;
        kbatch_parse_hdr(data + valid, len - valid, &th);
        corrupt = th.Length < 0 || (size_t)th.Length + 12 <= len - valid;
        if (corrupt)
            wlog_error("partition %s-%d: leader sent a corrupt batch at byte %zu of %zu", p->topic, p->partition,
                       valid, len);
    }
    size_t pos = 0;
    while (pos + KBATCH_HDR_SIZE <= valid) {
        kbatch_hdr_t h;
        kbatch_parse_hdr(data + pos, valid - pos, &h);
        size_t blen = (size_t)h.Length + 12;
        int64_t leo = plog_end_offset(p->log);
        int64_t last = h.BaseOffset + h.LastOffsetDelta;
        if (last < leo) { /* already have it */
            pos += blen;
            continue;
        }
        if (h.BaseOffset != leo) {
            wlog_error("partition %s-%d: leader sent batch at %lld but our log ends at %lld", p->topic, p->partition,
                       (long long)h.BaseOffset, (long long)leo);
            return false;
        }
        if (h.PartitionLeaderEpoch > plog_latest_epoch(p->log))
            plog_epoch_assign(p->log, h.PartitionLeaderEpoch, h.BaseOffset);
        int64_t base;
        if (plog_append(p->log, data + pos, blen, h.PartitionLeaderEpoch, now_ms(), &base) != 0) {
            wlog_error("partition %s-%d: follower append failed", p->topic, p->partition);
            return false;
        }
        pos += blen;
    }
    (void)b;
    return !corrupt;
}

static bool handle_fetch(fetcher_t *f, uint8_t *resp, size_t len)
{
    bk_t *b = f->b;
    krd_t rd;
    krd_init(&rd, resp, len);
    (void)krd_i32(&rd); /* ThrottleTimeMs */
    int16_t top = krd_i16(&rd);
    (void)krd_i32(&rd); /* SessionId */
    int32_t nt = krd_array(&rd, false, false, 6);
    bool progress = top == KERR_NONE;
    for (int32_t i = 0; i < nt && !rd.err; i++) {
        kstr_t topic = krd_str(&rd, false, false);
        int32_t np = krd_array(&rd, false, false, 40);
        for (int32_t j = 0; j < np && !rd.err; j++) {
            int32_t partition = krd_i32(&rd);
            int16_t err = krd_i16(&rd);
            int64_t hw = krd_i64(&rd);
            (void)krd_i64(&rd); /* LastStableOffset */
            int64_t leader_start = krd_i64(&rd);
            int32_t naborted = krd_array(&rd, false, true, 16);
            krd_skip(&rd, naborted > 0 ? (size_t)naborted * 16 : 0);
            (void)krd_i32(&rd); /* PreferredReadReplica */
            kstr_t records = krd_bytes(&rd, false, true);
            if (rd.err)
                break;
            bpart_t *p = followed(f, topic, partition, FOLLOW_FETCHING);
            if (!p)
                continue;
            if (err == KERR_OFFSET_OUT_OF_RANGE) {
                int64_t leo = plog_end_offset(p->log);
                progress = false;
                if (leader_start > leo) {
                    /* Retention moved the leader's log start past our end:
                     * what we lack is gone; start over at its log start. */
                    wlog_warn("partition %s-%d: log end %lld is below leader %d's log start %lld: restarting there",
                              p->topic, p->partition, (long long)leo, f->leader_id, (long long)leader_start);
                    plog_restart_at(p->log, leader_start);
                    p->hw = leader_start;
                } else {
                    wlog_warn("partition %s-%d: fetch offset %lld out of range at leader %d: checking lineage again",
                              p->topic, p->partition, (long long)leo, f->leader_id);
                    p->follow = FOLLOW_TRUNCATING;
                }
                continue;
            }
            if (err != KERR_NONE) {
                progress = false;
                continue;
            }
            if (records.len > 0 && !append_batches(b, p, (uint8_t *)records.ptr, (size_t)records.len))
                progress = false; /* what was good is kept; back off before fetching again */
            int64_t leo = plog_end_offset(p->log);
            int64_t nhw = hw < leo ? hw : leo;
            if (nhw > p->hw)
                p->hw = nhw;
        }
    }
    if (rd.err)
        wlog_error("malformed Fetch response from leader %d", f->leader_id);
    return progress && !rd.err;
}

static void truncate_to(bpart_t *p, int64_t offset, const char *why)
{
    int64_t leo = plog_end_offset(p->log);
    if (offset < leo) {
        wlog_info("partition %s-%d: truncating from %lld to %lld (%s)", p->topic, p->partition, (long long)leo,
                  (long long)offset, why);
        plog_truncate_to(p->log, offset);
        if (p->hw > plog_end_offset(p->log))
            p->hw = plog_end_offset(p->log);
    }
}

static bool handle_epochs(fetcher_t *f, uint8_t *resp, size_t len)
{
    krd_t rd;
    krd_init(&rd, resp, len);
    (void)krd_i32(&rd); /* ThrottleTimeMs */
    int32_t nt = krd_array(&rd, false, false, 6);
    bool progress = true;
    for (int32_t i = 0; i < nt && !rd.err; i++) {
        kstr_t topic = krd_str(&rd, false, false);
        int32_t np = krd_array(&rd, false, false, 18);
        for (int32_t j = 0; j < np && !rd.err; j++) {
            int16_t err = krd_i16(&rd);
            int32_t partition = krd_i32(&rd);
            int32_t leader_epoch = krd_i32(&rd);
            int64_t end = krd_i64(&rd);
            if (rd.err)
                break;
            bpart_t *p = followed(f, topic, partition, FOLLOW_TRUNCATING);
            if (!p)
                continue;
            if (err != KERR_NONE) {
                progress = false;
                continue;
            }
            int32_t asked = plog_latest_epoch(p->log);
            if (leader_epoch < 0 || end < 0) {
                /* The leader knows no epoch at or below ours: keep what the HW covers. */
                truncate_to(p, p->hw, "leader has no matching epoch");
                p->follow = FOLLOW_FETCHING;
            } else if (leader_epoch == asked) {
                int64_t leo = plog_end_offset(p->log);
                truncate_to(p, end < leo ? end : leo, "diverging leader epoch");
                p->follow = FOLLOW_FETCHING;
            } else {
                /* The leader lacks our epoch: cut to the end of our largest epoch
                 * at or below its answer, then ask again (KIP-279). */
                int32_t found;
                int64_t ours = plog_epoch_end_offset(p->log, leader_epoch, &found);
                if (ours < 0)
                    ours = 0;
                truncate_to(p, end < ours ? end : ours, "leader epoch lineage");
                if (plog_latest_epoch(p->log) < 0)
                    p->follow = FOLLOW_FETCHING;
            }
        }
    }
    if (rd.err)
        wlog_error("malformed OffsetForLeaderEpoch response from leader %d", f->leader_id);
    return progress && !rd.err;
}

static void on_response(evutil_socket_t fd, short what, void *arg)
{
    fetcher_t *f = arg;
    (void)what;
    uint64_t v;
    if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
        return;
    pthread_mutex_lock(&f->mu);
    bool ready = f->resp_ready;
    uint8_t *resp = f->resp;
    size_t len = f->resp_len;
    f->resp_ready = false;
    f->resp = NULL;
    pthread_mutex_unlock(&f->mu);
    if (!ready)
        return;
    f->inflight = false;
    bool ok = false;
    if (resp)
        ok = f->inflight_api == KAPI_FETCH ? handle_fetch(f, resp, len) : handle_epochs(f, resp, len);
    free(resp);
    if (f->b->shutting_down)
        return;
    if (ok) {
        f->backoff_ms = 0;
        fetcher_kick(f);
    } else {
        retry_later(f);
    }
}

static fetcher_t *fetcher_get(bk_t *b, int32_t leader_id, const char *host, int32_t port)
{
    fetcher_t *f;
    for (f = b->fetchers; f; f = f->next)
        if (f->leader_id == leader_id)
            break;
    if (!f) {
        f = calloc(1, sizeof *f);
        f->b = b;
        f->leader_id = leader_id;
        pthread_mutex_init(&f->mu, NULL);
        pthread_cond_init(&f->cv, NULL);
        kwr_init(&f->req, 1024);
        f->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        f->ev = event_new(b->base, f->evfd, EV_READ | EV_PERSIST, on_response, f);
        event_add(f->ev, NULL);
        f->retry = evtimer_new(b->base, on_retry, f);
        snprintf(f->host, sizeof f->host, "%s", host);
        f->port = port;
        if (pthread_create(&f->thr, NULL, fetcher_main, f) != 0) {
            wlog_error("cannot start the fetcher thread for leader %d", leader_id);
            event_free(f->ev);
            event_free(f->retry);
            close(f->evfd);
            kwr_free(&f->req);
            free(f);
            return NULL;
        }
        f->next = b->fetchers;
        b->fetchers = f;
        wlog_info("started replica fetcher for leader %d at %s:%d", leader_id, host, port);
        return f;
    }
    pthread_mutex_lock(&f->mu);
    if (port > 0 && (f->port != port || strcmp(f->host, host) != 0)) {
        snprintf(f->host, sizeof f->host, "%s", host);
        f->port = port;
        f->endpoint_changed = true;
    }
    pthread_mutex_unlock(&f->mu);
    return f;
}

void repl_become_follower(bk_t *b, bpart_t *p, const char *leader_host, int32_t leader_port)
{
    p->is_leader = false;
    free(p->fol);
    p->fol = NULL;
    p->nfol = 0;
    free(p->pending_isr);
    p->pending_isr = NULL;
    p->npending = 0;
    p->isr_inflight = false;
    if (p->hw > plog_end_offset(p->log))
        p->hw = plog_end_offset(p->log);
    if (p->leader < 0 || p->leader == b->cfg.broker_id || !leader_host) {
        p->fetcher = NULL;
        p->follow = FOLLOW_NONE;
        return;
    }
    p->fetcher = fetcher_get(b, p->leader, leader_host, leader_port);
    p->follow = plog_latest_epoch(p->log) >= 0 ? FOLLOW_TRUNCATING : FOLLOW_FETCHING;
    if (p->fetcher)
        fetcher_kick(p->fetcher);
}

void repl_stop(bk_t *b, bpart_t *p)
{
    (void)b;
    p->fetcher = NULL;
    p->follow = FOLLOW_NONE;
}

void repl_shutdown(bk_t *b)
{
    while (b->fetchers) {
        fetcher_t *f = b->fetchers;
        b->fetchers = f->next;
        pthread_mutex_lock(&f->mu);
        f->stop = true;
        pthread_cond_signal(&f->cv);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->thr, NULL);
        event_free(f->ev);
        event_free(f->retry);
        close(f->evfd);
        free(f->resp);
        kwr_free(&f->req);
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->cv);
        free(f);
    }
}
