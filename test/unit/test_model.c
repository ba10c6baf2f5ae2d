/*
 * test_model.c - the controller's model and election rules: offline
 * election (assignment order among live ISR members, ISR shrink with a
 * leader-epoch bump, never an empty ISR, no election of out-of-sync
 * replicas, recovery when the last ISR member returns), initial states,
 * state validation, and the sorted broker/topic containers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "controller/model.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leader_dies),       cmocka_unit_test(test_follower_dies),
        cmocka_unit_test(test_no_change),         cmocka_unit_test(test_assignment_order),
        cmocka_unit_test(test_last_isr_member_kept), cmocka_unit_test(test_rf1),
        cmocka_unit_test(test_initial_state),     cmocka_unit_test(test_state_valid),
        cmocka_unit_test(test_containers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
