/*
 * balance.c - preferred-leader election: on request through
 * /admin/preferred_replica_election (Kafka's JSON; the znode is deleted once
 * handled) and automatically (auto.leader.rebalance.enable): every
 * leader.imbalance.check.interval.seconds, for each live broker whose share
 * of "partitions that prefer it but are led elsewhere" is above
 * leader.imbalance.per.broker.percentage, move those partitions back to it.
 *
 * The preferred replica is the head of the assignment; it takes over only
 * when it is live, not shutting down and in the ISR, and the ISR is kept.
 * Partitions being reassigned or deleted are left alone.
 *
 * Thread: the controller's event loop only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "controller/ctl.h"
#include "wlog.h"

#define PL_PATH "/admin/preferred_replica_election"
#define PL_FIRST_CHECK_S 5

int pl_elect(ctl_t *c, const pref_t *parts, int n, const char *why)
{
    cbatch_t b = {0};
    for (int i = 0; i < n; i++) {
        cpart_t *cp = &parts[i].t->parts[parts[i].p];
        zn_pstate_t ns;
        if (!cp->has_state || parts[i].t->deleting || ra_in_progress(cp))
            continue;
        if (ul_holds(c, parts[i].t, cp)) {
            wlog_info("[Controller id=%d epoch=%d] Preferred replica election for %s-%d skipped: its only in-sync "
                      "replica restarted after an unclean shutdown (see leader-election.sh --election-type unclean)",
                      (int)c->cfg.controller_id, (int)c->epoch, parts[i].t->name, (int)parts[i].p);
            continue;
        }
        if (cm_elect_preferred(cp, ctl_eligible, c, c->epoch, &ns))
            ps_change(c, &b, parts[i].t, parts[i].p, &ns, why);
        else if (cp->nrep > 0 && cp->st.leader != cp->rep[0])
            wlog_info("[Controller id=%d epoch=%d] Preferred replica %d for partition %s-%d is either not alive "
                      "or not in the isr",
                      (int)c->cfg.controller_id, (int)c->epoch, (int)cp->rep[0], parts[i].t->name, (int)parts[i].p);
    }
    int rc = ps_commit_push(c, &b, true, NULL, NULL);
    cb_free(&b);
    return rc;
}

typedef struct pl_req {
    pref_t *parts;
    int n, cap;
} pl_req_t;

static void pl_add(ctl_t *c, ctopic_t *t, int32_t p, void *arg)
{
    (void)c;
    pl_req_t *r = arg;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        if (!(r->parts = realloc(r->parts, sizeof(*r->parts) * (size_t)r->cap)))
            abort();
    }
    r->parts[r->n++] = (pref_t){t, p, false};
}

static int pl_done(ctl_t *c, void *arg)
{
    pl_req_t *r = arg;
    return pl_elect(c, r->parts, r->n, "PreferredReplicaPartitionLeaderElection");
}

void pl_changed(ctl_t *c)
{
    pl_req_t r = {0};
    ctl_tplist_request(c, PL_PATH, "Preferred replica election", pl_add, pl_done, &r);
    free(r.parts);
}

/* Kafka's checkAndTriggerAutoLeaderRebalance. */
static void pl_check(ctl_t *c)
{
    int32_t pct = c->cfg.leader_imbalance_per_broker_percentage;
    for (int i = 0; c->active && i < c->m.nbrokers; i++) {
        int32_t id = c->m.brokers[i].id;
        int not_led;
        int total = cm_preferred_count(&c->m, id, &not_led);
        if (total == 0 || (int64_t)not_led * 100 <= (int64_t)pct * total)
            continue;
        wlog_info("[Controller id=%d epoch=%d] Leader imbalance ratio for broker %d is %.3f; rebalancing",
                  (int)c->cfg.controller_id, (int)c->epoch, (int)id, (double)not_led / total);
        pref_t *parts = calloc((size_t)not_led, sizeof(*parts));
        if (!parts)
            abort();
        int n = 0;
        for (int j = 0; j < c->m.ntopics; j++) {
            ctopic_t *t = c->m.topics[j];
            for (int32_t p = 0; !t->deleting && p < t->nparts && n < not_led; p++) {
                const cpart_t *cp = &t->parts[p];
                if (cp->has_state && cp->nrep > 0 && cp->rep[0] == id && cp->st.leader != id)
                    parts[n++] = (pref_t){t, p, false};
            }
        }
        pl_elect(c, parts, n, "AutoPreferredReplicaLeaderElection");
        free(parts);
    }
}

static void on_balance(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ctl_t *c = arg;
    if (!c->active)
        return;
    pl_check(c);
    struct timeval tv = {c->cfg.leader_imbalance_check_interval_seconds, 0};
    evtimer_add(c->balance_ev, &tv);
}

void pl_start(ctl_t *c)
{
    if (!c->cfg.auto_leader_rebalance_enable)
        return;
    if (!c->balance_ev)
        c->balance_ev = evtimer_new(c->base, on_balance, c);
    struct timeval tv = {PL_FIRST_CHECK_S, 0};
    evtimer_add(c->balance_ev, &tv);
}

void pl_stop(ctl_t *c)
{
    if (c->balance_ev)
        evtimer_del(c->balance_ev);
}
