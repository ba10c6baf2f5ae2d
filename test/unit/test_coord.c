/*
 * test_coord.c - the partition side of the group coordinator
 * (broker/group/coord.c) on the in-process broker of api_harness.h with the
 * real group store: which broker coordinates a group, replay of a
 * __consumer_offsets partition into the store when leadership arrives
 * (skipping unreadable records), COORDINATOR_LOAD_IN_PROGRESS while it
 * runs, the store emptied when leadership leaves, and writes acknowledged
 * once the high watermark passes them, refused below min.insync.replicas,
 * timed out, or answered NOT_COORDINATOR when leadership moves meanwhile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api_harness.h"
#include "batch.h"
#include "group/coord.h"
#include "group/group.h"
#include "proto.h"
#include "wlog.h"

static hs_t H;
static char g_topic[] = COORD_TOPIC;

/* Broker 1 leads __consumer_offsets-0 (the only partition); `isr` lists
 * the ISR (broker 1 first), all of them replicas. */
static bpart_t *serve_offsets(const int32_t *isr, int32_t nisr)
{
    bk_t *b = &H.b;
    static char host[] = "127.0.0.1";
    ctl_part_t part = {.topic = g_topic, .partition = 0, .leader = 1, .isr = (int32_t *)isr, .nisr = nisr,
                       .replicas = (int32_t *)isr, .nreplicas = nisr};
    ctl_node_t node = {.id = 1, .host = host, .port = b->adv_port};
    ctl_state_t st = {.controller_id = 1, .parts = &part, .nparts = 1, .nodes = &node, .nnodes = 1};
    meta_apply(&b->meta, &st);
    bpart_t *p = bpart_get(b, g_topic, strlen(g_topic), 0);
    if (!p)
        p = bpart_create(b, g_topic, 0);
    assert_non_null(p);
    p->leader = 1;
    free(p->isr);
    free(p->replicas);
    p->isr = malloc(sizeof(int32_t) * (size_t)nisr);
    p->replicas = malloc(sizeof(int32_t) * (size_t)nisr);
    memcpy(p->isr, isr, sizeof(int32_t) * (size_t)nisr);
    memcpy(p->replicas, isr, sizeof(int32_t) * (size_t)nisr);
    p->nisr = p->nreplicas = nisr;
    p->min_insync = 1;
    p->max_message_bytes = b->cfg.message_max_bytes;
    p->is_leader = true;
    repl_become_leader(b, p);
    bpart_update_hw(b, p);
    return p;
}

static int setup(void **state)
{
    (void)state;
    wlog_setup("test", WLOG_ERROR);
    if (hs_open(&H) != 0)
        return -1;
    bcfg_t *c = &H.b.cfg;
    c->offsets_commit_timeout_ms = 300;
    H.b.groups = gstore_new(&H.b);
    coord_start(&H.b);
    return H.b.groups ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    coord_shutdown(&H.b);
    gstore_free(H.b.groups);
    H.b.groups = NULL;
    hs_close(&H);
    return 0;
}

/* Append one batch of (key, value) records to the partition's log as a
 * leader would have (value NULL = tombstone). */
static void append_records(bpart_t *p, const kwr_t *keys, const kwr_t *vals, int n)
{
    krecord_in_t in[8];
    assert_true(n <= 8);
    memset(in, 0, sizeof in);
    for (int i = 0; i < n; i++) {
        in[i].key = keys[i].buf;
        in[i].key_len = (int32_t)keys[i].len;
        in[i].value = vals[i].len ? vals[i].buf : NULL;
        in[i].value_len = vals[i].len ? (int32_t)vals[i].len : -1;
        in[i].timestamp = now_ms();
    }
    kwr_t w;
    kwr_init(&w, 256);
    assert_int_equal(kbatch_build(&w, 0, in, n), 0);
    int64_t base;
    assert_int_equal(plog_append(p->log, w.buf, w.len, p->leader_epoch, now_ms(), &base), 0);
    kwr_free(&w);
    bpart_update_hw(&H.b, p);
}

static void offset_record(kwr_t *k, kwr_t *v, const char *group, const char *topic, int32_t part, int64_t off)
{
    kwr_init(k, 64);
    kwr_init(v, 64);
    offrec_encode_offset_key(k, group, topic, part);
    offrec_offset_t o = {.offset = off, .leader_epoch = -1, .metadata = (char *)"meta", .commit_ts = now_ms(),
                         .expire_ts = -1};
    offrec_encode_offset(v, &o);
}

static void free_records(kwr_t *k, kwr_t *v, int n)
{
    for (int i = 0; i < n; i++) {
        kwr_free(&k[i]);
        kwr_free(&v[i]);
    }
}

static int64_t committed(const char *group, const char *topic, int32_t part)
{
    const group_t *g = gstore_group(H.b.groups, group);
    const goffset_t *o = g ? gstore_offset(g, topic, part) : NULL;
    return o ? o->v.offset : -1;
}

/* A single-partition topic: every group maps to partition 0. */
static void test_replay_then_serve_then_unload(void **state)
{
    (void)state;
    bk_t *b = &H.b;
    assert_int_equal(coord_check(b, "g1", 2), KERR_COORDINATOR_NOT_AVAILABLE); /* no topic yet */
    int32_t one[] = {1};
    bpart_t *p = serve_offsets(one, 1);
    assert_int_equal(coord_partition_for(b, "g1", 2), 0);

    /* g1 at 5 then 42 on t-0, g2 at 7 then deleted, and an unreadable key
     * and a record with an unknown key version in between. */
    kwr_t k[4], v[4];
    offset_record(&k[0], &v[0], "g1", "t", 0, 5);
    offset_record(&k[1], &v[1], "g2", "t", 0, 7);
    kwr_init(&k[2], 8);
    kwr_init(&v[2], 8);
    kwr_i16(&k[2], 9); /* key version 9: skipped */
    kwr_i32(&k[2], 0);
    kwr_str(&v[2], false, "x");
    offset_record(&k[3], &v[3], "g1", "t", 0, 42);
    append_records(p, k, v, 4);
    free_records(k, v, 4);
    kwr_init(&k[0], 64);
    kwr_init(&v[0], 1);
    offrec_encode_offset_key(&k[0], "g2", "t", 0);
    append_records(p, k, v, 1); /* tombstone */
    free_records(k, v, 1);

    coord_became_leader(b, p);
    assert_true(coord_loading(b));
    assert_int_equal(coord_check(b, "g1", 2), KERR_COORDINATOR_LOAD_IN_PROGRESS);
    hs_run_for(&H, 50);
    assert_false(coord_loading(b));
    assert_int_equal(coord_check(b, "g1", 2), KERR_NONE);
    assert_int_equal(committed("g1", "t", 0), 42);
    assert_int_equal(committed("g2", "t", 0), -1);

    int16_t fc_err;
    assert_int_equal(coord_find(b, "g1", 2, &fc_err), 1);
    assert_int_equal(fc_err, KERR_NONE);

    /* Leadership leaves: the store forgets the partition's groups. */
    p->is_leader = false;
    coord_partition_changed(b, p);
    assert_int_equal(coord_check(b, "g1", 2), KERR_NOT_COORDINATOR);
    assert_null(gstore_group(b->groups, "g1"));

    /* And comes back: the replay rebuilds the same state. */
    p->is_leader = true;
    coord_partition_changed(b, p);
    assert_int_equal(coord_check(b, "g1", 2), KERR_COORDINATOR_LOAD_IN_PROGRESS);
    hs_run_for(&H, 50);
    assert_int_equal(committed("g1", "t", 0), 42);
}

typedef struct done {
    int calls;
    int16_t err;
} done_t;

static void on_done(void *arg, int16_t err)
{
    done_t *d = arg;
    d->calls++;
    d->err = err;
}

static void write_one(const char *group, int64_t off, done_t *d)
{
    kwr_t k, v;
    offset_record(&k, &v, group, "t", 1, off);
    coord_rec_t rec = {k.buf, (int32_t)k.len, v.buf, (int32_t)v.len};
    coord_append(&H.b, group, &rec, 1, on_done, d);
    kwr_free(&k);
    kwr_free(&v);
}

static void test_append_acknowledged_by_hw(void **state)
{
    (void)state;
    bk_t *b = &H.b;
    int32_t one[] = {1};
    bpart_t *p = serve_offsets(one, 1);
    coord_became_leader(b, p);
    hs_run_for(&H, 20);
    int64_t leo = plog_end_offset(p->log);

    done_t d = {0, 99};
    write_one("g1", 11, &d);
    assert_int_equal(d.calls, 0); /* never answered from inside the call */
    hs_run_for(&H, 20);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.err, KERR_NONE);
    assert_int_equal(plog_end_offset(p->log), leo + 1);
    assert_true(p->hw >= leo + 1);

    /* Below min.insync.replicas: refused before anything is appended. */
    p->min_insync = 2;
    done_t e = {0, 99};
    write_one("g1", 12, &e);
    hs_run_for(&H, 20);
    assert_int_equal(e.calls, 1);
    assert_int_equal(e.err, KERR_NOT_ENOUGH_REPLICAS);
    assert_int_equal(plog_end_offset(p->log), leo + 1);
}

static void test_append_waits_times_out_or_loses_leadership(void **state)
{
    (void)state;
    bk_t *b = &H.b;
    int32_t two[] = {1, 2}; /* broker 2 never fetches: the HW stays put */
    bpart_t *p = serve_offsets(two, 2);
    coord_became_leader(b, p);
    hs_run_for(&H, 20);

    done_t d = {0, 99};
    write_one("g1", 1, &d);
    hs_run_for(&H, 100);
    assert_int_equal(d.calls, 0); /* waiting for the follower */
    hs_run_for(&H, 400);          /* offsets.commit.timeout.ms = 300 */
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.err, KERR_REQUEST_TIMED_OUT);

    /* The follower catches up: a waiting write is acknowledged. */
    done_t e = {0, 99};
    write_one("g1", 2, &e);
    hs_run_for(&H, 20);
    assert_int_equal(e.calls, 0);
    repl_follower_fetched(b, p, 2, plog_end_offset(p->log));
    hs_run_for(&H, 20);
    assert_int_equal(e.calls, 1);
    assert_int_equal(e.err, KERR_NONE);

    /* Leadership leaves while a write waits: NOT_COORDINATOR, once. */
    done_t f = {0, 99};
    write_one("g1", 3, &f);
    hs_run_for(&H, 20);
    p->is_leader = false;
    coord_partition_changed(b, p);
    hs_run_for(&H, 400);
    assert_int_equal(f.calls, 1);
    assert_int_equal(f.err, KERR_NOT_COORDINATOR);

    /* Not the leader: refused at once (but still answered on the loop). */
    done_t g = {0, 99};
    write_one("g1", 4, &g);
    assert_int_equal(g.calls, 0);
    hs_run_for(&H, 20);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.err, KERR_NOT_COORDINATOR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replay_then_serve_then_unload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_acknowledged_by_hw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_waits_times_out_or_loses_leadership, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
