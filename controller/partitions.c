/*
 * partitions.c - CreatePartitions v0-1 forwarded by brokers: only
 * increases, explicit assignments for the new partitions or Kafka's
 * placement continuing from the existing ones; rewrites /brokers/topics/<t>,
 * creates the new partitions' state znodes (fenced), sends LeaderAndIsr
 * (is_new) + UpdateMetadata and answers once the replicas acknowledged.
 *
 * Invariants: the model's assignment is restored if the topic znode write
 * fails, so the model never shows partitions ZooKeeper lacks.
 *
 * Thread: the controller's event loop only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/admin_int.h"
#include "proto.h"
#include "wlog.h"

typedef struct cp_topic {
    int32_t count;
    bool has_assign; /* Assignments not null */
    int32_t nas;
    int32_t *nids;
    int32_t **ids;
} cp_topic_t;

static void cp_free(cp_topic_t *t)
{
    for (int32_t i = 0; i < t->nas; i++)
        free(t->ids[i]);
    free(t->ids);
    free(t->nids);
}

static void parse_topic(krd_t *rd, cp_topic_t *t, char **name)
{
    *name = kstr_dup(krd_str(rd, false, false));
    t->count = krd_i32(rd);
    int32_t na = krd_array(rd, false, true, 4);
    t->has_assign = na >= 0 && !rd->err;
    if (na <= 0)
        return;
    t->nids = calloc((size_t)na, sizeof(int32_t));
    t->ids = calloc((size_t)na, sizeof(int32_t *));
    if (!t->nids || !t->ids)
        abort();
    for (int32_t i = 0; i < na && !rd->err; i++, t->nas++) {
        int32_t nb = krd_array(rd, false, false, 4);
        t->ids[i] = calloc((size_t)(nb > 0 ? nb : 1), sizeof(int32_t));
        if (!t->ids[i])
            abort();
        for (int32_t j = 0; j < nb && !rd->err; j++)
            t->ids[i][t->nids[i]++] = krd_i32(rd);
    }
}

/* The topic's current assignment from the model, with room for `total` partitions. */
static void model_assignment(const ctopic_t *t, int32_t total, zn_assignment_t *a)
{
    memset(a, 0, sizeof(*a));
    a->nparts = total;
    a->nreplicas = calloc((size_t)total, sizeof(int32_t));
    a->replicas = calloc((size_t)total, sizeof(int32_t *));
    if (!a->nreplicas || !a->replicas)
        abort();
    memcpy(a->topic_id, t->topic_id, sizeof(a->topic_id));
    for (int32_t p = 0; p < t->nparts; p++) {
        a->nreplicas[p] = t->parts[p].nrep;
        a->replicas[p] = malloc(sizeof(int32_t) * (size_t)(t->parts[p].nrep ? t->parts[p].nrep : 1));
        if (!a->replicas[p])
            abort();
        memcpy(a->replicas[p], t->parts[p].rep, sizeof(int32_t) * (size_t)t->parts[p].nrep);
    }
}

/* Fill partitions [cur, count) of `a` by placement; Kafka starts at the
 * index of the first live broker >= partition 0's first replica. */
static int place_new(ctl_t *c, const ctopic_t *t, int32_t cur, int32_t count, zn_assignment_t *a, char *msg,
                     size_t len)
{
    int32_t rf = t->parts[0].nrep, add = count - cur;
    int32_t start = 0;
    for (int i = 0; i < c->m.nbrokers; i++)
        if (c->m.brokers[i].id >= t->parts[0].rep[0]) {
            start = i;
            break;
        }
    int32_t *out = malloc(sizeof(int32_t) * (size_t)add * (size_t)rf);
    place_broker_t *pb = admin_live_place(c);
    if (!out)
        abort();
    int rc = place_assign(pb, c->m.nbrokers, add, rf, cur, start, start, out, msg, len);
    for (int32_t p = 0; rc == 0 && p < add; p++) {
        a->nreplicas[cur + p] = rf;
        a->replicas[cur + p] = malloc(sizeof(int32_t) * (size_t)rf);
        if (!a->replicas[cur + p])
            abort();
        memcpy(a->replicas[cur + p], out + (size_t)p * (size_t)rf, sizeof(int32_t) * (size_t)rf);
    }
    free(out);
    free(pb);
    return rc;
}

static int explicit_new(ctl_t *c, const ctopic_t *t, const cp_topic_t *ct, int32_t cur, zn_assignment_t *a,
                        char *msg, size_t len)
{
    int32_t add = ct->count - cur;
    if (ct->nas != add) {
        snprintf(msg, len, "Increasing the number of partitions by %d but %d assignments provided.", (int)add,
                 (int)ct->nas);
        return KERR_INVALID_REPLICA_ASSIGNMENT;
    }
    for (int32_t i = 0; i < add; i++)
        if (ct->nids[i] != t->parts[0].nrep) {
            snprintf(msg, len,
                     "Inconsistent replication factor between partitions, partition 0 has %d while partition %d "
                     "has %d.",
                     (int)t->parts[0].nrep, (int)(cur + i), (int)ct->nids[i]);
            return KERR_INVALID_REPLICA_ASSIGNMENT;
        }
    int32_t *live = admin_live_ids(c);
    int rc = place_validate(add, (const int32_t *const *)ct->ids, ct->nids, live, c->m.nbrokers, msg, len);
    free(live);
    for (int32_t i = 0; rc == 0 && i < add; i++) {
        a->nreplicas[cur + i] = ct->nids[i];
        a->replicas[cur + i] = malloc(sizeof(int32_t) * (size_t)ct->nids[i]);
        if (!a->replicas[cur + i])
            abort();
        memcpy(a->replicas[cur + i], ct->ids[i], sizeof(int32_t) * (size_t)ct->nids[i]);
    }
    return rc;
}

static int validate(ctl_t *c, const char *name, const cp_topic_t *ct, zn_assignment_t *a, char *msg, size_t len)
{
    if (!c->active) {
        snprintf(msg, len, "This controller is not active.");
        return KERR_NOT_CONTROLLER;
    }
    const ctopic_t *t = cm_topic(&c->m, name);
    if (!t || t->nparts == 0) {
        snprintf(msg, len, "The topic '%s' does not exist.", name);
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (t->deleting) {
        snprintf(msg, len, "The topic '%s' is queued for deletion.", name);
        return KERR_INVALID_TOPIC_EXCEPTION;
    }
    for (int32_t p = 0; p < t->nparts; p++)
        if (ra_in_progress(&t->parts[p])) {
            /* Rewriting the topic znode now would drop the adding/removing record. */
            snprintf(msg, len, "A partition reassignment is in progress for topic '%s'.", name);
            return KERR_REASSIGNMENT_IN_PROGRESS;
        }
    int32_t cur = t->nparts;
    if (ct->count < cur) {
        snprintf(msg, len, "Topic currently has %d partitions, which is higher than the requested %d.", (int)cur,
                 (int)ct->count);
        return KERR_INVALID_PARTITIONS;
    }
    if (ct->count == cur) {
        snprintf(msg, len, "Topic already has %d partitions.", (int)cur);
        return KERR_INVALID_PARTITIONS;
    }
    if (ct->count > 1000000) {
        snprintf(msg, len, "Number of partitions %d is too large.", (int)ct->count);
        return KERR_INVALID_PARTITIONS;
    }
    model_assignment(t, ct->count, a);
    if (ct->has_assign)
        return explicit_new(c, t, ct, cur, a, msg, len);
    return place_new(c, t, cur, ct->count, a, msg, len);
}

static void add_partitions(ctl_t *c, const char *name, zn_assignment_t *na, pend_topic_t *pt)
{
    ctopic_t *t = cm_topic(&c->m, name);
    int32_t cur = t->nparts;
    zn_assignment_t old;
    model_assignment(t, cur, &old);
    char path[1024];
    cbatch_t b = {0};
    char *aj = zn_assignment_encode(na);
    snprintf(path, sizeof(path), "/brokers/topics/%s", name);
    zkw_set(&b.w, path, aj, -1);
    free(aj);
    cm_topic_set_assignment(t, na);
    for (int32_t p = cur; p < t->nparts; p++) {
        zn_pstate_t ns;
        snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d", name, (int)p);
        zkw_create(&b.w, path, NULL);
        if (cm_initial_state(&t->parts[p], cm_live_pred, &c->m, c->epoch, &ns))
            ps_change(c, &b, t, p, &ns, "NewPartition->OnlinePartition");
    }
    pref_t *changed;
    int n;
    int rc = cb_commit(c, &b, &changed, &n);
    bool ok = rc != CTL_DEPOSED && b.w.ops[0].err == ZOK;
    cb_free(&b);
    if (!ok) {
        if ((t = cm_topic(&c->m, name)))
            cm_topic_set_assignment(t, &old);
        pend_set(pt, rc == CTL_DEPOSED ? KERR_NOT_CONTROLLER : KERR_UNKNOWN_SERVER_ERROR,
                 "Adding partitions failed: %s", rc == CTL_DEPOSED ? "controller moved" : zerror(rc));
    } else {
        wlog_info("[Controller id=%d epoch=%d] Topic %s now has %d partitions", (int)c->cfg.controller_id,
                  (int)c->epoch, name, (int)t->nparts);
        uint64_t *tags = calloc((size_t)(c->m.nbrokers ? c->m.nbrokers : 1), sizeof(uint64_t));
        if (!tags)
            abort();
        ps_propagate(c, changed, n, tags);
        pend_add_tags(pt, tags, c->m.nbrokers);
        free(tags);
    }
    free(changed);
    zn_assignment_free(&old);
}

void admin_create_partitions(kreq_t *req, void *ctx)
{
    ctl_t *c = ctx;
    krd_t *rd = &req->rd;
    int32_t n = krd_array(rd, false, false, 10);
    if (rd->err) {
        kreq_close(req, "malformed CreatePartitions request");
        return;
    }
    cp_topic_t *ts = calloc((size_t)(n ? n : 1), sizeof(*ts));
    char **names = calloc((size_t)(n ? n : 1), sizeof(char *));
    if (!ts || !names)
        abort();
    for (int32_t i = 0; i < n && !rd->err; i++)
        parse_topic(rd, &ts[i], &names[i]);
    int32_t timeout = krd_i32(rd);
    bool validate_only = krd_bool(rd);
    if (rd->err) {
        for (int32_t i = 0; i < n; i++) {
            cp_free(&ts[i]);
            free(names[i]);
        }
        free(ts);
        free(names);
        kreq_close(req, "malformed CreatePartitions request");
        return;
    }
    pend_t *pd = pend_new(c, req, n);
    for (int32_t i = 0; i < n; i++)
        pd->t[i].name = names[i];
    free(names);
    admin_mark_duplicates(pd, "CreatePartitions");
    for (int32_t i = 0; i < n; i++) {
        pend_topic_t *pt = &pd->t[i];
        zn_assignment_t na = {0};
        char msg[512];
        int rc = pt->err ? 0 : validate(c, pt->name ? pt->name : "", &ts[i], &na, msg, sizeof(msg));
        if (rc)
            pend_set(pt, (int16_t)rc, "%s", msg);
        else if (!pt->err && !validate_only)
            add_partitions(c, pt->name, &na, pt);
        zn_assignment_free(&na);
        cp_free(&ts[i]);
    }
    free(ts);
    pend_arm(pd, validate_only ? 0 : timeout);
}
