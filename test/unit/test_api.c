/*
 * test_api.c - the broker's request handling end to end over loopback: every
 * request/response shape the broker implements (ApiVersions, Metadata,
 * Produce, Fetch, ListOffsets, FindCoordinator, the admin APIs without a
 * controller, LeaderAndIsr/UpdateMetadata/StopReplica), parsed field by field
 * against the Kafka schemas; long polls and per-connection response order;
 * and hostile input (every truncation of every request, unknown APIs and
 * versions, bad frame sizes) answered by closing the connection.
 * DescribeConfigs is covered too (without ZooKeeper: defaults only).
 * Each test gets a fresh broker (api_harness.h) with topic "t", partition 0
 * led by broker 1, and no ZooKeeper.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "api_harness.h"
#include "group/offrec.h"
#include "batch.h"
#include "proto.h"
#include "wlog.h"

#define TMO 5000 /* ms to wait for any response that must come */

static hs_t H;
static int32_t g_corr = 100;

static int setup(void **state)
{
    (void)state;
    wlog_setup("test", WLOG_ERROR); /* thousands of deliberate closes below */
    return hs_open(&H);
}

static int teardown(void **state)
{
    (void)state;
    hs_close(&H);
    return 0;
}

/* ------------------------------------------------------------------ */
/* responses                                                            */

typedef struct resp {
    uint8_t *buf;
    size_t len;
    krd_t rd; /* positioned after the response header */
} resp_t;

/* Send req (header + body) and read its response (header v0). */
static void roundtrip(hc_t *c, const kwr_t *req, resp_t *r)
{
    assert_int_equal(hc_send(&H, c, req->buf, req->len), 0);
    int rc = hc_recv(&H, c, TMO, &r->buf, &r->len);
    assert_int_equal(rc, 1);
    assert_true(r->len >= 4);
    assert_int_equal(be32(r->buf), be32(req->buf + 4)); /* CorrelationId */
    krd_init(&r->rd, r->buf, r->len);
    r->rd.pos = 4;
}

/* The whole body was consumed, nothing more, nothing less. */
static void resp_done(resp_t *r)
{
    assert_false(r->rd.err);
    assert_int_equal(krd_remain(&r->rd), 0);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

static void expect_closed(hc_t *c)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = hc_recv(&H, c, TMO, &buf, &len);
    free(buf);
    assert_int_equal(rc, 0);
}

static bool str_is(kstr_t s, const char *c) { return s.len >= 0 && kstr_eq(s, c); }

/* ------------------------------------------------------------------ */
/* requests                                                             */

static void req_api_versions(kwr_t *w, int16_t v)
{
    hreq_begin(w, KAPI_API_VERSIONS, v, g_corr++, "apitest", v >= 3);
    if (v >= 3) {
        kwr_str(w, true, "apitest");
        kwr_str(w, true, "1.0");
        kwr_tags(w);
    }
}

/* topics: n names, or n == -1 for a null array. */
static void req_metadata(kwr_t *w, int16_t v, const char *const *topics, int n, bool allow_auto)
{
    hreq_begin(w, KAPI_METADATA, v, g_corr++, "apitest", false);
    kwr_array(w, false, n);
    for (int i = 0; i < n; i++)
        kwr_str(w, false, topics[i]);
    if (v >= 4)
        kwr_bool(w, allow_auto);
}

static void req_produce(kwr_t *w, int16_t v, int16_t acks, const char *topic, int32_t partition, const void *rec,
                        int32_t reclen)
{
    hreq_begin(w, KAPI_PRODUCE, v, g_corr++, "apitest", false);
    if (v >= 3)
        kwr_str(w, false, NULL); /* TransactionalId */
    kwr_i16(w, acks);
    kwr_i32(w, 5000);
    kwr_array(w, false, 1);
    kwr_str(w, false, topic);
    kwr_array(w, false, 1);
    kwr_i32(w, partition);
    kwr_bytes(w, false, rec, reclen);
}

typedef struct fetch_args {
    int32_t max_wait, min_bytes, max_bytes, part_max_bytes;
    int8_t isolation;
    const char *topic;
    int32_t partition;
    int64_t offset;
} fetch_args_t;

static void req_fetch(kwr_t *w, int16_t v, const fetch_args_t *a)
{
    hreq_begin(w, KAPI_FETCH, v, g_corr++, "apitest", false);
    kwr_i32(w, -1); /* ReplicaId: a consumer */
    kwr_i32(w, a->max_wait);
    kwr_i32(w, a->min_bytes);
    if (v >= 3)
        kwr_i32(w, a->max_bytes);
    if (v >= 4)
        kwr_i8(w, a->isolation);
    if (v >= 7) {
        kwr_i32(w, 0);  /* SessionId */
        kwr_i32(w, -1); /* SessionEpoch */
    }
    kwr_array(w, false, 1);
    kwr_str(w, false, a->topic);
    kwr_array(w, false, 1);
    kwr_i32(w, a->partition);
    if (v >= 9)
        kwr_i32(w, -1); /* CurrentLeaderEpoch */
    kwr_i64(w, a->offset);
    if (v >= 5)
        kwr_i64(w, -1); /* LogStartOffset */
    kwr_i32(w, a->part_max_bytes);
    if (v >= 7) {
        kwr_array(w, false, 1); /* ForgottenTopicsData */
        kwr_str(w, false, "gone");
        kwr_array(w, false, 2);
        kwr_i32(w, 0);
        kwr_i32(w, 1);
    }
    if (v >= 11)
        kwr_str(w, false, "rack-a");
}

static void req_list_offsets(kwr_t *w, int16_t v, const char *topic, int32_t partition, int64_t ts)
{
    hreq_begin(w, KAPI_LIST_OFFSETS, v, g_corr++, "apitest", false);
    kwr_i32(w, -1);
    if (v >= 2)
        kwr_i8(w, 0);
    kwr_array(w, false, 1);
    kwr_str(w, false, topic);
    kwr_array(w, false, 1);
    kwr_i32(w, partition);
    kwr_i64(w, ts);
    if (v == 0)
        kwr_i32(w, 1); /* MaxNumOffsets */
}

static void req_find_coordinator(kwr_t *w, int16_t v)
{
    hreq_begin(w, KAPI_FIND_COORDINATOR, v, g_corr++, "apitest", false);
    kwr_str(w, false, "group-1");
    if (v >= 1)
        kwr_i8(w, 0);
}

/* Two topics "a" (with a config) and "b" (with an explicit assignment). */
static void req_create_topics(kwr_t *w, int16_t v)
{
    hreq_begin(w, KAPI_CREATE_TOPICS, v, g_corr++, "apitest", false);
    kwr_array(w, false, 2);
    kwr_str(w, false, "a");
    kwr_i32(w, 3);
    kwr_i16(w, 1);
    kwr_array(w, false, 0);
    kwr_array(w, false, 1);
    kwr_str(w, false, "cleanup.policy");
    kwr_str(w, false, "compact");
    kwr_str(w, false, "b");
    kwr_i32(w, -1);
    kwr_i16(w, -1);
    kwr_array(w, false, 1);
    kwr_i32(w, 0);
    kwr_array(w, false, 1);
    kwr_i32(w, 1);
    kwr_array(w, false, 0);
    kwr_i32(w, 30000);
    if (v >= 1)
        kwr_bool(w, false);
}

static void req_delete_topics(kwr_t *w, int16_t v)
{
    hreq_begin(w, KAPI_DELETE_TOPICS, v, g_corr++, "apitest", false);
    kwr_array(w, false, 2);
    kwr_str(w, false, "a");
    kwr_str(w, false, "b");
    kwr_i32(w, 30000);
}

static void req_create_partitions(kwr_t *w, int16_t v)
{
    hreq_begin(w, KAPI_CREATE_PARTITIONS, v, g_corr++, "apitest", false);
    kwr_array(w, false, 2);
    kwr_str(w, false, "a");
    kwr_i32(w, 4);
    kwr_array(w, false, -1);
    kwr_str(w, false, "b");
    kwr_i32(w, 2);
    kwr_array(w, false, 1);
    kwr_array(w, false, 1);
    kwr_i32(w, 1);
    kwr_i32(w, 30000);
    kwr_bool(w, false);
}

static void req_lair(kwr_t *w, const ctl_state_t *s)
{
    hreq_begin(w, KAPI_LEADER_AND_ISR, CTL_LAIR_VERSION, g_corr++, "controller", false);
    ctl_lair_encode(w, s);
}

static void req_um(kwr_t *w, const ctl_state_t *s)
{
    hreq_begin(w, KAPI_UPDATE_METADATA, CTL_UM_VERSION, g_corr++, "controller", false);
    ctl_um_encode(w, s);
}

static void req_stop(kwr_t *w, const ctl_stop_t *s)
{
    hreq_begin(w, KAPI_STOP_REPLICA, CTL_STOP_VERSION, g_corr++, "controller", false);
    ctl_stop_encode(w, s);
}

/* One uncompressed batch of n records with timestamps ts0, ts0+1, ... */
static void make_batch(kwr_t *w, int n, int64_t ts0, int32_t value_len)
{
    krecord_in_t r[16];
    assert_true(n <= 16);
    uint8_t *val = malloc((size_t)value_len + 1);
    memset(val, 'v', (size_t)value_len + 1);
    for (int i = 0; i < n; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].key = "key";
        r[i].key_len = 3;
        r[i].value = val;
        r[i].value_len = value_len;
        r[i].timestamp = ts0 + i;
    }
    assert_int_equal(kbatch_build(w, 0, r, n), 0);
    free(val);
}

/* ------------------------------------------------------------------ */
/* ApiVersions                                                          */

typedef struct api_range {
    int16_t key, min, max;
} api_range_t;

static const api_range_t k_advertised[] = {
    {KAPI_PRODUCE, 0, 7},       {KAPI_FETCH, 0, 11},         {KAPI_LIST_OFFSETS, 0, 2},
    {KAPI_METADATA, 0, 4},      {KAPI_FIND_COORDINATOR, 0, 2}, {KAPI_API_VERSIONS, 0, 3},
    {KAPI_CREATE_TOPICS, 0, 4}, {KAPI_DELETE_TOPICS, 0, 3},  {KAPI_CREATE_PARTITIONS, 0, 1},
    {KAPI_DESCRIBE_CONFIGS, 0, 2},
    {KAPI_OFFSET_COMMIT, 0, 7}, {KAPI_OFFSET_FETCH, 0, 5},   {KAPI_JOIN_GROUP, 0, 5},
    {KAPI_HEARTBEAT, 0, 3},     {KAPI_LEAVE_GROUP, 0, 1},    {KAPI_SYNC_GROUP, 0, 3},
    {KAPI_DESCRIBE_GROUPS, 0, 4}, {KAPI_LIST_GROUPS, 0, 2},  {KAPI_DELETE_GROUPS, 0, 1},
    {KAPI_OFFSET_DELETE, 0, 0},
};

/* Parse an ApiVersions body of version v and check the table is exactly ours. */
static void check_api_versions_body(resp_t *r, int16_t v)
{
    bool flex = v >= 3;
    krd_t *rd = &r->rd;
    assert_int_equal(krd_i16(rd), KERR_NONE);
    int32_t n = krd_array(rd, flex, false, 6);
    assert_int_equal(n, (int32_t)ARRAY_LEN(k_advertised));
    bool seen[ARRAY_LEN(k_advertised)] = {false};
    for (int32_t i = 0; i < n; i++) {
        int16_t key = krd_i16(rd), min = krd_i16(rd), max = krd_i16(rd);
        if (flex)
            assert_int_equal(krd_uvarint(rd), 0); /* entry tags */
        size_t j = 0;
        while (j < ARRAY_LEN(k_advertised) && k_advertised[j].key != key)
            j++;
        assert_true(j < ARRAY_LEN(k_advertised)); /* nothing unexpected (no 4/5/6) */
        assert_false(seen[j]);
        seen[j] = true;
        assert_int_equal(min, k_advertised[j].min);
        assert_int_equal(max, k_advertised[j].max);
    }
    if (v >= 1)
        assert_int_equal(krd_i32(rd), 0); /* ThrottleTimeMs */
    if (flex)
        assert_int_equal(krd_uvarint(rd), 0);
    resp_done(r);
}

static void test_api_versions_v0_to_v3(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    for (int16_t v = 0; v <= 3; v++) {
        kwr_t w;
        kwr_init(&w, 64);
        req_api_versions(&w, v);
        resp_t r;
        roundtrip(&c, &w, &r);
        check_api_versions_body(&r, v);
        kwr_free(&w);
    }
    hc_close(&c);
}

/* The exact first frame kcat sends (kafka-protocol.md 1.1): header v2 with a
 * classic INT16 client id; the answer has a v0 header (no tag byte). */
static void test_api_versions_kcat_bytes(void **state)
{
    (void)state;
    static const uint8_t kcat[] = {0x00, 0x00, 0x00, 0x24, 0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00,
                                   0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a',  0x00, 0x0b, 'l',  'i',  'b',
                                   'r',  'd',  'k',  'a',  'f',  'k',  'a',  0x06, '2',  '.',  '0',  '.',  '2',
                                   0x00};
    assert_int_equal(sizeof kcat, 40);
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    assert_int_equal(hc_write(&H, &c, kcat, sizeof kcat), 0);
    resp_t r;
    assert_int_equal(hc_recv(&H, &c, TMO, &r.buf, &r.len), 1);
    /* 4 corr + 2 err + 1 count + 7 per entry + 4 throttle + 1 tags */
    assert_int_equal(r.len, 4 + 2 + 1 + ARRAY_LEN(k_advertised) * 7 + 4 + 1);
    assert_int_equal(be32(r.buf), 1);
    assert_int_equal(r.buf[4], 0); /* ErrorCode high byte right after the id: no header tags */
    assert_int_equal(r.buf[5], 0);
    assert_int_equal(r.buf[6], ARRAY_LEN(k_advertised) + 1); /* compact array: N + 1 */
    krd_init(&r.rd, r.buf, r.len);
    r.rd.pos = 4;
    check_api_versions_body(&r, 3);
    hc_close(&c);
}

static void test_api_versions_too_new(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    int16_t versions[] = {4, 127};
    for (size_t i = 0; i < ARRAY_LEN(versions); i++) {
        kwr_t w;
        kwr_init(&w, 64);
        /* a too-new request is flexible on the wire: header tags + compact strings */
        hreq_begin(&w, KAPI_API_VERSIONS, versions[i], g_corr++, "apitest", true);
        kwr_str(&w, true, "x");
        kwr_str(&w, true, "1");
        kwr_tags(&w);
        resp_t r;
        roundtrip(&c, &w, &r);
        /* v0-shaped: ErrorCode 35, INT32 array of one {18, 0, 3}, nothing else */
        assert_int_equal(r.len, 4 + 2 + 4 + 6);
        assert_int_equal(krd_i16(&r.rd), KERR_UNSUPPORTED_VERSION);
        assert_int_equal(krd_i32(&r.rd), 1);
        assert_int_equal(krd_i16(&r.rd), KAPI_API_VERSIONS);
        assert_int_equal(krd_i16(&r.rd), 0);
        assert_int_equal(krd_i16(&r.rd), 3);
        resp_done(&r);
        kwr_free(&w);
    }
    /* and the connection goes on: v0 next, as librdkafka falls back */
    kwr_t w;
    kwr_init(&w, 64);
    req_api_versions(&w, 0);
    resp_t r;
    roundtrip(&c, &w, &r);
    check_api_versions_body(&r, 0);
    kwr_free(&w);
    hc_close(&c);
}

/* ------------------------------------------------------------------ */
/* Metadata                                                             */

typedef struct md_part {
    int16_t err;
    int32_t index, leader, nrep, nisr;
    int32_t rep[8], isr[8];
} md_part_t;

typedef struct md_topic {
    int16_t err;
    char name[256];
    bool internal;
    int32_t nparts;
    md_part_t parts[8];
} md_topic_t;

typedef struct md {
    int32_t nbrokers;
    struct {
        int32_t id, port;
        char host[64];
        bool rack_null;
    } brokers[8];
    char cluster_id[64];
    bool cluster_null;
    int32_t controller;
    int32_t ntopics;
    md_topic_t topics[8];
} md_t;

static void copy_str(char *dst, size_t n, kstr_t s)
{
    assert_true(s.len >= 0 && (size_t)s.len < n);
    memcpy(dst, s.ptr, (size_t)s.len);
    dst[s.len] = 0;
}

static void read_ids(krd_t *rd, int32_t *out, int32_t *n)
{
    *n = krd_array(rd, false, false, 4);
    assert_true(*n >= 0 && *n <= 8);
    for (int32_t i = 0; i < *n; i++)
        out[i] = krd_i32(rd);
}

static void parse_metadata(resp_t *r, int16_t v, md_t *m)
{
    krd_t *rd = &r->rd;
    memset(m, 0, sizeof *m);
    if (v >= 3)
        assert_int_equal(krd_i32(rd), 0);
    m->nbrokers = krd_array(rd, false, false, 10);
    assert_true(m->nbrokers >= 0 && m->nbrokers <= 8);
    for (int32_t i = 0; i < m->nbrokers; i++) {
        m->brokers[i].id = krd_i32(rd);
        copy_str(m->brokers[i].host, sizeof m->brokers[i].host, krd_str(rd, false, false));
        m->brokers[i].port = krd_i32(rd);
        if (v >= 1)
            m->brokers[i].rack_null = krd_str(rd, false, true).len < 0;
    }
    if (v >= 2) {
        kstr_t cid = krd_str(rd, false, true);
        m->cluster_null = cid.len < 0;
        if (cid.len >= 0)
            copy_str(m->cluster_id, sizeof m->cluster_id, cid);
    }
    m->controller = v >= 1 ? krd_i32(rd) : -1;
    m->ntopics = krd_array(rd, false, false, 8);
    assert_true(m->ntopics >= 0 && m->ntopics <= 8);
    for (int32_t i = 0; i < m->ntopics; i++) {
        md_topic_t *t = &m->topics[i];
        t->err = krd_i16(rd);
        copy_str(t->name, sizeof t->name, krd_str(rd, false, false));
        if (v >= 1)
            t->internal = krd_bool(rd);
        t->nparts = krd_array(rd, false, false, 18);
        assert_true(t->nparts >= 0 && t->nparts <= 8);
        for (int32_t j = 0; j < t->nparts; j++) {
            md_part_t *p = &t->parts[j];
            p->err = krd_i16(rd);
            p->index = krd_i32(rd);
            p->leader = krd_i32(rd);
            read_ids(rd, p->rep, &p->nrep);
            read_ids(rd, p->isr, &p->nisr);
        }
    }
    resp_done(r);
}

static void metadata(hc_t *c, int16_t v, const char *const *topics, int n, bool allow_auto, md_t *m)
{
    kwr_t w;
    kwr_init(&w, 64);
    req_metadata(&w, v, topics, n, allow_auto);
    resp_t r;
    roundtrip(c, &w, &r);
    parse_metadata(&r, v, m);
    kwr_free(&w);
}

static void check_topic_t(const md_topic_t *t)
{
    assert_string_equal(t->name, "t");
    assert_int_equal(t->err, KERR_NONE);
    assert_false(t->internal);
    assert_int_equal(t->nparts, 1);
    assert_int_equal(t->parts[0].err, KERR_NONE);
    assert_int_equal(t->parts[0].index, 0);
    assert_int_equal(t->parts[0].leader, 1);
    assert_int_equal(t->parts[0].nrep, 1);
    assert_int_equal(t->parts[0].rep[0], 1);
    assert_int_equal(t->parts[0].nisr, 1);
    assert_int_equal(t->parts[0].isr[0], 1);
}

static void check_brokers(const md_t *m)
{
    assert_int_equal(m->nbrokers, 1);
    assert_int_equal(m->brokers[0].id, 1);
    assert_string_equal(m->brokers[0].host, "127.0.0.1");
    assert_int_equal(m->brokers[0].port, H.port);
}

static void test_metadata(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    md_t m;

    metadata(&c, 0, NULL, 0, true, &m); /* v0: [] = all topics */
    check_brokers(&m);
    assert_int_equal(m.ntopics, 1);
    check_topic_t(&m.topics[0]);

    metadata(&c, 1, NULL, -1, true, &m); /* v1: null = all */
    check_brokers(&m);
    assert_true(m.brokers[0].rack_null);
    assert_int_equal(m.controller, 1);
    assert_int_equal(m.ntopics, 1);
    check_topic_t(&m.topics[0]);

    metadata(&c, 1, NULL, 0, true, &m); /* v1: [] = none (brokers only) */
    check_brokers(&m);
    assert_int_equal(m.ntopics, 0);

    metadata(&c, 2, NULL, -1, true, &m);
    assert_false(m.cluster_null);
    assert_string_equal(m.cluster_id, "apitest-cluster-id-001");
    assert_int_equal(m.controller, 1);

    const char *names[] = {"t", "nosuch", "bad/name", ".."};
    metadata(&c, 3, names, 4, true, &m);
    assert_int_equal(m.ntopics, 4);
    check_topic_t(&m.topics[0]);
    assert_string_equal(m.topics[1].name, "nosuch");
    assert_int_equal(m.topics[1].err, KERR_UNKNOWN_TOPIC_OR_PARTITION); /* auto-create disabled */
    assert_int_equal(m.topics[1].nparts, 0);
    assert_int_equal(m.topics[2].err, KERR_INVALID_TOPIC_EXCEPTION);
    assert_string_equal(m.topics[2].name, "bad/name");
    assert_int_equal(m.topics[3].err, KERR_INVALID_TOPIC_EXCEPTION);

    metadata(&c, 4, names + 1, 1, false, &m);
    assert_int_equal(m.controller, 1);
    assert_string_equal(m.cluster_id, "apitest-cluster-id-001");
    assert_int_equal(m.ntopics, 1);
    assert_string_equal(m.topics[0].name, "nosuch");
    assert_int_equal(m.topics[0].err, KERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_false(m.topics[0].internal);
    hc_close(&c);
}

/* ------------------------------------------------------------------ */
/* Produce                                                              */

typedef struct pres {
    int16_t err;
    int64_t base, append_time, log_start;
} pres_t;

static void parse_produce(resp_t *r, int16_t v, const char *topic, int32_t partition, pres_t *p)
{
    krd_t *rd = &r->rd;
    assert_int_equal(krd_array(rd, false, false, 6), 1);
    assert_true(str_is(krd_str(rd, false, false), topic));
    assert_int_equal(krd_array(rd, false, false, 14), 1);
    assert_int_equal(krd_i32(rd), partition);
    p->err = krd_i16(rd);
    p->base = krd_i64(rd);
    p->append_time = v >= 2 ? krd_i64(rd) : -99;
    p->log_start = v >= 5 ? krd_i64(rd) : -99;
    if (v >= 1)
        assert_int_equal(krd_i32(rd), 0); /* ThrottleTimeMs */
    resp_done(r);
}

static void produce(hc_t *c, int16_t v, int16_t acks, const char *topic, int32_t partition, const void *rec,
                    int32_t len, pres_t *p)
{
    kwr_t w;
    kwr_init(&w, 256);
    req_produce(&w, v, acks, topic, partition, rec, len);
    resp_t r;
    roundtrip(c, &w, &r);
    parse_produce(&r, v, topic, partition, p);
    kwr_free(&w);
}

/* Produce a fresh n-record batch to t-0 and return its base offset. */
static int64_t produce_n(hc_t *c, int16_t v, int n, int64_t ts0)
{
    kwr_t b;
    kwr_init(&b, 256);
    make_batch(&b, n, ts0, 10);
    pres_t p;
    produce(c, v, 1, "t", 0, b.buf, (int32_t)b.len, &p);
    kwr_free(&b);
    assert_int_equal(p.err, KERR_NONE);
    return p.base;
}

static bpart_t *t0(void) { return bpart_get(&H.b, "t", 1, 0); }

static void test_produce_versions(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    kwr_t b;
    kwr_init(&b, 256);
    make_batch(&b, 3, 1000, 10);
    pres_t p;
    produce(&c, 3, 1, "t", 0, b.buf, (int32_t)b.len, &p);
    assert_int_equal(p.err, KERR_NONE);
    assert_int_equal(p.base, 0);
    assert_int_equal(p.append_time, -1);
    produce(&c, 5, -1, "t", 0, b.buf, (int32_t)b.len, &p);
    assert_int_equal(p.err, KERR_NONE);
    assert_int_equal(p.base, 3);
    assert_int_equal(p.append_time, -1);
    assert_int_equal(p.log_start, 0);
    produce(&c, 7, 1, "t", 0, b.buf, (int32_t)b.len, &p);
    assert_int_equal(p.err, KERR_NONE);
    assert_int_equal(p.base, 6);
    assert_int_equal(p.append_time, -1);
    assert_int_equal(p.log_start, 0);
    assert_int_equal(plog_end_offset(t0()->log), 9);
    assert_int_equal(t0()->hw, 9);

    /* legacy versions: shape of their version, UNSUPPORTED_VERSION, nothing appended */
    for (int16_t v = 0; v <= 2; v++) {
        produce(&c, v, 1, "t", 0, b.buf, (int32_t)b.len, &p);
        assert_int_equal(p.err, KERR_UNSUPPORTED_VERSION);
        assert_int_equal(p.base, -1);
        if (v == 2)
            assert_int_equal(p.append_time, -1);
    }
    assert_int_equal(plog_end_offset(t0()->log), 9);
    kwr_free(&b);
    hc_close(&c);
}

static void test_produce_acks0(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    kwr_t b, w;
    kwr_init(&b, 256);
    kwr_init(&w, 256);
    make_batch(&b, 2, 1000, 10);
    req_produce(&w, 7, 0, "t", 0, b.buf, (int32_t)b.len);
    assert_int_equal(hc_send(&H, &c, w.buf, w.len), 0);
    /* The next response on the connection is the Metadata one. */
    md_t m;
    metadata(&c, 1, NULL, -1, true, &m);
    assert_int_equal(m.ntopics, 1);
    assert_int_equal(plog_end_offset(t0()->log), 2);
    /* acks=0 with an error is silent too. */
    kwr_reset(&w);
    req_produce(&w, 7, 0, "t", 9, b.buf, (int32_t)b.len);
    assert_int_equal(hc_send(&H, &c, w.buf, w.len), 0);
    metadata(&c, 1, NULL, 0, true, &m);
    assert_int_equal(m.ntopics, 0);
    kwr_free(&b);
    kwr_free(&w);
    hc_close(&c);
}

static void test_produce_errors(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    kwr_t b;
    kwr_init(&b, 256);
    make_batch(&b, 2, 1000, 10);
    pres_t p;

    produce(&c, 7, 2, "t", 0, b.buf, (int32_t)b.len, &p);
    assert_int_equal(p.err, KERR_INVALID_REQUIRED_ACKS);
    assert_int_equal(p.base, -1);

    uint8_t *bad = malloc(b.len);
    memcpy(bad, b.buf, b.len);
    bad[b.len - 1] ^= 0x01; /* a payload byte: the CRC no longer matches */
    produce(&c, 7, 1, "t", 0, bad, (int32_t)b.len, &p);
    assert_int_equal(p.err, KERR_CORRUPT_MESSAGE);
    free(bad);

    produce(&c, 7, 1, "t", 1, b.buf, (int32_t)b.len, &p);
    assert_int_equal(p.err, KERR_UNKNOWN_TOPIC_OR_PARTITION);
    produce(&c, 3, 1, "nosuch", 0, b.buf, (int32_t)b.len, &p);
    assert_int_equal(p.err, KERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(p.base, -1);
    produce(&c, 3, 1, "bad name", 0, b.buf, (int32_t)b.len, &p);
    assert_int_equal(p.err, KERR_INVALID_TOPIC_EXCEPTION);

    kwr_t big;
    kwr_init(&big, 2 << 20);
    make_batch(&big, 1, 1000, 1048588); /* one value as big as message.max.bytes */
    assert_true(big.len > 1048588);
    produce(&c, 7, 1, "t", 0, big.buf, (int32_t)big.len, &p);
    assert_int_equal(p.err, KERR_MESSAGE_TOO_LARGE);
    kwr_free(&big);

    t0()->min_insync = 2;
    produce(&c, 7, -1, "t", 0, b.buf, (int32_t)b.len, &p);
    assert_int_equal(p.err, KERR_NOT_ENOUGH_REPLICAS);
    produce(&c, 7, 1, "t", 0, b.buf, (int32_t)b.len, &p); /* acks=1 does not care */
    assert_int_equal(p.err, KERR_NONE);
    assert_int_equal(p.base, 0);
    assert_int_equal(plog_end_offset(t0()->log), 2); /* only the last one was appended */
    kwr_free(&b);
    hc_close(&c);
}

/* ------------------------------------------------------------------ */
/* Fetch                                                                */

typedef struct fres {
    int16_t top_err;
    int16_t err;
    int64_t hw, lso, log_start;
    int32_t naborted, preferred;
    const uint8_t *records;
    int32_t nrecords;
} fres_t;

/* Parse a one-partition Fetch response; records point into r (free later). */
static void parse_fetch(resp_t *r, int16_t v, const char *topic, int32_t partition, fres_t *f)
{
    krd_t *rd = &r->rd;
    memset(f, 0, sizeof *f);
    if (v >= 1)
        assert_int_equal(krd_i32(rd), 0);
    if (v >= 7) {
        f->top_err = krd_i16(rd);
        assert_int_equal(krd_i32(rd), 0); /* SessionId */
    }
    assert_int_equal(krd_array(rd, false, false, 6), 1);
    assert_true(str_is(krd_str(rd, false, false), topic));
    assert_int_equal(krd_array(rd, false, false, 14), 1);
    assert_int_equal(krd_i32(rd), partition);
    f->err = krd_i16(rd);
    f->hw = krd_i64(rd);
    f->lso = v >= 4 ? krd_i64(rd) : -99;
    f->log_start = v >= 5 ? krd_i64(rd) : -99;
    f->naborted = v >= 4 ? krd_array(rd, false, true, 16) : -99;
    for (int32_t i = 0; i < f->naborted; i++)
        krd_skip(rd, 16);
    f->preferred = v >= 11 ? krd_i32(rd) : -99;
    kstr_t rec = krd_bytes(rd, false, true);
    f->records = rec.ptr;
    f->nrecords = rec.len;
    assert_false(rd->err);
    assert_int_equal(krd_remain(rd), 0);
}

/* The stored copy of a produced batch differs only in BaseOffset and
 * PartitionLeaderEpoch. */
static void expect_batch(const uint8_t *got, const kwr_t *produced, int64_t base, int32_t epoch)
{
    uint8_t *exp = malloc(produced->len);
    memcpy(exp, produced->buf, produced->len);
    put_be64(exp + KBATCH_OFF_BASE_OFFSET, base);
    put_be32(exp + KBATCH_OFF_LEADER_EPOCH, epoch);
    assert_memory_equal(got, exp, produced->len);
    free(exp);
}

static void test_fetch_returns_batches(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    /* a leader epoch other than the producer's 0, so the rewrite shows */
    bpart_t *p = t0();
    p->leader_epoch = 3;
    assert_int_equal(plog_epoch_assign(p->log, 3, 0), 0);
    kwr_t b1, b2;
    kwr_init(&b1, 256);
    kwr_init(&b2, 256);
    make_batch(&b1, 3, 1000, 20);
    make_batch(&b2, 2, 2000, 30);
    pres_t pr;
    produce(&c, 7, 1, "t", 0, b1.buf, (int32_t)b1.len, &pr);
    assert_int_equal(pr.base, 0);
    produce(&c, 7, 1, "t", 0, b2.buf, (int32_t)b2.len, &pr);
    assert_int_equal(pr.base, 3);

    int16_t versions[] = {4, 5, 7, 11};
    for (size_t i = 0; i < ARRAY_LEN(versions); i++) {
        int16_t v = versions[i];
        fetch_args_t a = {.max_wait = 100, .min_bytes = 1, .max_bytes = 1 << 20, .part_max_bytes = 1 << 20,
                          .topic = "t", .partition = 0, .offset = 0};
        kwr_t w;
        kwr_init(&w, 128);
        req_fetch(&w, v, &a);
        resp_t r;
        roundtrip(&c, &w, &r);
        fres_t f;
        parse_fetch(&r, v, "t", 0, &f);
        if (v >= 7)
            assert_int_equal(f.top_err, KERR_NONE);
        assert_int_equal(f.err, KERR_NONE);
        assert_int_equal(f.hw, 5);
        assert_int_equal(f.lso, 5);
        if (v >= 5)
            assert_int_equal(f.log_start, 0);
        assert_int_equal(f.naborted, -1); /* read_uncommitted: null */
        if (v >= 11)
            assert_int_equal(f.preferred, -1);
        assert_int_equal(f.nrecords, (int32_t)(b1.len + b2.len));
        expect_batch(f.records, &b1, 0, 3);
        expect_batch(f.records + b1.len, &b2, 3, 3);
        free(r.buf);
        kwr_free(&w);
    }

    /* from the middle of the first batch: that whole batch comes back */
    fetch_args_t a = {.max_wait = 0, .min_bytes = 0, .max_bytes = 1 << 20, .part_max_bytes = 1 << 20,
                      .isolation = 1, .topic = "t", .partition = 0, .offset = 1};
    kwr_t w;
    kwr_init(&w, 128);
    req_fetch(&w, 4, &a);
    resp_t r;
    roundtrip(&c, &w, &r);
    fres_t f;
    parse_fetch(&r, 4, "t", 0, &f);
    assert_int_equal(f.naborted, 0); /* read_committed: empty list */
    assert_int_equal(f.nrecords, (int32_t)(b1.len + b2.len));
    expect_batch(f.records, &b1, 0, 3);
    free(r.buf);
    /* at the HW: nothing yet, no error */
    kwr_reset(&w);
    a.offset = 5;
    req_fetch(&w, 11, &a);
    roundtrip(&c, &w, &r);
    parse_fetch(&r, 11, "t", 0, &f);
    assert_int_equal(f.err, KERR_NONE);
    assert_int_equal(f.nrecords, 0);
    free(r.buf);
    kwr_free(&w);
    kwr_free(&b1);
    kwr_free(&b2);
    hc_close(&c);
}

static void test_fetch_long_poll_times_out(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    produce_n(&c, 7, 2, 1000);
    fetch_args_t a = {.max_wait = 200, .min_bytes = 1, .max_bytes = 1 << 20, .part_max_bytes = 1 << 20,
                      .topic = "t", .partition = 0, .offset = 2};
    kwr_t w;
    kwr_init(&w, 128);
    req_fetch(&w, 11, &a);
    int64_t t_start = mono_ms();
    resp_t r;
    roundtrip(&c, &w, &r);
    int64_t took = mono_ms() - t_start;
    assert_true(took >= 190);
    assert_true(took < 1500);
    fres_t f;
    parse_fetch(&r, 11, "t", 0, &f);
    assert_int_equal(f.err, KERR_NONE);
    assert_int_equal(f.hw, 2);
    assert_int_equal(f.nrecords, 0);
    free(r.buf);
    kwr_free(&w);
    hc_close(&c);
}

static void test_fetch_long_poll_woken_by_produce(void **state)
{
    (void)state;
    hc_t c, pc;
    assert_int_equal(hc_connect(&H, &c), 0);
    assert_int_equal(hc_connect(&H, &pc), 0);
    fetch_args_t a = {.max_wait = 5000, .min_bytes = 1, .max_bytes = 1 << 20, .part_max_bytes = 1 << 20,
                      .topic = "t", .partition = 0, .offset = 0};
    kwr_t w;
    kwr_init(&w, 128);
    req_fetch(&w, 11, &a);
    int64_t t_start = mono_ms();
    assert_int_equal(hc_send(&H, &c, w.buf, w.len), 0);
    hs_run_for(&H, 100);
    uint8_t *buf;
    size_t len;
    assert_int_equal(hc_recv(&H, &c, 0, &buf, &len), -1); /* still waiting */

    kwr_t b;
    kwr_init(&b, 256);
    make_batch(&b, 4, 1000, 10);
    pres_t pr;
    produce(&pc, 7, 1, "t", 0, b.buf, (int32_t)b.len, &pr);
    assert_int_equal(pr.err, KERR_NONE);

    resp_t r;
    assert_int_equal(hc_recv(&H, &c, TMO, &r.buf, &r.len), 1);
    assert_true(mono_ms() - t_start < 2000);
    assert_int_equal(be32(r.buf), be32(w.buf + 4));
    krd_init(&r.rd, r.buf, r.len);
    r.rd.pos = 4;
    fres_t f;
    parse_fetch(&r, 11, "t", 0, &f);
    assert_int_equal(f.err, KERR_NONE);
    assert_int_equal(f.hw, 4);
    assert_int_equal(f.nrecords, (int32_t)b.len);
    expect_batch(f.records, &b, 0, 0);
    free(r.buf);
    kwr_free(&b);
    kwr_free(&w);
    hc_close(&c);
    hc_close(&pc);
}

static void test_fetch_out_of_range(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    produce_n(&c, 7, 2, 1000);
    int64_t offsets[] = {3, 1000, -5};
    for (size_t i = 0; i < ARRAY_LEN(offsets); i++) {
        fetch_args_t a = {.max_wait = 1000, .min_bytes = 1, .max_bytes = 1 << 20, .part_max_bytes = 1 << 20,
                          .topic = "t", .partition = 0, .offset = offsets[i]};
        kwr_t w;
        kwr_init(&w, 128);
        req_fetch(&w, 7, &a);
        int64_t t_start = mono_ms();
        resp_t r;
        roundtrip(&c, &w, &r);
        assert_true(mono_ms() - t_start < 500); /* an error answers at once */
        fres_t f;
        parse_fetch(&r, 7, "t", 0, &f);
        assert_int_equal(f.err, KERR_OFFSET_OUT_OF_RANGE);
        assert_int_equal(f.hw, 2);
        assert_int_equal(f.log_start, 0);
        assert_int_equal(f.nrecords, 0);
        free(r.buf);
        kwr_free(&w);
    }
    /* unknown partition / topic */
    const char *topics[] = {"t", "nosuch"};
    int32_t parts[] = {7, 0};
    for (int i = 0; i < 2; i++) {
        fetch_args_t a = {.max_wait = 1000, .min_bytes = 1, .max_bytes = 1 << 20, .part_max_bytes = 1 << 20,
                          .topic = topics[i], .partition = parts[i], .offset = 0};
        kwr_t w;
        kwr_init(&w, 128);
        req_fetch(&w, 11, &a);
        resp_t r;
        roundtrip(&c, &w, &r);
        fres_t f;
        parse_fetch(&r, 11, topics[i], parts[i], &f);
        assert_int_equal(f.err, KERR_UNKNOWN_TOPIC_OR_PARTITION);
        assert_int_equal(f.hw, -1);
        assert_int_equal(f.nrecords, 0);
        free(r.buf);
        kwr_free(&w);
    }
    hc_close(&c);
}

static void test_fetch_max_bytes_first_batch_whole(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    kwr_t b1, b2;
    kwr_init(&b1, 256);
    kwr_init(&b2, 256);
    make_batch(&b1, 2, 1000, 200);
    make_batch(&b2, 2, 2000, 200);
    pres_t pr;
    produce(&c, 7, 1, "t", 0, b1.buf, (int32_t)b1.len, &pr);
    produce(&c, 7, 1, "t", 0, b2.buf, (int32_t)b2.len, &pr);
    int32_t limits[][2] = {{10, 1 << 20}, {1 << 20, 10}, {10, 10}, {0, 0}};
    for (size_t i = 0; i < ARRAY_LEN(limits); i++) {
        fetch_args_t a = {.max_wait = 0, .min_bytes = 1, .max_bytes = limits[i][0], .part_max_bytes = limits[i][1],
                          .topic = "t", .partition = 0, .offset = 0};
        kwr_t w;
        kwr_init(&w, 128);
        req_fetch(&w, 11, &a);
        resp_t r;
        roundtrip(&c, &w, &r);
        fres_t f;
        parse_fetch(&r, 11, "t", 0, &f);
        assert_int_equal(f.err, KERR_NONE);
        assert_int_equal(f.nrecords, (int32_t)b1.len); /* exactly the first batch, whole */
        expect_batch(f.records, &b1, 0, 0);
        free(r.buf);
        kwr_free(&w);
    }
    kwr_free(&b1);
    kwr_free(&b2);
    hc_close(&c);
}

static void test_fetch_response_order(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    fetch_args_t a = {.max_wait = 300, .min_bytes = 1, .max_bytes = 1 << 20, .part_max_bytes = 1 << 20,
                      .topic = "t", .partition = 0, .offset = 0};
    kwr_t w;
    kwr_init(&w, 256);
    req_fetch(&w, 11, &a);
    int32_t fetch_corr = be32(w.buf + 4);
    size_t fetch_len = w.len;
    req_metadata(&w, 1, NULL, -1, true); /* appended: both frames in one write */
    int32_t md_corr = be32(w.buf + fetch_len + 4);
    uint8_t sz[4];
    put_be32(sz, (int32_t)fetch_len);
    assert_int_equal(hc_write(&H, &c, sz, 4), 0);
    assert_int_equal(hc_write(&H, &c, w.buf, fetch_len), 0);
    put_be32(sz, (int32_t)(w.len - fetch_len));
    assert_int_equal(hc_write(&H, &c, sz, 4), 0);
    assert_int_equal(hc_write(&H, &c, w.buf + fetch_len, w.len - fetch_len), 0);
    int64_t t_start = mono_ms();
    resp_t r;
    assert_int_equal(hc_recv(&H, &c, TMO, &r.buf, &r.len), 1);
    assert_int_equal(be32(r.buf), fetch_corr);
    assert_true(mono_ms() - t_start >= 250);
    free(r.buf);
    assert_int_equal(hc_recv(&H, &c, TMO, &r.buf, &r.len), 1);
    assert_int_equal(be32(r.buf), md_corr);
    krd_init(&r.rd, r.buf, r.len);
    r.rd.pos = 4;
    md_t m;
    parse_metadata(&r, 1, &m);
    assert_int_equal(m.ntopics, 1);
    kwr_free(&w);
    hc_close(&c);
}

/* ------------------------------------------------------------------ */
/* ListOffsets                                                          */

typedef struct lres {
    int16_t err;
    int64_t ts, offset;
    int32_t noffsets; /* v0 */
} lres_t;

static void list_offsets(hc_t *c, int16_t v, const char *topic, int32_t partition, int64_t ts, lres_t *l)
{
    kwr_t w;
    kwr_init(&w, 128);
    req_list_offsets(&w, v, topic, partition, ts);
    resp_t r;
    roundtrip(c, &w, &r);
    krd_t *rd = &r.rd;
    memset(l, 0, sizeof *l);
    if (v >= 2)
        assert_int_equal(krd_i32(rd), 0);
    assert_int_equal(krd_array(rd, false, false, 6), 1);
    assert_true(str_is(krd_str(rd, false, false), topic));
    assert_int_equal(krd_array(rd, false, false, 6), 1);
    assert_int_equal(krd_i32(rd), partition);
    l->err = krd_i16(rd);
    if (v == 0) {
        l->ts = -1;
        l->noffsets = krd_array(rd, false, false, 8);
        assert_true(l->noffsets == 0 || l->noffsets == 1);
        l->offset = l->noffsets ? krd_i64(rd) : -1;
    } else {
        l->ts = krd_i64(rd);
        l->offset = krd_i64(rd);
    }
    resp_done(&r);
    kwr_free(&w);
}

static void test_list_offsets(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    lres_t l;
    list_offsets(&c, 1, "t", 0, KTS_LATEST, &l); /* empty log */
    assert_int_equal(l.err, KERR_NONE);
    assert_int_equal(l.offset, 0);
    list_offsets(&c, 1, "t", 0, 1000, &l);
    assert_int_equal(l.offset, -1);
    assert_int_equal(l.ts, -1);

    assert_int_equal(produce_n(&c, 7, 3, 1000), 0); /* offsets 0-2 at 1000..1002 */
    assert_int_equal(produce_n(&c, 7, 1, 2000), 3);
    assert_int_equal(produce_n(&c, 7, 2, 3000), 4); /* 4-5 at 3000, 3001 */

    for (int16_t v = 0; v <= 2; v++) {
        list_offsets(&c, v, "t", 0, KTS_EARLIEST, &l);
        assert_int_equal(l.err, KERR_NONE);
        assert_int_equal(l.offset, 0);
        list_offsets(&c, v, "t", 0, KTS_LATEST, &l);
        assert_int_equal(l.err, KERR_NONE);
        assert_int_equal(l.offset, 6);
        if (v == 0)
            assert_int_equal(l.noffsets, 1);
        else
            assert_int_equal(l.ts, -1);
    }
    struct {
        int64_t target, offset, ts;
    } cases[] = {
        {0, 0, 1000},     {1000, 0, 1000}, {1001, 1, 1001},  {1002, 2, 1002}, {1003, 3, 2000},
        {1500, 3, 2000},  {2000, 3, 2000}, {2001, 4, 3000},  {3001, 5, 3001}, {3002, -1, -1},
    };
    for (int16_t v = 1; v <= 2; v++) {
        for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
            list_offsets(&c, v, "t", 0, cases[i].target, &l);
            assert_int_equal(l.err, KERR_NONE);
            assert_int_equal(l.offset, cases[i].offset);
            assert_int_equal(l.ts, cases[i].ts);
        }
    }
    list_offsets(&c, 0, "t", 0, 1001, &l);
    assert_int_equal(l.err, KERR_NONE);
    assert_int_equal(l.noffsets, 1);
    list_offsets(&c, 0, "t", 0, 5000, &l);
    assert_int_equal(l.noffsets, 0);

    list_offsets(&c, 2, "t", 4, KTS_LATEST, &l);
    assert_int_equal(l.err, KERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(l.offset, -1);
    list_offsets(&c, 0, "nosuch", 0, KTS_LATEST, &l);
    assert_int_equal(l.err, KERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(l.noffsets, 0);
    hc_close(&c);
}

/* ------------------------------------------------------------------ */
/* FindCoordinator and the admin APIs                                   */

static void test_find_coordinator(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    for (int16_t v = 0; v <= 2; v++) {
        kwr_t w;
        kwr_init(&w, 64);
        req_find_coordinator(&w, v);
        resp_t r;
        roundtrip(&c, &w, &r);
        krd_t *rd = &r.rd;
        if (v >= 1)
            assert_int_equal(krd_i32(rd), 0);
        assert_int_equal(krd_i16(rd), KERR_COORDINATOR_NOT_AVAILABLE);
        if (v >= 1)
            (void)krd_str(rd, false, true); /* ErrorMessage */
        assert_int_equal(krd_i32(rd), -1);
        (void)krd_str(rd, false, false);
        assert_int_equal(krd_i32(rd), -1);
        resp_done(&r);
        kwr_free(&w);
    }
    /* With __consumer_offsets in the metadata, the coordinator of "group-1"
     * is the leader of its partition: broker 1 when it leads, nobody (15)
     * when that partition is leaderless. */
    for (int leaderless = 0; leaderless <= 1; leaderless++) {
        static char topic[] = "__consumer_offsets", host[] = "127.0.0.1";
        int32_t part = offrec_partition_for("group-1", 7, 3), one = 1;
        ctl_part_t parts[3];
        for (int32_t i = 0; i < 3; i++)
            parts[i] = (ctl_part_t){.topic = topic, .partition = i, .leader = leaderless && i == part ? -1 : 1,
                                    .isr = &one, .nisr = 1, .replicas = &one, .nreplicas = 1};
        ctl_node_t node = {.id = 1, .host = host, .port = H.b.adv_port};
        ctl_state_t st = {.controller_id = 1, .parts = parts, .nparts = 3, .nodes = &node, .nnodes = 1};
        meta_apply(&H.b.meta, &st);
        for (int16_t v = 0; v <= 2; v++) {
            kwr_t w;
            kwr_init(&w, 64);
            req_find_coordinator(&w, v);
            resp_t r;
            roundtrip(&c, &w, &r);
            krd_t *rd = &r.rd;
            if (v >= 1)
                assert_int_equal(krd_i32(rd), 0);
            assert_int_equal(krd_i16(rd), leaderless ? KERR_COORDINATOR_NOT_AVAILABLE : KERR_NONE);
            if (v >= 1)
                (void)krd_str(rd, false, true);
            assert_int_equal(krd_i32(rd), leaderless ? -1 : 1);
            assert_true(str_is(krd_str(rd, false, false), leaderless ? "" : "127.0.0.1"));
            assert_int_equal(krd_i32(rd), leaderless ? -1 : H.b.adv_port);
            assert_int_equal(krd_remain(rd), 0);
            resp_done(&r);
            kwr_free(&w);
        }
    }
    hs_meta_reset(&H);
    hc_close(&c);
}

/* Both topics "a" and "b" answered NOT_CONTROLLER in the version's shape. */
static void check_admin_resp(resp_t *r, int16_t key, int16_t v)
{
    krd_t *rd = &r->rd;
    bool throttle = key == KAPI_CREATE_TOPICS ? v >= 2 : key == KAPI_DELETE_TOPICS ? v >= 1 : true;
    bool message = key == KAPI_CREATE_TOPICS ? v >= 1 : key == KAPI_CREATE_PARTITIONS;
    if (throttle)
        assert_int_equal(krd_i32(rd), 0);
    assert_int_equal(krd_array(rd, false, false, 4), 2);
    const char *names[] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        assert_true(str_is(krd_str(rd, false, false), names[i]));
        assert_int_equal(krd_i16(rd), KERR_NOT_CONTROLLER);
        if (message)
            (void)krd_str(rd, false, true);
    }
    resp_done(r);
}

static void test_admin_not_controller(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    struct {
        int16_t key, max;
        void (*build)(kwr_t *, int16_t);
    } apis[] = {
        {KAPI_CREATE_TOPICS, 4, req_create_topics},
        {KAPI_DELETE_TOPICS, 3, req_delete_topics},
        {KAPI_CREATE_PARTITIONS, 1, req_create_partitions},
    };
    for (size_t i = 0; i < ARRAY_LEN(apis); i++) {
        for (int16_t v = 0; v <= apis[i].max; v++) {
            kwr_t w;
            kwr_init(&w, 128);
            apis[i].build(&w, v);
            resp_t r;
            roundtrip(&c, &w, &r);
            check_admin_resp(&r, apis[i].key, v);
            kwr_free(&w);
        }
    }
    hc_close(&c);
}

/* DescribeConfigs: resources of (type, name, keys or NULL = all). */
typedef struct dc_res {
    int8_t type;
    const char *name;
    const char *const *keys;
    int nkeys; /* -1 = null (all) */
} dc_res_t;

static void req_describe_configs(kwr_t *w, int16_t v, const dc_res_t *res, int n)
{
    hreq_begin(w, KAPI_DESCRIBE_CONFIGS, v, g_corr++, "apitest", false);
    kwr_array(w, false, n);
    for (int i = 0; i < n; i++) {
        kwr_i8(w, res[i].type);
        kwr_str(w, false, res[i].name);
        kwr_array(w, false, res[i].nkeys);
        for (int k = 0; k < res[i].nkeys; k++)
            kwr_str(w, false, res[i].keys[k]);
    }
    if (v >= 1)
        kwr_bool(w, true); /* IncludeSynonyms, as librdkafka asks */
}

typedef struct dc_out {
    int16_t err;
    int32_t nconfigs;
    char value[64]; /* of the first config */
    char name[64];
    int8_t source;  /* v1+; v0: 5 if IsDefault else 4 */
} dc_out_t;

static void parse_describe_configs(resp_t *r, int16_t v, const dc_res_t *res, int n, dc_out_t *out)
{
    krd_t *rd = &r->rd;
    assert_int_equal(krd_i32(rd), 0);
    assert_int_equal(krd_array(rd, false, false, 8), n);
    for (int i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].err = krd_i16(rd);
        (void)krd_str(rd, false, true); /* ErrorMessage */
        assert_int_equal(krd_i8(rd), res[i].type);
        assert_true(str_is(krd_str(rd, false, false), res[i].name));
        out[i].nconfigs = krd_array(rd, false, false, 7);
        assert_true(out[i].nconfigs >= 0);
        for (int32_t k = 0; k < out[i].nconfigs; k++) {
            kstr_t name = krd_str(rd, false, false);
            kstr_t value = krd_str(rd, false, true);
            assert_false(krd_bool(rd)); /* ReadOnly */
            int8_t source = v == 0 ? (krd_bool(rd) ? 5 : 4) : krd_i8(rd);
            assert_false(krd_bool(rd)); /* IsSensitive */
            if (v >= 1) {
                int32_t ns = krd_array(rd, false, false, 5);
                for (int32_t j = 0; j < ns && !rd->err; j++) {
                    (void)krd_str(rd, false, false);
                    (void)krd_str(rd, false, true);
                    (void)krd_i8(rd);
                }
            }
            if (k == 0) {
                copy_str(out[i].name, sizeof out[i].name, name);
                if (value.len >= 0)
                    copy_str(out[i].value, sizeof out[i].value, value);
                out[i].source = source;
            }
        }
    }
    resp_done(r);
}

static void test_describe_configs(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    const char *mir[] = {"min.insync.replicas"};
    const char *bid[] = {"broker.id"};
    dc_res_t res[] = {
        {2, "t", NULL, -1}, {2, "t", mir, 1}, {2, "nosuch", NULL, -1}, {2, "bad/name", NULL, -1},
        {4, "1", bid, 1},   {4, "7", NULL, -1}, {3, "t", NULL, -1},
    };
    int n = (int)ARRAY_LEN(res);
    for (int16_t v = 0; v <= 2; v++) {
        kwr_t w;
        kwr_init(&w, 256);
        req_describe_configs(&w, v, res, n);
        resp_t r;
        roundtrip(&c, &w, &r);
        dc_out_t out[ARRAY_LEN(res)];
        parse_describe_configs(&r, v, res, n, out);
        assert_int_equal(out[0].err, KERR_NONE);
        assert_true(out[0].nconfigs >= 5);
        assert_int_equal(out[0].source, 5); /* no ZooKeeper overrides: all defaults */
        assert_int_equal(out[1].err, KERR_NONE);
        assert_int_equal(out[1].nconfigs, 1);
        assert_string_equal(out[1].name, "min.insync.replicas");
        assert_string_equal(out[1].value, "1");
        assert_int_equal(out[2].err, KERR_UNKNOWN_TOPIC_OR_PARTITION);
        assert_int_equal(out[2].nconfigs, 0);
        assert_int_equal(out[3].err, KERR_INVALID_TOPIC_EXCEPTION);
        assert_int_equal(out[4].err, KERR_NONE);
        assert_int_equal(out[4].nconfigs, 1);
        assert_string_equal(out[4].name, "broker.id");
        assert_string_equal(out[4].value, "1");
        assert_int_not_equal(out[5].err, KERR_NONE); /* another broker's id */
        assert_int_equal(out[5].nconfigs, 0);
        assert_int_not_equal(out[6].err, KERR_NONE); /* resource type 3 is not a thing */
        kwr_free(&w);
    }
    hc_close(&c);
}

/* ------------------------------------------------------------------ */
/* controller requests                                                  */

static int32_t k_one[] = {1}, k_two[] = {1, 2}, k_other[] = {2};

static void lair(hc_t *c, const ctl_state_t *s, int16_t *err, ctl_perr_t **pe, int *n)
{
    kwr_t w;
    kwr_init(&w, 256);
    req_lair(&w, s);
    resp_t r;
    roundtrip(c, &w, &r);
    assert_int_equal(ctl_lair_resp_decode(&r.rd, err, pe, n), 0);
    resp_done(&r);
    kwr_free(&w);
}

static void test_leader_and_isr(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    H.b.broker_epoch = 100;
    char topic_n[] = "n", topic_t[] = "t";
    ctl_part_t parts[2] = {
        {.topic = topic_n, .partition = 0, .controller_epoch = 5, .leader = 1, .leader_epoch = 1, .isr = k_two,
         .nisr = 2, .zk_version = 1, .replicas = k_two, .nreplicas = 2, .is_new = true},
        {.topic = topic_t, .partition = 0, .controller_epoch = 5, .leader = 2, .leader_epoch = 1, .isr = k_two,
         .nisr = 2, .zk_version = 1, .replicas = k_two, .nreplicas = 2},
    };
    char host[] = "127.0.0.1";
    ctl_node_t nodes[1] = {{.id = 1, .host = host, .port = H.port}};
    ctl_state_t s = {.controller_id = 9, .controller_epoch = 5, .broker_epoch = 100, .parts = parts, .nparts = 2,
                     .nodes = nodes, .nnodes = 1};
    int16_t err;
    ctl_perr_t *pe;
    int n;
    lair(&c, &s, &err, &pe, &n);
    assert_int_equal(err, KERR_NONE);
    assert_int_equal(n, 2);
    for (int i = 0; i < n; i++)
        assert_int_equal(pe[i].error, KERR_NONE);
    ctl_perr_free(pe, n);

    bpart_t *pn = bpart_get(&H.b, "n", 1, 0);
    assert_non_null(pn);
    assert_true(pn->is_leader);
    assert_int_equal(pn->leader_epoch, 1);
    assert_int_equal(pn->nisr, 2);
    assert_false(t0()->is_leader); /* t-0 now follows broker 2 */
    assert_int_equal(t0()->leader, 2);
    assert_int_equal(H.b.controller_epoch, 5);

    kwr_t b;
    kwr_init(&b, 256);
    make_batch(&b, 1, 1000, 10);
    pres_t pr;
    produce(&c, 7, 1, "n", 0, b.buf, (int32_t)b.len, &pr);
    assert_int_equal(pr.err, KERR_NONE); /* no metadata needed: we lead it */
    assert_int_equal(pr.base, 0);
    produce(&c, 7, 1, "t", 0, b.buf, (int32_t)b.len, &pr);
    assert_int_equal(pr.err, KERR_NOT_LEADER_OR_FOLLOWER);
    kwr_free(&b);

    /* stale controller epoch: refused whole, nothing applied */
    parts[0].leader = 2;
    parts[0].leader_epoch = 2;
    s.controller_epoch = 4;
    lair(&c, &s, &err, &pe, &n);
    assert_int_equal(err, KERR_STALE_CONTROLLER_EPOCH);
    for (int i = 0; i < n; i++)
        assert_int_equal(pe[i].error, KERR_STALE_CONTROLLER_EPOCH);
    ctl_perr_free(pe, n);
    assert_true(bpart_get(&H.b, "n", 1, 0)->is_leader);

    /* stale broker epoch: meant for an earlier incarnation */
    s.controller_epoch = 5;
    s.broker_epoch = 99;
    lair(&c, &s, &err, &pe, &n);
    assert_int_equal(err, KERR_STALE_BROKER_EPOCH);
    ctl_perr_free(pe, n);
    assert_true(bpart_get(&H.b, "n", 1, 0)->is_leader);

    /* an older leader epoch for one partition is refused for that one only;
     * a partition that does not list us is unknown to us */
    s.broker_epoch = 100;
    s.controller_epoch = 6;
    parts[0].leader_epoch = 0;
    parts[1].replicas = k_other;
    parts[1].nreplicas = 1;
    parts[1].leader_epoch = 9;
    lair(&c, &s, &err, &pe, &n);
    assert_int_equal(err, KERR_NONE);
    assert_int_equal(n, 2);
    for (int i = 0; i < n; i++) {
        if (!strcmp(pe[i].topic, "n"))
            assert_int_equal(pe[i].error, KERR_STALE_CONTROLLER_EPOCH);
        else
            assert_int_equal(pe[i].error, KERR_UNKNOWN_TOPIC_OR_PARTITION);
    }
    ctl_perr_free(pe, n);
    assert_true(bpart_get(&H.b, "n", 1, 0)->is_leader);
    hc_close(&c);
}

static void test_update_metadata(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    char topic_x[] = "x", topic_t[] = "t", h1[] = "127.0.0.1", h2[] = "10.0.0.2", rack[] = "r2";
    ctl_part_t parts[3] = {
        {.topic = topic_x, .partition = 0, .controller_epoch = 3, .leader = 2, .leader_epoch = 4, .isr = k_two,
         .nisr = 2, .zk_version = 7, .replicas = k_two, .nreplicas = 2},
        {.topic = topic_x, .partition = 1, .controller_epoch = 3, .leader = -1, .leader_epoch = 4, .isr = k_one,
         .nisr = 1, .zk_version = 7, .replicas = k_one, .nreplicas = 1},
        {.topic = topic_t, .partition = 0, .controller_epoch = 3, .leader = -2, .leader_epoch = 4, .isr = k_one,
         .nisr = 1, .zk_version = 7, .replicas = k_one, .nreplicas = 1}, /* being deleted */
    };
    ctl_node_t nodes[2] = {{.id = 1, .host = h1, .port = H.port}, {.id = 2, .host = h2, .port = 9093, .rack = rack}};
    ctl_state_t s = {.controller_id = 9, .controller_epoch = 3, .broker_epoch = -1, .parts = parts, .nparts = 3,
                     .nodes = nodes, .nnodes = 2};
    kwr_t w;
    kwr_init(&w, 256);
    req_um(&w, &s);
    resp_t r;
    roundtrip(&c, &w, &r);
    assert_int_equal(krd_i16(&r.rd), KERR_NONE);
    resp_done(&r);

    md_t m;
    metadata(&c, 1, NULL, -1, true, &m);
    assert_int_equal(m.nbrokers, 2);
    assert_int_equal(m.brokers[1].id, 2);
    assert_string_equal(m.brokers[1].host, "10.0.0.2");
    assert_int_equal(m.brokers[1].port, 9093);
    assert_false(m.brokers[1].rack_null);
    assert_int_equal(m.ntopics, 1); /* "t" is gone */
    md_topic_t *t = &m.topics[0];
    assert_string_equal(t->name, "x");
    assert_int_equal(t->nparts, 2);
    assert_int_equal(t->parts[0].leader, 2);
    assert_int_equal(t->parts[0].err, KERR_NONE);
    assert_int_equal(t->parts[0].nisr, 2);
    assert_int_equal(t->parts[0].isr[1], 2);
    assert_int_equal(t->parts[1].index, 1);
    assert_int_equal(t->parts[1].leader, -1);
    assert_int_equal(t->parts[1].err, KERR_LEADER_NOT_AVAILABLE);

    /* stale controller epoch: refused, metadata unchanged */
    s.controller_epoch = 2;
    parts[0].leader = 1;
    kwr_reset(&w);
    req_um(&w, &s);
    roundtrip(&c, &w, &r);
    assert_int_equal(krd_i16(&r.rd), KERR_STALE_CONTROLLER_EPOCH);
    resp_done(&r);
    /* stale broker epoch */
    H.b.broker_epoch = 50;
    s.controller_epoch = 3;
    s.broker_epoch = 49;
    kwr_reset(&w);
    req_um(&w, &s);
    roundtrip(&c, &w, &r);
    assert_int_equal(krd_i16(&r.rd), KERR_STALE_BROKER_EPOCH);
    resp_done(&r);
    const char *x[] = {"x"};
    metadata(&c, 4, x, 1, false, &m);
    assert_int_equal(m.topics[0].parts[0].leader, 2);
    kwr_free(&w);
    hc_close(&c);
}

/* A hostile UpdateMetadata cannot make the cache allocate by partition index,
 * and a topic name with a NUL byte is refused rather than shortened. */
static void test_update_metadata_hostile(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    char big[] = "big", h1[] = "127.0.0.1";
    ctl_part_t parts[2] = {
        {.topic = big, .partition = 999999, .controller_epoch = 3, .leader = 1, .leader_epoch = 0, .isr = k_one,
         .nisr = 1, .replicas = k_one, .nreplicas = 1},
        {.topic = big, .partition = 1, .controller_epoch = 3, .leader = 1, .leader_epoch = 0, .isr = k_one,
         .nisr = 1, .replicas = k_one, .nreplicas = 1},
    };
    ctl_node_t nodes[1] = {{.id = 1, .host = h1, .port = H.port}};
    ctl_state_t s = {.controller_id = 9, .controller_epoch = 3, .broker_epoch = -1, .parts = parts, .nparts = 2,
                     .nodes = nodes, .nnodes = 1};
    kwr_t w;
    kwr_init(&w, 256);
    req_um(&w, &s);
    resp_t r;
    roundtrip(&c, &w, &r);
    assert_int_equal(krd_i16(&r.rd), KERR_NONE);
    resp_done(&r);
    mtopic_t *t = meta_topic(&H.b.meta, "big", 3);
    assert_non_null(t);
    assert_int_equal(t->nparts, 2); /* index 1 of a 2-entry run is fine; 999999 was ignored */

    /* "t\0junk": the request is refused whole (logged close), nothing applied */
    kwr_reset(&w);
    hreq_begin(&w, KAPI_STOP_REPLICA, CTL_STOP_VERSION, g_corr++, "controller", false);
    kwr_i32(&w, 9);  /* ControllerId */
    kwr_i32(&w, 3);  /* ControllerEpoch */
    kwr_i64(&w, -1); /* BrokerEpoch */
    kwr_bool(&w, true);
    kwr_array(&w, false, 1);
    kwr_i16(&w, 6);
    kwr_raw(&w, "t\0junk", 6);
    kwr_array(&w, false, 1);
    kwr_i32(&w, 0);
    assert_int_equal(hc_send(&H, &c, w.buf, w.len), 0);
    uint8_t *out = NULL;
    size_t outlen = 0;
    assert_int_equal(hc_recv(&H, &c, 2000, &out, &outlen), 0); /* closed */
    free(out);
    assert_non_null(bpart_get(&H.b, "t", 1, 0));
    kwr_free(&w);
    hc_close(&c);
}

static void stop_replica(hc_t *c, const ctl_stop_t *s, int16_t expect_err, int expect_n)
{
    kwr_t w;
    kwr_init(&w, 128);
    req_stop(&w, s);
    resp_t r;
    roundtrip(c, &w, &r);
    int16_t err;
    ctl_perr_t *pe;
    int n;
    assert_int_equal(ctl_stop_resp_decode(&r.rd, &err, &pe, &n), 0);
    resp_done(&r);
    assert_int_equal(err, expect_err);
    assert_int_equal(n, expect_n);
    for (int i = 0; i < n; i++)
        assert_int_equal(pe[i].error, expect_err);
    ctl_perr_free(pe, n);
    kwr_free(&w);
}

static void test_stop_replica(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    produce_n(&c, 7, 2, 1000);
    char path[256];
    snprintf(path, sizeof path, "%s/t-0", H.dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);

    char topic_t[] = "t", topic_z[] = "zz";
    char *topics[2] = {topic_t, topic_z};
    int32_t partitions[2] = {0, 3};
    ctl_stop_t s = {.controller_id = 9, .controller_epoch = 4, .broker_epoch = -1, .delete_partitions = true,
                    .topics = topics, .partitions = partitions, .n = 2};
    H.b.controller_epoch = 5;
    stop_replica(&c, &s, KERR_STALE_CONTROLLER_EPOCH, 2);
    assert_non_null(t0());
    s.controller_epoch = 5;
    stop_replica(&c, &s, KERR_NONE, 2);
    assert_null(t0());
    assert_int_not_equal(stat(path, &st), 0); /* the log is gone from disk */

    kwr_t b;
    kwr_init(&b, 256);
    make_batch(&b, 1, 1000, 10);
    pres_t pr;
    produce(&c, 7, 1, "t", 0, b.buf, (int32_t)b.len, &pr);
    assert_int_equal(pr.err, KERR_NOT_LEADER_OR_FOLLOWER); /* metadata still lists t-0 */
    /* without metadata for it the partition is unknown */
    meta_free(&H.b.meta);
    meta_init(&H.b.meta);
    produce(&c, 7, 1, "t", 0, b.buf, (int32_t)b.len, &pr);
    assert_int_equal(pr.err, KERR_UNKNOWN_TOPIC_OR_PARTITION);
    lres_t l;
    list_offsets(&c, 1, "t", 0, KTS_LATEST, &l);
    assert_int_equal(l.err, KERR_UNKNOWN_TOPIC_OR_PARTITION);
    kwr_free(&b);
    hc_close(&c);
}

/* ------------------------------------------------------------------ */
/* hostile input                                                        */

/* A valid frame still gets its answer on a fresh connection. */
static void expect_alive(void)
{
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    kwr_t w;
    kwr_init(&w, 64);
    req_api_versions(&w, 1);
    resp_t r;
    roundtrip(&c, &w, &r);
    check_api_versions_body(&r, 1);
    kwr_free(&w);
    hc_close(&c);
}

/* Send one frame with the given size field and payload; expect a close. */
static void expect_frame_closes(int32_t size, const void *payload, size_t n)
{
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    uint8_t sz[4];
    put_be32(sz, size);
    assert_int_equal(hc_write(&H, &c, sz, 4), 0);
    if (n)
        assert_int_equal(hc_write(&H, &c, payload, n), 0);
    expect_closed(&c);
    hc_close(&c);
}

typedef void (*build_fn)(kwr_t *w);

static void b_av3(kwr_t *w) { req_api_versions(w, 3); }
static void b_md0(kwr_t *w)
{
    const char *t[] = {"t", "u"};
    req_metadata(w, 0, t, 2, true);
}
static void b_md1null(kwr_t *w) { req_metadata(w, 1, NULL, -1, true); }
static void b_md4(kwr_t *w)
{
    const char *t[] = {"t"};
    req_metadata(w, 4, t, 1, false);
}
static void b_produce(kwr_t *w, int16_t v)
{
    kwr_t b;
    kwr_init(&b, 128);
    make_batch(&b, 2, 1000, 4);
    req_produce(w, v, 1, "t", 0, b.buf, (int32_t)b.len);
    kwr_free(&b);
}
static void b_pr3(kwr_t *w) { b_produce(w, 3); }
static void b_pr7(kwr_t *w) { b_produce(w, 7); }
static void b_fetch(kwr_t *w, int16_t v)
{
    fetch_args_t a = {.max_wait = 0, .min_bytes = 1, .max_bytes = 1000, .part_max_bytes = 1000, .topic = "t",
                      .offset = 0};
    req_fetch(w, v, &a);
}
static void b_f4(kwr_t *w) { b_fetch(w, 4); }
static void b_f7(kwr_t *w) { b_fetch(w, 7); }
static void b_f11(kwr_t *w) { b_fetch(w, 11); }
static void b_lo0(kwr_t *w) { req_list_offsets(w, 0, "t", 0, KTS_LATEST); }
static void b_lo1(kwr_t *w) { req_list_offsets(w, 1, "t", 0, 1000); }
static void b_lo2(kwr_t *w) { req_list_offsets(w, 2, "t", 0, KTS_EARLIEST); }
static void b_fc0(kwr_t *w) { req_find_coordinator(w, 0); }
static void b_fc2(kwr_t *w) { req_find_coordinator(w, 2); }
static void b_ct0(kwr_t *w) { req_create_topics(w, 0); }
static void b_ct4(kwr_t *w) { req_create_topics(w, 4); }
static void b_dt0(kwr_t *w) { req_delete_topics(w, 0); }
static void b_dt3(kwr_t *w) { req_delete_topics(w, 3); }
static void b_cp0(kwr_t *w) { req_create_partitions(w, 0); }
static void b_cp1(kwr_t *w) { req_create_partitions(w, 1); }
static void b_dc(kwr_t *w, int16_t v)
{
    const char *keys[] = {"retention.ms", "segment.bytes"};
    dc_res_t res[] = {{2, "t", keys, 2}, {4, "1", NULL, -1}};
    req_describe_configs(w, v, res, 2);
}
static void b_dc0(kwr_t *w) { b_dc(w, 0); }
static void b_dc2(kwr_t *w) { b_dc(w, 2); }
static void b_lair(kwr_t *w)
{
    char t[] = "t";
    char host[] = "h";
    ctl_part_t p = {.topic = t, .partition = 0, .controller_epoch = 1, .leader = 1, .leader_epoch = 0,
                    .isr = k_one, .nisr = 1, .replicas = k_one, .nreplicas = 1};
    ctl_node_t nd = {.id = 1, .host = host, .port = 1};
    ctl_state_t s = {.controller_id = 9, .controller_epoch = 1, .broker_epoch = -1, .parts = &p, .nparts = 1,
                     .nodes = &nd, .nnodes = 1};
    req_lair(w, &s);
}
static void b_um(kwr_t *w)
{
    char t[] = "t";
    char host[] = "h";
    ctl_part_t p = {.topic = t, .partition = 0, .controller_epoch = 1, .leader = 1, .leader_epoch = 0,
                    .isr = k_one, .nisr = 1, .replicas = k_one, .nreplicas = 1};
    ctl_node_t nd = {.id = 1, .host = host, .port = 1};
    ctl_state_t s = {.controller_id = 9, .controller_epoch = 1, .broker_epoch = -1, .parts = &p, .nparts = 1,
                     .nodes = &nd, .nnodes = 1};
    req_um(w, &s);
}
static void b_stop(kwr_t *w)
{
    char t[] = "zz";
    char *topics[] = {t};
    int32_t parts[] = {0};
    ctl_stop_t s = {.controller_id = 9, .controller_epoch = 1, .broker_epoch = -1, .topics = topics,
                    .partitions = parts, .n = 1};
    req_stop(w, &s);
}

/* Every strict prefix of the frame is a truncated request: each must close
 * the connection without an answer, and the broker must keep serving. */
static void truncations_close(build_fn build)
{
    kwr_t w;
    kwr_init(&w, 256);
    build(&w);
    for (size_t len = 0; len < w.len; len++)
        expect_frame_closes((int32_t)len, w.buf, len);
    /* the whole frame is fine on a new connection */
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    uint8_t *buf;
    size_t n;
    assert_int_equal(hc_send(&H, &c, w.buf, w.len), 0);
    assert_int_equal(hc_recv(&H, &c, TMO, &buf, &n), 1);
    assert_int_equal(be32(buf), be32(w.buf + 4));
    free(buf);
    hc_close(&c);
    kwr_free(&w);
}

static void test_truncated_requests_close(void **state)
{
    (void)state;
    build_fn builds[] = {b_md0, b_md1null, b_md4, b_pr3, b_pr7, b_f4, b_f7, b_f11, b_lo0, b_lo1, b_lo2,
                         b_fc0, b_fc2, b_dc0, b_dc2, b_lair, b_um, b_stop};
    for (size_t i = 0; i < ARRAY_LEN(builds); i++)
        truncations_close(builds[i]);
    assert_non_null(t0());
    assert_int_equal(plog_end_offset(t0()->log), 4); /* only the two whole produce frames */
    expect_alive();
}

static void test_truncated_admin_requests_close(void **state)
{
    (void)state;
    build_fn builds[] = {b_ct0, b_ct4, b_dt0, b_dt3, b_cp0, b_cp1};
    for (size_t i = 0; i < ARRAY_LEN(builds); i++)
        truncations_close(builds[i]);
    expect_alive();
}

/* ApiVersions is never closed once its header is whole (librdkafka would
 * reconnect forever): a cut body gets INVALID_REQUEST in the v3 shape. */
static void test_truncated_api_versions(void **state)
{
    (void)state;
    kwr_t w;
    kwr_init(&w, 64);
    b_av3(&w);
    size_t hdr = 2 + 2 + 4 + 2 + strlen("apitest"); /* up to the end of ClientId */
    for (size_t len = 0; len < w.len; len++) {
        if (len < hdr) {
            expect_frame_closes((int32_t)len, w.buf, len);
            continue;
        }
        hc_t c;
        assert_int_equal(hc_connect(&H, &c), 0);
        assert_int_equal(hc_send(&H, &c, w.buf, len), 0);
        resp_t r;
        assert_int_equal(hc_recv(&H, &c, TMO, &r.buf, &r.len), 1);
        assert_int_equal(be32(r.buf), be32(w.buf + 4));
        krd_init(&r.rd, r.buf, r.len);
        r.rd.pos = 4;
        assert_int_equal(krd_i16(&r.rd), KERR_INVALID_REQUEST);
        assert_int_equal(krd_array(&r.rd, true, false, 6), (int32_t)ARRAY_LEN(k_advertised));
        free(r.buf);
        hc_close(&c);
    }
    kwr_free(&w);
    expect_alive();
}

static void test_bad_frames(void **state)
{
    (void)state;
    uint8_t hdr[16];
    /* sizes: negative, over socket.request.max.bytes, below a header */
    int32_t sizes[] = {-1, INT32_MIN, (int32_t)HS_MAX_FRAME + 1, INT32_MAX, 0, 1, 7};
    for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
        memset(hdr, 0, sizeof hdr);
        expect_frame_closes(sizes[i], hdr, sizes[i] > 0 && sizes[i] < 8 ? (size_t)sizes[i] : 0);
        expect_alive();
    }
    /* unknown API keys and unsupported versions of known ones */
    struct {
        int16_t key, ver;
    } bad[] = {{KAPI_OFFSET_COMMIT, 8}, {99, 0},           {-1, 0},          {KAPI_PRODUCE, 8},
               {KAPI_PRODUCE, -1},      {KAPI_FETCH, 12},  {KAPI_METADATA, 5}, {KAPI_LIST_OFFSETS, 3},
               {KAPI_FIND_COORDINATOR, 3}, {KAPI_CREATE_TOPICS, 5}, {KAPI_DELETE_TOPICS, 4},
               {KAPI_CREATE_PARTITIONS, 2}, {KAPI_DESCRIBE_CONFIGS, 3}, {KAPI_LEADER_AND_ISR, 2}, {KAPI_LEADER_AND_ISR, 4},
               {KAPI_UPDATE_METADATA, 4}, {KAPI_STOP_REPLICA, 0}, {KAPI_STOP_REPLICA, 2},
               {KAPI_CONTROLLED_SHUTDOWN, 2}};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        kwr_t w;
        kwr_init(&w, 64);
        hreq_begin(&w, bad[i].key, bad[i].ver, g_corr++, "apitest", false);
        kwr_i32(&w, 0);
        kwr_i32(&w, 0);
        hc_t c;
        assert_int_equal(hc_connect(&H, &c), 0);
        assert_int_equal(hc_send(&H, &c, w.buf, w.len), 0);
        expect_closed(&c);
        hc_close(&c);
        kwr_free(&w);
    }
    expect_alive();
    /* hostile counts: closed before anything is allocated for them */
    kwr_t w;
    kwr_init(&w, 64);
    hreq_begin(&w, KAPI_METADATA, 1, g_corr++, "apitest", false);
    kwr_i32(&w, INT32_MAX);
    expect_frame_closes((int32_t)w.len, w.buf, w.len);
    kwr_reset(&w);
    hreq_begin(&w, KAPI_PRODUCE, 7, g_corr++, "apitest", false);
    kwr_str(&w, false, NULL);
    kwr_i16(&w, 1);
    kwr_i32(&w, 0);
    kwr_i32(&w, 1);
    kwr_str(&w, false, "t");
    kwr_i32(&w, 1);
    kwr_i32(&w, 0);
    kwr_i32(&w, 0x7ffffff0); /* Records length far past the frame */
    expect_frame_closes((int32_t)w.len, w.buf, w.len);
    kwr_reset(&w);
    fetch_args_t a = {.max_wait = 0, .min_bytes = 1, .max_bytes = 1, .part_max_bytes = 1, .topic = "t"};
    req_fetch(&w, 4, &a);
    put_be32(w.buf + w.len - 4 - 8 - 4 - 4, INT32_MAX); /* the Partitions count */
    expect_frame_closes((int32_t)w.len, w.buf, w.len);
    kwr_free(&w);
    expect_alive();
}

/* A good request followed in the same read by a bad frame: the good one's
 * answer goes out before the close, as a Kafka broker (which handles one
 * request at a time per connection) would send it. */
static void test_close_flushes_earlier_responses(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    kwr_t w;
    kwr_init(&w, 64);
    req_api_versions(&w, 0);
    assert_int_equal(hc_send(&H, &c, w.buf, w.len), 0);
    uint8_t bad[4];
    put_be32(bad, -7);
    assert_int_equal(hc_write(&H, &c, bad, 4), 0);
    resp_t r;
    assert_int_equal(hc_recv(&H, &c, TMO, &r.buf, &r.len), 1);
    assert_int_equal(be32(r.buf), be32(w.buf + 4));
    free(r.buf);
    expect_closed(&c);
    hc_close(&c);
    kwr_free(&w);
}

/* A close is logged with the peer and the reason. */
static void test_close_is_logged(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/stderr.log", H.dir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    wlog_setup("test", WLOG_WARN);
    kwr_t w;
    kwr_init(&w, 64);
    hreq_begin(&w, 99, 0, g_corr++, "apitest", false);
    expect_frame_closes((int32_t)w.len, w.buf, w.len);
    uint8_t none[4] = {0};
    expect_frame_closes(-1, none, 0);
    kwr_free(&w);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    wlog_setup("test", WLOG_ERROR);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char log[4096];
    size_t n = fread(log, 1, sizeof log - 1, f);
    fclose(f);
    log[n] = 0;
    assert_non_null(strstr(log, "closing connection from 127.0.0.1:"));
    assert_non_null(strstr(log, "ApiKey 99"));
    assert_non_null(strstr(log, "request size -1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_api_versions_v0_to_v3),
        T(test_api_versions_kcat_bytes),
        T(test_api_versions_too_new),
        T(test_metadata),
        T(test_produce_versions),
        T(test_produce_acks0),
        T(test_produce_errors),
        T(test_fetch_returns_batches),
        T(test_fetch_long_poll_times_out),
        T(test_fetch_long_poll_woken_by_produce),
        T(test_fetch_out_of_range),
        T(test_fetch_max_bytes_first_batch_whole),
        T(test_fetch_response_order),
        T(test_list_offsets),
        T(test_find_coordinator),
        T(test_admin_not_controller),
        T(test_describe_configs),
        T(test_leader_and_isr),
        T(test_update_metadata),
        T(test_update_metadata_hostile),
        T(test_stop_replica),
        T(test_truncated_requests_close),
        T(test_truncated_api_versions),
        T(test_truncated_admin_requests_close),
        T(test_bad_frames),
        T(test_close_flushes_earlier_responses),
        T(test_close_is_logged),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
