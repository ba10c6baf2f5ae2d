/*
 * produce.c - Produce v0-7.  Per partition: validate the single v2 batch
 * (header, CRC-32C, counts), check leadership and, for acks=-1, that the
 * committed ISR has min.insync.replicas members; append the producer's bytes
 * with offsets assigned in place.  acks=0 gets no response, acks=1 is
 * answered after the local append, acks=-1 once the high watermark has
 * passed every appended batch (NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR
 * has shrunk below min.insync.replicas by then, REQUEST_TIMED_OUT after the
 * request's TimeoutMs, NOT_LEADER_OR_FOLLOWER if leadership moved).
 * Versions 0-2 carry the legacy message format, which these clients never
 * send once they see v3+ advertised; such partitions get UNSUPPORTED_VERSION.
 * Thread: the network loop.
 */
#include <event2/event.h>
#include <stdlib.h>

#include "batch.h"
#include "broker.h"
#include "group/coord.h"
#include "proto.h"
#include "util.h"
#include "wlog.h"

typedef struct presult {
    kstr_t topic;
    int32_t partition;
    int16_t error;
    int64_t base_offset;
    int64_t log_start;
    int64_t required; /* acks=-1: HW that acknowledges it; -1 = settled */
} presult_t;

typedef struct delayed_produce {
    bk_t *b;
    kreq_t *req;
    presult_t *res;
    int32_t nres;
    struct event *timer;
    struct delayed_produce *prev, *next;
} delayed_produce_t;

static int16_t produce_one(bk_t *b, presult_t *r, kstr_t records, int16_t version, int16_t acks)
{
    bpart_t *p = bpart_get(b, (const char *)r->topic.ptr, (size_t)r->topic.len, r->partition);
    if (!p || !p->is_leader || !bk_lease_valid(b)) {
        mtopic_t *t = meta_topic(&b->meta, (const char *)r->topic.ptr, (size_t)r->topic.len);
        if (!t || r->partition < 0 || r->partition >= t->nparts)
            return KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return KERR_NOT_LEADER_OR_FOLLOWER;
    }
    r->log_start = plog_start_offset(p->log);
    if (version < 3)
        return KERR_UNSUPPORTED_VERSION;
    if (records.len < 0)
        return KERR_INVALID_RECORD;
    if (records.len > p->max_message_bytes)
        return KERR_MESSAGE_TOO_LARGE;
    kbatch_hdr_t h;
    int16_t err = (int16_t)kbatch_validate_produce(records.ptr, (size_t)records.len, version, &h);
    if (err)
        return err;
    if (acks == -1 && p->nisr < p->min_insync)
        return KERR_NOT_ENOUGH_REPLICAS;
    /* The frame is ours (heap copy made by the server): rewrite in place. */
    if (plog_append(p->log, (uint8_t *)records.ptr, (size_t)records.len, p->leader_epoch, now_ms(),
                    &r->base_offset) != 0) {
        wlog_error("append to %s-%d failed", p->topic, p->partition);
        return KERR_KAFKA_STORAGE_ERROR;
    }
    if (acks == -1)
        r->required = r->base_offset + h.LastOffsetDelta + 1;
    fetch_wakeup(b); /* followers waiting in a long poll */
    bpart_update_hw(b, p);
    return KERR_NONE;
}

static void encode_response(kwr_t *wr, int16_t v, const presult_t *res, int32_t n)
{
    /* Results are in request order; consecutive entries of one topic form one topic entry. */
    int32_t ntopics = 0;
    for (int32_t i = 0; i < n; i++)
        if (i == 0 || res[i].topic.ptr != res[i - 1].topic.ptr)
            ntopics++;
    kwr_array(wr, false, ntopics);
    for (int32_t i = 0; i < n;) {
        int32_t j = i;
        while (j < n && res[j].topic.ptr == res[i].topic.ptr)
            j++;
        kwr_kstr(wr, false, res[i].topic);
        kwr_array(wr, false, j - i);
        for (; i < j; i++) {
            kwr_i32(wr, res[i].partition);
            kwr_i16(wr, res[i].error);
            kwr_i64(wr, res[i].error ? -1 : res[i].base_offset);
            if (v >= 2)
                kwr_i64(wr, -1); /* LogAppendTimeMs: CreateTime topics */
            if (v >= 5)
                kwr_i64(wr, res[i].log_start);
        }
    }
    if (v >= 1)
        kwr_i32(wr, 0); /* ThrottleTimeMs */
}

static void respond(kreq_t *req, const presult_t *res, int32_t n)
{
    kwr_t wr;
    kwr_init(&wr, 128 + (size_t)n * 40);
    encode_response(&wr, req->api_version, res, n);
    kreq_respond(req, &wr);
    kwr_free(&wr);
}

/* Settle what the HW now covers; true when nothing is left waiting. */
static bool settle(bk_t *b, presult_t *res, int32_t n, bool timed_out)
{
    bool all = true;
    for (int32_t i = 0; i < n; i++) {
        presult_t *r = &res[i];
        if (r->error || r->required < 0)
            continue;
        bpart_t *p = bpart_get(b, (const char *)r->topic.ptr, (size_t)r->topic.len, r->partition);
        if (!p || !p->is_leader) {
            r->error = KERR_NOT_LEADER_OR_FOLLOWER;
        } else if (p->hw >= r->required) {
            if (repl_max_isr_size(p) < p->min_insync)
                r->error = KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
        } else if (timed_out) {
            r->error = KERR_REQUEST_TIMED_OUT;
        } else {
            all = false;
            continue;
        }
        r->required = -1;
    }
    return all;
}

static void dp_finish(delayed_produce_t *d)
{
    bk_t *b = d->b;
    if (d->prev)
        d->prev->next = d->next;
    else
        b->dprods = d->next;
    if (d->next)
        d->next->prev = d->prev;
    respond(d->req, d->res, d->nres);
    event_free(d->timer);
    free(d->res);
    free(d);
}

static void on_produce_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    delayed_produce_t *d = arg;
    settle(d->b, d->res, d->nres, true);
    dp_finish(d);
}

void produce_wakeup(bk_t *b)
{
    coord_hw_moved(b, NULL); /* group coordinator writes wait the same way */
    delayed_produce_t *d = b->dprods;
    while (d) {
        delayed_produce_t *n = d->next;
        if (settle(b, d->res, d->nres, false))
            dp_finish(d);
        d = n;
    }
}

void produce_free_waiters(bk_t *b)
{
    while (b->dprods) {
        settle(b, b->dprods->res, b->dprods->nres, true);
        dp_finish(b->dprods);
    }
}

void api_produce(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    krd_t *rd = &req->rd;
    int16_t v = req->api_version;
    if (v >= 3)
        (void)krd_str(rd, false, true); /* TransactionalId */
    int16_t acks = krd_i16(rd);
    int32_t timeout_ms = krd_i32(rd);
    int32_t ntopics = krd_array(rd, false, false, 6);
    /* Count partitions first so results need one allocation. */
    krd_t scan = *rd;
    int32_t total = 0;
    for (int32_t i = 0; i < ntopics && !scan.err; i++) {
        (void)krd_str(&scan, false, false);
        int32_t np = krd_array(&scan, false, false, 8);
        for (int32_t j = 0; j < np && !scan.err; j++) {
            (void)krd_i32(&scan);
            (void)krd_bytes(&scan, false, true);
            total++;
        }
    }
    if (rd->err || scan.err) {
        kreq_close(req, "malformed Produce request");
        return;
    }
    bool bad_acks = acks != -1 && acks != 0 && acks != 1;
    presult_t *res = calloc((size_t)total + 1, sizeof *res);
    int32_t n = 0;
    bool waiting = false;
    for (int32_t i = 0; i < ntopics; i++) {
        kstr_t topic = krd_str(rd, false, false);
        int32_t np = krd_array(rd, false, false, 8);
        for (int32_t j = 0; j < np; j++) {
            presult_t *r = &res[n++];
            r->topic = topic;
            r->partition = krd_i32(rd);
            kstr_t records = krd_bytes(rd, false, true);
            r->base_offset = r->log_start = r->required = -1;
            if (bad_acks)
                r->error = KERR_INVALID_REQUIRED_ACKS;
            else if (!bk_valid_topic(topic.ptr, (size_t)topic.len))
                r->error = KERR_INVALID_TOPIC_EXCEPTION;
            else
                r->error = produce_one(b, r, records, v, acks);
            waiting |= r->required >= 0;
        }
    }
    if (acks == 0) {
        kreq_respond_none(req);
        free(res);
        return;
    }
    if (!waiting || settle(b, res, n, false)) {
        respond(req, res, n);
        free(res);
        return;
    }
    delayed_produce_t *d = calloc(1, sizeof *d);
    d->b = b;
    d->req = req;
    d->res = res;
    d->nres = n;
    d->timer = evtimer_new(b->base, on_produce_timeout, d);
    if (timeout_ms < 0)
        timeout_ms = 0;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(d->timer, &tv);
    d->next = b->dprods;
    if (b->dprods)
        b->dprods->prev = d;
    b->dprods = d;
}
