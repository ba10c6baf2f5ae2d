/*
 * unclean.c - unclean-shutdown awareness (R22) on the controller, and the
 * operator's unclean election (/admin/unclean_leader_election).
 *
 * A broker that started without its clean-shutdown marker registers with
 * "unclean_shutdown":true: records it acknowledged may be missing from its
 * logs.  If it is the only ISR member of a partition with another replica,
 * electing it could make that replica truncate acknowledged records to
 * match (KIP-966's "last replica standing").  So such a partition stays
 * leaderless (leader -1, ISR [it]) until an operator asks for an unclean
 * election, or unclean leader election is enabled for the topic (a standing
 * override).  The decision itself is cm_r22_decide() in model.c.
 *
 * Why the block lives in the partition's state znode ("unclean_shutdown_
 * blocked":true) rather than only in the broker: the broker's registration
 * says "unclean" only until a controller has seen it (the broker keeps a
 * file in its log dirs until then, see logmgr.c), so a later clean restart
 * registers as clean.  The state znode is the one fact every controller
 * reads, it is written under the controller-epoch check like every other
 * state change, and the election that resolves the partition rewrites it,
 * so the block and the leader can never disagree.  The block is written
 * before this controller sends the broker anything: the broker takes the
 * first request it accepts from a controller as proof that its unclean
 * registration was seen.
 *
 * Thread: the controller's event loop only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/ctl.h"
#include "wlog.h"

#define UL_PATH "/admin/unclean_leader_election"

bool ctl_unclean(const void *ctx, int32_t id)
{
    const cbroker_t *b = cm_broker(&((const ctl_t *)ctx)->m, id);
    return b && b->unclean;
}

/* The R22 decision for a partition with this controller's model, before the
 * topic's unclean.leader.election.enable is taken into account. */
static cm_r22_t decide(ctl_t *c, const cpart_t *cp, zn_pstate_t *ns)
{
    if (!cp->has_state || cp->st.nisr != 1)
        return CM_R22_NONE;
    const cbroker_t *x = cm_broker(&c->m, cp->st.isr[0]);
    bool unclean = x && x->unclean;
    bool newer = x && x->epoch > cp->mzxid;
    return cm_r22_decide(cp, unclean, newer, c->epoch, ns);
}

static void warn_held(ctl_t *c, const ctopic_t *t, int32_t p, int32_t x)
{
    wlog_warn("[Controller id=%d epoch=%d] Partition %s-%d stays offline: its only in-sync replica, broker %d, "
              "restarted after an unclean shutdown and may have lost acknowledged records, so it is not elected. "
              "The partition waits for another in-sync replica; to elect broker %d anyway (accepting the loss) "
              "run: scripts/leader-election.sh --election-type unclean --topic %s --partition %d",
              (int)c->cfg.controller_id, (int)c->epoch, t->name, (int)p, (int)x, (int)x, t->name, (int)p);
}

bool ul_queue(ctl_t *c, cbatch_t *b, ctopic_t *t, int32_t p, bool announce, bool *overridden)
{
    const cpart_t *cp = &t->parts[p];
    zn_pstate_t ns;
    *overridden = false;
    cm_r22_t d = decide(c, cp, &ns);
    if (d == CM_R22_NONE)
        return false;
    if (ps_unclean_allowed(c, t)) {
        *overridden = true;
        return false;
    }
    int32_t x = cp->st.isr[0];
    if (d == CM_R22_HOLD) {
        if (announce)
            warn_held(c, t, p, x);
        return true;
    }
    bool queued = ns.leader_epoch == cp->st.leader_epoch
                      ? ps_change_isr(c, b, t, p, &ns, "UncleanShutdown: sole ISR member not elected")
                      : ps_change(c, b, t, p, &ns, "UncleanShutdown: bounced sole ISR member removed as leader");
    if (queued)
        warn_held(c, t, p, x);
    return true;
}

bool ul_holds(ctl_t *c, ctopic_t *t, const cpart_t *cp)
{
    zn_pstate_t ns;
    return decide(c, cp, &ns) != CM_R22_NONE && !ps_unclean_allowed(c, t);
}

typedef struct unseen_ctx {
    ctl_t *c;
    const cpart_t *cp;
} unseen_ctx_t;

/* Registered unclean after the partition's state was last written. */
static bool unseen_unclean(const void *ctx, int32_t id)
{
    const unseen_ctx_t *u = ctx;
    const cbroker_t *x = cm_broker(&u->c->m, id);
    return x && x->unclean && x->epoch > u->cp->mzxid;
}

static bool unseen_live(const void *ctx, int32_t id) { return ctl_live(((const unseen_ctx_t *)ctx)->c, id); }

/* A larger ISR whose members crashed and returned while no controller ran:
 * the ones that registered unclean leave it (their logs may lack records
 * the others acknowledged), unless the topic allows unclean elections. */
static void shrink_unseen(ctl_t *c, cbatch_t *b, ctopic_t *t, int32_t p)
{
    const cpart_t *cp = &t->parts[p];
    unseen_ctx_t u = {c, cp};
    zn_pstate_t ns;
    if (!cm_r22_shrink(cp, unseen_unclean, unseen_live, &u, c->epoch, &ns) || ps_unclean_allowed(c, t))
        return;
    if (ps_change(c, b, t, p, &ns, "UncleanShutdown: members restarted unseen after an unclean shutdown leave the ISR"))
        wlog_warn("[Controller id=%d epoch=%d] Partition %s-%d: ISR members that restarted after an unclean "
                  "shutdown while no controller ran leave the ISR; leader %d",
                  (int)c->cfg.controller_id, (int)c->epoch, t->name, (int)p, (int)ns.leader);
}

int ul_record_all(ctl_t *c)
{
    cbatch_t b = {0};
    for (int i = 0; c->active && i < c->m.ntopics; i++) {
        ctopic_t *t = c->m.topics[i];
        for (int32_t p = 0; !t->deleting && p < t->nparts; p++) {
            bool overridden;
            if (!t->parts[p].has_state || t->parts[p].st.controller_epoch > c->epoch)
                continue;
            if (t->parts[p].st.nisr >= 2)
                shrink_unseen(c, &b, t, p);
            else
                ul_queue(c, &b, t, p, true, &overridden);
        }
    }
    pref_t *changed;
    int n;
    int rc = cb_commit(c, &b, &changed, &n); /* no push: the caller sends full state next */
    free(changed);
    cb_free(&b);
    return rc;
}

/* ---- the operator's unclean election ---- */

static void fmt_ids(const int32_t *ids, int n, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < n && o + 12 < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%d", i ? "," : "", (int)ids[i]);
}

static void override_one(ctl_t *c, cbatch_t *b, ctopic_t *t, int32_t p)
{
    const cpart_t *cp = &t->parts[p];
    zn_pstate_t ns;
    bool unclean;
    if (!cp->has_state) {
        wlog_warn("[Controller id=%d epoch=%d] Unclean leader election for %s-%d skipped: the partition has no "
                  "state yet",
                  (int)c->cfg.controller_id, (int)c->epoch, t->name, (int)p);
        return;
    }
    if (!cm_elect_override(cp, ctl_eligible, ctl_live, c, c->epoch, &ns, &unclean)) {
        if (cp->st.leader >= 0 && ctl_live(c, cp->st.leader))
            wlog_info("[Controller id=%d epoch=%d] Unclean leader election for %s-%d not needed: broker %d leads it",
                      (int)c->cfg.controller_id, (int)c->epoch, t->name, (int)p, (int)cp->st.leader);
        else
            wlog_warn("[Controller id=%d epoch=%d] Unclean leader election for %s-%d failed: no replica is live",
                      (int)c->cfg.controller_id, (int)c->epoch, t->name, (int)p);
        return;
    }
    if (!ps_change(c, b, t, p, &ns, "UncleanLeaderElection requested by an operator"))
        return;
    char isr[512];
    fmt_ids(ns.isr, ns.nisr, isr, sizeof(isr));
    wlog_warn("[Controller id=%d epoch=%d] Unclean leader election requested by an operator: partition %s-%d gets "
              "leader %d (%s), isr [%s]; acknowledged records it lacks are lost",
              (int)c->cfg.controller_id, (int)c->epoch, t->name, (int)p, (int)ns.leader,
              unclean ? "not in the ISR" : cp->st.unclean_blocked || ctl_unclean(c, ns.leader)
                                               ? "restarted after an unclean shutdown"
                                               : "in the ISR",
              isr);
}

static void ul_each(ctl_t *c, ctopic_t *t, int32_t p, void *arg) { override_one(c, arg, t, p); }

static int ul_done(ctl_t *c, void *arg)
{
    int rc = ps_commit_push(c, arg, true, NULL, NULL);
    cb_free(arg);
    if (rc == ZOK && c->active)
        ra_progress_all(c); /* a reassignment held with the partition can finish now */
    return rc;
}

void ul_changed(ctl_t *c)
{
    cbatch_t b = {0};
    ctl_tplist_request(c, UL_PATH, "Unclean leader election", ul_each, ul_done, &b);
    cb_free(&b);
}
