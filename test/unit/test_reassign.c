/*
 * test_reassign.c - the pure parts of partition reassignment: the RS/AR/RR
 * sets (Kafka's (TRS ++ ORS).distinct), target and original replicas of a
 * partition in flight, the "target all in sync" completion test, the
 * reassignment election (leader from the target, ISR cut to the target),
 * resuming after a controller failover (epoch bump, expansion accepted),
 * and the topic znode carrying adding/removing replicas into the model and
 * back; plus the /admin/reassign_partitions and preferred-election JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "controller/model.h"
#include "proto.h"
#include "znode.h"

static bool live_mask(const void *ctx, int32_t id) { return id >= 0 && id < 32 && (*(const uint32_t *)ctx >> id) & 1; }

static void assert_ids(const int32_t *got, int n, const int32_t *want, int nwant)
{
    assert_int_equal(n, nwant);
    for (int i = 0; i < n; i++)
        assert_int_equal(got[i], want[i]);
}

static void test_plan(void **state)
{
    (void)state;
    int32_t rs[8], ar[8], rr[8];
    int nrs, nar, nrr;
    /* [1,2,3] -> [4,5,6]: everything moves. */
    cm_ra_plan((int32_t[]){1, 2, 3}, 3, (int32_t[]){4, 5, 6}, 3, rs, &nrs, ar, &nar, rr, &nrr);
    assert_ids(rs, nrs, (int32_t[]){4, 5, 6, 1, 2, 3}, 6);
    assert_ids(ar, nar, (int32_t[]){4, 5, 6}, 3);
    assert_ids(rr, nrr, (int32_t[]){1, 2, 3}, 3);
    /* Overlap keeps the target order first. */
    cm_ra_plan((int32_t[]){1, 2, 3}, 3, (int32_t[]){3, 4, 1}, 3, rs, &nrs, ar, &nar, rr, &nrr);
    assert_ids(rs, nrs, (int32_t[]){3, 4, 1, 2}, 4);
    assert_ids(ar, nar, (int32_t[]){4}, 1);
    assert_ids(rr, nrr, (int32_t[]){2}, 1);
    /* Pure reorder (a preferred-leader change): nothing added or removed. */
    cm_ra_plan((int32_t[]){1, 2}, 2, (int32_t[]){2, 1}, 2, rs, &nrs, ar, &nar, rr, &nrr);
    assert_ids(rs, nrs, (int32_t[]){2, 1}, 2);
    assert_int_equal(nar, 0);
    assert_int_equal(nrr, 0);
    /* Shrinking RF. */
    cm_ra_plan((int32_t[]){1, 2, 3}, 3, (int32_t[]){1}, 1, rs, &nrs, ar, &nar, rr, &nrr);
    assert_ids(rs, nrs, (int32_t[]){1, 2, 3}, 3);
    assert_int_equal(nar, 0);
    assert_ids(rr, nrr, (int32_t[]){2, 3}, 2);
}

static cpart_t moving(int32_t *rep, int nrep, int32_t *add, int nadd, int32_t *rem, int nrem, int32_t leader,
                      const int32_t *isr, int nisr)
{
    cpart_t p = {.nrep = nrep, .rep = rep, .has_state = true, .zkver = 7, .nadd = nadd, .add = add,
                 .nrem = nrem, .rem = rem};
    p.st.leader = leader;
    p.st.leader_epoch = 4;
    p.st.controller_epoch = 1;
    p.st.nisr = nisr;
    memcpy(p.st.isr, isr, sizeof(int32_t) * (size_t)nisr);
    return p;
}

static void test_target_original_caught_up(void **state)
{
    (void)state;
    int32_t rep[] = {4, 5, 1, 2}, add[] = {4, 5}, rem[] = {1, 2}, out[4];
    int32_t isr[] = {1, 2, 4};
    cpart_t p = moving(rep, 4, add, 2, rem, 2, 1, isr, 3);
    assert_ids(out, cm_ra_target(&p, out), (int32_t[]){4, 5}, 2);
    assert_ids(out, cm_ra_original(&p, out), (int32_t[]){1, 2}, 2);
    assert_false(cm_ra_caught_up(&p)); /* 5 is not in sync yet */
    p.st.isr[3] = 5;
    p.st.nisr = 4;
    assert_true(cm_ra_caught_up(&p));
}

static void test_reassign_election(void **state)
{
    (void)state;
    int32_t rep[] = {4, 5, 1, 2}, add[] = {4, 5}, rem[] = {1, 2}, trs[] = {4, 5};
    int32_t isr[] = {1, 2, 4, 5};
    uint32_t live = (1u << 1) | (1u << 2) | (1u << 4) | (1u << 5);
    zn_pstate_t out;
    /* Leader 1 is leaving: the first in-sync target replica leads, ISR = target. */
    cpart_t p = moving(rep, 4, add, 2, rem, 2, 1, isr, 4);
    assert_true(cm_elect_reassign(&p, trs, 2, live_mask, &live, 9, &out));
    assert_int_equal(out.leader, 4);
    assert_ids(out.isr, out.nisr, (int32_t[]){4, 5}, 2);
    assert_int_equal(out.leader_epoch, 5);
    assert_int_equal(out.controller_epoch, 9);
    /* 4 is dead: 5 leads. */
    live &= ~(1u << 4);
    assert_true(cm_elect_reassign(&p, trs, 2, live_mask, &live, 9, &out));
    assert_int_equal(out.leader, 5);
    /* The leader stays when it is in the target. */
    live |= 1u << 4;
    int32_t trs2[] = {2, 4};
    p = moving(rep, 4, add, 2, rem, 2, 4, isr, 4);
    assert_true(cm_elect_reassign(&p, trs2, 2, live_mask, &live, 9, &out));
    assert_int_equal(out.leader, 4);
    assert_ids(out.isr, out.nisr, (int32_t[]){2, 4}, 2);
    /* No target replica in sync: impossible. */
    int32_t isr12[] = {1, 2};
    p = moving(rep, 4, add, 2, rem, 2, 1, isr12, 2);
    assert_false(cm_elect_reassign(&p, trs, 2, live_mask, &live, 9, &out));
}

/* A new controller picking up [1,2,3] -> [4,2,3] left half-started, the
 * state fault 09 leaves behind: RS [4,2,3,1], adding 4, removing 1. */
static void test_resume_after_failover(void **state)
{
    (void)state;
    int32_t rep[] = {4, 2, 3, 1}, add[] = {4}, rem[] = {1};
    int32_t isr[] = {1, 2, 3};
    zn_pstate_t out;
    cpart_t p = moving(rep, 4, add, 1, rem, 1, 1, isr, 3);
    /* Waiting for 4: same leader and ISR, epoch bumped so the leader (which
     * ignores a LeaderAndIsr at its own epoch) takes the RS with 4 in it. */
    assert_true(cm_ra_resume(&p, 2, &out));
    assert_int_equal(out.leader, 1);
    assert_int_equal(out.leader_epoch, 5);
    assert_int_equal(out.controller_epoch, 2);
    assert_ids(out.isr, out.nisr, isr, 3);
    assert_true(cm_state_valid(&p, &out));

    /* The leader's expansion to 4 is accepted: 4 is a replica and live. */
    uint32_t live = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4);
    bool current;
    p.st.leader_epoch = out.leader_epoch;
    int32_t grown[] = {1, 2, 3, 4};
    assert_int_equal(cm_ap_check(&p, 1, 5, 7, grown, 4, live_mask, &live, &current), KERR_NONE);
    assert_false(current);
    /* ... but not while 4 is unregistered. */
    live &= ~(1u << 4);
    assert_int_equal(cm_ap_check(&p, 1, 5, 7, grown, 4, live_mask, &live, &current), KERR_INELIGIBLE_REPLICA);

    /* Once 4 is in the ISR there is nothing to resume: it completes instead. */
    p.st.isr[3] = 4;
    p.st.nisr = 4;
    assert_true(cm_ra_caught_up(&p));
    assert_false(cm_ra_resume(&p, 2, &out));
    /* Nothing moving, no leader, or no state: nothing to send. */
    p = moving(rep, 4, add, 1, rem, 1, CM_LEADER_NONE, isr, 3);
    assert_false(cm_ra_resume(&p, 2, &out));
    p = moving(rep, 4, NULL, 0, NULL, 0, 1, isr, 3);
    assert_false(cm_ra_resume(&p, 2, &out));
    p = moving(rep, 4, add, 1, rem, 1, 1, isr, 3);
    p.has_state = false;
    assert_false(cm_ra_resume(&p, 2, &out));
}

static void test_znode_moving_roundtrip(void **state)
{
    (void)state;
    const char *json = "{\"version\":2,\"partitions\":{\"0\":[4,5,1,2],\"1\":[1,2]},"
                       "\"adding_replicas\":{\"0\":[4,5]},\"removing_replicas\":{\"0\":[1,2],\"1\":[]}}";
    zn_assignment_t a;
    assert_int_equal(zn_assignment_decode(json, &a), 0);
    assert_non_null(a.adding);
    assert_ids(a.adding[0], a.nadding[0], (int32_t[]){4, 5}, 2);
    assert_int_equal(a.nadding[1], 0);
    assert_ids(a.removing[0], a.nremoving[0], (int32_t[]){1, 2}, 2);
    assert_int_equal(a.nremoving[1], 0);

    /* Into the model and back out. */
    cmodel_t m;
    cm_init(&m);
    ctopic_t *t = cm_topic_add(&m, "t");
    cm_topic_set_assignment(t, &a);
    assert_ids(t->parts[0].add, t->parts[0].nadd, (int32_t[]){4, 5}, 2);
    assert_ids(t->parts[0].rem, t->parts[0].nrem, (int32_t[]){1, 2}, 2);
    assert_int_equal(t->parts[1].nadd, 0);

    char *enc = zn_assignment_encode(&a);
    assert_non_null(enc);
    assert_non_null(strstr(enc, "\"adding_replicas\":{\"0\":[4,5]}"));
    assert_non_null(strstr(enc, "\"removing_replicas\":{\"0\":[1,2]}"));
    zn_assignment_t b;
    assert_int_equal(zn_assignment_decode(enc, &b), 0);
    assert_ids(b.removing[0], b.nremoving[0], (int32_t[]){1, 2}, 2);
    free(enc);
    zn_assignment_free(&b);

    /* Completion: a znode with nothing moving clears the model's lists. */
    zn_assignment_free(&a);
    assert_int_equal(zn_assignment_decode("{\"version\":2,\"partitions\":{\"0\":[4,5],\"1\":[1,2]}}", &a), 0);
    assert_null(a.adding);
    cm_topic_set_assignment(t, &a);
    assert_int_equal(t->parts[0].nadd, 0);
    assert_int_equal(t->parts[0].nrem, 0);
    enc = zn_assignment_encode(&a);
    assert_non_null(strstr(enc, "\"adding_replicas\":{}"));
    free(enc);
    zn_assignment_free(&a);
    cm_free(&m);

    /* Malformed: unknown partition, non-array, negative id, duplicates. */
    static const char *const bad[] = {
        "{\"partitions\":{\"0\":[1]},\"adding_replicas\":{\"1\":[2]}}",
        "{\"partitions\":{\"0\":[1]},\"adding_replicas\":{\"0\":2}}",
        "{\"partitions\":{\"0\":[1]},\"removing_replicas\":{\"0\":[-1]}}",
        "{\"partitions\":{\"0\":[1]},\"removing_replicas\":{\"0\":[1,1]}}",
        "{\"partitions\":{\"0\":[1]},\"removing_replicas\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(zn_assignment_decode(bad[i], &a), -1);
}

static void test_tplist(void **state)
{
    (void)state;
    zn_tpr_t *l;
    int n;
    const char *json = "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[3,1]},"
                       "{\"topic\":\"u\",\"partition\":2,\"replicas\":[2],\"log_dirs\":[\"any\"]}]}";
    assert_int_equal(zn_tplist_decode(json, 1, &l, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(l[0].topic, "t");
    assert_ids(l[0].replicas, l[0].nreplicas, (int32_t[]){3, 1}, 2);
    assert_int_equal(l[1].partition, 2);
    char *enc = zn_tplist_encode(l, n, 1);
    assert_string_equal(enc, "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[3,1]},"
                             "{\"topic\":\"u\",\"partition\":2,\"replicas\":[2]}]}");
    free(enc);
    zn_tplist_free(l, n);
    /* Preferred election: no replicas needed. */
    assert_int_equal(zn_tplist_decode("{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":1}]}", 0, &l, &n), 0);
    assert_int_equal(n, 1);
    assert_null(l[0].replicas);
    zn_tplist_free(l, n);
    static const char *const bad[] = {
        "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":1}]}", /* replicas missing */
        "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":-1,\"replicas\":[1]}]}",
        "{\"version\":1,\"partitions\":[{\"topic\":\"\",\"partition\":0,\"replicas\":[1]}]}",
        "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[]}]}",
        "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1,1]}]}",
        "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1]},"
        "{\"topic\":\"t\",\"partition\":0,\"replicas\":[2]}]}", /* listed twice */
        "{\"version\":1,\"partitions\":{}}",
        "[]",
        "not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        l = (zn_tpr_t *)1;
        n = 5;
        assert_int_equal(zn_tplist_decode(bad[i], 1, &l, &n), -1);
        assert_null(l);
        assert_int_equal(n, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_target_original_caught_up),
        cmocka_unit_test(test_reassign_election),
        cmocka_unit_test(test_resume_after_failover),
        cmocka_unit_test(test_znode_moving_roundtrip),
        cmocka_unit_test(test_tplist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
