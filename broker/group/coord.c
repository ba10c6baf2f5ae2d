/*
 * coord.c - the partition side of the group coordinator.
 *
 * The coordinator of group G is the leader of __consumer_offsets partition
 * offrec_partition_for(G).  When this broker becomes that leader the
 * partition is replayed from its log start into the group store, a chunk per
 * loop turn (COORDINATOR_LOAD_IN_PROGRESS meanwhile); when it stops leading
 * it, the store drops what the partition held.  Writes (commits, group
 * metadata, tombstones) are one uncompressed batch appended as leader and
 * acknowledged once the high watermark passes it, as acks=all produces are.
 *
 * The topic is created on first use (FindCoordinator or a group request)
 * by asking the controller, with offsets.topic.num.partitions and
 * offsets.topic.replication.factor; the controller lowers the replication
 * factor to the live broker count when fewer brokers exist.
 *
 * Thread: the network loop.
 */
#include "group/coord.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "broker.h"
#include "proto.h"
#include "util.h"
#include "wlog.h"

enum { LOAD_NONE, LOAD_RUNNING, LOAD_DONE };

#define LOAD_CHUNK_BYTES (1 << 20)
#define CREATE_RETRY_MS 1000

typedef struct cwait {
    struct coord *c;
    int32_t part, leader_epoch;
    int64_t required;   /* HW that acknowledges the batch */
    int16_t err;        /* preset: settled at once */
    bool settled;
    coord_done_fn cb;
    void *arg;
    struct event *timer;
    struct cwait *prev, *next;
} cwait_t;

typedef struct coord {
    bk_t *b;
    uint8_t *state;       /* per partition: LOAD_* */
    int64_t *next_offset; /* replay position while LOAD_RUNNING */
    int32_t nstate;
    struct event *load_ev;
    struct event *settle_ev;
    cwait_t *waits;
    int64_t create_asked_ms;
} coord_t;

static coord_t *coord_get(bk_t *b);

/* ---- ownership ---- */

int32_t coord_partition_for(bk_t *b, const char *group, size_t len)
{
    mtopic_t *t = meta_topic(&b->meta, COORD_TOPIC, strlen(COORD_TOPIC));
    int32_t n = t && t->nparts > 0 ? t->nparts : b->cfg.offsets_topic_num_partitions;
    return offrec_partition_for(group, len, n);
}

void coord_create_topic(bk_t *b)
{
    coord_t *c = b->coord;
    int64_t now = mono_ms();
    if (c && c->create_asked_ms && now - c->create_asked_ms < CREATE_RETRY_MS)
        return;
    if (c)
        c->create_asked_ms = now;
    static const char *const cfg[] = {"cleanup.policy", "compact", "segment.bytes", "104857600"};
    bk_create_topic(b, COORD_TOPIC, strlen(COORD_TOPIC), b->cfg.offsets_topic_num_partitions,
                    b->cfg.offsets_topic_replication_factor, cfg, 2);
}

static uint8_t load_state(coord_t *c, int32_t part)
{
    return part >= 0 && part < c->nstate ? c->state[part] : LOAD_NONE;
}

int16_t coord_check(bk_t *b, const char *group, size_t len)
{
    if (!b->coord)
        return KERR_NOT_COORDINATOR;
    if (!meta_topic(&b->meta, COORD_TOPIC, strlen(COORD_TOPIC))) {
        coord_create_topic(b);
        return KERR_COORDINATOR_NOT_AVAILABLE;
    }
    int32_t part = coord_partition_for(b, group, len);
    bpart_t *p = bpart_get(b, COORD_TOPIC, strlen(COORD_TOPIC), part);
    if (!p || !p->is_leader || !bk_lease_valid(b))
        return KERR_NOT_COORDINATOR;
    return load_state(b->coord, part) == LOAD_DONE ? KERR_NONE : KERR_COORDINATOR_LOAD_IN_PROGRESS;
}

bool coord_loading(bk_t *b)
{
    coord_t *c = b->coord;
    for (int32_t part = 0; c && part < c->nstate; part++)
        if (c->state[part] == LOAD_RUNNING)
            return true;
    return false;
}

int32_t coord_find(bk_t *b, const char *group, size_t len, int16_t *err)
{
    mtopic_t *t = meta_topic(&b->meta, COORD_TOPIC, strlen(COORD_TOPIC));
    if (!t) {
        coord_create_topic(b);
        *err = KERR_COORDINATOR_NOT_AVAILABLE;
        return -1;
    }
    int32_t part = coord_partition_for(b, group, len);
    int32_t leader = part < t->nparts ? t->parts[part].leader : -1;
    if (leader < 0 || !meta_broker(&b->meta, leader)) {
        *err = KERR_COORDINATOR_NOT_AVAILABLE;
        return -1;
    }
    *err = KERR_NONE;
    return leader;
}

/* ---- replay ---- */

void coord_start(bk_t *b) { (void)coord_get(b); }

static coord_t *coord_get(bk_t *b)
{
    if (!b->coord) {
        coord_t *c = calloc(1, sizeof *c);
        if (!c)
            abort();
        c->b = b;
        b->coord = c;
    }
    return b->coord;
}

static void ensure_slot(coord_t *c, int32_t part)
{
    if (part < c->nstate)
        return;
    int32_t n = part + 1;
    uint8_t *s = realloc(c->state, (size_t)n);
    int64_t *o = realloc(c->next_offset, sizeof(int64_t) * (size_t)n);
    if (!s || !o)
        abort();
    memset(s + c->nstate, LOAD_NONE, (size_t)(n - c->nstate));
    for (int32_t i = c->nstate; i < n; i++)
        o[i] = 0;
    c->state = s;
    c->next_offset = o;
    c->nstate = n;
}

typedef struct replay {
    coord_t *c;
    int32_t part;
} replay_t;

static int replay_record(const kbatch_hdr_t *h, const krecord_t *r, void *arg)
{
    (void)h;
    replay_t *rp = arg;
    gstore_t *s = rp->c->b->groups;
    char err[128];
    offrec_key_t k;
    if (r->Key.len < 0 || offrec_decode_key(r->Key.ptr, (size_t)r->Key.len, &k, err, sizeof err) != 0) {
        wlog_warn("%s-%d: skipping a record with an unreadable key (%s)", COORD_TOPIC, rp->part,
                  r->Key.len < 0 ? "null key" : err);
        return 0;
    }
    if (k.kind == OFFREC_OFFSET) {
        offrec_offset_t v;
        if (r->Value.len < 0) {
            gstore_load_offset(s, rp->part, &k, NULL);
        } else if (offrec_decode_offset(r->Value.ptr, (size_t)r->Value.len, &v, err, sizeof err) == 0) {
            gstore_load_offset(s, rp->part, &k, &v);
            offrec_offset_free(&v);
        } else {
            wlog_warn("%s-%d: skipping an unreadable offset of group %s (%s)", COORD_TOPIC, rp->part, k.group, err);
        }
    } else {
        offrec_group_t g;
        if (r->Value.len < 0) {
            gstore_load_group(s, rp->part, k.group, NULL);
        } else if (offrec_decode_group(r->Value.ptr, (size_t)r->Value.len, &g, err, sizeof err) == 0) {
            gstore_load_group(s, rp->part, k.group, &g);
            offrec_group_free(&g);
        } else {
            wlog_warn("%s-%d: skipping unreadable metadata of group %s (%s)", COORD_TOPIC, rp->part, k.group, err);
        }
    }
    offrec_key_free(&k);
    return 0;
}

/* Replay up to LOAD_CHUNK_BYTES of one partition; true when it is loaded. */
static bool replay_chunk(coord_t *c, bpart_t *p)
{
    int32_t part = p->partition;
    int64_t end = plog_end_offset(p->log);
    if (c->next_offset[part] < plog_start_offset(p->log))
        c->next_offset[part] = plog_start_offset(p->log);
    if (c->next_offset[part] >= end)
        return true;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = plog_read_copy(p->log, c->next_offset[part], end, LOAD_CHUNK_BYTES, &buf, &len);
    if (rc != KERR_NONE || len == 0) {
        wlog_error("%s-%d: reading offset %lld for the group load failed (%s)", COORD_TOPIC, part,
                   (long long)c->next_offset[part], kerr_name((int16_t)rc));
        free(buf);
        return false;
    }
    replay_t rp = {c, part};
    size_t pos = 0;
    while (len - pos >= KBATCH_HDR_SIZE) {
        kbatch_hdr_t h;
        kbatch_parse_hdr(buf + pos, len - pos, &h);
        size_t blen = (size_t)h.Length + KBATCH_LOG_OVERHEAD;
        if (h.Length < KBATCH_HDR_SIZE - KBATCH_LOG_OVERHEAD || blen > len - pos)
            break;
        if (!(h.Attributes & KBATCH_CONTROL) &&
            kbatch_foreach_record(buf + pos, blen, (size_t)p->max_message_bytes * 4 + (1u << 20), replay_record,
                                  &rp) < 0)
            wlog_warn("%s-%d: skipping an unreadable batch at offset %lld", COORD_TOPIC, part,
                      (long long)h.BaseOffset);
        c->next_offset[part] = h.BaseOffset + h.LastOffsetDelta + 1;
        pos += blen;
    }
    free(buf);
    return c->next_offset[part] >= end;
}

static void on_load(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    coord_t *c = arg;
    bool more = false;
    for (int32_t part = 0; part < c->nstate; part++) {
        if (c->state[part] != LOAD_RUNNING)
            continue;
        bpart_t *p = bpart_get(c->b, COORD_TOPIC, strlen(COORD_TOPIC), part);
        if (!p || !p->is_leader)
            continue; /* coord_lost_leadership resets it */
        if (replay_chunk(c, p)) {
            c->state[part] = LOAD_DONE;
            gstore_load_done(c->b->groups, part);
            wlog_info("%s-%d: groups and offsets loaded up to offset %lld", COORD_TOPIC, part,
                      (long long)c->next_offset[part]);
        } else {
            more = true;
        }
        break; /* one chunk per loop turn keeps other work flowing */
    }
    for (int32_t part = 0; part < c->nstate && !more; part++)
        more = c->state[part] == LOAD_RUNNING;
    if (more)
        event_active(c->load_ev, 0, 0);
}

void coord_became_leader(bk_t *b, bpart_t *p)
{
    if (strcmp(p->topic, COORD_TOPIC) != 0 || !b->groups)
        return;
    coord_t *c = coord_get(b);
    ensure_slot(c, p->partition);
    if (c->state[p->partition] != LOAD_NONE)
        return;
    if (!c->load_ev && !(c->load_ev = event_new(b->base, -1, 0, on_load, c)))
        abort();
    c->state[p->partition] = LOAD_RUNNING;
    c->next_offset[p->partition] = plog_start_offset(p->log);
    wlog_info("%s-%d: leader; loading its groups and offsets", COORD_TOPIC, p->partition);
    event_active(c->load_ev, 0, 0);
}

static void settle_all(coord_t *c);

void coord_lost_leadership(bk_t *b, bpart_t *p)
{
    if (strcmp(p->topic, COORD_TOPIC) != 0 || !b->coord)
        return;
    coord_t *c = b->coord;
    if (load_state(c, p->partition) == LOAD_NONE)
        return;
    c->state[p->partition] = LOAD_NONE;
    if (b->groups)
        gstore_unload(b->groups, p->partition);
    wlog_info("%s-%d: no longer leader; its groups are unloaded", COORD_TOPIC, p->partition);
    settle_all(c);
}

void coord_partition_changed(bk_t *b, bpart_t *p)
{
    if (p->is_leader)
        coord_became_leader(b, p);
    else
        coord_lost_leadership(b, p);
}

/* ---- writes ---- */

static void wait_unlink(coord_t *c, cwait_t *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        c->waits = w->next;
    if (w->next)
        w->next->prev = w->prev;
    if (w->timer)
        event_free(w->timer);
}

/* Decide a waiting append; false while it must keep waiting. */
static bool decide(coord_t *c, cwait_t *w, bool timed_out)
{
    if (w->settled)
        return true;
    bpart_t *p = bpart_get(c->b, COORD_TOPIC, strlen(COORD_TOPIC), w->part);
    if (!p || !p->is_leader || p->leader_epoch != w->leader_epoch || load_state(c, w->part) != LOAD_DONE)
        w->err = KERR_NOT_COORDINATOR;
    else if (p->hw >= w->required)
        w->err = repl_max_isr_size(p) < p->min_insync ? KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND : KERR_NONE;
    else if (timed_out)
        w->err = KERR_REQUEST_TIMED_OUT;
    else
        return false;
    w->settled = true;
    return true;
}

/* Answer every decided append.  Callbacks may append again, so the decided
 * ones leave the list before any callback runs. */
static void settle_all(coord_t *c)
{
    cwait_t *done = NULL;
    for (cwait_t *w = c->waits, *n; w; w = n) {
        n = w->next;
        if (!decide(c, w, false))
            continue;
        wait_unlink(c, w);
        w->next = done;
        done = w;
    }
    while (done) {
        cwait_t *w = done;
        done = w->next;
        w->cb(w->arg, w->err);
        free(w);
    }
}

static void on_settle(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    settle_all(arg);
}

static void on_wait_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cwait_t *w = arg;
    coord_t *c = w->c;
    decide(c, w, true);
    settle_all(c);
}

void coord_hw_moved(bk_t *b, bpart_t *p)
{
    (void)p;
    if (b->coord && b->coord->waits && b->coord->settle_ev)
        event_active(b->coord->settle_ev, 0, 0);
}

static int16_t append_batch(bk_t *b, bpart_t *p, const coord_rec_t *recs, int n, int64_t *next)
{
    krecord_in_t *in = calloc((size_t)n, sizeof *in);
    if (!in)
        abort();
    int64_t ts = now_ms();
    for (int i = 0; i < n; i++) {
        in[i].key = recs[i].key;
        in[i].key_len = recs[i].key_len;
        in[i].value = recs[i].value;
        in[i].value_len = recs[i].value_len;
        in[i].timestamp = ts;
    }
    kwr_t wr;
    kwr_init(&wr, 256);
    int rc = kbatch_build(&wr, 0, in, n);
    free(in);
    int16_t err = KERR_NONE;
    int64_t base = -1;
    if (rc != 0)
        err = KERR_UNKNOWN_SERVER_ERROR;
    else if (wr.len > (size_t)p->max_message_bytes)
        err = KERR_MESSAGE_TOO_LARGE;
    else if (p->nisr < p->min_insync)
        err = KERR_NOT_ENOUGH_REPLICAS;
    else if (plog_append(p->log, wr.buf, wr.len, p->leader_epoch, ts, &base) != 0)
        err = KERR_KAFKA_STORAGE_ERROR;
    kwr_free(&wr);
    if (err == KERR_NONE) {
        *next = base + n;
        fetch_wakeup(b);
        bpart_update_hw(b, p);
    }
    return err;
}

void coord_append(bk_t *b, const char *group, const coord_rec_t *recs, int n, coord_done_fn cb, void *arg)
{
    coord_t *c = coord_get(b);
    if (!c->settle_ev && !(c->settle_ev = event_new(b->base, -1, 0, on_settle, c)))
        abort();
    cwait_t *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->c = c;
    w->cb = cb;
    w->arg = arg;
    w->part = coord_partition_for(b, group, strlen(group));
    bpart_t *p = bpart_get(b, COORD_TOPIC, strlen(COORD_TOPIC), w->part);
    if (n <= 0) {
        w->err = KERR_NONE;
        w->settled = true;
    } else if (!p || !p->is_leader || !bk_lease_valid(b) || load_state(c, w->part) != LOAD_DONE) {
        w->err = KERR_NOT_COORDINATOR;
        w->settled = true;
    } else {
        w->leader_epoch = p->leader_epoch;
        w->err = append_batch(b, p, recs, n, &w->required);
        w->settled = w->err != KERR_NONE;
        if (!w->settled) {
            int ms = b->cfg.offsets_commit_timeout_ms;
            struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
            if (!(w->timer = evtimer_new(b->base, on_wait_timeout, w)))
                abort();
            evtimer_add(w->timer, &tv);
        }
    }
    w->next = c->waits;
    if (c->waits)
        c->waits->prev = w;
    c->waits = w;
    event_active(c->settle_ev, 0, 0);
}

void coord_shutdown(bk_t *b)
{
    coord_t *c = b->coord;
    if (!c)
        return;
    for (cwait_t *w = c->waits; w; w = w->next)
        if (!w->settled) {
            w->err = KERR_NOT_COORDINATOR;
            w->settled = true;
        }
    settle_all(c);
    if (c->load_ev)
        event_free(c->load_ev);
    if (c->settle_ev)
        event_free(c->settle_ev);
    free(c->state);
    free(c->next_offset);
    free(c);
    b->coord = NULL;
}
