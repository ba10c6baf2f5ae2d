/*
 * alter.c - the requests brokers send the controller about their own
 * replicas: AlterPartition v1 (the leader's ISR changes; the controller is
 * the only writer of partition state) and ControlledShutdown v2 (move
 * leadership and ISR membership away from a broker before it stops).
 *
 * Owns: the set of brokers in controlled shutdown (c->shutting), which
 * elections avoid until the broker's registration goes away or changes.
 * Invariants: an AlterPartition change keeps the leader and leader epoch
 * and is written at the partition epoch the leader named (a fenced,
 * conditional write), so two leaders or two controllers can never both
 * apply one; every answer carries the state ZooKeeper holds.
 *
 * Thread: the controller's event loop only.
 */
#include <stdlib.h>
#include <string.h>

#include "controller/ctl.h"
#include "ctlmsg.h"
#include "proto.h"
#include "wlog.h"

/* Kafka's OPERATION_NOT_ATTEMPTED: the write did not happen, the leader may revert. */
#define AP_OPERATION_NOT_ATTEMPTED 55

/* ---- brokers in controlled shutdown ---- */

bool ctl_live(const void *ctx, int32_t id) { return cm_live(&((const ctl_t *)ctx)->m, id); }

bool ctl_shutting(const void *ctx, int32_t id)
{
    const ctl_t *c = ctx;
    for (int i = 0; i < c->nshutting; i++)
        if (c->shutting[i].id == id)
            return true;
    return false;
}

bool ctl_eligible(const void *ctx, int32_t id) { return ctl_live(ctx, id) && !ctl_shutting(ctx, id); }

void ctl_shutting_prune(ctl_t *c)
{
    for (int i = 0; i < c->nshutting;) {
        const cbroker_t *b = cm_broker(&c->m, c->shutting[i].id);
        if (b && b->epoch == c->shutting[i].epoch) {
            i++;
            continue;
        }
        wlog_info("Controller %d: broker %d finished its controlled shutdown", (int)c->cfg.controller_id,
                  (int)c->shutting[i].id);
        c->shutting[i] = c->shutting[--c->nshutting];
    }
}

static void shutting_add(ctl_t *c, int32_t id, int64_t epoch)
{
    if (ctl_shutting(c, id))
        return;
    struct cshut *n = realloc(c->shutting, sizeof(*n) * (size_t)(c->nshutting + 1));
    if (!n)
        abort();
    c->shutting = n;
    c->shutting[c->nshutting++] = (struct cshut){id, epoch};
}

/* ---- AlterPartition v1 ---- */

static void respond_ap(kreq_t *req, const ctl_ap_t *r)
{
    kwr_t wr;
    kwr_init(&wr, 128);
    ctl_ap_resp_encode(&wr, r);
    kreq_respond(req, &wr);
    kwr_free(&wr);
}

static void respond_ap_error(kreq_t *req, int16_t err)
{
    ctl_ap_t r = {.error = err};
    respond_ap(req, &r);
}

static cpart_t *ap_part(ctl_t *c, const ctl_ap_part_t *rp, ctopic_t **tp)
{
    ctopic_t *t = cm_topic(&c->m, rp->topic);
    *tp = t;
    if (!t || t->deleting || rp->partition < 0 || rp->partition >= t->nparts)
        return NULL;
    return &t->parts[rp->partition];
}

static bool ap_duplicate(const ctl_ap_t *r, int i)
{
    for (int j = 0; j < i; j++)
        if (r->parts[j].partition == r->parts[i].partition && strcmp(r->parts[j].topic, r->parts[i].topic) == 0)
            return true;
    return false;
}

/* Check each partition and queue the writes; parts[i].error holds the
 * verdict, and leader == -2 marks the ones queued for writing. */
static void ap_validate(ctl_t *c, ctl_ap_t *r, cbatch_t *b)
{
    for (int i = 0; i < r->n; i++) {
        ctl_ap_part_t *rp = &r->parts[i];
        ctopic_t *t;
        cpart_t *cp = ap_part(c, rp, &t);
        bool current = false;
        rp->leader = -1;
        if (ap_duplicate(r, i)) {
            rp->error = KERR_INVALID_REQUEST;
            continue;
        }
        rp->error = cm_ap_check(cp, r->broker_id, rp->leader_epoch, rp->partition_epoch, rp->isr, rp->nisr,
                                ctl_eligible, c, &current);
        if (rp->error || current)
            continue;
        zn_pstate_t ns = cp->st;
        memcpy(ns.isr, rp->isr, sizeof(int32_t) * (size_t)rp->nisr);
        ns.nisr = rp->nisr;
        ns.controller_epoch = c->epoch;
        if (ps_change_isr(c, b, t, rp->partition, &ns, "AlterPartition"))
            rp->leader = -2;
        else
            rp->error = KERR_INVALID_REQUEST;
    }
}

/* Fill the answer of every accepted partition from the (new) model state. */
static void ap_fill(ctl_t *c, ctl_ap_t *r, const cbatch_t *b)
{
    for (int i = 0; i < r->n; i++) {
        ctl_ap_part_t *rp = &r->parts[i];
        ctopic_t *t;
        cpart_t *cp = ap_part(c, rp, &t);
        if (rp->leader == -2) {
            int res = cb_result(b, t, rp->partition);
            if (res == ZBADVERSION) {
                ev_load_state(c, t, rp->partition); /* someone else wrote it: learn what */
                rp->error = KERR_INVALID_UPDATE_VERSION;
            } else if (res != ZOK) {
                rp->error = AP_OPERATION_NOT_ATTEMPTED;
            }
        }
        rp->leader = -1;
        if (rp->error || !cp)
            continue;
        rp->leader = cp->st.leader;
        rp->leader_epoch = cp->st.leader_epoch;
        rp->partition_epoch = cp->zkver;
        int32_t *isr = malloc(sizeof(int32_t) * (size_t)(cp->st.nisr ? cp->st.nisr : 1));
        if (!isr)
            abort();
        memcpy(isr, cp->st.isr, sizeof(int32_t) * (size_t)cp->st.nisr);
        free(rp->isr);
        rp->isr = isr;
        rp->nisr = cp->st.nisr;
    }
}

/* Some accepted partition (written now, or a retry of what an earlier
 * controller wrote before failing over) is being reassigned: its target may
 * be in sync now. */
static bool ap_touches_reassignment(ctl_t *c, const ctl_ap_t *r)
{
    for (int i = 0; i < r->n; i++) {
        ctopic_t *t;
        const cpart_t *cp = ap_part(c, &r->parts[i], &t);
        if (cp && !r->parts[i].error && ra_in_progress(cp))
            return true;
    }
    return false;
}

void alter_partition(kreq_t *req, void *ctx)
{
    ctl_t *c = ctx;
    ctl_ap_t r;
    if (ctl_ap_decode(&req->rd, &r) != 0) {
        kreq_close(req, "malformed AlterPartition request");
        return;
    }
    const cbroker_t *br = c->active ? cm_broker(&c->m, r.broker_id) : NULL;
    if (!c->active) {
        respond_ap_error(req, KERR_NOT_CONTROLLER);
    } else if (!br || br->epoch != r.broker_epoch) {
        wlog_warn("[Controller id=%d epoch=%d] AlterPartition from broker %d with stale broker epoch %lld",
                  (int)c->cfg.controller_id, (int)c->epoch, (int)r.broker_id, (long long)r.broker_epoch);
        respond_ap_error(req, KERR_STALE_BROKER_EPOCH);
    } else {
        cbatch_t b = {0};
        ap_validate(c, &r, &b);
        pref_t *changed = NULL;
        int nchanged = 0;
        int rc = ps_commit_push(c, &b, false, &changed, &nchanged);
        if (rc == CTL_DEPOSED) {
            respond_ap_error(req, KERR_NOT_CONTROLLER);
        } else {
            ap_fill(c, &r, &b);
            respond_ap(req, &r);
            if (c->active && (nchanged > 0 || ap_touches_reassignment(c, &r)))
                ra_progress_all(c); /* new replicas may have caught up */
        }
        free(changed);
        cb_free(&b);
    }
    ctl_ap_free(&r);
}

/* ---- ControlledShutdown v2 ---- */

static void respond_cs(kreq_t *req, int16_t err, const ctl_perr_t *rem, int n)
{
    kwr_t wr;
    kwr_init(&wr, 64);
    ctl_cs_resp_encode(&wr, err, rem, n);
    kreq_respond(req, &wr);
    kwr_free(&wr);
}

static void pref_push(pref_t **a, int *n, int *cap, ctopic_t *t, int32_t p)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *a = realloc(*a, sizeof(**a) * (size_t)*cap);
        if (!*a)
            abort();
    }
    (*a)[(*n)++] = (pref_t){t, p, false};
}

/* Elect away from `id`, take it out of every ISR, stop its followers.
 * Returns ZOK or CTL_DEPOSED (or a ZooKeeper error: some changes applied). */
static int cs_move_away(ctl_t *c, int32_t id)
{
    cbatch_t b = {0};
    pref_t *follow = NULL;
    int nf = 0, capf = 0;
    for (int i = 0; i < c->m.ntopics; i++) {
        ctopic_t *t = c->m.topics[i];
        for (int32_t p = 0; !t->deleting && p < t->nparts; p++) {
            cpart_t *cp = &t->parts[p];
            if (!cp->has_state || !cm_contains(cp->rep, cp->nrep, id))
                continue;
            bool leads = cp->st.leader == id;
            zn_pstate_t ns;
            if (cm_elect_shutdown(cp, ctl_live, ctl_shutting, c, c->epoch, &ns))
                ps_change(c, &b, t, p, &ns, leads ? "ControlledShutdownLeaderElection" : "ControlledShutdown: replica offline");
            if (!leads)
                pref_push(&follow, &nf, &capf, t, p);
        }
    }
    int rc = ps_commit_push(c, &b, true, NULL, NULL);
    cb_free(&b);
    if (rc != CTL_DEPOSED)
        ps_send_stop_parts(c, id, follow, nf, false);
    free(follow);
    return rc;
}

void controlled_shutdown(kreq_t *req, void *ctx)
{
    ctl_t *c = ctx;
    int32_t id;
    int64_t epoch;
    if (ctl_cs_decode(&req->rd, &id, &epoch) != 0) {
        kreq_close(req, "malformed ControlledShutdown request");
        return;
    }
    const cbroker_t *br = c->active ? cm_broker(&c->m, id) : NULL;
    if (!c->active) {
        respond_cs(req, KERR_NOT_CONTROLLER, NULL, 0);
        return;
    }
    if (!br || br->epoch != epoch) {
        respond_cs(req, KERR_STALE_BROKER_EPOCH, NULL, 0);
        return;
    }
    wlog_info("[Controller id=%d epoch=%d] Shutting down broker %d", (int)c->cfg.controller_id, (int)c->epoch,
              (int)id);
    shutting_add(c, id, epoch);
    if (cs_move_away(c, id) == CTL_DEPOSED) {
        respond_cs(req, KERR_NOT_CONTROLLER, NULL, 0);
        return;
    }
    ctl_perr_t *rem = NULL;
    int n = 0, cap = 0;
    for (int i = 0; i < c->m.ntopics; i++) {
        const ctopic_t *t = c->m.topics[i];
        for (int32_t p = 0; !t->deleting && p < t->nparts; p++) {
            if (!t->parts[p].has_state || t->parts[p].st.leader != id)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                rem = realloc(rem, sizeof(*rem) * (size_t)cap);
                if (!rem)
                    abort();
            }
            rem[n++] = (ctl_perr_t){t->name, p, 0};
        }
    }
    wlog_info("[Controller id=%d epoch=%d] Broker %d still leads %d partitions", (int)c->cfg.controller_id,
              (int)c->epoch, (int)id, n);
    respond_cs(req, KERR_NONE, rem, n);
    free(rem);
}
