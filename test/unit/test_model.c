/*
 * test_model.c - the controller's model and election rules: offline
 * election (assignment order among live ISR members, ISR shrink with a
 * leader-epoch bump, never an empty ISR, no election of out-of-sync
 * replicas, recovery when the last ISR member returns), unclean,
 * controlled-shutdown and preferred elections, AlterPartition validation
 * order, initial states, state validation, the imbalance count, and the
 * sorted broker/topic containers.
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

/* Liveness from a bitmask of broker ids 0..31. */
static bool live_mask(const void *ctx, int32_t id) { return id >= 0 && id < 32 && (*(const uint32_t *)ctx >> id) & 1; }

static cpart_t mkpart(int32_t *rep, int nrep, int32_t leader, const int32_t *isr, int nisr, int32_t epoch)
{
    cpart_t p = {.nrep = nrep, .rep = rep, .has_state = true, .zkver = 3};
    p.st.controller_epoch = 1;
    p.st.leader = leader;
    p.st.leader_epoch = epoch;
    p.st.nisr = nisr;
    memcpy(p.st.isr, isr, sizeof(int32_t) * (size_t)nisr);
    return p;
}

static void assert_isr(const zn_pstate_t *s, const int32_t *want, int n)
{
    assert_int_equal(s->nisr, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(s->isr[i], want[i]);
}

static void test_leader_dies(void **state)
{
    (void)state;
    int32_t rep[] = {1, 2, 3}, isr[] = {1, 2, 3}, want[] = {2, 3};
    cpart_t p = mkpart(rep, 3, 1, isr, 3, 5);
    uint32_t live = (1u << 2) | (1u << 3);
    zn_pstate_t out;
    assert_true(cm_elect_offline(&p, live_mask, &live, 9, &out));
    assert_int_equal(out.leader, 2);
    assert_int_equal(out.leader_epoch, 6);
    assert_int_equal(out.controller_epoch, 9);
    assert_isr(&out, want, 2);
    assert_true(cm_state_valid(&p, &out));
}

static void test_follower_dies(void **state)
{
    (void)state;
    int32_t rep[] = {1, 2, 3}, isr[] = {1, 2, 3}, want[] = {1, 3};
    cpart_t p = mkpart(rep, 3, 1, isr, 3, 5);
    uint32_t live = (1u << 1) | (1u << 3);
    zn_pstate_t out;
    assert_true(cm_elect_offline(&p, live_mask, &live, 2, &out));
    assert_int_equal(out.leader, 1);
    assert_int_equal(out.leader_epoch, 6); /* controller ISR removals bump the epoch */
    assert_isr(&out, want, 2);
}

static void test_no_change(void **state)
{
    (void)state;
    int32_t rep[] = {1, 2}, isr[] = {1, 2};
    cpart_t p = mkpart(rep, 2, 1, isr, 2, 5);
    uint32_t live = (1u << 1) | (1u << 2) | (1u << 7);
    zn_pstate_t out;
    assert_false(cm_elect_offline(&p, live_mask, &live, 2, &out));
}

static void test_assignment_order(void **state)
{
    (void)state;
    /* 3 is first in assignment order but not in the ISR; among ISR members 1 precedes 2. */
    int32_t rep[] = {3, 1, 2}, isr[] = {2, 1};
    cpart_t p = mkpart(rep, 3, 2, isr, 2, 0);
    uint32_t live = (1u << 1) | (1u << 3);
    zn_pstate_t out;
    assert_true(cm_elect_offline(&p, live_mask, &live, 1, &out));
    assert_int_equal(out.leader, 1);
}

static void test_last_isr_member_kept(void **state)
{
    (void)state;
    int32_t rep[] = {1, 2}, isr[] = {1, 2}, want[] = {1};
    cpart_t p = mkpart(rep, 2, 1, isr, 2, 4);
    uint32_t live = 0;
    zn_pstate_t out;
    assert_true(cm_elect_offline(&p, live_mask, &live, 1, &out));
    assert_int_equal(out.leader, -1);
    assert_isr(&out, want, 1); /* the old leader, never empty */
    assert_int_equal(out.leader_epoch, 5);
    assert_true(cm_state_valid(&p, &out));
    /* Applying it again changes nothing while everyone is down. */
    p.st = out;
    assert_false(cm_elect_offline(&p, live_mask, &live, 1, &out));
    /* The out-of-sync replica 2 returns: still no leader (unclean election is off). */
    live = 1u << 2;
    assert_false(cm_elect_offline(&p, live_mask, &live, 1, &out));
    /* The last ISR member returns: it leads again with a new epoch. */
    live = (1u << 1) | (1u << 2);
    assert_true(cm_elect_offline(&p, live_mask, &live, 1, &out));
    assert_int_equal(out.leader, 1);
    assert_int_equal(out.leader_epoch, 6);
}

static void test_rf1(void **state)
{
    (void)state;
    int32_t rep[] = {4}, isr[] = {4};
    cpart_t p = mkpart(rep, 1, 4, isr, 1, 0);
    uint32_t live = 0;
    zn_pstate_t out;
    assert_true(cm_elect_offline(&p, live_mask, &live, 1, &out));
    assert_int_equal(out.leader, -1);
    assert_int_equal(out.nisr, 1);
    assert_int_equal(out.isr[0], 4);
}

static void test_initial_state(void **state)
{
    (void)state;
    int32_t rep[] = {2, 0, 1}, want[] = {2, 1};
    cpart_t p = {.nrep = 3, .rep = rep};
    uint32_t live = (1u << 1) | (1u << 2);
    zn_pstate_t out;
    assert_true(cm_initial_state(&p, live_mask, &live, 7, &out));
    assert_int_equal(out.leader, 2);
    assert_int_equal(out.leader_epoch, 0);
    assert_int_equal(out.controller_epoch, 7);
    assert_isr(&out, want, 2);
    live = 0;
    assert_false(cm_initial_state(&p, live_mask, &live, 7, &out));
}

static void test_state_valid(void **state)
{
    (void)state;
    int32_t rep[] = {1, 2, 3};
    cpart_t p = {.nrep = 3, .rep = rep};
    zn_pstate_t s = {.leader = 1, .nisr = 2, .isr = {1, 2}};
    assert_true(cm_state_valid(&p, &s));
    s.leader = 3; /* leader outside the ISR */
    assert_false(cm_state_valid(&p, &s));
    s.leader = -1;
    assert_true(cm_state_valid(&p, &s));
    s.nisr = 0; /* empty ISR */
    assert_false(cm_state_valid(&p, &s));
    zn_pstate_t d = {.leader = 1, .nisr = 2, .isr = {1, 1}};
    assert_false(cm_state_valid(&p, &d));
    zn_pstate_t x = {.leader = 1, .nisr = 2, .isr = {1, 9}}; /* 9 not assigned */
    assert_false(cm_state_valid(&p, &x));
}

static void test_containers(void **state)
{
    (void)state;
    cmodel_t m;
    cm_init(&m);
    int32_t ids[] = {5, 1, 3};
    for (int i = 0; i < 3; i++) {
        cbroker_t b = {.id = ids[i], .epoch = 100 + ids[i]};
        cm_broker_put(&m, &b);
    }
    assert_int_equal(m.nbrokers, 3);
    assert_int_equal(m.brokers[0].id, 1);
    assert_int_equal(m.brokers[2].id, 5);
    cbroker_t again = {.id = 3, .epoch = 999};
    cm_broker_put(&m, &again);
    assert_int_equal(m.nbrokers, 3);
    assert_int_equal(cm_broker(&m, 3)->epoch, 999);
    cm_broker_del(&m, 1);
    assert_false(cm_live(&m, 1));
    assert_true(cm_live(&m, 5));

    cm_topic_add(&m, "b");
    cm_topic_add(&m, "a");
    ctopic_t *c = cm_topic_add(&m, "c");
    assert_ptr_equal(cm_topic_add(&m, "c"), c);
    assert_string_equal(m.topics[0]->name, "a");
    assert_string_equal(m.topics[2]->name, "c");

    int32_t r0[] = {1, 2}, r1[] = {2, 3}, r2[] = {3, 1};
    int32_t *reps[] = {r0, r1, r2};
    int32_t nrep[] = {2, 2, 2};
    zn_assignment_t a = {.nparts = 2, .nreplicas = nrep, .replicas = reps, .topic_id = "abc"};
    cm_topic_set_assignment(c, &a);
    c->parts[0].has_state = true;
    c->parts[0].zkver = 4;
    a.nparts = 3; /* add a partition: partition 0 keeps its state */
    cm_topic_set_assignment(c, &a);
    assert_int_equal(c->nparts, 3);
    assert_true(c->parts[0].has_state);
    assert_int_equal(c->parts[0].zkver, 4);
    assert_false(c->parts[2].has_state);
    assert_int_equal(c->parts[2].rep[0], 3);
    assert_string_equal(c->topic_id, "abc");
    cm_topic_start_delete(c);
    assert_int_equal(c->ndel, 3); /* brokers 1, 2, 3 */
    cm_topic_del(&m, "b");
    assert_null(cm_topic(&m, "b"));
    assert_non_null(cm_topic(&m, "c"));
    cm_free(&m);
}

/* ---- unclean election ---- */

static void test_unclean(void **state)
{
    (void)state;
    int32_t rep[] = {1, 2, 3}, isr[] = {1}, last[] = {1}, only3[] = {3};
    cpart_t p = mkpart(rep, 3, 1, isr, 1, 5);
    uint32_t live = 1u << 3; /* only an out-of-sync replica is up */
    zn_pstate_t out;
    bool unclean = true;
    /* Disabled: leader -1, ISR keeps its last member. */
    assert_true(cm_elect_offline_ex(&p, live_mask, &live, 9, false, &out, &unclean));
    assert_false(unclean);
    assert_int_equal(out.leader, -1);
    assert_isr(&out, last, 1);
    assert_int_equal(out.leader_epoch, 6);
    /* Enabled: the first live replica in assignment order, alone in the ISR. */
    assert_true(cm_elect_offline_ex(&p, live_mask, &live, 9, true, &out, &unclean));
    assert_true(unclean);
    assert_int_equal(out.leader, 3);
    assert_isr(&out, only3, 1);
    assert_int_equal(out.leader_epoch, 6);
    assert_true(cm_state_valid(&p, &out));
    /* Enabled, but an in-sync replica is live: a clean election, not unclean. */
    live = (1u << 1) | (1u << 3);
    p = mkpart(rep, 3, 2, (int32_t[]){2, 1}, 2, 5);
    assert_true(cm_elect_offline_ex(&p, live_mask, &live, 9, true, &out, &unclean));
    assert_false(unclean);
    assert_int_equal(out.leader, 1);
    /* Enabled, nothing live at all: leaderless, ISR kept non-empty. */
    live = 0;
    p = mkpart(rep, 3, -1, isr, 1, 5);
    assert_false(cm_elect_offline_ex(&p, live_mask, &live, 9, true, &out, &unclean));
    assert_false(unclean);
    /* Two live out-of-sync replicas: assignment order decides. */
    int32_t rep2[] = {1, 3, 2};
    live = (1u << 2) | (1u << 3);
    p = mkpart(rep2, 3, -1, isr, 1, 5);
    assert_true(cm_elect_offline_ex(&p, live_mask, &live, 9, true, &out, &unclean));
    assert_int_equal(out.leader, 3);
}

/* ---- controlled shutdown ---- */

static bool is_shutting(const void *ctx, int32_t id) { return id >= 0 && id < 32 && ((*(const uint32_t *)ctx >> 16) >> id) & 1; }
/* ctx layout for these tests: low 16 bits live, high 16 bits shutting down. */
static bool live16(const void *ctx, int32_t id) { return id >= 0 && id < 16 && (*(const uint32_t *)ctx >> id) & 1; }

static void test_shutdown(void **state)
{
    (void)state;
    int32_t rep[] = {1, 2, 3}, isr[] = {1, 2, 3}, want23[] = {2, 3}, want13[] = {1, 3};
    uint32_t ctx = 0xe | (1u << (16 + 1)); /* 1,2,3 live; 1 shutting down */
    zn_pstate_t out;
    /* It leads: the next replica in assignment order that is in sync takes over. */
    cpart_t p = mkpart(rep, 3, 1, isr, 3, 5);
    assert_true(cm_elect_shutdown(&p, live16, is_shutting, &ctx, 9, &out));
    assert_int_equal(out.leader, 2);
    assert_isr(&out, want23, 2);
    assert_int_equal(out.leader_epoch, 6);
    assert_int_equal(out.controller_epoch, 9);
    /* Assignment order, not ISR order; an out-of-sync replica is skipped. */
    int32_t rep2[] = {1, 3, 2}, isr2[] = {2, 1};
    p = mkpart(rep2, 3, 1, isr2, 2, 5);
    assert_true(cm_elect_shutdown(&p, live16, is_shutting, &ctx, 9, &out));
    assert_int_equal(out.leader, 2);
    /* It follows: the leader stays, it leaves the ISR, epoch bumped. */
    ctx = 0xe | (1u << (16 + 2));
    p = mkpart(rep, 3, 1, isr, 3, 5);
    assert_true(cm_elect_shutdown(&p, live16, is_shutting, &ctx, 9, &out));
    assert_int_equal(out.leader, 1);
    assert_isr(&out, want13, 2);
    assert_int_equal(out.leader_epoch, 6);
    /* No in-sync successor: nothing changes, it keeps leading. */
    ctx = 0xe | (1u << (16 + 1));
    int32_t alone[] = {1};
    p = mkpart(rep, 3, 1, alone, 1, 5);
    assert_false(cm_elect_shutdown(&p, live16, is_shutting, &ctx, 9, &out));
    /* In-sync successor that is dead: not eligible. */
    ctx = 0x2 | (1u << (16 + 1)); /* only 1 live */
    int32_t isr12[] = {1, 2};
    p = mkpart(rep, 3, 1, isr12, 2, 5);
    assert_false(cm_elect_shutdown(&p, live16, is_shutting, &ctx, 9, &out));
    /* RF 1. */
    int32_t one[] = {1};
    ctx = 0x2 | (1u << (16 + 1));
    p = mkpart(one, 1, 1, one, 1, 5);
    assert_false(cm_elect_shutdown(&p, live16, is_shutting, &ctx, 9, &out));
    /* Not in the ISR at all: nothing to do. */
    ctx = 0xe | (1u << (16 + 3));
    p = mkpart(rep, 3, 1, isr12, 2, 5);
    assert_false(cm_elect_shutdown(&p, live16, is_shutting, &ctx, 9, &out));
}

/* ---- preferred election ---- */

static void test_preferred(void **state)
{
    (void)state;
    int32_t rep[] = {1, 2, 3}, isr[] = {2, 3, 1};
    uint32_t live = 0xe;
    zn_pstate_t out;
    cpart_t p = mkpart(rep, 3, 2, isr, 3, 5);
    assert_true(cm_elect_preferred(&p, live_mask, &live, 9, &out));
    assert_int_equal(out.leader, 1);
    assert_int_equal(out.leader_epoch, 6);
    assert_isr(&out, isr, 3); /* ISR unchanged */
    /* Already the leader. */
    p = mkpart(rep, 3, 1, isr, 3, 5);
    assert_false(cm_elect_preferred(&p, live_mask, &live, 9, &out));
    /* Head not in the ISR. */
    int32_t isr23[] = {2, 3};
    p = mkpart(rep, 3, 2, isr23, 2, 5);
    assert_false(cm_elect_preferred(&p, live_mask, &live, 9, &out));
    /* Head in the ISR but dead. */
    live = 0xc;
    p = mkpart(rep, 3, 2, isr, 3, 5);
    assert_false(cm_elect_preferred(&p, live_mask, &live, 9, &out));
}

static void test_preferred_count(void **state)
{
    (void)state;
    cmodel_t m;
    cm_init(&m);
    ctopic_t *t = cm_topic_add(&m, "t");
    int32_t r0[] = {1, 2}, r1[] = {1, 2}, r2[] = {2, 1};
    int32_t *reps[] = {r0, r1, r2};
    int32_t nrep[] = {2, 2, 2};
    zn_assignment_t a = {.nparts = 3, .nreplicas = nrep, .replicas = reps};
    cm_topic_set_assignment(t, &a);
    for (int p = 0; p < 3; p++) {
        t->parts[p].has_state = true;
        t->parts[p].st.nisr = 2;
        t->parts[p].st.isr[0] = 1;
        t->parts[p].st.isr[1] = 2;
        t->parts[p].st.leader = 2; /* broker 2 leads everything */
    }
    int not_led;
    assert_int_equal(cm_preferred_count(&m, 1, &not_led), 2);
    assert_int_equal(not_led, 2);
    assert_int_equal(cm_preferred_count(&m, 2, &not_led), 1);
    assert_int_equal(not_led, 0);
    t->parts[0].has_state = false; /* not yet initialised: not counted */
    assert_int_equal(cm_preferred_count(&m, 1, &not_led), 1);
    t->deleting = true;
    assert_int_equal(cm_preferred_count(&m, 1, &not_led), 0);
    cm_free(&m);
}

/* ---- AlterPartition validation, Kafka's order ---- */

static void test_ap_check(void **state)
{
    (void)state;
    int32_t rep[] = {1, 2, 3}, isr[] = {1, 2};
    uint32_t live = 0xe;
    cpart_t p = mkpart(rep, 3, 1, isr, 2, 5); /* zkver 3 */
    bool cur;
    int32_t grow[] = {1, 2, 3}, shrink[] = {1}, dead[] = {1, 4}, alien[] = {1, 5}, noleader[] = {2, 3};
    int32_t dup[] = {1, 2, 2};
    /* Happy paths. */
    assert_int_equal(cm_ap_check(&p, 1, 5, 3, grow, 3, live_mask, &live, &cur), 0);
    assert_false(cur);
    assert_int_equal(cm_ap_check(&p, 1, 5, 3, shrink, 1, live_mask, &live, &cur), 0);
    /* Newer epochs than ours: we are stale. */
    assert_int_equal(cm_ap_check(&p, 1, 6, 3, grow, 3, live_mask, &live, &cur), KERR_NOT_CONTROLLER);
    assert_int_equal(cm_ap_check(&p, 1, 5, 4, grow, 3, live_mask, &live, &cur), KERR_NOT_CONTROLLER);
    /* Older leader epoch: fenced, even when everything else is wrong too. */
    assert_int_equal(cm_ap_check(&p, 7, 4, 1, dead, 2, live_mask, &live, &cur), KERR_FENCED_LEADER_EPOCH);
    /* Not the leader. */
    assert_int_equal(cm_ap_check(&p, 2, 5, 3, grow, 3, live_mask, &live, &cur), KERR_NOT_LEADER_OR_FOLLOWER);
    /* Same as now: current state, before the partition-epoch check (idempotent retry). */
    assert_int_equal(cm_ap_check(&p, 1, 5, 2, isr, 2, live_mask, &live, &cur), 0);
    assert_true(cur);
    /* Older partition epoch with a real change. */
    assert_int_equal(cm_ap_check(&p, 1, 5, 2, grow, 3, live_mask, &live, &cur), KERR_INVALID_UPDATE_VERSION);
    assert_false(cur);
    /* ... and that comes before eligibility. */
    assert_int_equal(cm_ap_check(&p, 1, 5, 2, dead, 2, live_mask, &live, &cur), KERR_INVALID_UPDATE_VERSION);
    /* Ineligible members: not live, or not a replica. */
    assert_int_equal(cm_ap_check(&p, 1, 5, 3, dead, 2, live_mask, &live, &cur), KERR_INELIGIBLE_REPLICA);
    live |= 1u << 5;
    assert_int_equal(cm_ap_check(&p, 1, 5, 3, alien, 2, live_mask, &live, &cur), KERR_INELIGIBLE_REPLICA);
    /* Malformed ISRs. */
    assert_int_equal(cm_ap_check(&p, 1, 5, 3, noleader, 2, live_mask, &live, &cur), KERR_INVALID_REQUEST);
    assert_int_equal(cm_ap_check(&p, 1, 5, 3, grow, 0, live_mask, &live, &cur), KERR_INVALID_REQUEST);
    assert_int_equal(cm_ap_check(&p, 1, 5, 3, dup, 3, live_mask, &live, &cur), KERR_INVALID_REQUEST);
    /* Unknown partition. */
    assert_int_equal(cm_ap_check(NULL, 1, 5, 3, grow, 3, live_mask, &live, &cur), KERR_UNKNOWN_TOPIC_OR_PARTITION);
    p.has_state = false;
    assert_int_equal(cm_ap_check(&p, 1, 5, 3, grow, 3, live_mask, &live, &cur), KERR_UNKNOWN_TOPIC_OR_PARTITION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leader_dies),       cmocka_unit_test(test_follower_dies),
        cmocka_unit_test(test_no_change),         cmocka_unit_test(test_assignment_order),
        cmocka_unit_test(test_last_isr_member_kept), cmocka_unit_test(test_rf1),
        cmocka_unit_test(test_initial_state),     cmocka_unit_test(test_state_valid),
        cmocka_unit_test(test_containers),        cmocka_unit_test(test_unclean),
        cmocka_unit_test(test_shutdown),          cmocka_unit_test(test_preferred),
        cmocka_unit_test(test_preferred_count),   cmocka_unit_test(test_ap_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
