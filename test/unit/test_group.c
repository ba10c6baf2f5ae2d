/*
 * test_group.c - the consumer-group state machine and the offsets store
 * (broker/group/group.c, gstore.c) driven through a fake environment: a
 * clock the test moves, a coordinator check that always passes, and an
 * append that records every batch and completes at once (with a chosen
 * error) or when the test says.  Every transition, the held JoinGroup and
 * SyncGroup answers, initial delay, protocol vote, leader election,
 * session and rebalance timeouts, static membership, KIP-394, offset
 * commit validation and expiry, replay, unload and deletion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "group/group.h"
#include "proto.h"
#include "util.h"
#include "wlog.h"

#define SESSION 10000
#define REBALANCE 20000
#define DELAY 100
#define T0 1000000

/* ------------------------------------------------------------------ */
/* the fake environment                                                 */

typedef struct rec {
    uint8_t *key, *val;
    int32_t klen, vlen; /* vlen -1 = tombstone */
} rec_t;

typedef struct pend {
    coord_done_fn done;
    void *arg;
} pend_t;

typedef struct fake {
    int64_t now;
    int16_t append_err;
    bool hold;          /* appends wait for fake_complete */
    pend_t pend[64];
    int npend;
    rec_t log[512];
    int nlog;
    int nappends;
    bcfg_t cfg;
    gstore_t *s;
} fake_t;

static fake_t F;

static int64_t f_now(void *ctx) { return ((fake_t *)ctx)->now; }
static int16_t f_check(void *ctx, const char *g)
{
    (void)ctx;
    (void)g;
    return KERR_NONE;
}
/* Groups named "x..." live in partition 1, the others in partition 0. */
static int32_t f_part(void *ctx, const char *g)
{
    (void)ctx;
    return g[0] == 'x' ? 1 : 0;
}

static uint8_t *dup_bytes(const uint8_t *p, int32_t n)
{
    uint8_t *d = malloc(n > 0 ? (size_t)n : 1);
    if (n > 0)
        memcpy(d, p, (size_t)n);
    return d;
}

static void f_append(void *ctx, const char *group, const coord_rec_t *recs, int n, coord_done_fn done, void *arg)
{
    fake_t *f = ctx;
    (void)group;
    f->nappends++;
    for (int i = 0; i < n && f->nlog < (int)ARRAY_LEN(f->log); i++) {
        rec_t *r = &f->log[f->nlog++];
        r->key = dup_bytes(recs[i].key, recs[i].key_len);
        r->klen = recs[i].key_len;
        r->vlen = recs[i].value_len;
        r->val = recs[i].value_len >= 0 ? dup_bytes(recs[i].value, recs[i].value_len) : NULL;
    }
    if (f->hold) {
        assert_true(f->npend < (int)ARRAY_LEN(f->pend));
        f->pend[f->npend++] = (pend_t){done, arg};
    } else {
        done(arg, f->append_err);
    }
}

/* Complete the oldest held append with err. */
static void fake_complete(int16_t err)
{
    assert_true(F.npend > 0);
    pend_t p = F.pend[0];
    memmove(F.pend, F.pend + 1, sizeof F.pend[0] * (size_t)--F.npend);
    p.done(p.arg, err);
}

static void store_new(void)
{
    gstore_env_t env = {f_now, f_check, f_part, f_append, NULL, &F};
    F.s = gstore_new_env(&F.cfg, &env);
}

static int setup(void **state)
{
    (void)state;
    wlog_setup("test", WLOG_ERROR);
    memset(&F, 0, sizeof F);
    F.now = T0;
    F.cfg.group_min_session_timeout_ms = 6000;
    F.cfg.group_max_session_timeout_ms = 1800000;
    F.cfg.group_max_size = INT32_MAX;
    F.cfg.group_initial_rebalance_delay_ms = DELAY;
    F.cfg.offsets_retention_minutes = 10;
    F.cfg.offsets_retention_check_interval_ms = 3600000; /* tests of expiry lower it */
    F.cfg.offset_metadata_max_bytes = 16;
    store_new();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    while (F.npend)
        fake_complete(KERR_NOT_COORDINATOR);
    assert_true(gstore_validate(F.s));
    gstore_free(F.s);
    for (int i = 0; i < F.nlog; i++) {
        free(F.log[i].key);
        free(F.log[i].val);
    }
    return 0;
}

/* A fresh store that checks offsets retention every second. */
static void expiry_store(void)
{
    gstore_free(F.s);
    F.cfg.offsets_retention_check_interval_ms = 1000;
    store_new();
}

static void advance(int64_t ms)
{
    F.now += ms;
    gstore_tick(F.s);
    assert_true(gstore_validate(F.s));
}

/* ------------------------------------------------------------------ */
/* requests and their answers                                           */

typedef struct jres {
    bool done;
    int16_t err;
    int32_t generation;
    char protocol[32], leader[96], member_id[96];
    int32_t nmembers;
    char members[8][96];
    char meta[8][64];
} jres_t;

static void on_join(void *arg, const gjoin_result_t *r)
{
    jres_t *j = arg;
    assert_false(j->done); /* exactly once */
    j->done = true;
    j->err = r->err;
    j->generation = r->generation;
    snprintf(j->protocol, sizeof j->protocol, "%s", r->protocol);
    snprintf(j->leader, sizeof j->leader, "%s", r->leader);
    snprintf(j->member_id, sizeof j->member_id, "%s", r->member_id);
    j->nmembers = r->nmembers;
    for (int32_t i = 0; i < r->nmembers && i < 8; i++) {
        snprintf(j->members[i], sizeof j->members[i], "%s", r->members[i].member_id);
        snprintf(j->meta[i], sizeof j->meta[i], "%.*s", (int)(r->members[i].metadata_len & 63),
                 (const char *)r->members[i].metadata);
    }
}

typedef struct sres {
    bool done;
    int16_t err;
    char assignment[64];
} sres_t;

static void on_sync(void *arg, int16_t err, const uint8_t *a, int32_t len)
{
    sres_t *s = arg;
    assert_false(s->done);
    s->done = true;
    s->err = err;
    snprintf(s->assignment, sizeof s->assignment, "%.*s", (int)len, a ? (const char *)a : "");
}

typedef struct cres {
    bool done;
    int16_t errs[8];
    int32_t n;
} cres_t;

static void on_commit(void *arg, const int16_t *errs, int32_t n)
{
    cres_t *c = arg;
    assert_false(c->done);
    c->done = true;
    c->n = n;
    for (int32_t i = 0; i < n && i < 8; i++)
        c->errs[i] = errs[i];
}

/* A join with protocols "a,b" (names split on commas; metadata = "m:" + name). */
typedef struct jopt {
    const char *member_id, *instance_id, *protos, *ptype;
    int32_t session, rebalance;
    bool v4;
} jopt_t;

static void join_opt(const char *group, jopt_t o, jres_t *j)
{
    memset(j, 0, sizeof *j);
    gproto_t p[4];
    char names[4][32], metas[4][136];
    int32_t n = 0;
    const char *s = o.protos ? o.protos : "range,roundrobin";
    while (*s && n < 4) {
        size_t len = strcspn(s, ",");
        snprintf(names[n], sizeof names[n], "%.*s", (int)(len < 31 ? len : 31), s);
        snprintf(metas[n], sizeof metas[n], "m:%s", names[n]);
        p[n] = (gproto_t){names[n], (uint8_t *)metas[n], (int32_t)strlen(metas[n])};
        n++;
        s += len + (s[len] == ',');
    }
    gjoin_t req = {group,
                   o.member_id ? o.member_id : "",
                   o.instance_id,
                   "client",
                   "/127.0.0.1",
                   o.session ? o.session : SESSION,
                   o.rebalance ? o.rebalance : REBALANCE,
                   o.ptype ? o.ptype : "consumer",
                   p,
                   n,
                   o.v4};
    gstore_join(F.s, &req, on_join, j);
    assert_true(gstore_validate(F.s));
}

static void join(const char *group, const char *member_id, jres_t *j)
{
    join_opt(group, (jopt_t){.member_id = member_id}, j);
}

static void sync_full(const char *group, const char *member, const char *instance, int32_t gen, const char **ids,
                      const char **bytes, int n, sres_t *r)
{
    memset(r, 0, sizeof *r);
    gassign_t a[8];
    for (int i = 0; i < n; i++)
        a[i] = (gassign_t){ids[i], (const uint8_t *)bytes[i], (int32_t)strlen(bytes[i])};
    gsync_t req = {group, member, instance, gen, a, n};
    gstore_sync(F.s, &req, on_sync, r);
    assert_true(gstore_validate(F.s));
}

static void sync_(const char *group, const char *member, int32_t gen, sres_t *r)
{
    sync_full(group, member, NULL, gen, NULL, NULL, 0, r);
}

static int16_t hb(const char *group, const char *member, int32_t gen)
{
    return gstore_heartbeat(F.s, group, gen, member, NULL);
}

static enum gstate state_of(const char *group)
{
    const group_t *g = gstore_group(F.s, group);
    return g ? g->state : GS_DEAD;
}

static const group_t *grp(const char *group)
{
    const group_t *g = gstore_group(F.s, group);
    assert_non_null(g);
    return g;
}

/* n new members join during the initial delay (extended once when more
 * than one comes); the join completes; the
 * leader (ids[0]) assigns "a:<i>" to member i; everyone syncs: Stable. */
static int32_t form(const char *group, int n, char ids[][96])
{
    jres_t j[8];
    for (int i = 0; i < n; i++) {
        join(group, NULL, &j[i]);
        assert_false(j[i].done);
    }
    advance(DELAY); /* newcomers extended the initial delay once */
    assert_true(n == 1 || !j[0].done);
    advance(n > 1 ? DELAY : 0);
    const char *idp[8], *bytes[8];
    char buf[8][16];
    for (int i = 0; i < n; i++) {
        assert_true(j[i].done);
        assert_int_equal(j[i].err, KERR_NONE);
        snprintf(ids[i], 96, "%s", j[i].member_id);
        idp[i] = ids[i];
        snprintf(buf[i], sizeof buf[i], "a:%d", i);
        bytes[i] = buf[i];
    }
    assert_string_equal(j[0].leader, ids[0]);
    assert_int_equal(j[0].nmembers, n);
    assert_int_equal(state_of(group), GS_COMPLETING_REBALANCE);
    sres_t s[8];
    sync_full(group, ids[0], NULL, j[0].generation, idp, bytes, n, &s[0]);
    for (int i = 1; i < n; i++)
        sync_(group, ids[i], j[0].generation, &s[i]);
    for (int i = 0; i < n; i++) {
        assert_true(s[i].done);
        assert_int_equal(s[i].err, KERR_NONE);
        assert_string_equal(s[i].assignment, buf[i]);
    }
    assert_int_equal(state_of(group), GS_STABLE);
    return j[0].generation;
}

static void commit1(const char *group, const char *member, int32_t gen, const char *topic, int32_t part,
                    int64_t offset, const char *md, cres_t *c)
{
    memset(c, 0, sizeof *c);
    gcommit_part_t p = {topic, part, offset, 7, md, -1, KERR_NONE};
    gcommit_t req = {group, member, NULL, gen, -1, false, &p, 1};
    gstore_commit(F.s, &req, on_commit, c);
    assert_true(gstore_validate(F.s));
}

/* The record at F.log[i] decoded. */
static void log_key(int i, offrec_key_t *k)
{
    char err[128];
    assert_true(i < F.nlog);
    assert_int_equal(offrec_decode_key(F.log[i].key, (size_t)F.log[i].klen, k, err, sizeof err), 0);
}

static void log_group(int i, offrec_group_t *g)
{
    char err[128];
    assert_true(F.log[i].vlen >= 0);
    assert_int_equal(offrec_decode_group(F.log[i].val, (size_t)F.log[i].vlen, g, err, sizeof err), 0);
}

/* ------------------------------------------------------------------ */
/* transitions                                                          */

static void test_full_cycle(void **state)
{
    (void)state;
    char ids[3][96];
    assert_int_equal(state_of("g"), GS_DEAD); /* unknown */
    int32_t gen = form("g", 2, ids);
    assert_int_equal(gen, 1);
    /* the group record of generation 1 was written with both assignments */
    offrec_key_t k;
    offrec_group_t rec;
    log_key(F.nlog - 1, &k);
    assert_int_equal(k.kind, OFFREC_GROUP);
    assert_string_equal(k.group, "g");
    log_group(F.nlog - 1, &rec);
    assert_int_equal(rec.generation, 1);
    assert_string_equal(rec.protocol_type, "consumer");
    assert_string_equal(rec.protocol, "range");
    assert_string_equal(rec.leader, ids[0]);
    assert_int_equal(rec.nmembers, 2);
    assert_memory_equal(rec.members[1].assignment, "a:1", 3);
    assert_memory_equal(rec.members[0].subscription, "m:range", 7);
    offrec_group_free(&rec);
    offrec_key_free(&k);

    /* a third member: Stable -> PreparingRebalance; the others learn it by heartbeat */
    jres_t j3, j1, j2;
    join("g", NULL, &j3);
    assert_false(j3.done);
    assert_int_equal(state_of("g"), GS_PREPARING_REBALANCE);
    assert_int_equal(hb("g", ids[0], gen), KERR_REBALANCE_IN_PROGRESS);
    join("g", ids[0], &j1);
    assert_false(j1.done);
    join("g", ids[1], &j2); /* the last one releases everyone */
    assert_true(j1.done && j2.done && j3.done);
    assert_int_equal(j1.generation, 2);
    assert_string_equal(j1.leader, ids[0]); /* the leader is kept */
    assert_int_equal(j1.nmembers, 3);
    assert_int_equal(j2.nmembers, 0);
    assert_int_equal(j3.nmembers, 0);
    assert_int_equal(state_of("g"), GS_COMPLETING_REBALANCE);
    assert_int_equal(hb("g", ids[1], 2), KERR_NONE); /* accepted in CompletingRebalance */

    /* followers' syncs wait for the leader's */
    sres_t s2, s3, s1;
    sync_("g", ids[1], 2, &s2);
    sync_("g", j3.member_id, 2, &s3);
    assert_false(s2.done || s3.done);
    const char *who[] = {j3.member_id, ids[1]}, *what[] = {"x3", "x2"};
    sync_full("g", ids[0], NULL, 2, who, what, 2, &s1);
    assert_true(s1.done && s2.done && s3.done);
    assert_string_equal(s1.assignment, ""); /* the leader gave itself nothing */
    assert_string_equal(s2.assignment, "x2");
    assert_string_equal(s3.assignment, "x3");
    assert_int_equal(state_of("g"), GS_STABLE);

    /* everyone leaves: PreparingRebalance -> Empty, written with no members */
    assert_int_equal(gstore_leave(F.s, "g", ids[0]), KERR_NONE);
    assert_int_equal(state_of("g"), GS_PREPARING_REBALANCE);
    assert_int_equal(gstore_leave(F.s, "g", ids[1]), KERR_NONE);
    assert_int_equal(gstore_leave(F.s, "g", j3.member_id), KERR_NONE);
    assert_int_equal(state_of("g"), GS_EMPTY);
    assert_int_equal(grp("g")->generation, 3);
    log_group(F.nlog - 1, &rec);
    assert_int_equal(rec.generation, 3);
    assert_int_equal(rec.nmembers, 0);
    assert_null(rec.protocol);
    assert_null(rec.leader);
    offrec_group_free(&rec);
    assert_int_equal(gstore_leave(F.s, "g", ids[0]), KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(hb("g", ids[0], 3), KERR_UNKNOWN_MEMBER_ID);

    /* Empty -> Dead by deletion */
    assert_int_equal(gstore_delete_group(F.s, "g"), KERR_NONE);
    assert_int_equal(state_of("g"), GS_DEAD);
    log_key(F.nlog - 1, &k);
    assert_int_equal(k.kind, OFFREC_GROUP);
    assert_int_equal(F.log[F.nlog - 1].vlen, -1);
    offrec_key_free(&k);
    assert_int_equal(gstore_delete_group(F.s, "g"), KERR_GROUP_ID_NOT_FOUND);
}

static void test_initial_delay_extends_within_rebalance_timeout(void **state)
{
    (void)state;
    F.cfg.group_initial_rebalance_delay_ms = 3000;
    gstore_free(F.s);
    store_new();
    jres_t a, b, c;
    join_opt("g", (jopt_t){.rebalance = 5000}, &a);
    assert_int_equal(state_of("g"), GS_PREPARING_REBALANCE);
    advance(2999);
    assert_false(a.done);
    join_opt("g", (jopt_t){.rebalance = 5000}, &b); /* a new member: the delay is extended */
    advance(1);
    assert_false(a.done); /* 3000: extended by min(3000, 5000 - 3000) */
    join_opt("g", (jopt_t){.rebalance = 5000}, &c);
    advance(1999);
    assert_false(a.done);
    advance(1); /* 5000 = the rebalance timeout caps it, although c arrived */
    assert_true(a.done && b.done && c.done);
    assert_int_equal(a.nmembers, 3);
    assert_int_equal(a.generation, 1);

    /* without newcomers the delay is not extended */
    jres_t d;
    join_opt("h", (jopt_t){.rebalance = 60000}, &d);
    advance(2999);
    assert_false(d.done);
    advance(1);
    assert_true(d.done);
    assert_int_equal(d.err, KERR_NONE);
}

static void test_zero_delay_completes_at_once(void **state)
{
    (void)state;
    F.cfg.group_initial_rebalance_delay_ms = 0;
    gstore_free(F.s);
    store_new();
    jres_t a;
    join("g", NULL, &a);
    assert_true(a.done);
    assert_int_equal(a.err, KERR_NONE);
    assert_int_equal(a.generation, 1);
    assert_string_equal(a.leader, a.member_id);
    assert_int_equal(state_of("g"), GS_COMPLETING_REBALANCE);
}

static void test_rebalance_timeout_removes_absent_members(void **state)
{
    (void)state;
    char ids[3][96];
    int32_t gen = form("g", 3, ids);
    jres_t j1, j2;
    join("g", ids[1], &j1); /* a follower changes nothing but... */
    assert_true(j1.done);   /* ...Stable with the same metadata: answered at once */
    assert_int_equal(j1.generation, gen);
    join_opt("g", (jopt_t){.member_id = ids[1], .protos = "range"}, &j1); /* new metadata: rebalance */
    assert_false(j1.done);
    assert_int_equal(state_of("g"), GS_PREPARING_REBALANCE);
    /* ids[0] (the leader) and ids[2] keep heartbeating but do not rejoin */
    for (int t = 0; t < REBALANCE; t += 5000) {
        assert_false(j1.done);
        assert_int_equal(hb("g", ids[0], gen), KERR_REBALANCE_IN_PROGRESS);
        assert_int_equal(hb("g", ids[2], gen), KERR_REBALANCE_IN_PROGRESS);
        advance(5000);
    }
    assert_true(j1.done);
    assert_int_equal(j1.generation, gen + 1);
    assert_string_equal(j1.leader, ids[1]); /* the leader did not rejoin: re-elected */
    assert_int_equal(j1.nmembers, 1);
    assert_int_equal(grp("g")->nmembers, 1);
    assert_int_equal(hb("g", ids[0], gen), KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(hb("g", ids[2], gen), KERR_UNKNOWN_MEMBER_ID);
    (void)j2;
}

static void test_protocol_vote_and_mismatch(void **state)
{
    (void)state;
    jres_t a, b, c, d, e;
    join_opt("g", (jopt_t){.protos = "range,roundrobin"}, &a);
    join_opt("g", (jopt_t){.protos = "roundrobin,range"}, &b);
    join_opt("g", (jopt_t){.protos = "roundrobin,range,sticky"}, &c);
    join_opt("g", (jopt_t){.protos = "sticky"}, &d); /* nothing in common */
    assert_true(d.done);
    assert_int_equal(d.err, KERR_INCONSISTENT_GROUP_PROTOCOL);
    join_opt("g", (jopt_t){.ptype = "connect"}, &e); /* another protocol type */
    assert_true(e.done);
    assert_int_equal(e.err, KERR_INCONSISTENT_GROUP_PROTOCOL);
    advance(DELAY);
    advance(DELAY); /* the second joiner extended the initial delay */
    assert_true(a.done);
    assert_string_equal(a.protocol, "roundrobin"); /* two votes against one */
    assert_string_equal(a.meta[1], "m:roundrobin"); /* the leader gets the chosen protocol's metadata */
    assert_string_equal(grp("g")->protocol, "roundrobin");
    /* an empty protocol list cannot found a group */
    jres_t f;
    join_opt("h", (jopt_t){.protos = ""}, &f);
    assert_int_equal(f.err, KERR_INCONSISTENT_GROUP_PROTOCOL);
}

static void test_join_errors(void **state)
{
    (void)state;
    jres_t j;
    join_opt("g", (jopt_t){.session = 5999}, &j);
    assert_int_equal(j.err, KERR_INVALID_SESSION_TIMEOUT);
    join_opt("g", (jopt_t){.session = 1800001}, &j);
    assert_int_equal(j.err, KERR_INVALID_SESSION_TIMEOUT);
    join("", NULL, &j);
    assert_int_equal(j.err, KERR_INVALID_GROUP_ID);
    join("nogroup", "someone", &j); /* a member id for a group that does not exist */
    assert_int_equal(j.err, KERR_UNKNOWN_MEMBER_ID);
    char ids[1][96];
    form("g", 1, ids);
    join("g", "stranger", &j);
    assert_int_equal(j.err, KERR_UNKNOWN_MEMBER_ID);
}

static void test_group_max_size(void **state)
{
    (void)state;
    F.cfg.group_max_size = 2;
    gstore_free(F.s);
    store_new();
    jres_t a, b, c;
    join("g", NULL, &a);
    join("g", NULL, &b);
    join("g", NULL, &c);
    assert_true(c.done);
    assert_int_equal(c.err, KERR_GROUP_MAX_SIZE_REACHED);
    advance(DELAY);
    advance(DELAY); /* the second joiner extended the initial delay */
    assert_int_equal(a.nmembers, 2);
}

static void test_member_id_required(void **state)
{
    (void)state;
    char ids[1][96];
    int32_t gen = form("g", 1, ids);
    jres_t n, again, old;
    join_opt("g", (jopt_t){.v4 = true}, &n);
    assert_true(n.done);
    assert_int_equal(n.err, KERR_MEMBER_ID_REQUIRED);
    assert_true(strncmp(n.member_id, "client-", 7) == 0);
    assert_int_equal(strlen(n.member_id), strlen("client-") + 36);
    assert_int_equal(state_of("g"), GS_STABLE); /* nothing happens until it rejoins */
    join_opt("g", (jopt_t){.member_id = n.member_id, .v4 = true}, &again);
    assert_false(again.done);
    assert_int_equal(state_of("g"), GS_PREPARING_REBALANCE);
    join("g", ids[0], &old);
    assert_true(again.done && old.done);
    assert_int_equal(again.generation, gen + 1);
    sres_t s0, s1;
    sync_("g", again.member_id, gen + 1, &s1);
    sync_("g", ids[0], gen + 1, &s0);
    assert_true(s0.done && s1.done);
    assert_int_equal(state_of("g"), GS_STABLE);

    /* an outstanding pending id holds the rebalance until it expires */
    jres_t p, l;
    join_opt("g", (jopt_t){.v4 = true}, &p);
    assert_int_equal(p.err, KERR_MEMBER_ID_REQUIRED);
    join("g", ids[0], &l); /* the leader forces a rebalance */
    assert_false(l.done);
    jres_t m;
    join("g", again.member_id, &m);
    assert_false(l.done); /* everyone rejoined but the pending id */
    advance(SESSION - 1);
    assert_false(l.done);
    advance(1);
    assert_true(l.done && m.done);
    assert_int_equal(l.nmembers, 2);
}

static void test_session_expiry_stable(void **state)
{
    (void)state;
    char ids[2][96];
    int32_t gen = form("g", 2, ids);
    advance(SESSION - 1);
    assert_int_equal(hb("g", ids[0], gen), KERR_NONE);
    advance(1); /* ids[1] never heartbeated */
    assert_int_equal(state_of("g"), GS_PREPARING_REBALANCE);
    assert_int_equal(grp("g")->nmembers, 1);
    assert_int_equal(hb("g", ids[1], gen), KERR_UNKNOWN_MEMBER_ID);
    /* the survivor rejoins: a new generation of one */
    jres_t j;
    join("g", ids[0], &j);
    assert_true(j.done);
    assert_int_equal(j.generation, gen + 1);
    /* the last member expires too: back to Empty, a record with no members */
    sres_t s;
    sync_("g", ids[0], gen + 1, &s);
    assert_true(s.done);
    advance(SESSION);
    assert_int_equal(state_of("g"), GS_EMPTY);
    assert_int_equal(grp("g")->generation, gen + 2);
    offrec_group_t rec;
    log_group(F.nlog - 1, &rec);
    assert_int_equal(rec.nmembers, 0);
    assert_int_equal(rec.generation, gen + 2);
    offrec_group_free(&rec);
    /* with no offsets the next retention check removes it */
    expiry_store();
    join("e", NULL, &j);
    advance(DELAY);
    assert_int_equal(gstore_leave(F.s, "e", j.member_id), KERR_NONE);
    assert_int_equal(state_of("e"), GS_EMPTY);
    advance(1000);
    assert_int_equal(state_of("e"), GS_DEAD);
}

static void test_session_expiry_preparing_and_completing(void **state)
{
    (void)state;
    char ids[3][96];
    int32_t gen = form("g", 3, ids);
    jres_t j0;
    join("g", ids[0], &j0); /* the leader's join starts a rebalance */
    assert_false(j0.done);
    /* ids[1] heartbeats, ids[2] is silent: it expires by its session, before the rebalance timeout */
    advance(SESSION / 2);
    assert_int_equal(hb("g", ids[1], gen), KERR_REBALANCE_IN_PROGRESS);
    advance(SESSION / 2);
    assert_int_equal(grp("g")->nmembers, 2);
    jres_t j1;
    join("g", ids[1], &j1);
    assert_true(j0.done && j1.done);
    assert_int_equal(j0.nmembers, 2);
    /* CompletingRebalance: a follower that neither syncs nor heartbeats expires */
    assert_int_equal(state_of("g"), GS_COMPLETING_REBALANCE);
    advance(SESSION - 1);
    assert_int_equal(hb("g", ids[0], gen + 1), KERR_NONE);
    assert_int_equal(state_of("g"), GS_COMPLETING_REBALANCE);
    advance(1);
    assert_int_equal(state_of("g"), GS_PREPARING_REBALANCE);
    assert_int_equal(grp("g")->nmembers, 1);
    assert_int_equal(hb("g", ids[1], gen + 1), KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(hb("g", ids[0], gen + 1), KERR_REBALANCE_IN_PROGRESS);
}

static void test_pending_sync_expiry(void **state)
{
    (void)state;
    char ids[2][96];
    form("g", 2, ids);
    jres_t j0, j1;
    join("g", ids[0], &j0);
    join("g", ids[1], &j1);
    assert_true(j0.done && j1.done);
    sres_t s1;
    sync_("g", ids[1], j1.generation, &s1);
    /* the leader heartbeats but never syncs: removed after the rebalance timeout */
    for (int t = 0; t < REBALANCE; t += SESSION / 2) {
        assert_int_equal(state_of("g"), GS_COMPLETING_REBALANCE);
        assert_int_equal(hb("g", ids[0], j0.generation), KERR_NONE);
        advance(SESSION / 2);
    }
    assert_true(s1.done);
    assert_int_equal(s1.err, KERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(state_of("g"), GS_PREPARING_REBALANCE);
    assert_int_equal(grp("g")->nmembers, 1);
    assert_string_equal(grp("g")->leader, ids[1]);
}

static void test_heartbeat_and_sync_errors(void **state)
{
    (void)state;
    assert_int_equal(hb("nogroup", "m", 1), KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(hb("", "m", 1), KERR_INVALID_GROUP_ID);
    char ids[2][96];
    int32_t gen = form("g", 2, ids);
    assert_int_equal(hb("g", ids[0], gen), KERR_NONE);
    assert_int_equal(hb("g", ids[0], gen + 1), KERR_ILLEGAL_GENERATION);
    assert_int_equal(hb("g", "stranger", gen), KERR_UNKNOWN_MEMBER_ID);
    sres_t s;
    sync_("g", ids[1], gen + 5, &s);
    assert_int_equal(s.err, KERR_ILLEGAL_GENERATION);
    sync_("g", "stranger", gen, &s);
    assert_int_equal(s.err, KERR_UNKNOWN_MEMBER_ID);
    sync_("nogroup", "m", 1, &s);
    assert_int_equal(s.err, KERR_UNKNOWN_MEMBER_ID);
    sync_("g", ids[1], gen, &s); /* Stable: the assignment again */
    assert_int_equal(s.err, KERR_NONE);
    assert_string_equal(s.assignment, "a:1");
    jres_t j;
    join("g", ids[0], &j);
    sync_("g", ids[1], gen, &s);
    assert_int_equal(s.err, KERR_REBALANCE_IN_PROGRESS);
    /* a member rejoining in CompletingRebalance with the same metadata gets the answer again */
    jres_t j1;
    join("g", ids[1], &j1);
    assert_true(j.done && j1.done);
    jres_t again;
    join("g", ids[0], &again);
    assert_true(again.done);
    assert_int_equal(again.generation, j.generation);
    assert_int_equal(again.nmembers, 2); /* still the leader */
    assert_int_equal(state_of("g"), GS_COMPLETING_REBALANCE);
}

static void test_sync_write_fails(void **state)
{
    (void)state;
    jres_t a, b;
    join("g", NULL, &a);
    join("g", NULL, &b);
    advance(DELAY);
    advance(DELAY); /* the second joiner extended the initial delay */
    sres_t sb, sa;
    sync_("g", b.member_id, 1, &sb);
    F.hold = true;
    const char *ids[] = {a.member_id, b.member_id}, *bytes[] = {"A", "B"};
    sync_full("g", a.member_id, NULL, 1, ids, bytes, 2, &sa);
    assert_false(sa.done || sb.done); /* held until the write completes */
    fake_complete(KERR_NOT_ENOUGH_REPLICAS);
    assert_true(sa.done && sb.done);
    assert_int_equal(sa.err, KERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(sb.err, KERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(state_of("g"), GS_PREPARING_REBALANCE);
}

/* ------------------------------------------------------------------ */
/* static membership                                                    */

static void form_static(char *id0, char *id1, int32_t *gen)
{
    jres_t a, b;
    join_opt("g", (jopt_t){.instance_id = "i0"}, &a);
    join("g", NULL, &b);
    advance(DELAY);
    advance(DELAY); /* the second joiner extended the initial delay */
    assert_true(strncmp(a.member_id, "i0-", 3) == 0); /* named after the instance */
    const char *ids[] = {a.member_id, b.member_id}, *bytes[] = {"A", "B"};
    sres_t sa, sb;
    sync_full("g", a.member_id, "i0", 1, ids, bytes, 2, &sa);
    sync_("g", b.member_id, 1, &sb);
    assert_string_equal(sa.assignment, "A");
    strcpy(id0, a.member_id);
    strcpy(id1, b.member_id);
    *gen = a.generation;
}

static void test_static_member_rejoins_without_rebalance(void **state)
{
    (void)state;
    char id0[96], id1[96];
    int32_t gen;
    form_static(id0, id1, &gen);
    int appends = F.nappends;
    jres_t r;
    join_opt("g", (jopt_t){.instance_id = "i0"}, &r); /* restarted: no member id */
    assert_true(r.done);
    assert_int_equal(r.err, KERR_NONE);
    assert_int_equal(r.generation, gen); /* no new generation */
    assert_string_not_equal(r.member_id, id0);
    assert_string_equal(r.leader, id0); /* the leader as it was before the takeover */
    assert_int_equal(r.nmembers, 0);
    assert_int_equal(F.nappends, appends + 1); /* the takeover was written */
    assert_int_equal(state_of("g"), GS_STABLE);
    assert_int_equal(hb("g", id1, gen), KERR_NONE); /* the others do not rebalance */
    assert_string_equal(grp("g")->leader, r.member_id);
    /* the old incarnation is fenced; the new one gets its assignment back */
    assert_int_equal(gstore_heartbeat(F.s, "g", gen, id0, "i0"), KERR_FENCED_INSTANCE_ID);
    assert_int_equal(gstore_heartbeat(F.s, "g", gen, id0, NULL), KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(gstore_heartbeat(F.s, "g", gen, r.member_id, "i0"), KERR_NONE);
    assert_int_equal(gstore_heartbeat(F.s, "g", gen, r.member_id, "other"), KERR_UNKNOWN_MEMBER_ID);
    sres_t s;
    sync_full("g", r.member_id, "i0", gen, NULL, NULL, 0, &s);
    assert_int_equal(s.err, KERR_NONE);
    assert_string_equal(s.assignment, "A");
    cres_t c;
    memset(&c, 0, sizeof c);
    gcommit_part_t p = {"t", 0, 5, -1, NULL, -1, KERR_NONE};
    gcommit_t req = {"g", id0, "i0", gen, -1, false, &p, 1};
    gstore_commit(F.s, &req, on_commit, &c);
    assert_int_equal(c.errs[0], KERR_FENCED_INSTANCE_ID);
}

static void test_static_member_with_new_protocols_rebalances(void **state)
{
    (void)state;
    char id0[96], id1[96];
    int32_t gen;
    form_static(id0, id1, &gen);
    jres_t r;
    join_opt("g", (jopt_t){.instance_id = "i0", .protos = "roundrobin,range"}, &r);
    assert_false(r.done); /* the vote would change: a rebalance */
    assert_int_equal(state_of("g"), GS_PREPARING_REBALANCE);
    assert_int_equal(hb("g", id1, gen), KERR_REBALANCE_IN_PROGRESS);
    jres_t b;
    join_opt("g", (jopt_t){.member_id = id1, .protos = "roundrobin"}, &b);
    assert_true(r.done && b.done);
    assert_string_equal(r.protocol, "roundrobin");
    assert_int_equal(r.generation, gen + 1);
}

static void test_static_member_fences_held_join_and_survives_rebalance(void **state)
{
    (void)state;
    char id0[96], id1[96];
    int32_t gen;
    form_static(id0, id1, &gen);
    jres_t old, nw, dyn;
    join_opt("g", (jopt_t){.member_id = id0, .instance_id = "i0"}, &old); /* the leader: a rebalance */
    assert_false(old.done);
    join_opt("g", (jopt_t){.instance_id = "i0"}, &nw); /* a second incarnation takes over */
    assert_true(old.done);
    assert_int_equal(old.err, KERR_FENCED_INSTANCE_ID);
    assert_false(nw.done);
    join("g", id1, &dyn); /* everyone is in: the rebalance completes */
    assert_true(nw.done && dyn.done);
    assert_int_equal(nw.err, KERR_NONE);
    assert_int_equal(nw.generation, gen + 1);
    assert_string_equal(nw.leader, nw.member_id); /* the leader's id moved with the takeover */
    const char *ids[] = {nw.member_id, id1}, *bytes[] = {"A", "B"};
    sres_t s0, s1;
    sync_full("g", nw.member_id, "i0", nw.generation, ids, bytes, 2, &s0);
    sync_("g", id1, nw.generation, &s1);
    assert_string_equal(s1.assignment, "B");
    assert_int_equal(state_of("g"), GS_STABLE);

    /* a static member that heartbeats but does not rejoin stays through the rebalance */
    jres_t d2;
    join_opt("g", (jopt_t){.member_id = id1, .protos = "range"}, &d2);
    assert_false(d2.done);
    for (int t = 0; t < REBALANCE; t += 5000) {
        assert_false(d2.done);
        assert_int_equal(gstore_heartbeat(F.s, "g", nw.generation, nw.member_id, "i0"), KERR_REBALANCE_IN_PROGRESS);
        advance(5000);
    }
    assert_true(d2.done);
    assert_int_equal(d2.nmembers, 2); /* the static member is still listed */
    assert_int_equal(grp("g")->nmembers, 2);
    /* ...until its session runs out (the other one heartbeats) */
    advance(SESSION / 2);
    assert_int_equal(hb("g", id1, d2.generation), KERR_NONE);
    advance(SESSION / 2);
    assert_int_equal(grp("g")->nmembers, 1);
    assert_string_equal(grp("g")->members->member_id, id1);
}

static void test_static_takeover_write_fails(void **state)
{
    (void)state;
    char id0[96], id1[96];
    int32_t gen;
    form_static(id0, id1, &gen);
    F.hold = true;
    jres_t r;
    join_opt("g", (jopt_t){.instance_id = "i0"}, &r);
    assert_false(r.done);
    fake_complete(KERR_NOT_COORDINATOR);
    assert_true(r.done);
    assert_int_equal(r.err, KERR_NOT_COORDINATOR);
    assert_string_equal(r.member_id, "");
    /* undone: the old id is the member again */
    assert_int_equal(gstore_heartbeat(F.s, "g", gen, id0, "i0"), KERR_NONE);
    assert_string_equal(grp("g")->leader, id0);
}

/* ------------------------------------------------------------------ */
/* offsets                                                              */

static void test_commit_validation(void **state)
{
    (void)state;
    cres_t c;
    /* a simple consumer: generation -1 to a group that does not exist creates it */
    commit1("simple", "", -1, "t", 0, 42, "md", &c);
    assert_true(c.done);
    assert_int_equal(c.errs[0], KERR_NONE);
    const group_t *g = grp("simple");
    assert_int_equal(g->state, GS_EMPTY);
    assert_null(g->protocol_type);
    const goffset_t *o = gstore_offset(g, "t", 0);
    assert_non_null(o);
    assert_int_equal(o->v.offset, 42);
    assert_int_equal(o->v.leader_epoch, 7);
    assert_string_equal(o->v.metadata, "md");
    assert_int_equal(o->v.commit_ts, T0);
    assert_int_equal(o->v.expire_ts, -1);
    commit1("nogroup", "m", 3, "t", 0, 1, NULL, &c);
    assert_int_equal(c.errs[0], KERR_ILLEGAL_GENERATION);

    char ids[2][96];
    int32_t gen = form("g", 2, ids);
    commit1("g", "", -1, "t", 0, 1, NULL, &c); /* not a member of an active group */
    assert_int_equal(c.errs[0], KERR_UNKNOWN_MEMBER_ID);
    commit1("g", ids[0], gen + 1, "t", 0, 1, NULL, &c);
    assert_int_equal(c.errs[0], KERR_ILLEGAL_GENERATION);
    commit1("g", "stranger", gen, "t", 0, 1, NULL, &c);
    assert_int_equal(c.errs[0], KERR_UNKNOWN_MEMBER_ID);
    commit1("g", ids[1], gen, "t", 0, 10, NULL, &c);
    assert_int_equal(c.errs[0], KERR_NONE);
    assert_string_equal(gstore_offset(grp("g"), "t", 0)->v.metadata, "");
    /* a commit counts as a heartbeat */
    advance(SESSION - 1);
    assert_int_equal(hb("g", ids[0], gen), KERR_NONE);
    commit1("g", ids[1], gen, "t", 0, 11, NULL, &c);
    advance(1);
    assert_int_equal(grp("g")->nmembers, 2);
    /* PreparingRebalance still accepts it; CompletingRebalance does not */
    jres_t j0, j1;
    join("g", ids[0], &j0);
    commit1("g", ids[1], gen, "t", 0, 12, NULL, &c);
    assert_int_equal(c.errs[0], KERR_NONE);
    join("g", ids[1], &j1);
    commit1("g", ids[1], gen + 1, "t", 0, 13, NULL, &c);
    assert_int_equal(c.errs[0], KERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(gstore_offset(grp("g"), "t", 0)->v.offset, 12);
}

static void test_commit_metadata_and_write(void **state)
{
    (void)state;
    cres_t c;
    memset(&c, 0, sizeof c);
    gcommit_part_t p[3] = {
        {"t", 0, 1, -1, "0123456789abcdef", -1, KERR_NONE},  /* 16 bytes: the limit */
        {"t", 1, 2, -1, "0123456789abcdefX", -1, KERR_NONE}, /* 17: too large */
        {"u", 0, 3, -1, NULL, -1, KERR_UNKNOWN_TOPIC_OR_PARTITION},
    };
    gcommit_t req = {"s", "", NULL, -1, 60000, false, p, 3};
    F.hold = true;
    int before = F.nlog;
    gstore_commit(F.s, &req, on_commit, &c);
    assert_false(c.done); /* waits for the write */
    assert_int_equal(F.nlog, before + 1); /* one record in one batch */
    assert_null(gstore_offset(grp("s"), "t", 0)); /* not visible before it is written */
    fake_complete(KERR_NONE);
    assert_true(c.done);
    assert_int_equal(c.errs[0], KERR_NONE);
    assert_int_equal(c.errs[1], KERR_OFFSET_METADATA_TOO_LARGE);
    assert_int_equal(c.errs[2], KERR_UNKNOWN_TOPIC_OR_PARTITION);
    const goffset_t *o = gstore_offset(grp("s"), "t", 0);
    assert_non_null(o);
    assert_int_equal(o->v.expire_ts, T0 + 60000); /* explicit retention */
    assert_null(gstore_offset(grp("s"), "t", 1));
    offrec_key_t k;
    log_key(before, &k);
    assert_int_equal(k.kind, OFFREC_OFFSET);
    assert_string_equal(k.topic, "t");
    offrec_key_free(&k);

    /* write errors map as Kafka maps them */
    static const int16_t in[][2] = {{KERR_NOT_ENOUGH_REPLICAS, KERR_COORDINATOR_NOT_AVAILABLE},
                                    {KERR_NOT_COORDINATOR, KERR_NOT_COORDINATOR},
                                    {KERR_MESSAGE_TOO_LARGE, KERR_INVALID_COMMIT_OFFSET_SIZE},
                                    {KERR_REQUEST_TIMED_OUT, KERR_REQUEST_TIMED_OUT},
                                    {KERR_KAFKA_STORAGE_ERROR, KERR_NOT_COORDINATOR}};
    for (size_t i = 0; i < ARRAY_LEN(in); i++) {
        commit1("s", "", -1, "t", 2, 9, NULL, &c);
        fake_complete(in[i][0]);
        assert_int_equal(c.errs[0], in[i][1]);
        assert_null(gstore_offset(grp("s"), "t", 2));
    }
    /* v0: stored without group checks, even into an active group */
    F.hold = false;
    char ids[1][96];
    form("g", 1, ids);
    memset(&c, 0, sizeof c);
    gcommit_part_t q = {"t", 0, 77, -1, NULL, -1, KERR_NONE};
    gcommit_t v0 = {"g", "", NULL, -1, -1, true, &q, 1};
    gstore_commit(F.s, &v0, on_commit, &c);
    assert_int_equal(c.errs[0], KERR_NONE);
    assert_int_equal(gstore_offset(grp("g"), "t", 0)->v.offset, 77);
}

static void test_offsets_expire(void **state)
{
    (void)state;
    expiry_store();
    const int64_t retention = 10 * 60000;
    cres_t c;
    commit1("simple", "", -1, "t", 0, 1, NULL, &c); /* offsets-only: by commit time */
    jres_t j;
    join_opt("g", (jopt_t){.session = 1800000}, &j); /* outlives the wait below */
    advance(DELAY);
    sres_t s;
    sync_("g", j.member_id, j.generation, &s);
    const char *ids[] = {j.member_id};
    int32_t gen = j.generation;
    commit1("g", ids[0], gen, "t", 0, 1, NULL, &c);
    advance(retention / 2);
    assert_int_equal(gstore_leave(F.s, "g", ids[0]), KERR_NONE); /* Empty from now */
    assert_int_equal(state_of("g"), GS_EMPTY);
    int before = F.nlog;
    advance(retention / 2 - 1000);
    assert_non_null(gstore_group(F.s, "simple"));
    advance(1000);
    /* the simple group's offset expired and the group went with it */
    assert_null(gstore_group(F.s, "simple"));
    assert_true(F.nlog > before);
    offrec_key_t k;
    log_key(before, &k);
    assert_string_equal(k.group, "simple");
    assert_int_equal(k.kind, OFFREC_OFFSET);
    assert_int_equal(F.log[before].vlen, -1);
    offrec_key_free(&k);
    /* the consumer group counts from when it became Empty */
    assert_non_null(gstore_offset(grp("g"), "t", 0));
    advance(retention / 2 - 1000);
    assert_non_null(gstore_group(F.s, "g"));
    advance(1000);
    assert_null(gstore_group(F.s, "g"));
    log_key(F.nlog - 1, &k); /* it had a generation: a group tombstone too */
    assert_int_equal(k.kind, OFFREC_GROUP);
    assert_int_equal(F.log[F.nlog - 1].vlen, -1);
    offrec_key_free(&k);
}

static void test_offsets_expire_explicit_and_pending(void **state)
{
    (void)state;
    expiry_store();
    cres_t c;
    memset(&c, 0, sizeof c);
    gcommit_part_t p = {"t", 0, 1, -1, NULL, -1, KERR_NONE};
    gcommit_t req = {"s", "", NULL, -1, 5000, false, &p, 1};
    gstore_commit(F.s, &req, on_commit, &c);
    commit1("s", "", -1, "t", 1, 1, NULL, &c);
    advance(5000);
    assert_null(gstore_offset(grp("s"), "t", 0)); /* its own expire timestamp */
    assert_non_null(gstore_offset(grp("s"), "t", 1));
    /* an offset with a commit in flight does not expire, nor does its group die */
    F.hold = true;
    commit1("s", "", -1, "t", 1, 2, NULL, &c);
    advance(10 * 60000);
    assert_non_null(gstore_offset(grp("s"), "t", 1));
    fake_complete(KERR_NONE);
    assert_int_equal(gstore_offset(grp("s"), "t", 1)->v.offset, 2);
}

static void test_delete_groups_and_offsets(void **state)
{
    (void)state;
    assert_int_equal(gstore_delete_group(F.s, "nogroup"), KERR_GROUP_ID_NOT_FOUND);
    char ids[1][96];
    int32_t gen = form("g", 1, ids);
    cres_t c;
    commit1("g", ids[0], gen, "t", 0, 1, NULL, &c);
    commit1("g", ids[0], gen, "other", 0, 1, NULL, &c);
    assert_int_equal(gstore_delete_group(F.s, "g"), KERR_NON_EMPTY_GROUP);
    /* the members subscribe to "t" (see join_opt: metadata is not a real subscription,
     * so the group does not know its topics and treats every topic as subscribed) */
    const char *topics[] = {"t"};
    int32_t parts[] = {0};
    int16_t errs[1];
    assert_int_equal(gstore_delete_offsets(F.s, "g", topics, parts, 1, errs), KERR_NONE);
    assert_int_equal(errs[0], KERR_GROUP_SUBSCRIBED_TO_TOPIC);
    assert_int_equal(gstore_delete_offsets(F.s, "nogroup", topics, parts, 1, errs), KERR_GROUP_ID_NOT_FOUND);
    assert_int_equal(gstore_leave(F.s, "g", ids[0]), KERR_NONE);
    assert_int_equal(gstore_delete_offsets(F.s, "g", topics, parts, 1, errs), KERR_NONE);
    assert_int_equal(errs[0], KERR_NONE);
    assert_null(gstore_offset(grp("g"), "t", 0));
    assert_int_equal(F.log[F.nlog - 1].vlen, -1);
    int before = F.nlog;
    assert_int_equal(gstore_delete_group(F.s, "g"), KERR_NONE);
    assert_int_equal(F.nlog, before + 2); /* the last offset and the group */
    assert_null(gstore_group(F.s, "g"));
    /* a non-consumer group that is active refuses OffsetDelete */
    jres_t j;
    join_opt("c", (jopt_t){.ptype = "connect"}, &j);
    advance(DELAY);
    assert_int_equal(gstore_delete_offsets(F.s, "c", topics, parts, 1, errs), KERR_NON_EMPTY_GROUP);
}

/* A consumer-protocol subscription: v0, topics, null user data. */
static int32_t subscription(uint8_t *buf, const char *topic)
{
    kwr_t w;
    kwr_init(&w, 32);
    kwr_i16(&w, 0);
    kwr_array(&w, false, 1);
    kwr_str(&w, false, topic);
    kwr_bytes(&w, false, NULL, -1);
    memcpy(buf, w.buf, w.len);
    int32_t n = (int32_t)w.len;
    kwr_free(&w);
    return n;
}

static void test_offset_delete_respects_subscriptions(void **state)
{
    (void)state;
    uint8_t sub[64];
    int32_t n = subscription(sub, "t");
    gproto_t p = {"range", sub, n};
    jres_t j = {0};
    gjoin_t req = {"g", "", NULL, "client", "/h", SESSION, REBALANCE, "consumer", &p, 1, false};
    gstore_join(F.s, &req, on_join, &j);
    advance(DELAY);
    assert_true(j.done);
    assert_true(grp("g")->subscribed_known);
    sres_t s;
    sync_("g", j.member_id, j.generation, &s);
    assert_int_equal(state_of("g"), GS_STABLE);
    cres_t c, d;
    commit1("g", j.member_id, j.generation, "t", 0, 1, NULL, &c);
    commit1("g", j.member_id, j.generation, "u", 0, 1, NULL, &d);
    assert_int_equal(c.errs[0], KERR_NONE);
    assert_int_equal(d.errs[0], KERR_NONE);
    const char *topics[] = {"t", "u"};
    int32_t parts[] = {0, 0};
    int16_t errs[2];
    assert_int_equal(gstore_delete_offsets(F.s, "g", topics, parts, 2, errs), KERR_NONE);
    assert_int_equal(errs[0], KERR_GROUP_SUBSCRIBED_TO_TOPIC);
    assert_int_equal(errs[1], KERR_NONE);
    assert_non_null(gstore_offset(grp("g"), "t", 0));
    assert_null(gstore_offset(grp("g"), "u", 0));

    /* truncated subscription bytes: unknown topics, treated as subscribed to all */
    jres_t k = {0};
    gproto_t bad = {"range", sub, n - 3};
    gjoin_t req2 = {"h", "", NULL, "client", "/h", SESSION, REBALANCE, "consumer", &bad, 1, false};
    gstore_join(F.s, &req2, on_join, &k);
    advance(DELAY);
    assert_false(grp("h")->subscribed_known);
    assert_true(group_subscribed(grp("h"), "anything"));
}

/* ------------------------------------------------------------------ */
/* replay and unload                                                    */

static void test_replay_then_load_done(void **state)
{
    (void)state;
    offrec_key_t k = {OFFREC_OFFSET, "g", "t", 0};
    offrec_offset_t v = {5, 3, "md", 100, -1};
    gstore_load_offset(F.s, 0, &k, &v);
    v.offset = 6;
    gstore_load_offset(F.s, 0, &k, &v); /* later records win */
    offrec_key_t k1 = {OFFREC_OFFSET, "g", "t", 1};
    gstore_load_offset(F.s, 0, &k1, &v);
    gstore_load_offset(F.s, 0, &k1, NULL); /* tombstone */
    offrec_member_t m[2] = {
        {"m1", NULL, "c1", "/h1", 20000, 10000, (uint8_t *)"sub1", 4, (uint8_t *)"as1", 3},
        {"m2", "inst", "c2", "/h2", 20000, 10000, (uint8_t *)"sub2", 4, (uint8_t *)"as2", 3},
    };
    offrec_group_t gr = {"consumer", 4, "range", "m2", 123, m, 2};
    gstore_load_group(F.s, 0, "g", &gr);
    offrec_group_t dead = {"consumer", 1, NULL, NULL, 1, NULL, 0};
    gstore_load_group(F.s, 0, "gone", &dead);
    gstore_load_group(F.s, 0, "gone", NULL); /* group tombstone */
    offrec_key_t ko = {OFFREC_OFFSET, "only", "t", 0};
    gstore_load_offset(F.s, 0, &ko, &v);
    assert_null(gstore_group(F.s, "g")); /* not live while loading */
    advance(60000); /* loading groups do not expire */
    gstore_load_done(F.s, 0);
    const group_t *g = grp("g");
    assert_int_equal(g->state, GS_STABLE);
    assert_int_equal(g->generation, 4);
    assert_string_equal(g->leader, "m2");
    assert_int_equal(g->state_ts, 123);
    assert_int_equal(g->nmembers, 2);
    assert_string_equal(g->members->next->instance_id, "inst");
    assert_int_equal(gstore_offset(g, "t", 0)->v.offset, 6);
    assert_null(gstore_offset(g, "t", 1));
    assert_null(gstore_group(F.s, "gone"));
    assert_int_equal(grp("only")->state, GS_EMPTY);
    assert_null(grp("only")->protocol_type);
    /* the stored generation is live; sessions start at load_done */
    sres_t s;
    sync_full("g", "m2", "inst", 4, NULL, NULL, 0, &s);
    assert_int_equal(s.err, KERR_NONE);
    assert_string_equal(s.assignment, "as2");
    advance(9999);
    assert_int_equal(hb("g", "m1", 4), KERR_NONE);
    advance(1); /* m2 synced at load time + 0 and has not heartbeated since */
    assert_int_equal(grp("g")->nmembers, 1);
    assert_int_equal(state_of("g"), GS_PREPARING_REBALANCE);
}

static void test_unload_answers_held_requests(void **state)
{
    (void)state;
    char ids[2][96];
    int32_t gen = form("x1", 2, ids); /* partition 1 */
    char other[1][96];
    form("g", 1, other);              /* partition 0 */
    jres_t j;
    join("x1", ids[0], &j); /* held */
    assert_false(j.done);
    jres_t j1;
    join("x1", ids[1], &j1);
    sres_t s;
    sync_("x1", ids[1], gen + 1, &s); /* held for the leader */
    assert_false(s.done);
    F.hold = true;
    cres_t held, c;
    commit1("g", other[0], 1, "t", 0, 1, NULL, &held);
    commit1("x1", "", -1, "t", 0, 1, NULL, &c); /* not a member of an active group: at once */
    assert_true(c.done);
    assert_int_equal(c.errs[0], KERR_UNKNOWN_MEMBER_ID);
    commit1("x1", ids[0], gen + 1, "t", 0, 1, NULL, &c); /* CompletingRebalance: at once */
    assert_int_equal(c.errs[0], KERR_REBALANCE_IN_PROGRESS);
    gstore_unload(F.s, 1);
    assert_true(s.done);
    assert_int_equal(s.err, KERR_NOT_COORDINATOR);
    assert_null(gstore_group(F.s, "x1"));
    assert_int_equal(hb("x1", ids[0], gen + 1), KERR_UNKNOWN_MEMBER_ID);
    assert_non_null(gstore_group(F.s, "g")); /* another partition */
    gstore_unload(F.s, 0);
    assert_null(gstore_group(F.s, "g"));
    /* the commit still in flight answers when its write does */
    assert_false(held.done);
    fake_complete(KERR_NOT_COORDINATOR);
    assert_true(held.done);
    assert_int_equal(held.errs[0], KERR_NOT_COORDINATOR);
}

static void test_unload_held_join(void **state)
{
    (void)state;
    jres_t a, b;
    join("x", NULL, &a);
    join("x", NULL, &b);
    assert_false(a.done);
    gstore_unload(F.s, 1);
    assert_true(a.done && b.done);
    assert_int_equal(a.err, KERR_NOT_COORDINATOR);
    assert_int_equal(b.err, KERR_NOT_COORDINATOR);
    /* a pending commit outlives its group and still answers */
    F.hold = true;
    cres_t c;
    commit1("x2", "", -1, "t", 0, 1, NULL, &c);
    gstore_unload(F.s, 1);
    assert_false(c.done);
    fake_complete(KERR_NOT_COORDINATOR);
    assert_true(c.done);
    assert_int_equal(c.errs[0], KERR_NOT_COORDINATOR);
    /* and one whose store is freed */
    commit1("x3", "", -1, "t", 0, 1, NULL, &c);
    gstore_free(F.s);
    store_new();
    fake_complete(KERR_NONE);
    assert_true(c.done);
    assert_int_equal(c.errs[0], KERR_NONE);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_full_cycle),
        T(test_initial_delay_extends_within_rebalance_timeout),
        T(test_zero_delay_completes_at_once),
        T(test_rebalance_timeout_removes_absent_members),
        T(test_protocol_vote_and_mismatch),
        T(test_join_errors),
        T(test_group_max_size),
        T(test_member_id_required),
        T(test_session_expiry_stable),
        T(test_session_expiry_preparing_and_completing),
        T(test_pending_sync_expiry),
        T(test_heartbeat_and_sync_errors),
        T(test_sync_write_fails),
        T(test_static_member_rejoins_without_rebalance),
        T(test_static_member_with_new_protocols_rebalances),
        T(test_static_member_fences_held_join_and_survives_rebalance),
        T(test_static_takeover_write_fails),
        T(test_commit_validation),
        T(test_commit_metadata_and_write),
        T(test_offsets_expire),
        T(test_offsets_expire_explicit_and_pending),
        T(test_delete_groups_and_offsets),
        T(test_offset_delete_respects_subscriptions),
        T(test_replay_then_load_done),
        T(test_unload_answers_held_requests),
        T(test_unload_held_join),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
