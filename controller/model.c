/*
 * model.c - the controller's cluster model (brokers, topics, assignments,
 * partition states, topic configs) and the pure election rules.
 *
 * Invariants: brokers sorted by id, topics sorted by name, unique keys;
 * a partition's state (when has_state) satisfies cm_state_valid() against
 * its assignment, except transiently for states read from ZooKeeper that
 * someone else wrote.  Election functions never produce an empty ISR.
 *
 * Thread: the controller's event loop only (unit tests call it directly).
 */
#include "controller/model.h"

#include <stdlib.h>
#include <string.h>

#include "proto.h"

void cm_init(cmodel_t *m) { memset(m, 0, sizeof(*m)); }

static void part_free(cpart_t *p)
{
    free(p->rep);
    free(p->add);
    free(p->rem);
    p->rep = p->add = p->rem = NULL;
    p->nadd = p->nrem = 0;
}

static int32_t *dup_ids(const int32_t *ids, int32_t n)
{
    int32_t *d = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    if (!d)
        abort();
    if (n > 0)
        memcpy(d, ids, sizeof(int32_t) * (size_t)n);
    return d;
}

static void topic_free(ctopic_t *t)
{
    for (int32_t p = 0; p < t->nparts; p++)
        part_free(&t->parts[p]);
    free(t->parts);
    zn_kv_free(t->cfg, t->ncfg);
    free(t->del_broker);
    free(t->del_state);
    free(t->del_tag);
    free(t->name);
    free(t);
}

void cm_free(cmodel_t *m)
{
    for (int i = 0; i < m->ntopics; i++)
        topic_free(m->topics[i]);
    free(m->topics);
    free(m->brokers);
    memset(m, 0, sizeof(*m));
}

static int broker_pos(const cmodel_t *m, int32_t id, bool *found)
{
    int lo = 0, hi = m->nbrokers;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (m->brokers[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < m->nbrokers && m->brokers[lo].id == id;
    return lo;
}

const cbroker_t *cm_broker(const cmodel_t *m, int32_t id)
{
    bool found;
    int i = broker_pos(m, id, &found);
    return found ? &m->brokers[i] : NULL;
}

bool cm_live(const cmodel_t *m, int32_t id) { return cm_broker(m, id) != NULL; }

bool cm_live_pred(const void *ctx, int32_t id) { return cm_live(ctx, id); }

void cm_broker_put(cmodel_t *m, const cbroker_t *b)
{
    bool found;
    int i = broker_pos(m, b->id, &found);
    if (found) {
        m->brokers[i] = *b;
        return;
    }
    cbroker_t *nb = realloc(m->brokers, sizeof(*nb) * (size_t)(m->nbrokers + 1));
    if (!nb)
        abort();
    m->brokers = nb;
    memmove(&nb[i + 1], &nb[i], sizeof(*nb) * (size_t)(m->nbrokers - i));
    nb[i] = *b;
    m->nbrokers++;
}

void cm_broker_del(cmodel_t *m, int32_t id)
{
    bool found;
    int i = broker_pos(m, id, &found);
    if (!found)
        return;
    memmove(&m->brokers[i], &m->brokers[i + 1], sizeof(cbroker_t) * (size_t)(m->nbrokers - i - 1));
    m->nbrokers--;
}

static int topic_pos(const cmodel_t *m, const char *name, bool *found)
{
    int lo = 0, hi = m->ntopics;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (strcmp(m->topics[mid]->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < m->ntopics && strcmp(m->topics[lo]->name, name) == 0;
    return lo;
}

ctopic_t *cm_topic(const cmodel_t *m, const char *name)
{
    bool found;
    int i = topic_pos(m, name, &found);
    return found ? m->topics[i] : NULL;
}

ctopic_t *cm_topic_add(cmodel_t *m, const char *name)
{
    bool found;
    int i = topic_pos(m, name, &found);
    if (found)
        return m->topics[i];
    ctopic_t *t = calloc(1, sizeof(*t));
    ctopic_t **nt = realloc(m->topics, sizeof(*nt) * (size_t)(m->ntopics + 1));
    if (!t || !nt || !(t->name = strdup(name)))
        abort();
    m->topics = nt;
    memmove(&nt[i + 1], &nt[i], sizeof(*nt) * (size_t)(m->ntopics - i));
    nt[i] = t;
    m->ntopics++;
    return t;
}

void cm_topic_del(cmodel_t *m, const char *name)
{
    bool found;
    int i = topic_pos(m, name, &found);
    if (!found)
        return;
    topic_free(m->topics[i]);
    memmove(&m->topics[i], &m->topics[i + 1], sizeof(ctopic_t *) * (size_t)(m->ntopics - i - 1));
    m->ntopics--;
}

bool cm_contains(const int32_t *a, int n, int32_t v)
{
    for (int i = 0; i < n; i++)
        if (a[i] == v)
            return true;
    return false;
}

static bool same_replicas(const cpart_t *p, const int32_t *rep, int32_t n)
{
    return p->nrep == n && memcmp(p->rep, rep, sizeof(int32_t) * (size_t)n) == 0;
}

/* The partition's adding/removing lists as the topic znode holds them. */
static void set_moving(cpart_t *d, const zn_assignment_t *a, int32_t p)
{
    free(d->add);
    free(d->rem);
    d->nadd = a->nadding ? a->nadding[p] : 0;
    d->nrem = a->nremoving ? a->nremoving[p] : 0;
    d->add = d->nadd ? dup_ids(a->adding[p], d->nadd) : NULL;
    d->rem = d->nrem ? dup_ids(a->removing[p], d->nrem) : NULL;
}

void cm_topic_set_assignment(ctopic_t *t, const zn_assignment_t *a)
{
    cpart_t *np = calloc((size_t)(a->nparts > 0 ? a->nparts : 1), sizeof(*np));
    if (!np)
        abort();
    for (int32_t p = 0; p < a->nparts; p++) {
        cpart_t *d = &np[p];
        if (p < t->nparts && same_replicas(&t->parts[p], a->replicas[p], a->nreplicas[p])) {
            *d = t->parts[p];
            t->parts[p].rep = NULL;
            t->parts[p].add = t->parts[p].rem = NULL;
            set_moving(d, a, p);
            continue;
        }
        if (p < t->nparts) {
            /* Replica list changed under us: keep the state, it is still
             * what ZooKeeper holds, but take the new replica list. */
            d->has_state = t->parts[p].has_state;
            d->st = t->parts[p].st;
            d->zkver = t->parts[p].zkver;
            d->mzxid = t->parts[p].mzxid;
        }
        d->nrep = a->nreplicas[p];
        d->rep = malloc(sizeof(int32_t) * (size_t)(d->nrep > 0 ? d->nrep : 1));
        if (!d->rep)
            abort();
        memcpy(d->rep, a->replicas[p], sizeof(int32_t) * (size_t)d->nrep);
        set_moving(d, a, p);
    }
    for (int32_t p = 0; p < t->nparts; p++)
        part_free(&t->parts[p]);
    free(t->parts);
    t->parts = np;
    t->nparts = a->nparts;
    if (a->topic_id[0])
        memcpy(t->topic_id, a->topic_id, sizeof(t->topic_id));
}

void cm_topic_set_config(ctopic_t *t, zn_kv_t *kv, int n)
{
    zn_kv_free(t->cfg, t->ncfg);
    t->cfg = kv;
    t->ncfg = n;
}

void cm_topic_start_delete(ctopic_t *t)
{
    t->deleting = true;
    if (t->del_broker)
        return;
    int cap = 0;
    for (int32_t p = 0; p < t->nparts; p++)
        cap += t->parts[p].nrep;
    t->del_broker = calloc((size_t)(cap ? cap : 1), sizeof(int32_t));
    t->del_state = calloc((size_t)(cap ? cap : 1), 1);
    t->del_tag = calloc((size_t)(cap ? cap : 1), sizeof(uint64_t));
    if (!t->del_broker || !t->del_state || !t->del_tag)
        abort();
    t->ndel = 0;
    for (int32_t p = 0; p < t->nparts; p++)
        for (int32_t r = 0; r < t->parts[p].nrep; r++)
            if (!cm_contains(t->del_broker, t->ndel, t->parts[p].rep[r]))
                t->del_broker[t->ndel++] = t->parts[p].rep[r];
}

bool cm_state_valid(const cpart_t *p, const zn_pstate_t *s)
{
    if (s->nisr <= 0 || s->nisr > ZN_MAX_ISR)
        return false;
    for (int i = 0; i < s->nisr; i++) {
        if (!cm_contains(p->rep, p->nrep, s->isr[i]))
            return false;
        if (cm_contains(s->isr, i, s->isr[i]))
            return false;
    }
    if (s->leader != CM_LEADER_NONE && !cm_contains(s->isr, s->nisr, s->leader))
        return false;
    if (s->unclean_blocked && (s->leader != CM_LEADER_NONE || s->nisr != 1))
        return false;
    return true;
}

static bool state_equal(const zn_pstate_t *a, const zn_pstate_t *b)
{
    return a->leader == b->leader && a->nisr == b->nisr &&
           memcmp(a->isr, b->isr, sizeof(int32_t) * (size_t)a->nisr) == 0;
}

bool cm_elect_offline(const cpart_t *p, bool (*live)(const void *ctx, int32_t id), const void *ctx,
                      int32_t controller_epoch, zn_pstate_t *out)
{
    const zn_pstate_t *cur = &p->st;
    zn_pstate_t n = *cur;
    n.nisr = 0;
    for (int i = 0; i < cur->nisr; i++)
        if (live(ctx, cur->isr[i]))
            n.isr[n.nisr++] = cur->isr[i];
    if (cur->leader >= 0 && live(ctx, cur->leader) && cm_contains(n.isr, n.nisr, cur->leader)) {
        n.leader = cur->leader;
    } else {
        n.leader = CM_LEADER_NONE;
        for (int32_t r = 0; r < p->nrep; r++)
            if (cm_contains(n.isr, n.nisr, p->rep[r])) {
                n.leader = p->rep[r];
                break;
            }
    }
    if (n.nisr == 0 && cur->nisr > 0) {
        /* Never write an empty ISR: the partition waits for this member. */
        bool lead_in = cur->leader >= 0 && cm_contains(cur->isr, cur->nisr, cur->leader);
        n.isr[0] = lead_in ? cur->leader : cur->isr[cur->nisr - 1];
        n.nisr = 1;
    }
    if (state_equal(&n, cur))
        return false;
    n.leader_epoch = cur->leader_epoch + 1;
    n.controller_epoch = controller_epoch;
    *out = n;
    return true;
}

bool cm_initial_state(const cpart_t *p, bool (*live)(const void *ctx, int32_t id), const void *ctx,
                      int32_t controller_epoch, zn_pstate_t *out)
{
    memset(out, 0, sizeof(*out));
    out->controller_epoch = controller_epoch;
    out->leader = CM_LEADER_NONE;
    for (int32_t r = 0; r < p->nrep && out->nisr < ZN_MAX_ISR; r++)
        if (live(ctx, p->rep[r]))
            out->isr[out->nisr++] = p->rep[r];
    if (out->nisr == 0)
        return false;
    out->leader = out->isr[0];
    return true;
}

/* ---- further election rules (Kafka's PartitionLeaderElectionAlgorithms) ---- */

bool cm_elect_offline_ex(const cpart_t *p, cm_pred_t live, const void *ctx, int32_t controller_epoch, bool unclean,
                         zn_pstate_t *out, bool *was_unclean)
{
    *was_unclean = false;
    zn_pstate_t n;
    bool changed = cm_elect_offline(p, live, ctx, controller_epoch, &n);
    const zn_pstate_t *res = changed ? &n : &p->st;
    if (!unclean || res->leader != CM_LEADER_NONE) {
        if (changed)
            *out = n;
        return changed;
    }
    for (int32_t r = 0; r < p->nrep; r++)
        if (live(ctx, p->rep[r])) {
            n = p->st;
            n.leader = p->rep[r];
            n.isr[0] = p->rep[r];
            n.nisr = 1;
            n.leader_epoch = p->st.leader_epoch + 1;
            n.controller_epoch = controller_epoch;
            *out = n;
            *was_unclean = true;
            return true;
        }
    if (changed)
        *out = n;
    return changed;
}

/* ---- unclean-shutdown awareness (R22) ---- */

cm_r22_t cm_r22_decide(const cpart_t *p, bool x_unclean, bool x_newer, int32_t controller_epoch, zn_pstate_t *out)
{
    const zn_pstate_t *cur = &p->st;
    if (!p->has_state || cur->nisr != 1 || p->nrep < 2)
        return CM_R22_NONE;
    int32_t x = cur->isr[0];
    if (cur->leader == CM_LEADER_NONE && cur->unclean_blocked)
        return CM_R22_HOLD;
    if (!x_unclean || !(cur->leader == CM_LEADER_NONE || (cur->leader == x && x_newer)))
        return CM_R22_NONE;
    *out = *cur;
    out->unclean_blocked = true;
    out->controller_epoch = controller_epoch;
    if (cur->leader != CM_LEADER_NONE) {
        out->leader = CM_LEADER_NONE;
        out->leader_epoch = cur->leader_epoch + 1;
    }
    return CM_R22_RECORD;
}

bool cm_r22_shrink(const cpart_t *p, cm_pred_t unseen, cm_pred_t live, const void *ctx, int32_t controller_epoch,
                   zn_pstate_t *out)
{
    const zn_pstate_t *cur = &p->st;
    if (!p->has_state || cur->nisr < 2)
        return false;
    zn_pstate_t n = *cur;
    n.nisr = 0;
    bool any_live = false;
    for (int i = 0; i < cur->nisr; i++)
        if (!unseen(ctx, cur->isr[i])) {
            n.isr[n.nisr++] = cur->isr[i];
            any_live |= live(ctx, cur->isr[i]);
        }
    if (n.nisr == cur->nisr || n.nisr == 0 || !any_live)
        return false;
    if (cur->leader != CM_LEADER_NONE && !cm_contains(n.isr, n.nisr, cur->leader)) {
        n.leader = CM_LEADER_NONE;
        for (int32_t r = 0; r < p->nrep && n.leader == CM_LEADER_NONE; r++)
            if (live(ctx, p->rep[r]) && cm_contains(n.isr, n.nisr, p->rep[r]))
                n.leader = p->rep[r];
    }
    n.leader_epoch = cur->leader_epoch + 1;
    n.controller_epoch = controller_epoch;
    *out = n;
    return true;
}

/* One pass of the override with a liveness predicate; out-of-sync replicas
 * only when allow_unclean. */
static bool override_pass(const cpart_t *p, cm_pred_t live, const void *ctx, int32_t controller_epoch,
                          bool allow_unclean, zn_pstate_t *out, bool *was_unclean)
{
    zn_pstate_t n;
    if (!cm_elect_offline_ex(p, live, ctx, controller_epoch, allow_unclean, &n, was_unclean) ||
        n.leader == CM_LEADER_NONE)
        return false;
    n.unclean_blocked = false;
    *out = n;
    return true;
}

bool cm_elect_override(const cpart_t *p, cm_pred_t eligible, cm_pred_t live, const void *ctx,
                       int32_t controller_epoch, zn_pstate_t *out, bool *was_unclean)
{
    *was_unclean = false;
    if (!p->has_state || (p->st.leader >= 0 && live(ctx, p->st.leader)))
        return false;
    /* In-sync members first (one not shutting down, then any live one); an
     * out-of-sync replica only when no in-sync member is alive at all. */
    return override_pass(p, eligible, ctx, controller_epoch, false, out, was_unclean) ||
           override_pass(p, live, ctx, controller_epoch, false, out, was_unclean) ||
           override_pass(p, eligible, ctx, controller_epoch, true, out, was_unclean) ||
           override_pass(p, live, ctx, controller_epoch, true, out, was_unclean);
}

bool cm_elect_shutdown(const cpart_t *p, cm_pred_t live, cm_pred_t shutting, const void *ctx,
                       int32_t controller_epoch, zn_pstate_t *out)
{
    const zn_pstate_t *cur = &p->st;
    zn_pstate_t n = *cur;
    n.nisr = 0;
    for (int i = 0; i < cur->nisr; i++)
        if (!shutting(ctx, cur->isr[i]))
            n.isr[n.nisr++] = cur->isr[i];
    if (n.nisr == 0 || n.nisr == cur->nisr)
        return false;
    if (!(cur->leader >= 0 && live(ctx, cur->leader) && cm_contains(n.isr, n.nisr, cur->leader))) {
        n.leader = CM_LEADER_NONE;
        for (int32_t r = 0; r < p->nrep && n.leader == CM_LEADER_NONE; r++)
            if (live(ctx, p->rep[r]) && cm_contains(n.isr, n.nisr, p->rep[r]))
                n.leader = p->rep[r];
        if (n.leader == CM_LEADER_NONE)
            return false; /* no in-sync successor: it keeps leading */
    }
    n.leader_epoch = cur->leader_epoch + 1;
    n.controller_epoch = controller_epoch;
    *out = n;
    return true;
}

bool cm_elect_preferred(const cpart_t *p, cm_pred_t live, const void *ctx, int32_t controller_epoch,
                        zn_pstate_t *out)
{
    if (p->nrep == 0)
        return false;
    int32_t head = p->rep[0];
    if (p->st.leader == head || !live(ctx, head) || !cm_contains(p->st.isr, p->st.nisr, head))
        return false;
    *out = p->st;
    out->leader = head;
    out->leader_epoch = p->st.leader_epoch + 1;
    out->controller_epoch = controller_epoch;
    return true;
}

bool cm_elect_reassign(const cpart_t *p, const int32_t *trs, int ntrs, cm_pred_t live, const void *ctx,
                       int32_t controller_epoch, zn_pstate_t *out)
{
    const zn_pstate_t *cur = &p->st;
    zn_pstate_t n = *cur;
    n.nisr = 0;
    for (int i = 0; i < cur->nisr; i++)
        if (cm_contains(trs, ntrs, cur->isr[i]))
            n.isr[n.nisr++] = cur->isr[i];
    n.leader = CM_LEADER_NONE;
    if (cur->leader >= 0 && live(ctx, cur->leader) && cm_contains(n.isr, n.nisr, cur->leader))
        n.leader = cur->leader;
    for (int i = 0; i < ntrs && n.leader == CM_LEADER_NONE; i++)
        if (live(ctx, trs[i]) && cm_contains(n.isr, n.nisr, trs[i]))
            n.leader = trs[i];
    if (n.leader == CM_LEADER_NONE || n.nisr == 0)
        return false;
    n.leader_epoch = cur->leader_epoch + 1;
    n.controller_epoch = controller_epoch;
    *out = n;
    return true;
}

/* ---- reassignment sets ---- */

static int minus(const int32_t *a, int na, const int32_t *b, int nb, int32_t *out)
{
    int n = 0;
    for (int i = 0; i < na; i++)
        if (!cm_contains(b, nb, a[i]) && !cm_contains(out, n, a[i]))
            out[n++] = a[i];
    return n;
}

void cm_ra_plan(const int32_t *ors, int nors, const int32_t *trs, int ntrs, int32_t *rs, int *nrs, int32_t *ar,
                int *nar, int32_t *rr, int *nrr)
{
    int n = 0;
    for (int i = 0; i < ntrs; i++)
        if (!cm_contains(rs, n, trs[i]))
            rs[n++] = trs[i];
    for (int i = 0; i < nors; i++)
        if (!cm_contains(rs, n, ors[i]))
            rs[n++] = ors[i];
    *nrs = n;
    *nar = minus(trs, ntrs, ors, nors, ar);
    *nrr = minus(ors, nors, trs, ntrs, rr);
}

int cm_ra_target(const cpart_t *p, int32_t *out) { return minus(p->rep, p->nrep, p->rem, p->nrem, out); }

int cm_ra_original(const cpart_t *p, int32_t *out) { return minus(p->rep, p->nrep, p->add, p->nadd, out); }

bool cm_ra_caught_up(const cpart_t *p)
{
    for (int32_t i = 0; i < p->nrep; i++)
        if (!cm_contains(p->rem, p->nrem, p->rep[i]) && !cm_contains(p->st.isr, p->st.nisr, p->rep[i]))
            return false;
    return true;
}

bool cm_ra_resume(const cpart_t *p, int32_t controller_epoch, zn_pstate_t *out)
{
    if (!p->has_state || p->st.leader < 0 || (p->nadd == 0 && p->nrem == 0) || cm_ra_caught_up(p))
        return false;
    *out = p->st;
    out->leader_epoch = p->st.leader_epoch + 1;
    out->controller_epoch = controller_epoch;
    return true;
}

/* ---- AlterPartition ---- */

int16_t cm_ap_check(const cpart_t *p, int32_t sender, int32_t leader_epoch, int32_t partition_epoch,
                    const int32_t *isr, int nisr, cm_pred_t live, const void *ctx, bool *current)
{
    *current = false;
    if (!p || !p->has_state)
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    const zn_pstate_t *st = &p->st;
    if (leader_epoch > st->leader_epoch || partition_epoch > p->zkver)
        return KERR_NOT_CONTROLLER; /* the sender knows newer state: we are probably stale */
    if (leader_epoch < st->leader_epoch)
        return KERR_FENCED_LEADER_EPOCH;
    if (sender != st->leader)
        return KERR_NOT_LEADER_OR_FOLLOWER;
    if (nisr == st->nisr && memcmp(isr, st->isr, sizeof(int32_t) * (size_t)(nisr > 0 ? nisr : 0)) == 0) {
        *current = true; /* a retry of what is already applied */
        return KERR_NONE;
    }
    if (partition_epoch < p->zkver)
        return KERR_INVALID_UPDATE_VERSION;
    for (int i = 0; i < nisr; i++)
        if (!live(ctx, isr[i]) || !cm_contains(p->rep, p->nrep, isr[i]))
            return KERR_INELIGIBLE_REPLICA;
    if (nisr <= 0 || nisr > ZN_MAX_ISR || !cm_contains(isr, nisr, st->leader))
        return KERR_INVALID_REQUEST;
    for (int i = 0; i < nisr; i++)
        if (cm_contains(isr, i, isr[i]))
            return KERR_INVALID_REQUEST;
    return KERR_NONE;
}

/* ---- preferred-leader balance ---- */

int cm_preferred_count(const cmodel_t *m, int32_t broker, int *not_led)
{
    int n = 0;
    *not_led = 0;
    for (int i = 0; i < m->ntopics; i++) {
        const ctopic_t *t = m->topics[i];
        if (t->deleting)
            continue;
        for (int32_t p = 0; p < t->nparts; p++) {
            const cpart_t *cp = &t->parts[p];
            if (!cp->has_state || cp->nrep == 0 || cp->rep[0] != broker)
                continue;
            n++;
            if (cp->st.leader != broker)
                (*not_led)++;
        }
    }
    return n;
}
