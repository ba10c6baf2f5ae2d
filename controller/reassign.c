/*
 * reassign.c - partition reassignment requested through
 * /admin/reassign_partitions (Kafka's ZooKeeper interface, with KIP-455's
 * adding/removing replicas recorded in /brokers/topics/<t>).
 *
 * Per partition, with ORS the original and TRS the target replicas:
 *   start   write RS = TRS ++ (ORS-TRS), adding = TRS-ORS, removing = ORS-TRS
 *           into the topic znode, then bump the leader epoch and send
 *           LeaderAndIsr to every replica (the new ones start fetching);
 *   wait    until every TRS member is in the ISR (leaders add caught-up
 *           followers with AlterPartition);
 *   finish  RS = TRS in memory, leader from TRS and ISR restricted to TRS
 *           in one epoch-bumping write, StopReplica(delete=false) then
 *           (delete=true) to the removed replicas, then RS = TRS with no
 *           adding/removing written to the topic znode - last, so the
 *           original replicas are on record until nothing needs them - and
 *           the entry leaves /admin/reassign_partitions (deleted when empty).
 * Everything a new controller needs to resume is in ZooKeeper: the topic
 * znode says which partitions are moving and where to.  On activation it
 * repeats the start's epoch bump for every partition still waiting (the old
 * controller may have died before it; brokers ignore a LeaderAndIsr at the
 * epoch they hold, so without a bump the leader never learns of the new
 * replicas) and finishes those already in sync.
 *
 * Thread: the controller's event loop only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/ctl.h"
#include "proto.h"
#include "wlog.h"

#define RA_PATH "/admin/reassign_partitions"

bool ra_in_progress(const cpart_t *p) { return p->nadd > 0 || p->nrem > 0; }

int ctl_get_watched(ctl_t *c, const char *path, char **data, struct Stat *st)
{
    *data = NULL;
    int rc = zkc_get(c->zk, path, true, data, st);
    if (rc != ZNONODE)
        return rc;
    /* A missing node keeps no data watch: arm an exists watch instead. */
    rc = zkc_exists(c->zk, path, true, st);
    return rc == ZOK ? ctl_get_watched(c, path, data, st) : ZNONODE;
}

void ctl_tplist_request(ctl_t *c, const char *path, const char *what, ctl_tp_fn each, int (*done)(ctl_t *, void *),
                        void *arg)
{
    char *data = NULL;
    struct Stat st;
    int rc = ctl_get_watched(c, path, &data, &st);
    if (rc != ZOK || !c->active) {
        free(data);
        return;
    }
    zn_tpr_t *l = NULL;
    int n = 0;
    if (!data || zn_tplist_decode(data, 0, &l, &n) != 0)
        wlog_error("[Controller id=%d epoch=%d] Malformed %s; removing it", (int)c->cfg.controller_id,
                   (int)c->epoch, path);
    free(data);
    for (int i = 0; i < n; i++) {
        ctopic_t *t = cm_topic(&c->m, l[i].topic);
        if (t && !t->deleting && l[i].partition < t->nparts)
            each(c, t, l[i].partition, arg);
        else
            wlog_warn("[Controller id=%d epoch=%d] %s for unknown partition %s-%d skipped",
                      (int)c->cfg.controller_id, (int)c->epoch, what, l[i].topic, (int)l[i].partition);
    }
    zn_tplist_free(l, n);
    if (done(c, arg) == CTL_DEPOSED)
        return;
    zkw_t w = {0};
    zkw_delete(&w, path, st.version); /* a newer request keeps its node and fires the watch */
    zkw_commit(c, &w);
    zkw_free(&w);
}

static int32_t *ids_dup(const int32_t *v, int32_t n)
{
    int32_t *d = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    if (!d)
        abort();
    if (v && n > 0)
        memcpy(d, v, sizeof(int32_t) * (size_t)n);
    return d;
}

/* The topic's assignment as the model holds it (deep copy). */
static void model_assignment(const ctopic_t *t, zn_assignment_t *a)
{
    memset(a, 0, sizeof(*a));
    a->nparts = t->nparts;
    a->nreplicas = calloc((size_t)(t->nparts ? t->nparts : 1), sizeof(int32_t));
    a->replicas = calloc((size_t)(t->nparts ? t->nparts : 1), sizeof(int32_t *));
    if (!a->nreplicas || !a->replicas)
        abort();
    memcpy(a->topic_id, t->topic_id, sizeof(a->topic_id));
    for (int32_t p = 0; p < t->nparts; p++) {
        const cpart_t *cp = &t->parts[p];
        a->nreplicas[p] = cp->nrep;
        a->replicas[p] = ids_dup(cp->rep, cp->nrep);
        if ((cp->nadd && zn_assignment_set_moving(a, 0, p, cp->add, cp->nadd) < 0) ||
            (cp->nrem && zn_assignment_set_moving(a, 1, p, cp->rem, cp->nrem) < 0))
            abort();
    }
}

/* Write the topic znode with partition p's replicas/adding/removing
 * replaced, then (only then) the model.  ZOK, CTL_DEPOSED or an error. */
static int write_partition(ctl_t *c, ctopic_t *t, int32_t p, const int32_t *rs, int nrs, const int32_t *ar, int nar,
                           const int32_t *rr, int nrr)
{
    char path[512], *old = NULL;
    struct Stat st;
    snprintf(path, sizeof(path), "/brokers/topics/%s", t->name);
    int rc = zkc_get(c->zk, path, false, &old, &st);
    free(old);
    if (rc != ZOK)
        return rc;
    zn_assignment_t a;
    model_assignment(t, &a);
    free(a.replicas[p]);
    a.replicas[p] = ids_dup(rs, nrs);
    a.nreplicas[p] = nrs;
    if (zn_assignment_set_moving(&a, 0, p, ar, nar) < 0 || zn_assignment_set_moving(&a, 1, p, rr, nrr) < 0)
        abort();
    char *json = zn_assignment_encode(&a);
    if (!json)
        abort();
    zkw_t w = {0};
    zkw_set(&w, path, json, st.version);
    rc = zkw_commit(c, &w);
    zkw_free(&w);
    free(json);
    if (rc == ZOK)
        cm_topic_set_assignment(t, &a);
    zn_assignment_free(&a);
    return rc;
}

static void same_epoch_bump(ctl_t *c, ctopic_t *t, int32_t p, const char *why)
{
    cpart_t *cp = &t->parts[p];
    if (!cp->has_state)
        return;
    zn_pstate_t ns = cp->st;
    ns.leader_epoch++;
    ns.controller_epoch = c->epoch;
    cbatch_t b = {0};
    ps_change(c, &b, t, p, &ns, why);
    ps_commit_push(c, &b, true, NULL, NULL);
    cb_free(&b);
}

static void stop_both(ctl_t *c, ctopic_t *t, int32_t p, const int32_t *ids, int n)
{
    pref_t one = {t, p, false};
    for (int i = 0; i < n; i++) {
        ps_send_stop_parts(c, ids[i], &one, 1, false);
        ps_send_stop_parts(c, ids[i], &one, 1, true);
    }
}

/* Start (or redirect) the reassignment of t-p to trs. */
static int ra_start(ctl_t *c, ctopic_t *t, int32_t p, const int32_t *trs, int ntrs)
{
    cpart_t *cp = &t->parts[p];
    int32_t *ors = ids_dup(NULL, cp->nrep), *rs = ids_dup(NULL, cp->nrep + ntrs);
    int32_t *ar = ids_dup(NULL, ntrs), *rr = ids_dup(NULL, cp->nrep), *old_add = ids_dup(cp->add, cp->nadd);
    int nold_add = cp->nadd, nrs, nar, nrr;
    int nors = cm_ra_original(cp, ors);
    cm_ra_plan(ors, nors, trs, ntrs, rs, &nrs, ar, &nar, rr, &nrr);
    int rc = write_partition(c, t, p, rs, nrs, ar, nar, rr, nrr);
    if (rc == ZOK) {
        wlog_info("[Controller id=%d epoch=%d] Reassignment of partition %s-%d started: %d replicas, %d adding, "
                  "%d removing",
                  (int)c->cfg.controller_id, (int)c->epoch, t->name, (int)p, nrs, nar, nrr);
        /* Adding replicas of an earlier, replaced target that are no longer wanted. */
        int32_t *gone = ids_dup(NULL, nold_add);
        int ngone = 0;
        for (int i = 0; i < nold_add; i++)
            if (!cm_contains(rs, nrs, old_add[i]))
                gone[ngone++] = old_add[i];
        stop_both(c, t, p, gone, ngone);
        free(gone);
        same_epoch_bump(c, t, p, "ReassignmentStarted");
    } else if (rc != CTL_DEPOSED) {
        wlog_error("[Controller id=%d epoch=%d] Cannot record the reassignment of %s-%d: %s",
                   (int)c->cfg.controller_id, (int)c->epoch, t->name, (int)p, zerror(rc));
    }
    free(ors);
    free(rs);
    free(ar);
    free(rr);
    free(old_add);
    return rc;
}

/* Steps c-e for a partition whose target replicas are all in sync. */
static int ra_finish(ctl_t *c, ctopic_t *t, int32_t p)
{
    cpart_t *cp = &t->parts[p];
    int32_t *trs = ids_dup(NULL, cp->nrep), *rr = ids_dup(cp->rem, cp->nrem);
    int ntrs = cm_ra_target(cp, trs), nrr = cp->nrem;
    zn_pstate_t ns;
    int rc = ZOK;
    /* R22: a leaderless partition whose only in-sync replica restarted
     * uncleanly is not led again by finishing a reassignment either. */
    if (ul_holds(c, t, cp) || !cm_elect_reassign(cp, trs, ntrs, ctl_eligible, c, c->epoch, &ns)) {
        rc = ZNONODE; /* no live in-sync target replica yet: retried on the next change */
        goto out;
    }
    /* In memory RS = TRS first (Kafka's order), so LeaderAndIsr names the
     * final replicas; ZooKeeper still holds the original ones. */
    int32_t *saved = cp->rep, nsaved = cp->nrep;
    cp->rep = ids_dup(trs, ntrs);
    cp->nrep = ntrs;
    cbatch_t b = {0};
    ps_change(c, &b, t, p, &ns, "ReassignPartitionLeaderElection");
    rc = ps_commit_push(c, &b, true, NULL, NULL);
    cb_free(&b);
    free(cp->rep);
    cp->rep = saved;
    cp->nrep = nsaved;
    if (rc != ZOK)
        goto out;
    stop_both(c, t, p, rr, nrr);
    rc = write_partition(c, t, p, trs, ntrs, NULL, 0, NULL, 0);
    if (rc == ZOK) {
        pref_t one = {t, p, false};
        ps_send_um_all(c, &one, 1, -1);
        wlog_info("[Controller id=%d epoch=%d] Reassignment of partition %s-%d completed", (int)c->cfg.controller_id,
                  (int)c->epoch, t->name, (int)p);
    }
out:
    free(trs);
    free(rr);
    return rc;
}

/* Keep only the entries of /admin/reassign_partitions still in progress
 * towards the same target; delete the znode when none is left. */
static void ra_clean_admin(ctl_t *c)
{
    char *data = NULL;
    struct Stat st;
    if (zkc_get(c->zk, RA_PATH, false, &data, &st) != ZOK)
        return;
    zn_tpr_t *l = NULL;
    int n = 0, keep = 0;
    bool bad = !data || zn_tplist_decode(data, 1, &l, &n) != 0;
    free(data);
    for (int i = 0; !bad && i < n; i++) {
        const ctopic_t *t = cm_topic(&c->m, l[i].topic);
        const cpart_t *cp = t && l[i].partition < t->nparts ? &t->parts[l[i].partition] : NULL;
        int32_t trs[1024];
        bool moving = cp && ra_in_progress(cp) && cp->nrep <= 1024 && cm_ra_target(cp, trs) == l[i].nreplicas &&
                      memcmp(trs, l[i].replicas, sizeof(int32_t) * (size_t)l[i].nreplicas) == 0;
        if (moving) {
            zn_tpr_t e = l[keep];
            l[keep++] = l[i];
            l[i] = e;
        }
    }
    zkw_t w = {0};
    if (bad || keep == 0) {
        zkw_delete(&w, RA_PATH, st.version);
    } else if (keep < n) {
        char *json = zn_tplist_encode(l, keep, 1);
        if (json)
            zkw_set(&w, RA_PATH, json, st.version);
        free(json);
    }
    if (w.n)
        zkw_commit(c, &w); /* a concurrent change fires the watch: we come back */
    zkw_free(&w);
    zn_tplist_free(l, n);
}

void ra_progress_all(ctl_t *c)
{
    bool done = false;
    for (int i = 0; c->active && i < c->m.ntopics; i++) {
        ctopic_t *t = c->m.topics[i];
        for (int32_t p = 0; c->active && !t->deleting && p < t->nparts; p++) {
            const cpart_t *cp = &t->parts[p];
            if (cp->has_state && ra_in_progress(cp) && cm_ra_caught_up(cp) && ra_finish(c, t, p) == ZOK)
                done = true;
        }
    }
    if (done && c->active)
        ra_clean_admin(c);
}

int ra_resume_all(ctl_t *c)
{
    cbatch_t b = {0};
    for (int i = 0; c->active && i < c->m.ntopics; i++) {
        ctopic_t *t = c->m.topics[i];
        for (int32_t p = 0; !t->deleting && p < t->nparts; p++) {
            zn_pstate_t ns;
            if (!cm_ra_resume(&t->parts[p], c->epoch, &ns))
                continue;
            wlog_info("[Controller id=%d epoch=%d] Resuming the reassignment of partition %s-%d: %d adding, "
                      "%d removing",
                      (int)c->cfg.controller_id, (int)c->epoch, t->name, (int)p, (int)t->parts[p].nadd,
                      (int)t->parts[p].nrem);
            ps_change(c, &b, t, p, &ns, "ReassignmentResumed");
        }
    }
    /* LeaderAndIsr carries RS (adding replicas included) to every replica. */
    int rc = c->active ? ps_commit_push(c, &b, true, NULL, NULL) : CTL_DEPOSED;
    cb_free(&b);
    return rc;
}

/* One entry of the request: start it, or note it is already done. */
static void ra_entry(ctl_t *c, const zn_tpr_t *e)
{
    ctopic_t *t = cm_topic(&c->m, e->topic);
    if (!t || t->deleting || e->partition >= t->nparts) {
        wlog_warn("[Controller id=%d epoch=%d] Reassignment of %s-%d ignored: no such partition",
                  (int)c->cfg.controller_id, (int)c->epoch, e->topic, (int)e->partition);
        return;
    }
    for (int32_t i = 0; i < e->nreplicas; i++)
        if (!cm_live(&c->m, e->replicas[i])) {
            wlog_warn("[Controller id=%d epoch=%d] Reassignment of %s-%d ignored: broker %d is not registered",
                      (int)c->cfg.controller_id, (int)c->epoch, e->topic, (int)e->partition, (int)e->replicas[i]);
            return;
        }
    cpart_t *cp = &t->parts[e->partition];
    int32_t *trs = ids_dup(NULL, cp->nrep);
    int ntrs = cm_ra_target(cp, trs);
    bool same = ntrs == e->nreplicas && memcmp(trs, e->replicas, sizeof(int32_t) * (size_t)ntrs) == 0;
    free(trs);
    if (same && !ra_in_progress(cp))
        wlog_info("[Controller id=%d epoch=%d] Reassignment of partition %s-%d: already at the target replicas",
                  (int)c->cfg.controller_id, (int)c->epoch, e->topic, (int)e->partition);
    else if (!same)
        ra_start(c, t, e->partition, e->replicas, e->nreplicas);
}

void ra_changed(ctl_t *c)
{
    char *data = NULL;
    struct Stat st;
    int rc = ctl_get_watched(c, RA_PATH, &data, &st);
    if (rc != ZOK || !c->active) {
        free(data);
        if (c->active)
            ra_progress_all(c); /* resume what the topic znodes say is moving */
        return;
    }
    zn_tpr_t *l = NULL;
    int n = 0;
    if (!data || zn_tplist_decode(data, 1, &l, &n) != 0)
        wlog_error("[Controller id=%d epoch=%d] Malformed %s; removing it", (int)c->cfg.controller_id,
                   (int)c->epoch, RA_PATH);
    free(data);
    for (int i = 0; c->active && i < n; i++)
        ra_entry(c, &l[i]);
    zn_tplist_free(l, n);
    if (!c->active)
        return;
    ra_progress_all(c);
    ra_clean_admin(c);
}
