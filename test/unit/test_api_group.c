/*
 * test_api_group.c - the group APIs on the wire (broker/api/groups.c,
 * offsets.c) through the in-process broker of api_harness.h, with a group
 * store whose coordinator check answers what the test says (KERR_NONE by
 * default) and whose writes complete at once: every API's request and
 * answer shape at its lowest and highest version, a JoinGroup held across
 * two connections, answers to a client that went away, coordinator
 * errors, and malformed or truncated requests (closed, never a crash).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api_harness.h"
#include "group/group.h"
#include "proto.h"
#include "wlog.h"

#define TMO 5000

static hs_t H;
static int32_t g_corr = 1;
static int16_t g_check = KERR_NONE;
static int g_records;

static int64_t t_now(void *ctx)
{
    (void)ctx;
    return now_ms();
}

static int16_t t_check(void *ctx, const char *group)
{
    (void)ctx;
    (void)group;
    return g_check;
}

static int32_t t_part(void *ctx, const char *group)
{
    (void)ctx;
    (void)group;
    return 0;
}

static void t_append(void *ctx, const char *group, const coord_rec_t *recs, int n, coord_done_fn done, void *arg)
{
    (void)ctx;
    (void)group;
    (void)recs;
    g_records += n;
    done(arg, KERR_NONE);
}

static int setup(void **state)
{
    (void)state;
    wlog_setup("test", WLOG_ERROR);
    if (hs_open(&H) != 0)
        return -1;
    bcfg_t *c = &H.b.cfg;
    c->group_max_size = 100;
    g_check = KERR_NONE;
    g_records = 0;
    gstore_env_t env = {t_now, t_check, t_part, t_append, H.b.base, NULL};
    H.b.groups = gstore_new_env(c, &env);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_true(gstore_validate(H.b.groups));
    gstore_free(H.b.groups);
    H.b.groups = NULL;
    hs_close(&H);
    return 0;
}

/* ------------------------------------------------------------------ */
/* round trips                                                          */

typedef struct resp {
    uint8_t *buf;
    size_t len;
    krd_t rd;
} resp_t;

static void send_req(hc_t *c, const kwr_t *w) { assert_int_equal(hc_send(&H, c, w->buf, w->len), 0); }

static void recv_resp(hc_t *c, const kwr_t *w, resp_t *r)
{
    assert_int_equal(hc_recv(&H, c, TMO, &r->buf, &r->len), 1);
    assert_true(r->len >= 4);
    assert_int_equal(be32(r->buf), be32(w->buf + 4)); /* CorrelationId */
    krd_init(&r->rd, r->buf, r->len);
    r->rd.pos = 4;
}

static void roundtrip(hc_t *c, const kwr_t *w, resp_t *r)
{
    send_req(c, w);
    recv_resp(c, w, r);
}

static void resp_done(resp_t *r)
{
    assert_false(r->rd.err);
    assert_int_equal(krd_remain(&r->rd), 0);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

static void no_answer_yet(hc_t *c)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(hc_recv(&H, c, 200, &buf, &len), -1);
}

static bool str_is(kstr_t s, const char *c) { return s.len >= 0 && kstr_eq(s, c); }

/* Copy a string field out of a response. */
static void str_into(krd_t *rd, char *out, size_t n)
{
    kstr_t s = krd_str(rd, false, true);
    assert_false(rd->err);
    assert_true(s.len >= 0 && (size_t)s.len < n);
    memcpy(out, s.ptr, (size_t)s.len);
    out[s.len] = '\0';
}

/* ------------------------------------------------------------------ */
/* requests                                                             */

static void req_join(kwr_t *w, int16_t v, const char *group, const char *member, const char *instance)
{
    hreq_begin(w, KAPI_JOIN_GROUP, v, g_corr++, "apitest", false);
    kwr_str(w, false, group);
    kwr_i32(w, 10000); /* SessionTimeoutMs */
    if (v >= 1)
        kwr_i32(w, 30000); /* RebalanceTimeoutMs */
    kwr_str(w, false, member);
    if (v >= 5)
        kwr_str(w, false, instance);
    kwr_str(w, false, "consumer");
    kwr_array(w, false, 2);
    kwr_str(w, false, "range");
    kwr_bytes(w, false, "sub-range", 9);
    kwr_str(w, false, "roundrobin");
    kwr_bytes(w, false, "sub-rr", 6);
}

static void req_sync(kwr_t *w, int16_t v, const char *group, int32_t gen, const char *member, const char *instance,
                     int n, const char *const *ids, const char *const *bytes)
{
    hreq_begin(w, KAPI_SYNC_GROUP, v, g_corr++, "apitest", false);
    kwr_str(w, false, group);
    kwr_i32(w, gen);
    kwr_str(w, false, member);
    if (v >= 3)
        kwr_str(w, false, instance);
    kwr_array(w, false, n);
    for (int i = 0; i < n; i++) {
        kwr_str(w, false, ids[i]);
        kwr_bytes(w, false, bytes[i], (int32_t)strlen(bytes[i]));
    }
}

static void req_heartbeat(kwr_t *w, int16_t v, const char *group, int32_t gen, const char *member)
{
    hreq_begin(w, KAPI_HEARTBEAT, v, g_corr++, "apitest", false);
    kwr_str(w, false, group);
    kwr_i32(w, gen);
    kwr_str(w, false, member);
    if (v >= 3)
        kwr_str(w, false, NULL);
}

static void req_leave(kwr_t *w, int16_t v, const char *group, const char *member)
{
    hreq_begin(w, KAPI_LEAVE_GROUP, v, g_corr++, "apitest", false);
    kwr_str(w, false, group);
    kwr_str(w, false, member);
}

typedef struct commit_args {
    const char *group, *member, *instance, *topic, *metadata;
    int32_t gen, partition;
    int64_t offset;
} commit_args_t;

static void req_commit(kwr_t *w, int16_t v, commit_args_t a)
{
    hreq_begin(w, KAPI_OFFSET_COMMIT, v, g_corr++, "apitest", false);
    kwr_str(w, false, a.group);
    if (v >= 1) {
        kwr_i32(w, a.gen);
        kwr_str(w, false, a.member ? a.member : "");
    }
    if (v >= 7)
        kwr_str(w, false, a.instance);
    if (v >= 2 && v <= 4)
        kwr_i64(w, -1); /* RetentionTimeMs */
    kwr_array(w, false, 1);
    kwr_str(w, false, a.topic ? a.topic : "t");
    kwr_array(w, false, 1);
    kwr_i32(w, a.partition);
    kwr_i64(w, a.offset);
    if (v >= 6)
        kwr_i32(w, 9); /* CommittedLeaderEpoch */
    if (v == 1)
        kwr_i64(w, -1); /* CommitTimestamp */
    kwr_str(w, false, a.metadata);
}

/* topic NULL: null Topics (v2+); else partitions 0 and 1 of topic. */
static void req_fetch(kwr_t *w, int16_t v, const char *group, const char *topic)
{
    hreq_begin(w, KAPI_OFFSET_FETCH, v, g_corr++, "apitest", false);
    kwr_str(w, false, group);
    if (!topic) {
        kwr_array(w, false, -1);
        return;
    }
    kwr_array(w, false, 1);
    kwr_str(w, false, topic);
    kwr_array(w, false, 2);
    kwr_i32(w, 0);
    kwr_i32(w, 1);
}

static void req_names(kwr_t *w, int16_t key, int16_t v, int n, const char *const *names)
{
    hreq_begin(w, key, v, g_corr++, "apitest", false);
    kwr_array(w, false, n);
    for (int i = 0; i < n; i++)
        kwr_str(w, false, names[i]);
    if (key == KAPI_DESCRIBE_GROUPS && v >= 3)
        kwr_bool(w, false); /* IncludeAuthorizedOperations */
}

static void req_offset_delete(kwr_t *w, const char *group)
{
    hreq_begin(w, KAPI_OFFSET_DELETE, 0, g_corr++, "apitest", false);
    kwr_str(w, false, group);
    kwr_array(w, false, 2);
    kwr_str(w, false, "t");
    kwr_array(w, false, 1);
    kwr_i32(w, 0);
    kwr_str(w, false, "nosuch");
    kwr_array(w, false, 1);
    kwr_i32(w, 0);
}

/* ------------------------------------------------------------------ */
/* answers                                                              */

typedef struct join_ans {
    int16_t err;
    int32_t gen;
    char protocol[32], leader[128], member[128];
    int32_t nmembers;
    char members[4][128];
} join_ans_t;

static void read_join(resp_t *r, int16_t v, join_ans_t *a)
{
    krd_t *rd = &r->rd;
    if (v >= 2)
        assert_int_equal(krd_i32(rd), 0);
    a->err = krd_i16(rd);
    a->gen = krd_i32(rd);
    str_into(rd, a->protocol, sizeof a->protocol);
    str_into(rd, a->leader, sizeof a->leader);
    str_into(rd, a->member, sizeof a->member);
    a->nmembers = krd_array(rd, false, false, 6);
    for (int32_t i = 0; i < a->nmembers && i < 4; i++) {
        str_into(rd, a->members[i], sizeof a->members[i]);
        if (v >= 5)
            assert_int_equal(krd_str(rd, false, true).len, -1); /* no instance id */
        kstr_t meta = krd_bytes(rd, false, false);
        assert_true(meta.len == 9 && memcmp(meta.ptr, "sub-range", 9) == 0);
    }
    resp_done(r);
}

static void join_rt(hc_t *c, int16_t v, const char *group, const char *member, join_ans_t *a)
{
    kwr_t w;
    kwr_init(&w, 128);
    req_join(&w, v, group, member, NULL);
    resp_t r;
    roundtrip(c, &w, &r);
    read_join(&r, v, a);
    kwr_free(&w);
}

static int16_t read_sync(resp_t *r, int16_t v, const char *expect)
{
    krd_t *rd = &r->rd;
    if (v >= 1)
        assert_int_equal(krd_i32(rd), 0);
    int16_t err = krd_i16(rd);
    kstr_t a = krd_bytes(rd, false, false);
    assert_true(a.len == (int32_t)strlen(expect) && memcmp(a.ptr, expect, (size_t)a.len) == 0);
    resp_done(r);
    return err;
}

/* A one-field answer: [ThrottleTimeMs] ErrorCode. */
static int16_t error_rt(hc_t *c, kwr_t *w, bool throttle)
{
    resp_t r;
    roundtrip(c, w, &r);
    if (throttle)
        assert_int_equal(krd_i32(&r.rd), 0);
    int16_t err = krd_i16(&r.rd);
    resp_done(&r);
    kwr_reset(w);
    return err;
}

/* One topic, one partition: its ErrorCode. */
static int16_t commit_rt(hc_t *c, int16_t v, commit_args_t a)
{
    kwr_t w;
    kwr_init(&w, 128);
    req_commit(&w, v, a);
    resp_t r;
    roundtrip(c, &w, &r);
    krd_t *rd = &r.rd;
    if (v >= 3)
        assert_int_equal(krd_i32(rd), 0);
    assert_int_equal(krd_array(rd, false, false, 0), 1);
    assert_true(str_is(krd_str(rd, false, false), a.topic ? a.topic : "t"));
    assert_int_equal(krd_array(rd, false, false, 0), 1);
    assert_int_equal(krd_i32(rd), a.partition);
    int16_t err = krd_i16(rd);
    resp_done(&r);
    kwr_free(&w);
    return err;
}

typedef struct fetched {
    int32_t partition;
    int64_t offset;
    int32_t epoch;
    char metadata[32];
    int16_t err;
} fetched_t;

static void read_fetched(krd_t *rd, int16_t v, fetched_t *f)
{
    f->partition = krd_i32(rd);
    f->offset = krd_i64(rd);
    f->epoch = v >= 5 ? krd_i32(rd) : -1;
    str_into(rd, f->metadata, sizeof f->metadata);
    f->err = krd_i16(rd);
}

/* ------------------------------------------------------------------ */
/* tests                                                                */

static void test_lowest_versions(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    join_ans_t a;
    join_rt(&c, 0, "g", "", &a); /* v0-v3 accept a new member at once */
    assert_int_equal(a.err, KERR_NONE);
    assert_int_equal(a.gen, 1);
    assert_string_equal(a.protocol, "range");
    assert_string_equal(a.leader, a.member);
    assert_true(strncmp(a.member, "apitest-", 8) == 0); /* client id + "-" + UUID */
    assert_int_equal(a.nmembers, 1);
    assert_string_equal(a.members[0], a.member);

    kwr_t w;
    kwr_init(&w, 128);
    const char *ids[] = {a.member}, *bytes[] = {"assigned"};
    req_sync(&w, 0, "g", 1, a.member, NULL, 1, ids, bytes);
    resp_t r;
    roundtrip(&c, &w, &r);
    assert_int_equal(read_sync(&r, 0, "assigned"), KERR_NONE);
    kwr_reset(&w);
    req_heartbeat(&w, 0, "g", 1, a.member);
    assert_int_equal(error_rt(&c, &w, false), KERR_NONE);
    req_heartbeat(&w, 0, "g", 2, a.member);
    assert_int_equal(error_rt(&c, &w, false), KERR_ILLEGAL_GENERATION);
    assert_int_equal(commit_rt(&c, 0, (commit_args_t){.group = "g", .offset = 5, .metadata = "md0"}), KERR_NONE);
    assert_int_equal(commit_rt(&c, 0, (commit_args_t){.group = "g", .topic = "nosuch"}), KERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(commit_rt(&c, 0, (commit_args_t){.group = "g", .partition = 1}), KERR_UNKNOWN_TOPIC_OR_PARTITION);

    /* OffsetFetch v0: per-partition answers, no top-level error */
    req_fetch(&w, 0, "g", "t");
    roundtrip(&c, &w, &r);
    assert_int_equal(krd_array(&r.rd, false, false, 0), 1);
    assert_true(str_is(krd_str(&r.rd, false, false), "t"));
    assert_int_equal(krd_array(&r.rd, false, false, 0), 2);
    fetched_t f;
    read_fetched(&r.rd, 0, &f);
    assert_int_equal(f.partition, 0);
    assert_int_equal(f.offset, 5);
    assert_string_equal(f.metadata, "md0");
    assert_int_equal(f.err, KERR_NONE);
    read_fetched(&r.rd, 0, &f);
    assert_int_equal(f.partition, 1);
    assert_int_equal(f.offset, -1);
    assert_string_equal(f.metadata, "");
    assert_int_equal(f.err, KERR_NONE);
    resp_done(&r);
    kwr_reset(&w);

    /* DescribeGroups v0: Stable, with the member's details */
    const char *names[] = {"g", "unknown"};
    req_names(&w, KAPI_DESCRIBE_GROUPS, 0, 2, names);
    roundtrip(&c, &w, &r);
    krd_t *rd = &r.rd;
    assert_int_equal(krd_array(rd, false, false, 0), 2);
    assert_int_equal(krd_i16(rd), KERR_NONE);
    assert_true(str_is(krd_str(rd, false, false), "g"));
    assert_true(str_is(krd_str(rd, false, false), "Stable"));
    assert_true(str_is(krd_str(rd, false, false), "consumer"));
    assert_true(str_is(krd_str(rd, false, false), "range"));
    assert_int_equal(krd_array(rd, false, false, 0), 1);
    assert_true(str_is(krd_str(rd, false, false), a.member));
    assert_true(str_is(krd_str(rd, false, false), "apitest"));
    assert_true(str_is(krd_str(rd, false, false), "/127.0.0.1"));
    kstr_t meta = krd_bytes(rd, false, false), asg = krd_bytes(rd, false, false);
    assert_true(meta.len == 9 && memcmp(meta.ptr, "sub-range", 9) == 0);
    assert_true(asg.len == 8 && memcmp(asg.ptr, "assigned", 8) == 0);
    assert_int_equal(krd_i16(rd), KERR_NONE);
    assert_true(str_is(krd_str(rd, false, false), "unknown"));
    assert_true(str_is(krd_str(rd, false, false), "Dead"));
    assert_true(str_is(krd_str(rd, false, false), ""));
    assert_true(str_is(krd_str(rd, false, false), ""));
    assert_int_equal(krd_array(rd, false, false, 0), 0);
    resp_done(&r);
    kwr_reset(&w);

    /* ListGroups v0 */
    hreq_begin(&w, KAPI_LIST_GROUPS, 0, g_corr++, "apitest", false);
    roundtrip(&c, &w, &r);
    assert_int_equal(krd_i16(&r.rd), KERR_NONE);
    assert_int_equal(krd_array(&r.rd, false, false, 0), 1);
    assert_true(str_is(krd_str(&r.rd, false, false), "g"));
    assert_true(str_is(krd_str(&r.rd, false, false), "consumer"));
    resp_done(&r);
    kwr_reset(&w);

    /* DeleteGroups v0: refused while it has a member; LeaveGroup v0; then deleted */
    req_names(&w, KAPI_DELETE_GROUPS, 0, 1, names);
    roundtrip(&c, &w, &r);
    assert_int_equal(krd_i32(&r.rd), 0);
    assert_int_equal(krd_array(&r.rd, false, false, 0), 1);
    assert_true(str_is(krd_str(&r.rd, false, false), "g"));
    assert_int_equal(krd_i16(&r.rd), KERR_NON_EMPTY_GROUP);
    resp_done(&r);
    kwr_reset(&w);
    req_leave(&w, 0, "g", a.member);
    assert_int_equal(error_rt(&c, &w, false), KERR_NONE);
    req_leave(&w, 0, "g", a.member);
    assert_int_equal(error_rt(&c, &w, false), KERR_UNKNOWN_MEMBER_ID);
    req_names(&w, KAPI_DELETE_GROUPS, 0, 2, names);
    roundtrip(&c, &w, &r);
    assert_int_equal(krd_i32(&r.rd), 0);
    assert_int_equal(krd_array(&r.rd, false, false, 0), 2);
    assert_true(str_is(krd_str(&r.rd, false, false), "g"));
    assert_int_equal(krd_i16(&r.rd), KERR_NONE);
    assert_true(str_is(krd_str(&r.rd, false, false), "unknown"));
    assert_int_equal(krd_i16(&r.rd), KERR_GROUP_ID_NOT_FOUND);
    resp_done(&r);
    assert_null(gstore_group(H.b.groups, "g"));
    kwr_free(&w);
    hc_close(&c);
}

/* Two connections: B's JoinGroup is held until A rejoins. */
static void test_highest_versions_and_held_join(void **state)
{
    (void)state;
    hc_t a, b;
    assert_int_equal(hc_connect(&H, &a), 0);
    assert_int_equal(hc_connect(&H, &b), 0);
    join_ans_t ja, jb;
    join_rt(&a, 5, "g", "", &ja); /* v4+: MEMBER_ID_REQUIRED first (KIP-394) */
    assert_int_equal(ja.err, KERR_MEMBER_ID_REQUIRED);
    assert_int_equal(ja.gen, -1);
    assert_true(ja.member[0]);
    char id_a[128];
    strcpy(id_a, ja.member);
    join_rt(&a, 5, "g", id_a, &ja);
    assert_int_equal(ja.err, KERR_NONE);
    assert_int_equal(ja.gen, 1);
    assert_string_equal(ja.member, id_a);

    kwr_t wb, w;
    kwr_init(&wb, 128);
    kwr_init(&w, 128);
    req_join(&wb, 2, "g", "", NULL); /* kafka-python's v2 */
    send_req(&b, &wb);
    no_answer_yet(&b);
    req_heartbeat(&w, 3, "g", 1, id_a);
    assert_int_equal(error_rt(&a, &w, true), KERR_REBALANCE_IN_PROGRESS);
    req_join(&w, 5, "g", id_a, NULL);
    resp_t r;
    roundtrip(&a, &w, &r);
    read_join(&r, 5, &ja);
    recv_resp(&b, &wb, &r);
    read_join(&r, 2, &jb);
    assert_int_equal(ja.gen, 2);
    assert_int_equal(jb.gen, 2);
    assert_string_equal(ja.leader, id_a);
    assert_string_equal(jb.leader, id_a);
    assert_int_equal(ja.nmembers, 2);
    assert_int_equal(jb.nmembers, 0);
    kwr_reset(&w);
    kwr_reset(&wb);

    /* SyncGroup: the follower (v1) waits for the leader (v3) */
    req_sync(&wb, 1, "g", 2, jb.member, NULL, 0, NULL, NULL);
    send_req(&b, &wb);
    no_answer_yet(&b);
    const char *ids[] = {id_a, jb.member}, *bytes[] = {"for-a", "for-b"};
    req_sync(&w, 3, "g", 2, id_a, NULL, 2, ids, bytes);
    roundtrip(&a, &w, &r);
    assert_int_equal(read_sync(&r, 3, "for-a"), KERR_NONE);
    recv_resp(&b, &wb, &r);
    assert_int_equal(read_sync(&r, 1, "for-b"), KERR_NONE);
    kwr_reset(&w);

    /* OffsetCommit v7 as a member, OffsetFetch v5 with null topics */
    assert_int_equal(commit_rt(&a, 7, (commit_args_t){.group = "g", .member = id_a, .gen = 2, .offset = 11,
                                                      .metadata = NULL}),
                     KERR_NONE);
    assert_int_equal(commit_rt(&a, 7, (commit_args_t){.group = "g", .member = id_a, .gen = 1}),
                     KERR_ILLEGAL_GENERATION);
    assert_int_equal(commit_rt(&a, 7, (commit_args_t){.group = "g", .member = id_a, .instance = "nope", .gen = 2}),
                     KERR_UNKNOWN_MEMBER_ID);
    req_fetch(&w, 5, "g", NULL);
    roundtrip(&a, &w, &r);
    krd_t *rd = &r.rd;
    assert_int_equal(krd_i32(rd), 0);
    assert_int_equal(krd_array(rd, false, false, 0), 1);
    assert_true(str_is(krd_str(rd, false, false), "t"));
    assert_int_equal(krd_array(rd, false, false, 0), 1);
    fetched_t f;
    read_fetched(rd, 5, &f);
    assert_int_equal(f.partition, 0);
    assert_int_equal(f.offset, 11);
    assert_int_equal(f.epoch, 9);
    assert_string_equal(f.metadata, "");
    assert_int_equal(krd_i16(rd), KERR_NONE);
    resp_done(&r);
    kwr_reset(&w);
    req_fetch(&w, 2, "unknown", NULL); /* a group without offsets: nothing, no error */
    roundtrip(&a, &w, &r);
    assert_int_equal(krd_array(&r.rd, false, false, 0), 0);
    assert_int_equal(krd_i16(&r.rd), KERR_NONE);
    resp_done(&r);
    kwr_reset(&w);

    /* DescribeGroups v4, ListGroups v2 */
    const char *names[] = {"g"};
    req_names(&w, KAPI_DESCRIBE_GROUPS, 4, 1, names);
    roundtrip(&a, &w, &r);
    rd = &r.rd;
    assert_int_equal(krd_i32(rd), 0);
    assert_int_equal(krd_array(rd, false, false, 0), 1);
    assert_int_equal(krd_i16(rd), KERR_NONE);
    assert_true(str_is(krd_str(rd, false, false), "g"));
    assert_true(str_is(krd_str(rd, false, false), "Stable"));
    assert_true(str_is(krd_str(rd, false, false), "consumer"));
    assert_true(str_is(krd_str(rd, false, false), "range"));
    assert_int_equal(krd_array(rd, false, false, 0), 2);
    for (int i = 0; i < 2; i++) {
        assert_true(str_is(krd_str(rd, false, false), ids[i]));
        assert_int_equal(krd_str(rd, false, true).len, -1); /* GroupInstanceId */
        assert_true(str_is(krd_str(rd, false, false), "apitest"));
        assert_true(str_is(krd_str(rd, false, false), "/127.0.0.1"));
        (void)krd_bytes(rd, false, false);
        kstr_t asg = krd_bytes(rd, false, false);
        assert_true(asg.len == 5 && memcmp(asg.ptr, bytes[i], 5) == 0);
    }
    assert_int_equal(krd_i32(rd), INT32_MIN); /* AuthorizedOperations */
    resp_done(&r);
    kwr_reset(&w);
    hreq_begin(&w, KAPI_LIST_GROUPS, 2, g_corr++, "apitest", false);
    roundtrip(&a, &w, &r);
    assert_int_equal(krd_i32(&r.rd), 0);
    assert_int_equal(krd_i16(&r.rd), KERR_NONE);
    assert_int_equal(krd_array(&r.rd, false, false, 0), 1);
    assert_true(str_is(krd_str(&r.rd, false, false), "g"));
    assert_true(str_is(krd_str(&r.rd, false, false), "consumer"));
    resp_done(&r);
    kwr_reset(&w);

    /* OffsetDelete v0: the topic is subscribed to (the metadata is not a
     * consumer subscription, so every topic counts as subscribed) */
    req_offset_delete(&w, "g");
    roundtrip(&a, &w, &r);
    rd = &r.rd;
    assert_int_equal(krd_i16(rd), KERR_NONE);
    assert_int_equal(krd_i32(rd), 0);
    assert_int_equal(krd_array(rd, false, false, 0), 2);
    assert_true(str_is(krd_str(rd, false, false), "t"));
    assert_int_equal(krd_array(rd, false, false, 0), 1);
    assert_int_equal(krd_i32(rd), 0);
    assert_int_equal(krd_i16(rd), KERR_GROUP_SUBSCRIBED_TO_TOPIC);
    assert_true(str_is(krd_str(rd, false, false), "nosuch"));
    assert_int_equal(krd_array(rd, false, false, 0), 1);
    assert_int_equal(krd_i32(rd), 0);
    assert_int_equal(krd_i16(rd), KERR_UNKNOWN_TOPIC_OR_PARTITION);
    resp_done(&r);
    kwr_reset(&w);

    /* LeaveGroup v1 and DeleteGroups v1 */
    req_leave(&w, 1, "g", jb.member);
    assert_int_equal(error_rt(&b, &w, true), KERR_NONE);
    req_leave(&w, 1, "g", id_a);
    assert_int_equal(error_rt(&a, &w, true), KERR_NONE);
    req_offset_delete(&w, "g"); /* Empty now: deleted */
    roundtrip(&a, &w, &r);
    rd = &r.rd;
    assert_int_equal(krd_i16(rd), KERR_NONE);
    assert_int_equal(krd_i32(rd), 0);
    assert_int_equal(krd_array(rd, false, false, 0), 2);
    for (int i = 0; i < 2; i++) {
        assert_true(str_is(krd_str(rd, false, false), i ? "nosuch" : "t"));
        assert_int_equal(krd_array(rd, false, false, 0), 1);
        assert_int_equal(krd_i32(rd), 0);
        assert_int_equal(krd_i16(rd), i ? KERR_UNKNOWN_TOPIC_OR_PARTITION : KERR_NONE);
    }
    resp_done(&r);
    kwr_reset(&w);
    req_names(&w, KAPI_DELETE_GROUPS, 1, 1, names);
    roundtrip(&a, &w, &r);
    assert_int_equal(krd_i32(&r.rd), 0);
    assert_int_equal(krd_array(&r.rd, false, false, 0), 1);
    assert_true(str_is(krd_str(&r.rd, false, false), "g"));
    assert_int_equal(krd_i16(&r.rd), KERR_GROUP_ID_NOT_FOUND); /* it died with its last offset */
    resp_done(&r);
    kwr_free(&w);
    kwr_free(&wb);
    hc_close(&a);
    hc_close(&b);
}

/* A held JoinGroup whose client went away is still answered, harmlessly. */
static void test_held_join_client_gone(void **state)
{
    (void)state;
    hc_t a, b;
    assert_int_equal(hc_connect(&H, &a), 0);
    assert_int_equal(hc_connect(&H, &b), 0);
    join_ans_t ja;
    join_rt(&a, 2, "g", "", &ja);
    kwr_t w;
    kwr_init(&w, 128);
    req_join(&w, 2, "g", "", NULL);
    send_req(&b, &w);
    no_answer_yet(&b);
    hc_close(&b);
    hs_run_for(&H, 50);
    kwr_reset(&w);
    join_ans_t again;
    join_rt(&a, 2, "g", ja.member, &again); /* completes: the gone member's answer is dropped */
    assert_int_equal(again.err, KERR_NONE);
    assert_int_equal(again.nmembers, 2);
    kwr_free(&w);
    hc_close(&a);
}

static void test_coordinator_errors(void **state)
{
    (void)state;
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    g_check = KERR_NOT_COORDINATOR;
    join_ans_t a;
    join_rt(&c, 5, "g", "", &a);
    assert_int_equal(a.err, KERR_NOT_COORDINATOR);
    kwr_t w;
    kwr_init(&w, 128);
    req_sync(&w, 3, "g", 1, "m", NULL, 0, NULL, NULL);
    resp_t r;
    roundtrip(&c, &w, &r);
    assert_int_equal(read_sync(&r, 3, ""), KERR_NOT_COORDINATOR);
    kwr_reset(&w);
    req_heartbeat(&w, 3, "g", 1, "m");
    assert_int_equal(error_rt(&c, &w, true), KERR_NOT_COORDINATOR);
    req_leave(&w, 1, "g", "m");
    assert_int_equal(error_rt(&c, &w, true), KERR_NOT_COORDINATOR);
    assert_int_equal(commit_rt(&c, 2, (commit_args_t){.group = "g", .gen = -1}), KERR_NOT_COORDINATOR);
    /* an unknown topic keeps its own error */
    assert_int_equal(commit_rt(&c, 2, (commit_args_t){.group = "g", .topic = "nosuch"}),
                     KERR_UNKNOWN_TOPIC_OR_PARTITION);
    /* OffsetFetch: per partition in v1, top-level from v2 */
    req_fetch(&w, 1, "g", "t");
    roundtrip(&c, &w, &r);
    assert_int_equal(krd_array(&r.rd, false, false, 0), 1);
    (void)krd_str(&r.rd, false, false);
    assert_int_equal(krd_array(&r.rd, false, false, 0), 2);
    for (int i = 0; i < 2; i++) {
        fetched_t f;
        read_fetched(&r.rd, 1, &f);
        assert_int_equal(f.offset, -1);
        assert_int_equal(f.err, KERR_NOT_COORDINATOR);
    }
    resp_done(&r);
    kwr_reset(&w);
    req_fetch(&w, 3, "g", "t");
    roundtrip(&c, &w, &r);
    assert_int_equal(krd_i32(&r.rd), 0);
    assert_int_equal(krd_array(&r.rd, false, false, 0), 0);
    assert_int_equal(krd_i16(&r.rd), KERR_NOT_COORDINATOR);
    resp_done(&r);
    kwr_reset(&w);
    const char *names[] = {"g"};
    req_names(&w, KAPI_DESCRIBE_GROUPS, 3, 1, names);
    roundtrip(&c, &w, &r);
    assert_int_equal(krd_i32(&r.rd), 0);
    assert_int_equal(krd_array(&r.rd, false, false, 0), 1);
    assert_int_equal(krd_i16(&r.rd), KERR_NOT_COORDINATOR);
    assert_true(str_is(krd_str(&r.rd, false, false), "g"));
    assert_true(str_is(krd_str(&r.rd, false, false), ""));
    assert_true(str_is(krd_str(&r.rd, false, false), ""));
    assert_true(str_is(krd_str(&r.rd, false, false), ""));
    assert_int_equal(krd_array(&r.rd, false, false, 0), 0);
    assert_int_equal(krd_i32(&r.rd), INT32_MIN);
    resp_done(&r);
    kwr_reset(&w);
    req_names(&w, KAPI_DELETE_GROUPS, 1, 1, names);
    roundtrip(&c, &w, &r);
    assert_int_equal(krd_i32(&r.rd), 0);
    assert_int_equal(krd_array(&r.rd, false, false, 0), 1);
    (void)krd_str(&r.rd, false, false);
    assert_int_equal(krd_i16(&r.rd), KERR_NOT_COORDINATOR);
    resp_done(&r);
    kwr_reset(&w);
    req_offset_delete(&w, "g");
    roundtrip(&c, &w, &r);
    assert_int_equal(krd_i16(&r.rd), KERR_NOT_COORDINATOR);
    assert_int_equal(krd_i32(&r.rd), 0);
    assert_int_equal(krd_array(&r.rd, false, false, 0), 0);
    resp_done(&r);
    kwr_reset(&w);
    /* ids: empty or holding a NUL byte */
    g_check = KERR_NONE;
    join_rt(&c, 0, "", "", &a);
    assert_int_equal(a.err, KERR_INVALID_GROUP_ID);
    req_heartbeat(&w, 0, "", 1, "m");
    assert_int_equal(error_rt(&c, &w, false), KERR_INVALID_GROUP_ID);
    hreq_begin(&w, KAPI_HEARTBEAT, 0, g_corr++, "apitest", false);
    kwr_str(&w, false, "g");
    kwr_i32(&w, 1);
    kwr_kstr(&w, false, (kstr_t){(const uint8_t *)"m\0x", 3});
    assert_int_equal(error_rt(&c, &w, false), KERR_INVALID_REQUEST);
    hreq_begin(&w, KAPI_LEAVE_GROUP, 0, g_corr++, "apitest", false);
    kwr_kstr(&w, false, (kstr_t){(const uint8_t *)"g\0x", 3});
    kwr_str(&w, false, "m");
    assert_int_equal(error_rt(&c, &w, false), KERR_INVALID_GROUP_ID);
    /* no store at all: COORDINATOR_NOT_AVAILABLE */
    gstore_t *s = H.b.groups;
    H.b.groups = NULL;
    req_heartbeat(&w, 0, "g", 1, "m");
    assert_int_equal(error_rt(&c, &w, false), KERR_COORDINATOR_NOT_AVAILABLE);
    H.b.groups = s;
    kwr_free(&w);
    hc_close(&c);
}

/* ------------------------------------------------------------------ */
/* hostile input                                                        */

static void expect_frame_closes(const uint8_t *p, size_t len)
{
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    assert_int_equal(hc_send(&H, &c, p, len), 0);
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = hc_recv(&H, &c, TMO, &buf, &n);
    free(buf);
    assert_int_equal(rc, 0);
    hc_close(&c);
}

typedef void (*build_fn)(kwr_t *w);

static void b_join0(kwr_t *w) { req_join(w, 0, "tg", "", NULL); }
static void b_join5(kwr_t *w) { req_join(w, 5, "tg5", "", "inst"); }
static void b_sync0(kwr_t *w)
{
    const char *ids[] = {"m"}, *bytes[] = {"x"};
    req_sync(w, 0, "tg", 1, "m", NULL, 1, ids, bytes);
}
static void b_sync3(kwr_t *w)
{
    const char *ids[] = {"m"}, *bytes[] = {"x"};
    req_sync(w, 3, "tg", 1, "m", "inst", 1, ids, bytes);
}
static void b_hb0(kwr_t *w) { req_heartbeat(w, 0, "tg", 1, "m"); }
static void b_hb3(kwr_t *w) { req_heartbeat(w, 3, "tg", 1, "m"); }
static void b_leave0(kwr_t *w) { req_leave(w, 0, "tg", "m"); }
static void b_leave1(kwr_t *w) { req_leave(w, 1, "tg", "m"); }
static void b_commit0(kwr_t *w) { req_commit(w, 0, (commit_args_t){.group = "tg", .metadata = "x"}); }
static void b_commit1(kwr_t *w) { req_commit(w, 1, (commit_args_t){.group = "tg", .gen = -1}); }
static void b_commit7(kwr_t *w) { req_commit(w, 7, (commit_args_t){.group = "tg", .gen = -1, .instance = "i"}); }
static void b_fetch0(kwr_t *w) { req_fetch(w, 0, "tg", "t"); }
static void b_fetch5(kwr_t *w) { req_fetch(w, 5, "tg", "t"); }
static void b_fetch5null(kwr_t *w) { req_fetch(w, 5, "tg", NULL); }
static void b_desc0(kwr_t *w)
{
    const char *n[] = {"tg"};
    req_names(w, KAPI_DESCRIBE_GROUPS, 0, 1, n);
}
static void b_desc4(kwr_t *w)
{
    const char *n[] = {"tg"};
    req_names(w, KAPI_DESCRIBE_GROUPS, 4, 1, n);
}
static void b_list2(kwr_t *w) { hreq_begin(w, KAPI_LIST_GROUPS, 2, g_corr++, "apitest", false); }
static void b_del1(kwr_t *w)
{
    const char *n[] = {"tg"};
    req_names(w, KAPI_DELETE_GROUPS, 1, 1, n);
}
static void b_odel(kwr_t *w) { req_offset_delete(w, "tg"); }

/* Every strict prefix of the request is a truncated one: each closes the
 * connection without an answer; the whole request is answered. */
static void truncations_close(build_fn build)
{
    kwr_t w;
    kwr_init(&w, 256);
    build(&w);
    for (size_t len = 0; len < w.len; len++)
        expect_frame_closes(w.buf, len);
    hc_t c;
    assert_int_equal(hc_connect(&H, &c), 0);
    resp_t r;
    roundtrip(&c, &w, &r);
    free(r.buf);
    hc_close(&c);
    kwr_free(&w);
}

static void test_truncated_group_requests_close(void **state)
{
    (void)state;
    build_fn builds[] = {b_join0,   b_join5,  b_sync0,   b_sync3,   b_hb0,   b_hb3,   b_leave0,
                         b_leave1,  b_commit0, b_commit1, b_commit7, b_fetch0, b_fetch5, b_fetch5null,
                         b_desc0,   b_desc4,  b_list2,   b_del1,    b_odel};
    for (size_t i = 0; i < ARRAY_LEN(builds); i++)
        truncations_close(builds[i]);
    assert_true(gstore_validate(H.b.groups));
}

/* Counts far beyond the frame are refused before anything is allocated. */
static void test_hostile_counts_close(void **state)
{
    (void)state;
    static const int16_t keys[][2] = {{KAPI_DESCRIBE_GROUPS, 0}, {KAPI_DELETE_GROUPS, 0}};
    kwr_t w;
    kwr_init(&w, 64);
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        hreq_begin(&w, keys[i][0], keys[i][1], g_corr++, "apitest", false);
        kwr_i32(&w, INT32_MAX);
        expect_frame_closes(w.buf, w.len);
        kwr_reset(&w);
    }
    hreq_begin(&w, KAPI_JOIN_GROUP, 0, g_corr++, "apitest", false);
    kwr_str(&w, false, "g");
    kwr_i32(&w, 10000);
    kwr_str(&w, false, "");
    kwr_str(&w, false, "consumer");
    kwr_i32(&w, INT32_MAX);
    expect_frame_closes(w.buf, w.len);
    kwr_reset(&w);
    hreq_begin(&w, KAPI_OFFSET_COMMIT, 2, g_corr++, "apitest", false);
    kwr_str(&w, false, "g");
    kwr_i32(&w, -1);
    kwr_str(&w, false, "");
    kwr_i64(&w, -1);
    kwr_i32(&w, 1);
    kwr_str(&w, false, "t");
    kwr_i32(&w, 0x7ffffff0);
    expect_frame_closes(w.buf, w.len);
    kwr_reset(&w);
    hreq_begin(&w, KAPI_OFFSET_FETCH, 1, g_corr++, "apitest", false);
    kwr_str(&w, false, "g");
    kwr_i32(&w, -1); /* null topics before v2 */
    expect_frame_closes(w.buf, w.len);
    kwr_free(&w);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_lowest_versions),
        T(test_highest_versions_and_held_join),
        T(test_held_join_client_gone),
        T(test_coordinator_errors),
        T(test_truncated_group_requests_close),
        T(test_hostile_counts_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
