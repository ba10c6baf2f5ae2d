/*
 * test_repl.c - replication on one in-process broker (api_harness.h):
 * the leader side (acks=all waiting for the high watermark, the HW rule,
 * consumer vs replica fetch limits, CurrentLeaderEpoch fencing,
 * OffsetForLeaderEpoch, ISR shrink/expand through AlterPartition to a stub
 * controller), the follower side (a fake leader played by a thread of this
 * test on a loopback socket: fetch from zero, epoch-based truncation,
 * gaps and corrupt batches refused) and the leader lease without ZooKeeper.
 *
 * Each test gets a fresh broker 1.  Leader tests install "t"-0 with replicas
 * {1,2,3} through a LeaderAndIsr v3 request so repl_become_leader runs;
 * followers 2 and 3 are played by Fetch requests with ReplicaId 2/3.  The
 * broker's loop only runs while the test pumps it (hs_pump/hc_recv), so
 * broker state is read between requests without locks; the fake leader's
 * shared state is under its mutex.
 * Thread: cmocka's main thread, plus the fake leader's thread (fl_main).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api_harness.h"
#include "batch.h"
#include "proto.h"
#include "wlog.h"

#define TMO 5000 /* ms to wait for anything that must happen */

static hs_t H;
static int32_t g_corr = 100;
static int32_t k_123[] = {1, 2, 3}, k_12[] = {1, 2}, k_1[] = {1};

/* ------------------------------------------------------------------ */
/* requests and responses (shapes as in test_api.c)                     */

typedef struct resp {
    uint8_t *buf;
    size_t len;
    krd_t rd; /* positioned after the response header */
} resp_t;

static void send_req(hc_t *c, const kwr_t *req) { assert_int_equal(hc_send(&H, c, req->buf, req->len), 0); }

/* Wait for the response to req (header v0) already sent on c. */
static void recv_resp(hc_t *c, const kwr_t *req, int timeout_ms, resp_t *r)
{
    int rc = hc_recv(&H, c, timeout_ms, &r->buf, &r->len);
    assert_int_equal(rc, 1);
    assert_true(r->len >= 4);
    assert_int_equal(be32(r->buf), be32(req->buf + 4)); /* CorrelationId */
    krd_init(&r->rd, r->buf, r->len);
    r->rd.pos = 4;
}

static void roundtrip(hc_t *c, const kwr_t *req, resp_t *r)
{
    send_req(c, req);
    recv_resp(c, req, TMO, r);
}

static void resp_done(resp_t *r)
{
    assert_false(r->rd.err);
    assert_int_equal(krd_remain(&r->rd), 0);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

/* Nothing arrives on c for ms milliseconds (the broker is pumped meanwhile). */
static void expect_silence(hc_t *c, int ms)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = hc_recv(&H, c, ms, &buf, &len);
    free(buf);
    assert_int_equal(rc, -1);
}

static bool str_is(kstr_t s, const char *c) { return s.len >= 0 && kstr_eq(s, c); }

static bpart_t *t0(void) { return bpart_get(&H.b, "t", 1, 0); }

/* One uncompressed batch of n records (BaseOffset 0, epoch 0 as built). */
static void make_batch(kwr_t *w, int n, int64_t ts0)
{
    krecord_in_t r[16];
    assert_true(n <= 16);
    for (int i = 0; i < n; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].key = "key";
        r[i].key_len = 3;
        r[i].value = "value-bytes";
        r[i].value_len = 11;
        r[i].timestamp = ts0 + i;
    }
    assert_int_equal(kbatch_build(w, 0, r, n), 0);
}

static void req_produce(kwr_t *w, int16_t acks, int32_t timeout_ms, const kwr_t *batch)
{
    hreq_begin(w, KAPI_PRODUCE, 7, g_corr++, "repltest", false);
    kwr_str(w, false, NULL); /* TransactionalId */
    kwr_i16(w, acks);
    kwr_i32(w, timeout_ms);
    kwr_array(w, false, 1);
    kwr_str(w, false, "t");
    kwr_array(w, false, 1);
    kwr_i32(w, 0);
    kwr_bytes(w, false, batch->buf, (int32_t)batch->len);
}

typedef struct pres {
    int16_t err;
    int64_t base;
} pres_t;

static void parse_produce(resp_t *r, pres_t *p)
{
    krd_t *rd = &r->rd;
    assert_int_equal(krd_array(rd, false, false, 6), 1);
    assert_true(str_is(krd_str(rd, false, false), "t"));
    assert_int_equal(krd_array(rd, false, false, 14), 1);
    assert_int_equal(krd_i32(rd), 0);
    p->err = krd_i16(rd);
    p->base = krd_i64(rd);
    (void)krd_i64(rd); /* LogAppendTimeMs */
    (void)krd_i64(rd); /* LogStartOffset */
    assert_int_equal(krd_i32(rd), 0);
    resp_done(r);
}

/* A produce of an n-record batch sent on c; its response is read later with produce_wait. */
static void produce_send(hc_t *c, int16_t acks, int32_t timeout_ms, int n, kwr_t *req)
{
    kwr_t b;
    kwr_init(&b, 256);
    make_batch(&b, n, 1000);
    kwr_init(req, 512);
    req_produce(req, acks, timeout_ms, &b);
    kwr_free(&b);
    send_req(c, req);
}

static void produce_wait(hc_t *c, kwr_t *req, int timeout_ms, pres_t *p)
{
    resp_t r;
    recv_resp(c, req, timeout_ms, &r);
    parse_produce(&r, p);
    kwr_free(req);
}

static void produce(hc_t *c, int16_t acks, int n, pres_t *p)
{
    kwr_t req;
    produce_send(c, acks, 5000, n, &req);
    produce_wait(c, &req, TMO, p);
}

/* Fetch v11 for t-0.  replica_id -1 = a consumer. */
static void req_fetch(kwr_t *w, int32_t replica_id, int32_t current_epoch, int64_t offset, int32_t max_wait)
{
    hreq_begin(w, KAPI_FETCH, 11, g_corr++, "repltest", false);
    kwr_i32(w, replica_id);
    kwr_i32(w, max_wait);
    kwr_i32(w, 1);       /* MinBytes */
    kwr_i32(w, 1 << 20); /* MaxBytes */
    kwr_i8(w, 0);
    kwr_i32(w, 0);  /* SessionId */
    kwr_i32(w, -1); /* SessionEpoch */
    kwr_array(w, false, 1);
    kwr_str(w, false, "t");
    kwr_array(w, false, 1);
    kwr_i32(w, 0);
    kwr_i32(w, current_epoch);
    kwr_i64(w, offset);
    kwr_i64(w, 0); /* LogStartOffset */
    kwr_i32(w, 1 << 20);
    kwr_array(w, false, 0); /* ForgottenTopicsData */
    kwr_str(w, false, "");  /* RackId */
}

typedef struct fres {
    int16_t err;
    int64_t hw, log_start;
    uint8_t *records; /* malloc'd copy (NULL when empty) */
    int32_t nrecords;
} fres_t;

static void parse_fetch(resp_t *r, fres_t *f)
{
    krd_t *rd = &r->rd;
    memset(f, 0, sizeof *f);
    assert_int_equal(krd_i32(rd), 0);
    assert_int_equal(krd_i16(rd), KERR_NONE);
    assert_int_equal(krd_i32(rd), 0); /* SessionId */
    assert_int_equal(krd_array(rd, false, false, 6), 1);
    assert_true(str_is(krd_str(rd, false, false), "t"));
    assert_int_equal(krd_array(rd, false, false, 14), 1);
    assert_int_equal(krd_i32(rd), 0);
    f->err = krd_i16(rd);
    f->hw = krd_i64(rd);
    assert_int_equal(krd_i64(rd), f->hw); /* LastStableOffset */
    f->log_start = krd_i64(rd);
    int32_t naborted = krd_array(rd, false, true, 16);
    for (int32_t i = 0; i < naborted; i++)
        krd_skip(rd, 16);
    assert_int_equal(krd_i32(rd), -1); /* PreferredReadReplica */
    kstr_t rec = krd_bytes(rd, false, true);
    f->nrecords = rec.len > 0 ? rec.len : 0;
    if (f->nrecords > 0) {
        f->records = malloc((size_t)f->nrecords);
        memcpy(f->records, rec.ptr, (size_t)f->nrecords);
    }
    resp_done(r);
}

static void fetch(hc_t *c, int32_t replica_id, int32_t current_epoch, int64_t offset, fres_t *f)
{
    kwr_t w;
    kwr_init(&w, 256);
    req_fetch(&w, replica_id, current_epoch, offset, 0);
    resp_t r;
    roundtrip(c, &w, &r);
    parse_fetch(&r, f);
    kwr_free(&w);
}

/* Last offset of the last whole batch in a fetch answer (-1 if none); every batch checked for a good CRC. */
static int64_t last_offset_of(const fres_t *f)
{
    int64_t last = -1;
    size_t valid = kbatch_valid_prefix(f->records, (size_t)f->nrecords);
    assert_int_equal(valid, (size_t)f->nrecords);
    for (size_t pos = 0; pos < valid;) {
        kbatch_hdr_t h;
        assert_int_equal(kbatch_parse_hdr(f->records + pos, valid - pos, &h), 0);
        last = h.BaseOffset + h.LastOffsetDelta;
        pos += (size_t)h.Length + KBATCH_LOG_OVERHEAD;
    }
    return last;
}

static int64_t list_latest(hc_t *c)
{
    kwr_t w;
    kwr_init(&w, 128);
    hreq_begin(&w, KAPI_LIST_OFFSETS, 1, g_corr++, "repltest", false);
    kwr_i32(&w, -1);
    kwr_array(&w, false, 1);
    kwr_str(&w, false, "t");
    kwr_array(&w, false, 1);
    kwr_i32(&w, 0);
    kwr_i64(&w, KTS_LATEST);
    resp_t r;
    roundtrip(c, &w, &r);
    krd_t *rd = &r.rd;
    assert_int_equal(krd_array(rd, false, false, 6), 1);
    assert_true(str_is(krd_str(rd, false, false), "t"));
    assert_int_equal(krd_array(rd, false, false, 6), 1);
    assert_int_equal(krd_i32(rd), 0);
    assert_int_equal(krd_i16(rd), KERR_NONE);
    assert_int_equal(krd_i64(rd), -1); /* Timestamp */
    int64_t off = krd_i64(rd);
    resp_done(&r);
    kwr_free(&w);
    return off;
}

/* LeaderAndIsr v3 for t-0 with replicas {1,2,3}; leader_port > 0 names the leader's endpoint. */
static void lair_t0(hc_t *c, int32_t leader, int32_t epoch, int32_t *isr, int nisr, int32_t leader_port)
{
    char topic[] = "t", host[] = "127.0.0.1";
    ctl_part_t part = {.topic = topic, .partition = 0, .controller_epoch = 1, .leader = leader,
                       .leader_epoch = epoch, .isr = isr, .nisr = nisr, .zk_version = 7, .replicas = k_123,
                       .nreplicas = 3};
    ctl_node_t node = {.id = leader, .host = host, .port = leader_port};
    ctl_state_t s = {.controller_id = 9, .controller_epoch = 1, .broker_epoch = -1, .parts = &part, .nparts = 1,
                     .nodes = &node, .nnodes = leader_port > 0 ? 1 : 0};
    kwr_t w;
    kwr_init(&w, 256);
    hreq_begin(&w, KAPI_LEADER_AND_ISR, CTL_LAIR_VERSION, g_corr++, "controller", false);
    ctl_lair_encode(&w, &s);
    resp_t r;
    roundtrip(c, &w, &r);
    int16_t err;
    ctl_perr_t *pe;
    int n;
    assert_int_equal(ctl_lair_resp_decode(&r.rd, &err, &pe, &n), 0);
    resp_done(&r);
    assert_int_equal(err, KERR_NONE);
    assert_int_equal(n, 1);
    assert_int_equal(pe[0].error, KERR_NONE);
    ctl_perr_free(pe, n);
    kwr_free(&w);
    assert_int_equal(t0()->leader_epoch, epoch);
    assert_int_equal(t0()->is_leader, leader == 1);
}

/* Metadata cache: topic t (replicas {1,2,3}) and live brokers 1, 2 and 3. */
static void meta_three_brokers(void)
{
    char topic[] = "t", host[] = "127.0.0.1";
    ctl_part_t part = {.topic = topic, .partition = 0, .controller_epoch = 1, .leader = 1, .leader_epoch = 0,
                       .isr = k_123, .nisr = 3, .zk_version = 7, .replicas = k_123, .nreplicas = 3};
    ctl_node_t nodes[3] = {{.id = 1, .host = host, .port = H.port},
                           {.id = 2, .host = host, .port = 1},
                           {.id = 3, .host = host, .port = 1}};
    ctl_state_t s = {.controller_id = 9, .controller_epoch = 1, .broker_epoch = -1, .parts = &part, .nparts = 1,
                     .nodes = nodes, .nnodes = 3};
    meta_free(&H.b.meta);
    meta_init(&H.b.meta);
    meta_apply(&H.b.meta, &s);
}

/* ------------------------------------------------------------------ */
/* fixtures                                                             */

static int setup(void **state)
{
    (void)state;
    wlog_setup("test", WLOG_ERROR);
    return hs_open(&H);
}

/* t-0 led by us at leader epoch 0 with ISR {1,2,3}, set up by LeaderAndIsr
 * (the harness's own t-0 is dropped first, keeping its empty log, so the
 * request creates the partition afresh at epoch 0). */
static int setup_leader(void **state)
{
    if (setup(state) != 0)
        return -1;
    meta_three_brokers();
    bpart_remove(&H.b, t0(), false);
    hc_t c;
    if (hc_connect(&H, &c) != 0)
        return -1;
    lair_t0(&c, 1, 0, k_123, 3, -1);
    hc_close(&c);
    return t0() && t0()->is_leader && t0()->nfol == 2 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    repl_shutdown(&H.b);
    produce_free_waiters(&H.b); /* answered while the connections still exist */
    H.b.zk = NULL;
    hs_close(&H);
    return 0;
}

/* ------------------------------------------------------------------ */
/* 1. leader: acks=all, the high watermark, fetch limits                */

static void test_acks_all_waits_for_followers(void **state)
{
    (void)state;
    hc_t cp, c2, c3, cc;
    assert_int_equal(hc_connect(&H, &cp), 0);
    assert_int_equal(hc_connect(&H, &c2), 0);
    assert_int_equal(hc_connect(&H, &c3), 0);
    assert_int_equal(hc_connect(&H, &cc), 0);
    kwr_t req;
    produce_send(&cp, -1, 5000, 3, &req); /* offsets 0..2 */
    expect_silence(&cp, 100);
    assert_int_equal(plog_end_offset(t0()->log), 3);
    assert_int_equal(t0()->hw, 0);

    /* a replica fetch reads up to the LEO; a consumer only below the HW */
    fres_t f;
    fetch(&c2, 2, 0, 0, &f);
    assert_int_equal(f.err, KERR_NONE);
    assert_int_equal(f.hw, 0);
    assert_int_equal(last_offset_of(&f), 2);
    free(f.records);
    fetch(&cc, -1, 0, 0, &f);
    assert_int_equal(f.err, KERR_NONE);
    assert_int_equal(f.nrecords, 0);
    free(f.records);

    /* follower 2 has it; follower 3 has not fetched: still waiting */
    fetch(&c2, 2, 0, 3, &f);
    assert_int_equal(f.hw, 0);
    free(f.records);
    expect_silence(&cp, 100);
    assert_int_equal(list_latest(&cc), 0);

    /* follower 3 catches up: HW 3 in its own fetch answer, and the produce is acknowledged */
    fetch(&c3, 3, 0, 3, &f);
    assert_int_equal(f.err, KERR_NONE);
    assert_int_equal(f.hw, 3);
    assert_int_equal(f.nrecords, 0);
    free(f.records);
    pres_t p;
    produce_wait(&cp, &req, TMO, &p);
    assert_int_equal(p.err, KERR_NONE);
    assert_int_equal(p.base, 0);
    assert_int_equal(list_latest(&cc), 3);
    fetch(&cc, -1, 0, 0, &f);
    assert_int_equal(f.hw, 3);
    assert_int_equal(last_offset_of(&f), 2);
    free(f.records);
    hc_close(&cp);
    hc_close(&c2);
    hc_close(&c3);
    hc_close(&cc);
}

/* HW = min follower fetch offset, never backwards; consumers never see records at or above it. */
static void test_hw_is_min_and_monotonic(void **state)
{
    (void)state;
    hc_t cp, c2, c3, cc;
    assert_int_equal(hc_connect(&H, &cp), 0);
    assert_int_equal(hc_connect(&H, &c2), 0);
    assert_int_equal(hc_connect(&H, &c3), 0);
    assert_int_equal(hc_connect(&H, &cc), 0);
    pres_t p;
    produce(&cp, 1, 3, &p); /* 0..2 */
    assert_int_equal(p.base, 0);
    fres_t f;
    fetch(&c2, 2, 0, 3, &f);
    free(f.records);
    fetch(&c3, 3, 0, 3, &f);
    free(f.records);
    assert_int_equal(t0()->hw, 3);

    kwr_t req;
    produce_send(&cp, -1, 5000, 2, &req); /* 3..4 */
    expect_silence(&cp, 50);
    fetch(&c2, 2, 0, 5, &f);
    free(f.records);
    fetch(&c3, 3, 0, 4, &f);
    assert_int_equal(f.hw, 4); /* min(5, 4) */
    free(f.records);
    expect_silence(&cp, 50); /* the batch ends at 4: not yet covered */

    /* a follower fetching lower later does not pull the HW back */
    fetch(&c3, 3, 0, 1, &f);
    assert_int_equal(f.hw, 4);
    free(f.records);
    assert_int_equal(t0()->hw, 4);
    assert_int_equal(list_latest(&cc), 4);

    /* HW 4 sits inside batch 3..4: the consumer gets only batch 0..2, a replica both */
    fetch(&cc, -1, 0, 0, &f);
    assert_int_equal(last_offset_of(&f), 2);
    free(f.records);
    fetch(&cc, -1, 0, 3, &f);
    assert_int_equal(f.err, KERR_NONE);
    assert_int_equal(f.nrecords, 0);
    free(f.records);
    fetch(&c3, 3, 0, 3, &f);
    assert_int_equal(last_offset_of(&f), 4);
    free(f.records);

    fetch(&c3, 3, 0, 5, &f);
    assert_int_equal(f.hw, 5);
    free(f.records);
    produce_wait(&cp, &req, TMO, &p);
    assert_int_equal(p.err, KERR_NONE);
    assert_int_equal(p.base, 3);
    fetch(&cc, -1, 0, 3, &f);
    assert_int_equal(last_offset_of(&f), 4);
    free(f.records);
    hc_close(&cp);
    hc_close(&c2);
    hc_close(&c3);
    hc_close(&cc);
}

/* A follower long-polling at the LEO is answered by the next append. */
static void test_replica_long_poll_woken_by_produce(void **state)
{
    (void)state;
    hc_t cp, c2;
    assert_int_equal(hc_connect(&H, &cp), 0);
    assert_int_equal(hc_connect(&H, &c2), 0);
    kwr_t w;
    kwr_init(&w, 256);
    req_fetch(&w, 2, 0, 0, 3000);
    send_req(&c2, &w);
    expect_silence(&c2, 50);
    pres_t p;
    produce(&cp, 1, 2, &p);
    int64_t t_start = mono_ms();
    resp_t r;
    recv_resp(&c2, &w, TMO, &r);
    assert_true(mono_ms() - t_start < 1000);
    fres_t f;
    parse_fetch(&r, &f);
    assert_int_equal(f.err, KERR_NONE);
    assert_int_equal(last_offset_of(&f), 1);
    free(f.records);
    kwr_free(&w);
    hc_close(&cp);
    hc_close(&c2);
}

/* A follower's long poll built before a leadership change cannot name the
 * partition: the new leader answers it at once, and answers soon a poll that
 * still leaves out a partition it began to lead less than 2 s ago. */
static void req_fetch_nothing(kwr_t *w, int32_t replica_id, int32_t max_wait)
{
    hreq_begin(w, KAPI_FETCH, 11, g_corr++, "repltest", false);
    kwr_i32(w, replica_id);
    kwr_i32(w, max_wait);
    kwr_i32(w, 1);       /* MinBytes */
    kwr_i32(w, 1 << 20); /* MaxBytes */
    kwr_i8(w, 0);
    kwr_i32(w, 0);          /* SessionId */
    kwr_i32(w, -1);         /* SessionEpoch */
    kwr_array(w, false, 0); /* no topics */
    kwr_array(w, false, 0); /* ForgottenTopicsData */
    kwr_str(w, false, "");  /* RackId */
}

static void test_follower_poll_answered_on_leadership(void **state)
{
    (void)state;
    hc_t cc, c2;
    assert_int_equal(hc_connect(&H, &cc), 0);
    assert_int_equal(hc_connect(&H, &c2), 0);
    /* Replica 2 polls t-0 (epoch unchecked) with nothing to read: it waits. */
    kwr_t w;
    kwr_init(&w, 256);
    req_fetch(&w, 2, -1, 0, 3000);
    send_req(&c2, &w);
    expect_silence(&c2, 100);
    /* This broker begins a new leadership of t-0: the poll is answered now. */
    int64_t t = mono_ms();
    lair_t0(&cc, 1, 1, k_123, 3, -1);
    resp_t r;
    recv_resp(&c2, &w, TMO, &r);
    assert_true(mono_ms() - t < 1000);
    fres_t f;
    parse_fetch(&r, &f);
    assert_int_equal(f.err, KERR_NONE);
    assert_int_equal(f.nrecords, 0);
    kwr_free(&w);
    hc_close(&cc);
    hc_close(&c2);
}

static void test_follower_poll_missing_new_leadership_is_short(void **state)
{
    (void)state;
    hc_t c2, cc;
    assert_int_equal(hc_connect(&H, &c2), 0);
    assert_int_equal(hc_connect(&H, &cc), 0);
    kwr_t w;
    kwr_init(&w, 256);
    /* t-0 has been led here for less than 2 s: replica 2's poll that leaves
     * it out is answered within milliseconds, not after its 3 s. */
    int64_t t = mono_ms();
    req_fetch_nothing(&w, 2, 3000);
    resp_t r;
    roundtrip(&c2, &w, &r);
    assert_true(mono_ms() - t < 1000);
    free(r.buf);
    kwr_free(&w);
    /* A consumer's poll is not cut short, ... */
    kwr_init(&w, 256);
    req_fetch_nothing(&w, -1, 300);
    send_req(&cc, &w);
    expect_silence(&cc, 150);
    recv_resp(&cc, &w, TMO, &r);
    free(r.buf);
    kwr_free(&w);
    /* ...nor, once the leadership is older, a follower's. */
    t0()->led_since_ms -= 5000;
    kwr_init(&w, 256);
    req_fetch_nothing(&w, 2, 300);
    send_req(&c2, &w);
    expect_silence(&c2, 150);
    recv_resp(&c2, &w, TMO, &r);
    free(r.buf);
    kwr_free(&w);
    hc_close(&c2);
    hc_close(&cc);
}

/* ------------------------------------------------------------------ */
/* 2. acks=all failures                                                 */

static void test_acks_all_times_out(void **state)
{
    (void)state;
    hc_t cp, c2;
    assert_int_equal(hc_connect(&H, &cp), 0);
    assert_int_equal(hc_connect(&H, &c2), 0);
    kwr_t req;
    int64_t t_start = mono_ms();
    produce_send(&cp, -1, 300, 1, &req);
    hs_pump(&H);
    fres_t f;
    fetch(&c2, 2, 0, 1, &f); /* follower 2 has it; 3 never fetches */
    free(f.records);
    pres_t p;
    produce_wait(&cp, &req, TMO, &p);
    int64_t took = mono_ms() - t_start;
    assert_int_equal(p.err, KERR_REQUEST_TIMED_OUT);
    assert_int_equal(p.base, -1);
    assert_true(took >= 280);
    assert_true(took < 2000);
    assert_int_equal(plog_end_offset(t0()->log), 1); /* appended all the same: outcome unknown */
    assert_int_equal(t0()->hw, 0);
    hc_close(&cp);
    hc_close(&c2);
}

static void test_not_enough_replicas(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    lair_t0(&c, 1, 1, k_1, 1, -1); /* ISR shrank to {1} */
    t0()->min_insync = 2;
    pres_t p;
    produce(&c, -1, 2, &p);
    assert_int_equal(p.err, KERR_NOT_ENOUGH_REPLICAS);
    assert_int_equal(p.base, -1);
    assert_int_equal(plog_end_offset(t0()->log), 0); /* nothing appended */
    produce(&c, 1, 2, &p); /* acks=1 ignores min.insync.replicas */
    assert_int_equal(p.err, KERR_NONE);
    assert_int_equal(p.base, 0);
    /* ISR {1}: the HW follows the leader alone, followers 2 and 3 do not hold it back */
    assert_int_equal(t0()->hw, 2);
    t0()->min_insync = 1;
    produce(&c, -1, 1, &p);
    assert_int_equal(p.err, KERR_NONE);
    assert_int_equal(p.base, 2);
    hc_close(&c);
}

/* The ISR shrinks below min.insync.replicas (confirmed by the controller)
 * while an acks=all produce waits: once the HW covers it, the answer is
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND. */
static void test_not_enough_replicas_after_append(void **state)
{
    (void)state;
    hc_t cp, c2, cl;
    assert_int_equal(hc_connect(&H, &cp), 0);
    assert_int_equal(hc_connect(&H, &c2), 0);
    assert_int_equal(hc_connect(&H, &cl), 0);
    t0()->min_insync = 3;
    kwr_t req;
    produce_send(&cp, -1, 5000, 1, &req);
    expect_silence(&cp, 50);
    assert_int_equal(plog_end_offset(t0()->log), 1);
    lair_t0(&cl, 1, 1, k_12, 2, -1); /* new epoch, ISR {1,2} */
    fres_t f;
    fetch(&c2, 2, 1, 1, &f);
    assert_int_equal(f.hw, 1);
    free(f.records);
    pres_t p;
    produce_wait(&cp, &req, TMO, &p);
    assert_int_equal(p.err, KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    hc_close(&cp);
    hc_close(&c2);
    hc_close(&cl);
}

static void test_leadership_moves_while_waiting(void **state)
{
    (void)state;
    hc_t cp, cl;
    assert_int_equal(hc_connect(&H, &cp), 0);
    assert_int_equal(hc_connect(&H, &cl), 0);
    kwr_t req;
    produce_send(&cp, -1, 5000, 1, &req);
    expect_silence(&cp, 50);
    int64_t t_start = mono_ms();
    lair_t0(&cl, 2, 1, k_123, 3, -1); /* broker 2 leads now (its cached endpoint refuses connections) */
    pres_t p;
    produce_wait(&cp, &req, TMO, &p);
    assert_true(mono_ms() - t_start < 1000); /* at once, not at the timeout */
    assert_int_equal(p.err, KERR_NOT_LEADER_OR_FOLLOWER);
    produce(&cp, -1, 1, &p);
    assert_int_equal(p.err, KERR_NOT_LEADER_OR_FOLLOWER);
    hc_close(&cp);
    hc_close(&cl);
}

/* ------------------------------------------------------------------ */
/* 3. CurrentLeaderEpoch fencing on Fetch                               */

static void test_fetch_leader_epoch_fencing(void **state)
{
    (void)state;
    hc_t c, cp;
    assert_int_equal(hc_connect(&H, &c), 0);
    assert_int_equal(hc_connect(&H, &cp), 0);
    lair_t0(&c, 1, 2, k_123, 3, -1);
    pres_t p;
    produce(&cp, 1, 2, &p);
    fres_t f;
    fetch(&c, 2, 1, 0, &f);
    assert_int_equal(f.err, KERR_FENCED_LEADER_EPOCH);
    assert_int_equal(f.nrecords, 0);
    free(f.records);
    fetch(&c, 2, 3, 0, &f);
    assert_int_equal(f.err, KERR_UNKNOWN_LEADER_EPOCH);
    assert_int_equal(f.nrecords, 0);
    free(f.records);
    fetch(&c, -1, 1, 0, &f); /* consumers are fenced the same way */
    assert_int_equal(f.err, KERR_FENCED_LEADER_EPOCH);
    free(f.records);
    /* fenced fetches at the LEO must not count as follower progress */
    fetch(&c, 2, 1, 2, &f);
    free(f.records);
    fetch(&c, 3, 3, 2, &f);
    free(f.records);
    assert_int_equal(t0()->hw, 0);
    fetch(&c, 2, -1, 0, &f); /* -1: not checked */
    assert_int_equal(f.err, KERR_NONE);
    assert_int_equal(last_offset_of(&f), 1);
    free(f.records);
    fetch(&c, 2, 2, 0, &f);
    assert_int_equal(f.err, KERR_NONE);
    assert_int_equal(last_offset_of(&f), 1);
    free(f.records);
    hc_close(&c);
    hc_close(&cp);
}

/* ------------------------------------------------------------------ */
/* 4. OffsetForLeaderEpoch v3                                           */

typedef struct ofe_res {
    int16_t err;
    int32_t epoch;
    int64_t end;
} ofe_res_t;

static void offset_for_epoch(hc_t *c, int32_t current, int32_t epoch, ofe_res_t *o)
{
    kwr_t w;
    kwr_init(&w, 128);
    hreq_begin(&w, KAPI_OFFSET_FOR_LEADER_EPOCH, 3, g_corr++, "repltest", false);
    kwr_i32(&w, 2); /* ReplicaId */
    kwr_array(&w, false, 1);
    kwr_str(&w, false, "t");
    kwr_array(&w, false, 1);
    kwr_i32(&w, 0);
    kwr_i32(&w, current);
    kwr_i32(&w, epoch);
    resp_t r;
    roundtrip(c, &w, &r);
    krd_t *rd = &r.rd;
    assert_int_equal(krd_i32(rd), 0); /* ThrottleTimeMs */
    assert_int_equal(krd_array(rd, false, false, 6), 1);
    assert_true(str_is(krd_str(rd, false, false), "t"));
    assert_int_equal(krd_array(rd, false, false, 18), 1);
    o->err = krd_i16(rd);
    assert_int_equal(krd_i32(rd), 0); /* Partition */
    o->epoch = krd_i32(rd);
    o->end = krd_i64(rd);
    resp_done(&r);
    kwr_free(&w);
}

static void expect_ofe(hc_t *c, int32_t current, int32_t epoch, int16_t err, int32_t found, int64_t end)
{
    ofe_res_t o;
    offset_for_epoch(c, current, epoch, &o);
    assert_int_equal(o.err, err);
    assert_int_equal(o.epoch, found);
    assert_int_equal(o.end, end);
}

static void test_offset_for_leader_epoch(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    pres_t p;
    produce(&c, 1, 3, &p); /* epoch 0: offsets 0..2 */
    lair_t0(&c, 1, 2, k_123, 3, -1);
    produce(&c, 1, 2, &p); /* epoch 2: 3..4 */
    assert_int_equal(p.base, 3);
    expect_ofe(&c, 2, 2, KERR_NONE, 2, 5);
    expect_ofe(&c, 2, 1, KERR_NONE, 0, 3);
    expect_ofe(&c, 2, 0, KERR_NONE, 0, 3);
    expect_ofe(&c, 2, 5, KERR_NONE, -1, -1);
    expect_ofe(&c, -1, 2, KERR_NONE, 2, 5);
    expect_ofe(&c, 1, 2, KERR_FENCED_LEADER_EPOCH, -1, -1);
    expect_ofe(&c, 3, 2, KERR_UNKNOWN_LEADER_EPOCH, -1, -1);
    /* the epoch is stamped in the stored batch too */
    fres_t f;
    fetch(&c, 2, 2, 3, &f);
    assert_true(f.nrecords > KBATCH_HDR_SIZE);
    assert_int_equal(be32(f.records + KBATCH_OFF_LEADER_EPOCH), 2);
    free(f.records);
    lair_t0(&c, 2, 3, k_123, 3, -1); /* no longer the leader */
    expect_ofe(&c, 3, 2, KERR_NOT_LEADER_OR_FOLLOWER, -1, -1);
    hc_close(&c);
}

/* OffsetForLeaderEpoch is for followers only: ApiVersions must not list it. */
static void test_offset_for_epoch_not_advertised(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    kwr_t w;
    kwr_init(&w, 64);
    hreq_begin(&w, KAPI_API_VERSIONS, 0, g_corr++, "repltest", false);
    resp_t r;
    roundtrip(&c, &w, &r);
    krd_t *rd = &r.rd;
    assert_int_equal(krd_i16(rd), KERR_NONE);
    int32_t n = krd_array(rd, false, false, 6);
    assert_true(n > 5);
    bool fetch_seen = false;
    for (int32_t i = 0; i < n; i++) {
        int16_t key = krd_i16(rd);
        (void)krd_i16(rd);
        (void)krd_i16(rd);
        assert_int_not_equal(key, KAPI_OFFSET_FOR_LEADER_EPOCH);
        assert_int_not_equal(key, KAPI_LEADER_AND_ISR);
        fetch_seen |= key == KAPI_FETCH;
    }
    assert_true(fetch_seen);
    resp_done(&r);
    kwr_free(&w);
    hc_close(&c);
}

/* ------------------------------------------------------------------ */
/* 5. ISR changes through AlterPartition to a stub controller           */

static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(fd, 8), 0);
    socklen_t sl = sizeof sin;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

static void stub_controller(int port)
{
    fwd_set_controller(&H.b, 9, "127.0.0.1", port);
}

/* Accept the broker's connection, pumping its loop meanwhile. */
static int accept_pumped(int lfd)
{
    int64_t end = mono_ms() + TMO;
    while (mono_ms() < end) {
        hs_pump(&H);
        struct pollfd pfd = {lfd, POLLIN, 0};
        if (poll(&pfd, 1, 1) == 1) {
            int fd = accept(lfd, NULL, NULL);
            assert_true(fd >= 0);
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
            return fd;
        }
    }
    fail_msg("the broker did not connect to the controller");
    return -1;
}

/* Read an AlterPartition v1 request, check its header and decode the body. */
static int32_t read_alter_partition(hc_t *c, ctl_ap_t *ap)
{
    uint8_t *frame;
    size_t len;
    assert_int_equal(hc_recv(&H, c, TMO, &frame, &len), 1);
    krd_t rd;
    krd_init(&rd, frame, len);
    assert_int_equal(krd_i16(&rd), KAPI_ALTER_PARTITION);
    assert_int_equal(krd_i16(&rd), CTL_AP_VERSION);
    int32_t corr = krd_i32(&rd);
    (void)krd_str(&rd, false, true); /* ClientId */
    krd_tags(&rd);                   /* request header v2 */
    memset(ap, 0, sizeof *ap);
    assert_int_equal(ctl_ap_decode(&rd, ap), 0);
    free(frame);
    assert_int_equal(ap->broker_id, 1);
    assert_int_equal(ap->n, 1);
    assert_string_equal(ap->parts[0].topic, "t");
    assert_int_equal(ap->parts[0].partition, 0);
    return corr;
}

static void expect_isr(const ctl_ap_part_t *pp, const int32_t *isr, int n)
{
    assert_int_equal(pp->nisr, n);
    assert_memory_equal(pp->isr, isr, (size_t)n * sizeof *isr);
}

/* Answer an AlterPartition (response header v1) with `isr`, or with a partition error. */
static void answer_alter_partition(hc_t *c, int32_t corr, int16_t err, int32_t *isr, int n, int32_t pepoch)
{
    char topic[] = "t";
    ctl_ap_part_t part = {.topic = topic, .partition = 0, .leader_epoch = t0()->leader_epoch, .isr = isr,
                          .nisr = n, .partition_epoch = pepoch, .error = err, .leader = 1};
    ctl_ap_t r = {.broker_id = -1, .broker_epoch = -1, .error = 0, .parts = &part, .n = 1};
    kwr_t w;
    kwr_init(&w, 128);
    kwr_i32(&w, corr);
    kwr_tags(&w);
    ctl_ap_resp_encode(&w, &r);
    assert_int_equal(hc_send(&H, c, w.buf, w.len), 0);
    kwr_free(&w);
    int64_t end = mono_ms() + TMO;
    while (t0()->isr_inflight && mono_ms() < end) {
        hs_pump(&H);
        poll(NULL, 0, 1);
    }
    assert_false(t0()->isr_inflight);
}

static void fetch_at(hc_t *c, int32_t replica, int64_t offset)
{
    fres_t f;
    fetch(c, replica, t0()->leader_epoch, offset, &f);
    assert_int_equal(f.err, KERR_NONE);
    free(f.records);
}

/* The leader never shrinks the ISR on its own: without a known controller
 * nothing is asked, the ISR stays and the silent member still holds the HW. */
static void test_isr_never_shrunk_locally(void **state)
{
    (void)state;
    H.b.cfg.replica_lag_time_max_ms = 100;
    hc_t cp, c2;
    assert_int_equal(hc_connect(&H, &cp), 0);
    assert_int_equal(hc_connect(&H, &c2), 0);
    pres_t p;
    produce(&cp, 1, 2, &p);
    fetch_at(&c2, 2, 2);
    hs_run_for(&H, 150);
    assert_false(fwd_known(&H.b));
    repl_check_isr(&H.b);
    assert_false(t0()->isr_inflight);
    assert_int_equal(t0()->nisr, 3);
    assert_int_equal(t0()->hw, 0); /* follower 3 (LEO unknown) still holds it back */
    hc_close(&cp);
    hc_close(&c2);
}

static void test_isr_shrink_and_expand(void **state)
{
    (void)state;
    H.b.cfg.replica_lag_time_max_ms = 200;
    int port, lfd = listen_loopback(&port);
    stub_controller(port);
    hc_t cp, c2, c3, ctl;
    assert_int_equal(hc_connect(&H, &cp), 0);
    assert_int_equal(hc_connect(&H, &c2), 0);
    assert_int_equal(hc_connect(&H, &c3), 0);
    fetch_at(&c3, 3, 0); /* 3 is caught up at 0, then goes silent */
    pres_t p;
    produce(&cp, 1, 3, &p);
    fetch_at(&c2, 2, 3);
    assert_int_equal(t0()->hw, 0); /* a lagging ISR member holds the HW */

    repl_check_isr(&H.b); /* within the lag: nobody is out */
    assert_false(t0()->isr_inflight);
    int64_t t_last = mono_ms();
    while (mono_ms() - t_last < 260) { /* 2 keeps fetching, 3 stays silent */
        fetch_at(&c2, 2, 3);
        hs_run_for(&H, 20);
    }
    repl_check_isr(&H.b);
    assert_true(t0()->isr_inflight);
    memset(&ctl, 0, sizeof ctl);
    ctl.fd = accept_pumped(lfd);
    ctl_ap_t ap;
    int32_t corr = read_alter_partition(&ctl, &ap);
    expect_isr(&ap.parts[0], k_12, 2);
    assert_int_equal(ap.parts[0].leader_epoch, 0);
    assert_int_equal(ap.parts[0].partition_epoch, 7);
    ctl_ap_free(&ap);
    /* one change in flight: no second request; the shrink counts only once confirmed */
    repl_check_isr(&H.b);
    uint8_t *frame = NULL;
    size_t flen;
    assert_int_equal(hc_recv(&H, &ctl, 50, &frame, &flen), -1);
    assert_int_equal(t0()->hw, 0);
    assert_int_equal(t0()->nisr, 3);
    answer_alter_partition(&ctl, corr, KERR_NONE, k_12, 2, 8);
    assert_int_equal(t0()->nisr, 2);
    assert_int_equal(t0()->zk_version, 8);
    assert_int_equal(t0()->hw, 3); /* now min(leader 3, follower 2 at 3) */

    /* 3 catches up to the HW: expansion asked, and it counts for the HW at once */
    fetch_at(&c3, 3, 3);
    assert_true(t0()->isr_inflight);
    corr = read_alter_partition(&ctl, &ap);
    expect_isr(&ap.parts[0], k_123, 3);
    assert_int_equal(ap.parts[0].partition_epoch, 8);
    ctl_ap_free(&ap);
    produce(&cp, 1, 2, &p); /* 3..4 */
    fetch_at(&c2, 2, 5);
    assert_int_equal(t0()->hw, 3); /* pending member 3 is at 3 */
    answer_alter_partition(&ctl, corr, KERR_NONE, k_123, 3, 9);
    assert_int_equal(t0()->nisr, 3);
    assert_int_equal(t0()->hw, 3);
    fetch_at(&c3, 3, 5);
    assert_int_equal(t0()->hw, 5);
    hc_close(&ctl);
    close(lfd);
    hc_close(&cp);
    hc_close(&c2);
    hc_close(&c3);
}

/* A refused expansion stops counting the candidate toward the HW. */
static void test_isr_expansion_refused(void **state)
{
    (void)state;
    /* Long enough that follower 3 stays "caught up" however slow the build. */
    H.b.cfg.replica_lag_time_max_ms = 60000;
    int port, lfd = listen_loopback(&port);
    stub_controller(port);
    hc_t cl, cp, c2, c3, ctl;
    assert_int_equal(hc_connect(&H, &cl), 0);
    assert_int_equal(hc_connect(&H, &cp), 0);
    assert_int_equal(hc_connect(&H, &c2), 0);
    assert_int_equal(hc_connect(&H, &c3), 0);
    lair_t0(&cl, 1, 1, k_12, 2, -1);
    pres_t p;
    produce(&cp, 1, 2, &p);
    fetch_at(&c2, 2, 2);
    assert_int_equal(t0()->hw, 2);
    fetch_at(&c3, 3, 1); /* below the HW: not eligible */
    assert_false(t0()->isr_inflight);
    fetch_at(&c3, 3, 2);
    assert_true(t0()->isr_inflight);
    memset(&ctl, 0, sizeof ctl);
    ctl.fd = accept_pumped(lfd);
    ctl_ap_t ap;
    int32_t corr = read_alter_partition(&ctl, &ap);
    expect_isr(&ap.parts[0], k_123, 3);
    assert_int_equal(ap.parts[0].leader_epoch, 1);
    ctl_ap_free(&ap);
    produce(&cp, 1, 2, &p); /* 2..3 */
    fetch_at(&c2, 2, 4);
    assert_int_equal(t0()->hw, 2); /* held by the pending member */
    answer_alter_partition(&ctl, corr, KERR_INVALID_UPDATE_VERSION, k_12, 2, 7);
    assert_int_equal(t0()->nisr, 2);
    assert_false(t0()->isr_inflight);
    /* Refused, but 3 is still caught up: it keeps holding the HW so it can
     * reach it and rejoin (control-plane.md 5.5); its next fetch moves it. */
    assert_int_equal(t0()->hw, 2);
    fetch_at(&c3, 3, 4);
    assert_int_equal(t0()->hw, 4);
    hc_close(&ctl);
    close(lfd);
    hc_close(&cl);
    hc_close(&cp);
    hc_close(&c2);
    hc_close(&c3);
}

/* A candidate must also have reached the start of the current leader epoch
 * (control-plane.md 5.2), not just the HW. */
static void test_isr_expansion_needs_current_epoch(void **state)
{
    (void)state;
    int port, lfd = listen_loopback(&port);
    stub_controller(port);
    hc_t cl, cp, c3, ctl;
    assert_int_equal(hc_connect(&H, &cl), 0);
    assert_int_equal(hc_connect(&H, &cp), 0);
    assert_int_equal(hc_connect(&H, &c3), 0);
    lair_t0(&cl, 1, 1, k_12, 2, -1);
    pres_t p;
    produce(&cp, 1, 3, &p); /* 0..2; follower 2 silent: HW stays 0 */
    lair_t0(&cl, 1, 2, k_12, 2, -1); /* epoch 2 starts at 3 */
    assert_int_equal(t0()->hw, 0);
    fetch_at(&c3, 3, 1); /* at/above the HW but before the epoch start */
    assert_false(t0()->isr_inflight);
    fetch_at(&c3, 3, 3);
    assert_true(t0()->isr_inflight);
    memset(&ctl, 0, sizeof ctl);
    ctl.fd = accept_pumped(lfd);
    ctl_ap_t ap;
    (void)read_alter_partition(&ctl, &ap);
    expect_isr(&ap.parts[0], k_123, 3);
    assert_int_equal(ap.parts[0].leader_epoch, 2);
    ctl_ap_free(&ap);
    hc_close(&ctl);
    close(lfd);
    hc_close(&cl);
    hc_close(&cp);
    hc_close(&c3);
}

/* ------------------------------------------------------------------ */
/* 6. follower side against a fake leader (broker 2)                    */

#define FL_MAX_REQS 512

/* One request the fetcher sent, as the fake leader decoded it. */
typedef struct fl_req {
    int16_t key, ver;
    bool ok; /* well formed, nothing left over, exactly t-0 */
    char client_id[32];
    int32_t replica_id, current_epoch;
    int64_t offset; /* Fetch: FetchOffset */
    int32_t epoch;  /* OffsetForLeaderEpoch: LeaderEpoch */
    int64_t at_ms;  /* when the fake leader read it */
} fl_req_t;

typedef struct fl_ofe {
    int16_t err;
    int32_t epoch;
    int64_t end;
} fl_ofe_t;

typedef struct fake_leader {
    int lfd, port;
    pthread_t thr;
    atomic_bool stop;
    pthread_mutex_t mu;
    /* under mu: what the leader holds and answers */
    uint8_t *log; /* whole batches in offset order, as the leader stores them */
    size_t loglen;
    int64_t hw, log_start; /* below log_start a fetch is OFFSET_OUT_OF_RANGE */
    fl_ofe_t ofe[4]; /* the n-th OffsetForLeaderEpoch gets ofe[min(n, nofe - 1)] */
    int nofe;
    /* under mu: what the follower asked */
    fl_req_t reqs[FL_MAX_REQS];
    int nreqs, nfetch, nofe_asked;
} fake_leader_t;

static fake_leader_t *g_fl;

static void fl_parse_fetch(krd_t *rd, fl_req_t *q)
{
    q->replica_id = krd_i32(rd);
    krd_skip(rd, 4 + 4 + 4 + 1 + 4 + 4); /* MaxWaitMs MinBytes MaxBytes Isolation SessionId SessionEpoch */
    int32_t nt = krd_array(rd, false, false, 6);
    kstr_t topic = krd_str(rd, false, false);
    int32_t np = krd_array(rd, false, false, 28);
    int32_t partition = krd_i32(rd);
    q->current_epoch = krd_i32(rd);
    q->offset = krd_i64(rd);
    krd_skip(rd, 8 + 4); /* LogStartOffset PartitionMaxBytes */
    int32_t nf = krd_array(rd, false, false, 6);
    (void)krd_str(rd, false, false); /* RackId */
    q->ok = !rd->err && krd_remain(rd) == 0 && nt == 1 && np == 1 && nf == 0 && partition == 0 &&
            kstr_eq(topic, "t");
}

static void fl_parse_ofe(krd_t *rd, fl_req_t *q)
{
    q->replica_id = krd_i32(rd);
    int32_t nt = krd_array(rd, false, false, 6);
    kstr_t topic = krd_str(rd, false, false);
    int32_t np = krd_array(rd, false, false, 12);
    int32_t partition = krd_i32(rd);
    q->current_epoch = krd_i32(rd);
    q->epoch = krd_i32(rd);
    q->ok = !rd->err && krd_remain(rd) == 0 && nt == 1 && np == 1 && partition == 0 && kstr_eq(topic, "t");
}

/* Fetch v11 answer: every stored batch whose last offset is at or past the fetch offset. */
static int fl_answer_fetch(fake_leader_t *fl, const fl_req_t *q, kwr_t *w)
{
    size_t from = fl->loglen;
    for (size_t pos = 0; pos + KBATCH_HDR_SIZE <= fl->loglen;) {
        kbatch_hdr_t h;
        kbatch_parse_hdr(fl->log + pos, fl->loglen - pos, &h);
        if (h.BaseOffset + h.LastOffsetDelta >= q->offset) {
            from = pos;
            break;
        }
        pos += (size_t)h.Length + KBATCH_LOG_OVERHEAD;
    }
    int16_t err = q->offset < fl->log_start ? KERR_OFFSET_OUT_OF_RANGE : KERR_NONE;
    if (err)
        from = fl->loglen;
    kwr_i32(w, 0);
    kwr_i16(w, KERR_NONE);
    kwr_i32(w, 0);
    kwr_array(w, false, 1);
    kwr_str(w, false, "t");
    kwr_array(w, false, 1);
    kwr_i32(w, 0);
    kwr_i16(w, err);
    kwr_i64(w, fl->hw);
    kwr_i64(w, fl->hw);
    kwr_i64(w, fl->log_start);
    kwr_array(w, false, -1); /* AbortedTransactions */
    kwr_i32(w, -1);
    kwr_bytes(w, false, fl->log + from, (int32_t)(fl->loglen - from));
    return from == fl->loglen && !err ? 20 : 2; /* a short long-poll when there is nothing new */
}

static void fl_answer_ofe(fake_leader_t *fl, kwr_t *w)
{
    int i = fl->nofe_asked < fl->nofe ? fl->nofe_asked : fl->nofe - 1;
    fl_ofe_t a = i >= 0 ? fl->ofe[i] : (fl_ofe_t){KERR_UNKNOWN_SERVER_ERROR, -1, -1};
    fl->nofe_asked++;
    kwr_i32(w, 0);
    kwr_array(w, false, 1);
    kwr_str(w, false, "t");
    kwr_array(w, false, 1);
    kwr_i16(w, a.err);
    kwr_i32(w, 0);
    kwr_i32(w, a.epoch);
    kwr_i64(w, a.end);
}

/* Decode one request frame and build its answer; returns ms to hold it (long poll), or -1 for no answer. */
static int fl_handle(fake_leader_t *fl, const uint8_t *frame, size_t len, kwr_t *out)
{
    krd_t rd;
    krd_init(&rd, frame, len);
    fl_req_t q;
    memset(&q, 0, sizeof q);
    q.key = krd_i16(&rd);
    q.ver = krd_i16(&rd);
    int32_t corr = krd_i32(&rd);
    kstr_t cid = krd_str(&rd, false, true);
    if (!rd.err && cid.len > 0)
        snprintf(q.client_id, sizeof q.client_id, "%.*s", (int)cid.len, (const char *)cid.ptr);
    kwr_i32(out, corr); /* response header v0 */
    q.at_ms = mono_ms();
    int hold = -1;
    pthread_mutex_lock(&fl->mu);
    if (q.key == KAPI_FETCH && q.ver == 11) {
        fl_parse_fetch(&rd, &q);
        hold = fl_answer_fetch(fl, &q, out);
        fl->nfetch++;
    } else if (q.key == KAPI_OFFSET_FOR_LEADER_EPOCH && q.ver == 3) {
        fl_parse_ofe(&rd, &q);
        fl_answer_ofe(fl, out);
        hold = 0;
    }
    if (fl->nreqs < FL_MAX_REQS)
        fl->reqs[fl->nreqs++] = q;
    pthread_mutex_unlock(&fl->mu);
    return hold;
}

static bool fl_write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Serve whole frames in buf[0..*len); false when the connection must go. */
static bool fl_serve_frames(fake_leader_t *fl, int fd, uint8_t *buf, size_t *len)
{
    while (*len >= 4) {
        int32_t sz = be32(buf);
        if (sz < 8 || sz > (1 << 20))
            return false;
        if (*len < 4 + (size_t)sz)
            return true;
        kwr_t out;
        kwr_init(&out, 256);
        size_t at = kwr_reserve(&out, 4);
        int hold = fl_handle(fl, buf + 4, (size_t)sz, &out);
        memmove(buf, buf + 4 + sz, *len - 4 - (size_t)sz);
        *len -= 4 + (size_t)sz;
        kwr_put_i32_at(&out, at, (int32_t)(out.len - 4));
        if (hold > 0)
            poll(NULL, 0, hold);
        bool ok = hold >= 0 && fl_write_all(fd, out.buf, out.len);
        kwr_free(&out);
        if (!ok)
            return false;
    }
    return true;
}

static void *fl_main(void *arg)
{
    fake_leader_t *fl = arg;
    int fd = -1;
    size_t cap = 1 << 20, len = 0;
    uint8_t *buf = malloc(cap);
    while (!atomic_load(&fl->stop)) {
        struct pollfd pfd = {fd >= 0 ? fd : fl->lfd, POLLIN, 0};
        if (poll(&pfd, 1, 10) != 1)
            continue;
        if (fd < 0) {
            fd = accept(fl->lfd, NULL, NULL);
            len = 0;
            continue;
        }
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r > 0) {
            len += (size_t)r;
            if (fl_serve_frames(fl, fd, buf, &len))
                continue;
        }
        close(fd);
        fd = -1;
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    return NULL;
}

static fake_leader_t *fl_start(void)
{
    fake_leader_t *fl = calloc(1, sizeof *fl);
    fl->lfd = listen_loopback(&fl->port);
    pthread_mutex_init(&fl->mu, NULL);
    atomic_init(&fl->stop, false);
    assert_int_equal(pthread_create(&fl->thr, NULL, fl_main, fl), 0);
    g_fl = fl;
    return fl;
}

/* Stop the fake leader first: the fetcher's blocking call then fails at once. */
static void fl_stop(void)
{
    fake_leader_t *fl = g_fl;
    if (!fl)
        return;
    atomic_store(&fl->stop, true);
    pthread_join(fl->thr, NULL);
    close(fl->lfd);
    pthread_mutex_destroy(&fl->mu);
    free(fl->log);
    free(fl);
    g_fl = NULL;
}

static int teardown_fl(void **state)
{
    fl_stop();
    return teardown(state);
}

/* Append a stored batch of n records at base with leader epoch `epoch` to the fake leader's log. */
static void fl_add_batch(fake_leader_t *fl, int64_t base, int n, int32_t epoch)
{
    kwr_t b;
    kwr_init(&b, 256);
    make_batch(&b, n, 5000 + base);
    put_be64(b.buf + KBATCH_OFF_BASE_OFFSET, base);
    put_be32(b.buf + KBATCH_OFF_LEADER_EPOCH, epoch);
    pthread_mutex_lock(&fl->mu);
    fl->log = realloc(fl->log, fl->loglen + b.len);
    memcpy(fl->log + fl->loglen, b.buf, b.len);
    fl->loglen += b.len;
    pthread_mutex_unlock(&fl->mu);
    kwr_free(&b);
}

static void fl_set_hw(fake_leader_t *fl, int64_t hw)
{
    pthread_mutex_lock(&fl->mu);
    fl->hw = hw;
    pthread_mutex_unlock(&fl->mu);
}

/* The i-th OffsetForLeaderEpoch answer (later requests repeat the last one set). */
static void fl_set_ofe(fake_leader_t *fl, int i, int16_t err, int32_t epoch, int64_t end)
{
    pthread_mutex_lock(&fl->mu);
    fl->ofe[i] = (fl_ofe_t){err, epoch, end};
    if (fl->nofe < i + 1)
        fl->nofe = i + 1;
    pthread_mutex_unlock(&fl->mu);
}

static int fl_count_fetches_at(fake_leader_t *fl, int64_t offset)
{
    int n = 0;
    pthread_mutex_lock(&fl->mu);
    for (int i = 0; i < fl->nreqs; i++)
        n += fl->reqs[i].key == KAPI_FETCH && fl->reqs[i].offset == offset;
    pthread_mutex_unlock(&fl->mu);
    return n;
}

/* Pump the broker until cond holds (or fail after TMO). */
typedef bool (*cond_fn)(int64_t arg);
static void pump_until(cond_fn cond, int64_t arg, const char *what)
{
    int64_t end = mono_ms() + TMO;
    while (!cond(arg)) {
        if (mono_ms() > end)
            fail_msg("timed out waiting for %s", what);
        hs_pump(&H);
        poll(NULL, 0, 1);
    }
}

static bool leo_is(int64_t v) { return plog_end_offset(t0()->log) == v; }
static bool hw_is(int64_t v) { return t0()->hw == v; }
static bool fetched_at_0_times(int64_t n) { return fl_count_fetches_at(g_fl, 0) >= n; }
static bool fetched_at_3_times(int64_t n) { return fl_count_fetches_at(g_fl, 3) >= n; }

/* All of the follower's log, read back. */
static void read_all(uint8_t **buf, size_t *len)
{
    assert_int_equal(plog_read_copy(t0()->log, plog_start_offset(t0()->log), INT64_MAX, 64 << 20, buf, len), 0);
}

static void test_follower_fetches_from_zero(void **state)
{
    (void)state;
    fake_leader_t *fl = fl_start();
    fl_add_batch(fl, 0, 3, 0);
    fl_add_batch(fl, 3, 2, 1);
    fl_set_hw(fl, 4);
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    lair_t0(&c, 2, 1, k_123, 3, fl->port);
    assert_int_equal(t0()->follow, FOLLOW_FETCHING); /* empty log: no epochs to check */
    pump_until(leo_is, 5, "the follower to reach LEO 5");
    assert_int_equal(t0()->hw, 4); /* min(leader HW 4, LEO 5) */
    uint8_t *got;
    size_t len;
    read_all(&got, &len);
    pthread_mutex_lock(&fl->mu);
    assert_int_equal(len, fl->loglen);
    assert_memory_equal(got, fl->log, len); /* the leader's bytes, offsets and epochs included */
    fl_req_t first = fl->reqs[0];
    pthread_mutex_unlock(&fl->mu);
    free(got);
    assert_int_equal(first.key, KAPI_FETCH);
    assert_int_equal(first.ver, 11);
    assert_true(first.ok);
    assert_string_equal(first.client_id, "weir-replica-1");
    assert_int_equal(first.replica_id, 1);
    assert_int_equal(first.current_epoch, 1);
    assert_int_equal(first.offset, 0);
    assert_int_equal(plog_latest_epoch(t0()->log), 1);
    assert_int_equal(plog_epoch_end_offset(t0()->log, 0, NULL), 3);
    /* the HW follows the leader's, capped at our LEO */
    fl_set_hw(fl, 100);
    pump_until(hw_is, 5, "the follower HW to reach 5");
    char err[256];
    assert_int_equal(plog_validate(t0()->log, err, sizeof err), 0);
    /* a follower refuses produce */
    pres_t p;
    produce(&c, 1, 1, &p);
    assert_int_equal(p.err, KERR_NOT_LEADER_OR_FOLLOWER);
    hc_close(&c);
}

/* Append n-record batches to our own log in `epoch` (test-side setup of a follower's history). */
static void local_batches(int count, int n, int32_t epoch)
{
    plog_t *l = t0()->log;
    plog_epoch_assign(l, epoch, plog_end_offset(l));
    for (int i = 0; i < count; i++) {
        kwr_t b;
        kwr_init(&b, 256);
        make_batch(&b, n, 1000 + i);
        int64_t base;
        assert_int_equal(plog_append(l, b.buf, b.len, epoch, now_ms(), &base), 0);
        kwr_free(&b);
    }
}

static bool fetch_seen_locked(int64_t n)
{
    pthread_mutex_lock(&g_fl->mu);
    bool r = g_fl->nfetch >= n;
    pthread_mutex_unlock(&g_fl->mu);
    return r;
}

/* KIP-279 two rounds (control-plane.md 5.6): our epochs {0@0, 2@10}, LEO 20;
 * the leader answers (1, 12) for epoch 2, then (0, 8) for epoch 0: we end at
 * 8, not at our HW (5), and fetch from there. */
static void test_follower_truncates_by_epoch(void **state)
{
    (void)state;
    local_batches(5, 2, 0); /* 0..9 in epoch 0 */
    local_batches(5, 2, 2); /* 10..19 in epoch 2 */
    assert_int_equal(plog_end_offset(t0()->log), 20);
    t0()->hw = 5;
    uint8_t *before;
    size_t before_len;
    assert_int_equal(plog_read_copy(t0()->log, 0, 8, 64 << 20, &before, &before_len), 0);
    fake_leader_t *fl = fl_start();
    fl_set_ofe(fl, 0, KERR_NONE, 1, 12);
    fl_set_ofe(fl, 1, KERR_NONE, 0, 8);
    fl_set_hw(fl, 8);
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    lair_t0(&c, 2, 3, k_123, 3, fl->port);
    pump_until(fetch_seen_locked, 1, "the first fetch after truncation");
    assert_int_equal(plog_end_offset(t0()->log), 8);
    pthread_mutex_lock(&fl->mu);
    assert_true(fl->nreqs >= 3);
    fl_req_t q[3] = {fl->reqs[0], fl->reqs[1], fl->reqs[2]};
    pthread_mutex_unlock(&fl->mu);
    for (int i = 0; i < 3; i++) {
        assert_true(q[i].ok);
        assert_int_equal(q[i].replica_id, 1);
        assert_int_equal(q[i].current_epoch, 3);
    }
    assert_int_equal(q[0].key, KAPI_OFFSET_FOR_LEADER_EPOCH);
    assert_int_equal(q[0].epoch, 2);
    assert_int_equal(q[1].key, KAPI_OFFSET_FOR_LEADER_EPOCH);
    assert_int_equal(q[1].epoch, 0);
    assert_int_equal(q[2].key, KAPI_FETCH);
    assert_int_equal(q[2].offset, 8);
    /* what is left is exactly our first 8 records, in epoch 0 */
    uint8_t *after;
    size_t after_len;
    read_all(&after, &after_len);
    assert_int_equal(after_len, before_len);
    assert_memory_equal(after, before, before_len);
    free(after);
    free(before);
    assert_int_equal(plog_latest_epoch(t0()->log), 0);
    /* then it continues from the leader in the leader's epoch */
    fl_add_batch(fl, 8, 2, 3);
    pump_until(leo_is, 10, "the follower to reach LEO 10");
    assert_int_equal(plog_latest_epoch(t0()->log), 3);
    assert_int_equal(plog_epoch_end_offset(t0()->log, 0, NULL), 8);
    pump_until(hw_is, 8, "the follower HW to be 8");
    char err[256];
    assert_int_equal(plog_validate(t0()->log, err, sizeof err), 0);
    hc_close(&c);
}

/* The follower heard of leader epoch 3 before the leader did: the leader
 * answers UNKNOWN_LEADER_EPOCH, and the follower asks again within
 * milliseconds (acks=all writes to the new leader wait for it), backing off
 * further only while the answer stays the same. */
static void test_follower_retries_epoch_race_soon(void **state)
{
    (void)state;
    local_batches(3, 2, 0); /* 0..5 */
    fake_leader_t *fl = fl_start();
    fl_set_ofe(fl, 0, KERR_UNKNOWN_LEADER_EPOCH, -1, -1);
    fl_set_ofe(fl, 1, KERR_UNKNOWN_LEADER_EPOCH, -1, -1);
    fl_set_ofe(fl, 2, KERR_NONE, 0, 6);
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    lair_t0(&c, 2, 3, k_123, 3, fl->port);
    pump_until(fetch_seen_locked, 1, "the first fetch after the epoch check");
    pthread_mutex_lock(&fl->mu);
    assert_true(fl->nreqs >= 4);
    fl_req_t q[4] = {fl->reqs[0], fl->reqs[1], fl->reqs[2], fl->reqs[3]};
    pthread_mutex_unlock(&fl->mu);
    for (int i = 0; i < 3; i++)
        assert_int_equal(q[i].key, KAPI_OFFSET_FOR_LEADER_EPOCH);
    assert_int_equal(q[3].key, KAPI_FETCH);
    assert_int_equal(q[3].offset, 6);
    /* 5 ms, then 10 ms: both far below the 200 ms of a lasting failure */
    assert_true(q[1].at_ms - q[0].at_ms >= 5 && q[1].at_ms - q[0].at_ms < 100);
    assert_true(q[2].at_ms - q[1].at_ms >= 10 && q[2].at_ms - q[1].at_ms < 100);
    assert_int_equal(plog_end_offset(t0()->log), 6);
    hc_close(&c);
}

/* A leader answering our own latest epoch truncates in one round. */
static void test_follower_truncates_same_epoch(void **state)
{
    (void)state;
    local_batches(3, 2, 0); /* 0..5 */
    local_batches(2, 2, 1); /* 6..9 */
    fake_leader_t *fl = fl_start();
    fl_set_ofe(fl, 0, KERR_NONE, 1, 8);
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    lair_t0(&c, 2, 2, k_123, 3, fl->port);
    pump_until(fetch_seen_locked, 1, "the first fetch after truncation");
    assert_int_equal(plog_end_offset(t0()->log), 8);
    pthread_mutex_lock(&fl->mu);
    assert_int_equal(fl->nofe_asked, 1);
    assert_int_equal(fl->reqs[0].epoch, 1);
    assert_int_equal(fl->reqs[1].offset, 8);
    pthread_mutex_unlock(&fl->mu);
    hc_close(&c);
}

/* A batch that does not start at our LEO is not appended. */
static void test_follower_refuses_gap(void **state)
{
    (void)state;
    fake_leader_t *fl = fl_start();
    fl_add_batch(fl, 5, 2, 0);
    fl_set_hw(fl, 7);
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    lair_t0(&c, 2, 1, k_123, 3, fl->port);
    pump_until(fetched_at_0_times, 2, "a second fetch at 0");
    assert_int_equal(plog_end_offset(t0()->log), 0);
    assert_int_equal(t0()->hw, 0);
    assert_int_equal(plog_latest_epoch(t0()->log), -1);
    /* once the leader sends the batch at 0, it continues normally */
    pthread_mutex_lock(&fl->mu);
    free(fl->log);
    fl->log = NULL;
    fl->loglen = 0;
    pthread_mutex_unlock(&fl->mu);
    fl_add_batch(fl, 0, 5, 0);
    fl_add_batch(fl, 5, 2, 0);
    pump_until(leo_is, 7, "the follower to reach LEO 7");
    pump_until(hw_is, 7, "the follower HW to reach 7");
    hc_close(&c);
}

/* A batch with a bad CRC is not appended; good batches before it are. */
static void test_follower_refuses_bad_crc(void **state)
{
    (void)state;
    fake_leader_t *fl = fl_start();
    fl_add_batch(fl, 0, 3, 0);
    fl_add_batch(fl, 3, 2, 0);
    pthread_mutex_lock(&fl->mu);
    size_t first_len = (size_t)be32(fl->log + KBATCH_OFF_LENGTH) + KBATCH_LOG_OVERHEAD;
    fl->log[fl->loglen - 3] ^= 0x5a; /* a value byte of the second batch */
    pthread_mutex_unlock(&fl->mu);
    fl_set_hw(fl, 5);
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    lair_t0(&c, 2, 1, k_123, 3, fl->port);
    pump_until(leo_is, 3, "the good batch");
    pump_until(fetched_at_3_times, 3, "repeated fetches at 3");
    assert_int_equal(plog_end_offset(t0()->log), 3);
    assert_int_equal(t0()->hw, 3);
    uint8_t *got;
    size_t len;
    read_all(&got, &len);
    assert_int_equal(len, first_len);
    pthread_mutex_lock(&fl->mu);
    assert_memory_equal(got, fl->log, first_len);
    pthread_mutex_unlock(&fl->mu);
    free(got);
    hc_close(&c);
}

/* ------------------------------------------------------------------ */
/* 7. the leader lease                                                  */

/*
 * Without a ZooKeeper session (b->zk NULL, as here) there is nothing to
 * lose and the lease always holds.  The timing path (probes answered by a
 * real ensemble, expiry after 2/3 of the session timeout while the process
 * is paused or cut off) is covered by the fault tests (test/fault/
 * test_04_leader_pause.py, test_05_session_expiry.py); below, only the
 * arithmetic on zk_last_ok_ms and the refusals it causes are checked, with a
 * placeholder session pointer that none of these paths dereferences.
 */
static void test_lease(void **state)
{
    (void)state;
    assert_null(H.b.zk);
    assert_true(bk_lease_valid(&H.b));
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    pres_t p;
    produce(&c, 1, 1, &p);
    assert_int_equal(p.err, KERR_NONE);

    static char placeholder;
    H.b.zk = (zkc_t *)&placeholder;
    H.b.cfg.zookeeper_session_timeout_ms = 6000;
    H.b.zk_last_ok_ms = mono_ms() - 1000;
    assert_true(bk_lease_valid(&H.b));
    H.b.zk_last_ok_ms = mono_ms() - 4100; /* past 2/3 of 6000 */
    assert_false(bk_lease_valid(&H.b));
    produce(&c, 1, 1, &p);
    assert_int_equal(p.err, KERR_NOT_LEADER_OR_FOLLOWER);
    assert_int_equal(plog_end_offset(t0()->log), 1);
    fres_t f;
    fetch(&c, -1, -1, 0, &f);
    assert_int_equal(f.err, KERR_NOT_LEADER_OR_FOLLOWER);
    assert_int_equal(f.nrecords, 0);
    free(f.records);
    H.b.zk_last_ok_ms = mono_ms();
    produce(&c, 1, 1, &p);
    assert_int_equal(p.err, KERR_NONE);
    H.b.zk = NULL;
    hc_close(&c);
}

/* ------------------------------------------------------------------ */
/* regressions: follower positions, non-replica reads, log start        */

/* A replica fetch past the leader's LEO is out of range and must not count
 * as the follower holding everything up to the LEO (Kafka updates follower
 * state only after a successful read). */
static void test_pending_fetch_past_leo_is_not_progress(void **state)
{
    (void)state;
    hc_t cp, c2, c3;
    assert_int_equal(hc_connect(&H, &cp), 0);
    assert_int_equal(hc_connect(&H, &c2), 0);
    assert_int_equal(hc_connect(&H, &c3), 0);
    kwr_t req;
    produce_send(&cp, -1, 5000, 3, &req);
    expect_silence(&cp, 50);
    fres_t f;
    fetch(&c2, 2, 0, 100, &f);
    assert_int_equal(f.err, KERR_OFFSET_OUT_OF_RANGE);
    free(f.records);
    fetch(&c3, 3, 0, 100, &f);
    assert_int_equal(f.err, KERR_OFFSET_OUT_OF_RANGE);
    free(f.records);
    assert_int_equal(t0()->hw, 0);
    expect_silence(&cp, 100); /* nobody holds offsets 0..2 but the leader */
    kwr_free(&req);
    hc_close(&cp);
    hc_close(&c2);
    hc_close(&c3);
}

/* A ReplicaId that is not a replica of the partition must not read past the HW. */
static void test_pending_non_replica_reads_below_hw(void **state)
{
    (void)state;
    hc_t cp, c;
    assert_int_equal(hc_connect(&H, &cp), 0);
    assert_int_equal(hc_connect(&H, &c), 0);
    pres_t p;
    produce(&cp, 1, 3, &p);
    fres_t f;
    fetch(&c, 99, 0, 0, &f);
    assert_int_equal(t0()->hw, 0);
    assert_int_equal(f.nrecords, 0);
    free(f.records);
    hc_close(&cp);
    hc_close(&c);
}

static bool fetched_at_100(int64_t n) { return fl_count_fetches_at(g_fl, 100) >= n; }

/* A follower whose fetch offset is below the leader's log start (retention
 * ran while it was away, or a new replica) restarts its log at the leader's
 * log start (Kafka's truncateFullyAndStartAt) instead of looping. */
static void test_pending_follower_below_leader_log_start(void **state)
{
    (void)state;
    fake_leader_t *fl = fl_start();
    fl_add_batch(fl, 100, 2, 0);
    pthread_mutex_lock(&fl->mu);
    fl->log_start = 100;
    pthread_mutex_unlock(&fl->mu);
    fl_set_hw(fl, 102);
    fl_set_ofe(fl, 0, KERR_NONE, -1, -1);
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    lair_t0(&c, 2, 1, k_123, 3, fl->port);
    pump_until(fetched_at_100, 1, "a fetch at the leader's log start");
    pump_until(leo_is, 102, "the follower to reach LEO 102");
    assert_int_equal(plog_start_offset(t0()->log), 100);
    hc_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define L(fn) cmocka_unit_test_setup_teardown(fn, setup_leader, teardown)
#define F(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown_fl)
        L(test_acks_all_waits_for_followers),
        L(test_hw_is_min_and_monotonic),
        L(test_replica_long_poll_woken_by_produce),
        L(test_follower_poll_answered_on_leadership),
        L(test_follower_poll_missing_new_leadership_is_short),
        L(test_acks_all_times_out),
        L(test_not_enough_replicas),
        L(test_not_enough_replicas_after_append),
        L(test_leadership_moves_while_waiting),
        L(test_fetch_leader_epoch_fencing),
        L(test_offset_for_leader_epoch),
        L(test_offset_for_epoch_not_advertised),
        L(test_isr_never_shrunk_locally),
        L(test_isr_shrink_and_expand),
        L(test_isr_expansion_refused),
        L(test_isr_expansion_needs_current_epoch),
        F(test_follower_fetches_from_zero),
        F(test_follower_truncates_by_epoch),
        F(test_follower_truncates_same_epoch),
        F(test_follower_retries_epoch_race_soon),
        F(test_follower_refuses_gap),
        F(test_follower_refuses_bad_crc),
        cmocka_unit_test_setup_teardown(test_lease, setup, teardown),
        L(test_pending_fetch_past_leo_is_not_progress),
        L(test_pending_non_replica_reads_below_hw),
        F(test_pending_follower_below_leader_log_start),
#undef L
#undef F
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
