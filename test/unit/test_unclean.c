/*
 * test_unclean.c - unclean-shutdown awareness (R22): the controller's
 * decision for a partition whose only ISR member restarted after an unclean
 * shutdown (hold, record the block, demote a bounced leader, leave RF 1 and
 * everything else alone), the operator's unclean election, the state
 * invariant of a block, and the broker's log dirs reporting an unclean start
 * until a controller has acknowledged it.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/log/log.h"
#include "controller/model.h"

/* Liveness from a bitmask of broker ids 0..31. */
static bool live_mask(const void *ctx, int32_t id) { return id >= 0 && id < 32 && (*(const uint32_t *)ctx >> id) & 1; }

static cpart_t mkpart(int32_t *rep, int nrep, int32_t leader, const int32_t *isr, int nisr, int32_t epoch)
{
    cpart_t p = {.nrep = nrep, .rep = rep, .has_state = true, .zkver = 3, .mzxid = 100};
    p.st.controller_epoch = 1;
    p.st.leader = leader;
    p.st.leader_epoch = epoch;
    p.st.nisr = nisr;
    memcpy(p.st.isr, isr, sizeof(int32_t) * (size_t)nisr);
    return p;
}

/* ---- the controller's decision ---- */

/* The fault scenario step by step: ISR shrinks to [1], broker 1 dies, comes
 * back unclean, is restarted cleanly, and the operator elects it. */
static void test_sole_isr_member_held_until_override(void **state)
{
    (void)state;
    int32_t rep[] = {1, 2}, isr[] = {1};
    cpart_t p = mkpart(rep, 2, 1, isr, 1, 4);
    zn_pstate_t out;
    uint32_t live = 0;

    /* Broker 1 dies: the ISR keeps it, the partition has no leader (R14). */
    assert_true(cm_elect_offline(&p, live_mask, &live, 2, &out));
    assert_int_equal(out.leader, -1);
    assert_false(out.unclean_blocked);
    p.st = out;
    assert_int_equal(p.st.leader_epoch, 5);

    /* It returns registered unclean: the block is recorded, nothing else changes. */
    live = 1u << 1;
    assert_int_equal(cm_r22_decide(&p, true, true, 2, &out), CM_R22_RECORD);
    assert_int_equal(out.leader, -1);
    assert_int_equal(out.nisr, 1);
    assert_int_equal(out.isr[0], 1);
    assert_int_equal(out.leader_epoch, 5); /* no leader change: same epoch */
    assert_true(out.unclean_blocked);
    assert_true(cm_state_valid(&p, &out));
    p.st = out;

    /* Recorded: held, also once broker 1 registers cleanly (the loophole),
     * and while the out-of-sync replica 2 is live too. */
    assert_int_equal(cm_r22_decide(&p, true, true, 2, &out), CM_R22_HOLD);
    assert_int_equal(cm_r22_decide(&p, false, true, 2, &out), CM_R22_HOLD);
    assert_int_equal(cm_r22_decide(&p, false, false, 2, &out), CM_R22_HOLD);
    live = (1u << 1) | (1u << 2);
    assert_int_equal(cm_r22_decide(&p, false, true, 2, &out), CM_R22_HOLD);

    /* What the hold prevents: the plain offline election would elect broker 1. */
    assert_true(cm_elect_offline(&p, live_mask, &live, 2, &out));
    assert_int_equal(out.leader, 1);

    /* The operator's unclean election: broker 1 leads, epoch bumped, block gone. */
    bool unclean = true;
    assert_true(cm_elect_override(&p, live_mask, live_mask, &live, 3, &out, &unclean));
    assert_false(unclean); /* it was in the ISR */
    assert_int_equal(out.leader, 1);
    assert_int_equal(out.nisr, 1);
    assert_int_equal(out.isr[0], 1);
    assert_int_equal(out.leader_epoch, 6);
    assert_int_equal(out.controller_epoch, 3);
    assert_false(out.unclean_blocked);
    assert_true(cm_state_valid(&p, &out));
    p.st = out;
    p.mzxid = 200; /* written after broker 1's registration (czxid 150) */
    assert_int_equal(cm_r22_decide(&p, true, 150 > p.mzxid, 3, &out), CM_R22_NONE);
    /* Nothing more to do for the override once a live leader exists. */
    assert_false(cm_elect_override(&p, live_mask, live_mask, &live, 3, &out, &unclean));
}

static bool live_but_1(const void *ctx, int32_t id) { return id != 1 && live_mask(ctx, id); }

/* The override prefers the held in-sync member even while it is shutting
 * down over an out-of-sync replica that is not; it leaves a partition whose
 * leader is alive (even shutting down) alone. */
static void test_override_prefers_in_sync(void **state)
{
    (void)state;
    int32_t rep[] = {2, 1}, isr[] = {1};
    cpart_t p = mkpart(rep, 2, 1, isr, 1, 4);
    p.st.leader = -1;
    p.st.unclean_blocked = true;
    uint32_t live = (1u << 1) | (1u << 2);
    zn_pstate_t out;
    bool unclean = true;
    assert_true(cm_elect_override(&p, live_but_1, live_mask, &live, 3, &out, &unclean));
    assert_int_equal(out.leader, 1);
    assert_false(unclean);
    assert_false(out.unclean_blocked);
    /* No ISR member alive: the first eligible replica, marked unclean. */
    live = 1u << 2;
    assert_true(cm_elect_override(&p, live_but_1, live_mask, &live, 3, &out, &unclean));
    assert_int_equal(out.leader, 2);
    assert_true(unclean);
    /* A live leader (shutting down or not): nothing to do. */
    p.st.leader = 1;
    p.st.unclean_blocked = false;
    live = (1u << 1) | (1u << 2);
    assert_false(cm_elect_override(&p, live_but_1, live_mask, &live, 3, &out, &unclean));
}

static bool only_1(const void *ctx, int32_t id)
{
    (void)ctx;
    return id == 1;
}

/* A larger ISR whose member 1 crashed and came back unseen: it leaves the
 * ISR and, as leader, is replaced by the first live remaining member in
 * assignment order; nothing changes without a live remaining member, or
 * when no member came back unseen. */
static void test_shrink_unseen_members(void **state)
{
    (void)state;
    int32_t rep[] = {1, 3, 2}, isr[] = {1, 2, 3};
    cpart_t p = mkpart(rep, 3, 1, isr, 3, 7);
    uint32_t live = (1u << 1) | (1u << 2) | (1u << 3);
    zn_pstate_t out;
    assert_true(cm_r22_shrink(&p, only_1, live_mask, &live, 4, &out));
    assert_int_equal(out.leader, 3); /* assignment order, not ISR order */
    assert_int_equal(out.nisr, 2);
    assert_int_equal(out.isr[0], 2);
    assert_int_equal(out.isr[1], 3);
    assert_int_equal(out.leader_epoch, 8);
    assert_int_equal(out.controller_epoch, 4);
    assert_true(cm_state_valid(&p, &out));
    /* Leader 2 stays; 1 just leaves the ISR (epoch bumped). */
    p.st.leader = 2;
    assert_true(cm_r22_shrink(&p, only_1, live_mask, &live, 4, &out));
    assert_int_equal(out.leader, 2);
    assert_int_equal(out.nisr, 2);
    /* No other member alive: no change here (the remaining members are
     * waited for by the offline election, the sole-member rule does not
     * apply to an ISR of three). */
    live = 1u << 1;
    assert_false(cm_r22_shrink(&p, only_1, live_mask, &live, 4, &out));
    /* Nobody came back unseen, or an ISR of one: no change. */
    live = (1u << 1) | (1u << 2) | (1u << 3);
    uint32_t none = 0;
    assert_false(cm_r22_shrink(&p, live_mask, live_mask, &none, 4, &out));
    int32_t one[] = {1};
    cpart_t q = mkpart(rep, 3, 1, one, 1, 7);
    assert_false(cm_r22_shrink(&q, only_1, live_mask, &live, 4, &out));
}

/* No unclean registration and no recorded block: R22 does not apply. */
static void test_clean_restart_elected(void **state)
{
    (void)state;
    int32_t rep[] = {1, 2}, isr[] = {1};
    cpart_t p = mkpart(rep, 2, -1, isr, 1, 5);
    zn_pstate_t out;
    assert_int_equal(cm_r22_decide(&p, false, true, 2, &out), CM_R22_NONE);
}

/* Only a one-member ISR of a partition with another replica is concerned. */
static void test_scope(void **state)
{
    (void)state;
    zn_pstate_t out;
    /* RF 1: no other copy to wait for. */
    int32_t rep1[] = {4}, isr1[] = {4};
    cpart_t p = mkpart(rep1, 1, -1, isr1, 1, 0);
    assert_int_equal(cm_r22_decide(&p, true, true, 1, &out), CM_R22_NONE);
    p.st.unclean_blocked = true;
    assert_int_equal(cm_r22_decide(&p, true, true, 1, &out), CM_R22_NONE);

    /* A follower in a larger ISR restarting uncleanly: as before (it truncates to its leader). */
    int32_t rep[] = {1, 2, 3}, isr[] = {2, 1};
    p = mkpart(rep, 3, 2, isr, 2, 7);
    assert_int_equal(cm_r22_decide(&p, true, true, 1, &out), CM_R22_NONE);

    /* It leads by a state written after it registered (a controller elected it knowingly). */
    int32_t isr3[] = {3};
    p = mkpart(rep, 3, 3, isr3, 1, 7);
    assert_int_equal(cm_r22_decide(&p, true, false, 1, &out), CM_R22_NONE);

    /* No state yet (a new partition). */
    p.has_state = false;
    assert_int_equal(cm_r22_decide(&p, true, true, 1, &out), CM_R22_NONE);
}

/* A bounce no controller saw: the state still names the restarted broker as
 * leader, written before its registration.  It is removed as leader. */
static void test_unseen_bounce_demoted(void **state)
{
    (void)state;
    int32_t rep[] = {1, 2}, isr[] = {2};
    cpart_t p = mkpart(rep, 2, 2, isr, 1, 9);
    zn_pstate_t out;
    assert_int_equal(cm_r22_decide(&p, true, true, 4, &out), CM_R22_RECORD);
    assert_int_equal(out.leader, -1);
    assert_int_equal(out.nisr, 1);
    assert_int_equal(out.isr[0], 2);
    assert_int_equal(out.leader_epoch, 10);
    assert_int_equal(out.controller_epoch, 4);
    assert_true(out.unclean_blocked);
    assert_true(cm_state_valid(&p, &out));
    /* The same bounce after a clean shutdown keeps its leadership. */
    assert_int_equal(cm_r22_decide(&p, false, true, 4, &out), CM_R22_NONE);
}

/* With the held broker dead, the operator's election takes the first live
 * replica (Kafka's unclean rule); with nobody live it cannot elect. */
static void test_override_unclean_rule(void **state)
{
    (void)state;
    int32_t rep[] = {1, 2, 3}, isr[] = {1};
    cpart_t p = mkpart(rep, 3, -1, isr, 1, 5);
    p.st.unclean_blocked = true;
    zn_pstate_t out;
    bool unclean = false;
    uint32_t live = 0;
    assert_false(cm_elect_override(&p, live_mask, live_mask, &live, 2, &out, &unclean));
    live = (1u << 3) | (1u << 2);
    assert_true(cm_elect_override(&p, live_mask, live_mask, &live, 2, &out, &unclean));
    assert_true(unclean);
    assert_int_equal(out.leader, 2);
    assert_int_equal(out.nisr, 1);
    assert_int_equal(out.isr[0], 2);
    assert_int_equal(out.leader_epoch, 6);
    assert_false(out.unclean_blocked);
    assert_true(cm_state_valid(&p, &out));
    /* A dead leader in a larger ISR: the first live ISR member in assignment order. */
    int32_t isr2[] = {1, 3, 2};
    cpart_t q = mkpart(rep, 3, 1, isr2, 3, 5);
    assert_true(cm_elect_override(&q, live_mask, live_mask, &live, 2, &out, &unclean));
    assert_false(unclean);
    assert_int_equal(out.leader, 2);
}

static void test_block_invariant(void **state)
{
    (void)state;
    int32_t rep[] = {1, 2};
    cpart_t p = {.nrep = 2, .rep = rep};
    zn_pstate_t s = {.leader = -1, .nisr = 1, .isr = {1}, .unclean_blocked = true};
    assert_true(cm_state_valid(&p, &s));
    s.leader = 1; /* a block on a led partition */
    assert_false(cm_state_valid(&p, &s));
    zn_pstate_t t = {.leader = -1, .nisr = 2, .isr = {1, 2}, .unclean_blocked = true};
    assert_false(cm_state_valid(&p, &t));
}

/* ---- the broker's log dirs ---- */

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static char *tmp_dir(void)
{
    char *d = strdup("/tmp/weir_unclean_XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static logmgr_t *open_dirs(const char *const *dirs, int n)
{
    logmgr_t *m = NULL;
    char err[512] = "";
    plog_config_t cfg;
    plog_config_defaults(&cfg);
    if (logmgr_open(dirs, n, 1, "clusterA", &cfg, &m, err, sizeof(err)) != 0)
        fail_msg("logmgr_open: %s", err);
    return m;
}

static bool exists_in(const char *dir, const char *name)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

static void test_logdir_unclean_start(void **state)
{
    (void)state;
    char *dir = tmp_dir();
    const char *dirs[] = {dir};
    /* A fresh (or wiped) dir has no marker: unclean until a controller has
     * seen it, and so is an unclean stop of a dir without partitions. */
    logmgr_t *m = open_dirs(dirs, 1);
    assert_true(logmgr_unclean_start(m));
    logmgr_unclean_acknowledged(m);
    assert_false(logmgr_unclean_start(m));
    logmgr_close(m, false);
    m = open_dirs(dirs, 1);
    assert_true(logmgr_unclean_start(m));
    logmgr_unclean_acknowledged(m);
    assert_non_null(logmgr_create(m, "t", 0, NULL));
    logmgr_close(m, true);
    m = open_dirs(dirs, 1);
    assert_false(logmgr_unclean_start(m));

    /* Stopped without the marker: unclean at the next start... */
    logmgr_close(m, false);
    m = open_dirs(dirs, 1);
    assert_true(logmgr_unclean_start(m));
    assert_true(exists_in(dir, ".weir_unclean_shutdown"));
    /* ...and still after a clean stop, until acknowledged. */
    logmgr_close(m, true);
    assert_true(exists_in(dir, ".kafka_cleanshutdown"));
    m = open_dirs(dirs, 1);
    assert_true(logmgr_unclean_start(m));
    logmgr_unclean_acknowledged(m);
    assert_false(logmgr_unclean_start(m));
    assert_false(exists_in(dir, ".weir_unclean_shutdown"));
    logmgr_close(m, true);
    m = open_dirs(dirs, 1);
    assert_false(logmgr_unclean_start(m));
    logmgr_close(m, true);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

/* One unclean dir among several makes the broker unclean. */
static void test_logdir_one_of_two(void **state)
{
    (void)state;
    char *a = tmp_dir(), *b = tmp_dir();
    const char *dirs[] = {a, b};
    logmgr_t *m = open_dirs(dirs, 2);
    logmgr_unclean_acknowledged(m); /* both dirs fresh */
    assert_non_null(logmgr_create(m, "t", 0, NULL));
    assert_non_null(logmgr_create(m, "t", 1, NULL)); /* one per dir: fewest partitions first */
    logmgr_close(m, true);
    char p[512];
    snprintf(p, sizeof(p), "%s/.kafka_cleanshutdown", b);
    assert_int_equal(unlink(p), 0);
    m = open_dirs(dirs, 2);
    assert_true(logmgr_unclean_start(m));
    assert_false(exists_in(a, ".weir_unclean_shutdown"));
    assert_true(exists_in(b, ".weir_unclean_shutdown"));
    logmgr_close(m, true);
    nftw(a, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    nftw(b, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sole_isr_member_held_until_override),
        cmocka_unit_test(test_clean_restart_elected),
        cmocka_unit_test(test_override_prefers_in_sync),
        cmocka_unit_test(test_shrink_unseen_members),
        cmocka_unit_test(test_scope),
        cmocka_unit_test(test_unseen_bounce_demoted),
        cmocka_unit_test(test_override_unclean_rule),
        cmocka_unit_test(test_block_invariant),
        cmocka_unit_test(test_logdir_unclean_start),
        cmocka_unit_test(test_logdir_one_of_two),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
