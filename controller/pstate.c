/*
 * pstate.c - the partition state machine's one door: every leader/ISR
 * transition goes through ps_change() (validated, queued as a fenced
 * ZooKeeper write), cb_commit() applies the writes that succeeded to the
 * model and logs each one to the state-change log, and the ps_send_* functions build the
 * LeaderAndIsr / UpdateMetadata / StopReplica requests for the channels.
 *
 * Invariants: the model's state for a partition changes only after its
 * znode write succeeded, and its zkver is the version ZooKeeper returned;
 * no state with an empty ISR or a leader outside the ISR is ever written;
 * leader_epoch never decreases.  Every request carries our controller id,
 * epoch and the target broker's epoch.
 *
 * Thread: the controller's event loop only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/ctl.h"
#include "ctlmsg.h"
#include "proto.h"
#include "wlog.h"

static void fmt_isr(const int32_t *isr, int n, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < n && o + 12 < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%d", i ? "," : "", (int)isr[i]);
}

struct cb_change {
    char *topic;
    int32_t p;
    zn_pstate_t st;
    int op;      /* index of the state write in the zkw */
    bool create;
    const char *why; /* static string */
};

/* The state-change log line, written once the change is durable. */
static void log_change(const ctl_t *c, const char *topic, int32_t p, const cpart_t *old, const zn_pstate_t *ns,
                       const char *why)
{
    char isr[512];
    fmt_isr(ns->isr, ns->nisr, isr, sizeof(isr));
    wlog_info("[Controller id=%d epoch=%d] Partition %s-%d: leader %d->%d, epoch %d->%d, isr [%s] (%s)",
              (int)c->cfg.controller_id, (int)c->epoch, topic, (int)p,
              (int)(old->has_state ? old->st.leader : CM_LEADER_NONE), (int)ns->leader,
              (int)(old->has_state ? old->st.leader_epoch : -1), (int)ns->leader_epoch, isr, why);
}


static void state_path(char *buf, size_t len, const char *topic, int32_t p)
{
    snprintf(buf, len, "/brokers/topics/%s/partitions/%d/state", topic, (int)p);
}

static bool change(ctl_t *c, cbatch_t *b, ctopic_t *t, int32_t p, const zn_pstate_t *ns, const char *why,
                   bool same_epoch)
{
    const cpart_t *cp = &t->parts[p];
    int32_t old_epoch = cp->has_state ? cp->st.leader_epoch : -1;
    zn_pstate_t settled = *ns;
    /* An R22 block describes one state (no leader, ISR [x]): any election
     * or ISR change away from it ends the block. */
    if (settled.unclean_blocked && (settled.leader != CM_LEADER_NONE || settled.nisr != 1))
        settled.unclean_blocked = false;
    ns = &settled;
    /* A leader change always bumps the epoch; only the leader's own ISR
     * requests (AlterPartition) keep it, and then the leader must stay. */
    bool epoch_ok = same_epoch ? (cp->has_state && ns->leader_epoch == old_epoch && ns->leader == cp->st.leader)
                               : (ns->leader_epoch > old_epoch);
    if (!cm_state_valid(cp, ns) || !epoch_ok) {
        wlog_error("[Controller id=%d epoch=%d] Rejected invalid state change of partition %s-%d (%s): leader %d, "
                   "epoch %d->%d",
                   (int)c->cfg.controller_id, (int)c->epoch, t->name, (int)p, why, (int)ns->leader, (int)old_epoch,
                   (int)ns->leader_epoch);
        return false;
    }
    char path[1024];
    state_path(path, sizeof(path), t->name, p);
    char *json = zn_pstate_encode(ns);
    if (!json)
        abort();
    if (b->nch == b->capch) {
        b->capch = b->capch ? b->capch * 2 : 16;
        b->ch = realloc(b->ch, sizeof(*b->ch) * (size_t)b->capch);
        if (!b->ch)
            abort();
    }
    struct cb_change *ch = &b->ch[b->nch++];
    ch->topic = strdup(t->name);
    ch->p = p;
    ch->st = *ns;
    ch->create = !cp->has_state;
    ch->why = why;
    ch->op = b->w.n;
    if (ch->create)
        zkw_create(&b->w, path, json);
    else
        zkw_set(&b->w, path, json, cp->zkver);
    free(json);
    return true;
}

bool ps_change(ctl_t *c, cbatch_t *b, ctopic_t *t, int32_t p, const zn_pstate_t *ns, const char *why)
{
    return change(c, b, t, p, ns, why, false);
}

bool ps_change_isr(ctl_t *c, cbatch_t *b, ctopic_t *t, int32_t p, const zn_pstate_t *ns, const char *why)
{
    return change(c, b, t, p, ns, why, true);
}

int cb_result(const cbatch_t *b, const ctopic_t *t, int32_t p)
{
    for (int i = 0; i < b->nch; i++)
        if (b->ch[i].p == p && strcmp(b->ch[i].topic, t->name) == 0)
            return b->w.ops[b->ch[i].op].err;
    return ZNONODE;
}

int cb_commit(ctl_t *c, cbatch_t *b, pref_t **changed, int *nchanged)
{
    *changed = NULL;
    *nchanged = 0;
    if (b->w.n == 0)
        return ZOK;
    int rc = zkw_commit(c, &b->w);
    if (rc == CTL_DEPOSED)
        return rc;
    pref_t *out = calloc((size_t)(b->nch ? b->nch : 1), sizeof(*out));
    if (!out)
        abort();
    int n = 0;
    for (int i = 0; i < b->nch; i++) {
        struct cb_change *ch = &b->ch[i];
        const zkw_op_t *op = &b->w.ops[ch->op];
        ctopic_t *t = cm_topic(&c->m, ch->topic);
        if (op->err != ZOK || !t || ch->p >= t->nparts)
            continue;
        cpart_t *cp = &t->parts[ch->p];
        log_change(c, t->name, ch->p, cp, &ch->st, ch->why);
        cp->st = ch->st;
        cp->zkver = ch->create ? 0 : op->stat.version;
        cp->mzxid = ch->create ? INT64_MAX : op->stat.mzxid;
        out[n++] = (pref_t){t, ch->p, ch->create};
        cp->has_state = true;
    }
    *changed = out;
    *nchanged = n;
    return rc;
}

void cb_free(cbatch_t *b)
{
    for (int i = 0; i < b->nch; i++)
        free(b->ch[i].topic);
    free(b->ch);
    zkw_free(&b->w);
    memset(b, 0, sizeof(*b));
}

/* ---- request building ---- */

static void fill_part(ctl_t *c, ctl_part_t *cp, const pref_t *r, bool for_um)
{
    const cpart_t *p = &r->t->parts[r->p];
    memset(cp, 0, sizeof(*cp));
    cp->topic = r->t->name;
    cp->partition = r->p;
    cp->controller_epoch = p->st.controller_epoch;
    cp->leader = (for_um && r->t->deleting) ? CM_LEADER_DELETING : p->st.leader;
    cp->leader_epoch = p->st.leader_epoch;
    cp->isr = (int32_t *)p->st.isr;
    cp->nisr = p->st.nisr;
    cp->zk_version = p->zkver;
    cp->replicas = p->rep;
    cp->nreplicas = p->nrep;
    cp->is_new = r->is_new;
    if (for_um) {
        cp->offline = malloc(sizeof(int32_t) * (size_t)(p->nrep ? p->nrep : 1));
        if (!cp->offline)
            abort();
        for (int32_t i = 0; i < p->nrep; i++)
            if (!cm_live(&c->m, p->rep[i]))
                cp->offline[cp->noffline++] = p->rep[i];
    }
}

static void fill_node(ctl_node_t *n, const cbroker_t *b)
{
    n->id = b->id;
    n->host = (char *)b->host;
    n->port = b->port;
    n->rack = b->rack[0] ? (char *)b->rack : NULL;
}

static void state_header(ctl_t *c, ctl_state_t *s, int32_t broker)
{
    const cbroker_t *b = cm_broker(&c->m, broker);
    memset(s, 0, sizeof(*s));
    s->controller_id = c->cfg.controller_id;
    s->controller_epoch = c->epoch;
    s->broker_epoch = b ? b->epoch : -1;
}

static void send_um(ctl_t *c, int32_t broker, const pref_t *parts, int n)
{
    ctl_state_t s;
    state_header(c, &s, broker);
    s.parts = calloc((size_t)(n ? n : 1), sizeof(ctl_part_t));
    s.nodes = calloc((size_t)(c->m.nbrokers ? c->m.nbrokers : 1), sizeof(ctl_node_t));
    if (!s.parts || !s.nodes)
        abort();
    for (int i = 0; i < n; i++)
        if (parts[i].t->parts[parts[i].p].has_state)
            fill_part(c, &s.parts[s.nparts++], &parts[i], true);
    for (int i = 0; i < c->m.nbrokers; i++)
        fill_node(&s.nodes[s.nnodes++], &c->m.brokers[i]);
    kwr_t wr;
    kwr_init(&wr, 256);
    ctl_um_encode(&wr, &s);
    for (int i = 0; i < s.nparts; i++)
        free(s.parts[i].offline);
    free(s.parts);
    free(s.nodes);
    ctl_send(c, broker, KAPI_UPDATE_METADATA, CTL_UM_VERSION, &wr, false);
}

/* LeaderAndIsr with the parts among `parts` that `broker` hosts. */
static uint64_t send_lair(ctl_t *c, int32_t broker, const pref_t *parts, int n, bool track)
{
    ctl_state_t s;
    state_header(c, &s, broker);
    s.parts = calloc((size_t)(n ? n : 1), sizeof(ctl_part_t));
    s.nodes = calloc((size_t)(c->m.nbrokers ? c->m.nbrokers : 1), sizeof(ctl_node_t));
    if (!s.parts || !s.nodes)
        abort();
    for (int i = 0; i < n; i++) {
        const cpart_t *p = &parts[i].t->parts[parts[i].p];
        if (!p->has_state || parts[i].t->deleting || !cm_contains(p->rep, p->nrep, broker))
            continue;
        fill_part(c, &s.parts[s.nparts++], &parts[i], false);
        const cbroker_t *lb = p->st.leader >= 0 ? cm_broker(&c->m, p->st.leader) : NULL;
        bool have = false;
        for (int j = 0; lb && j < s.nnodes && !have; j++)
            have = s.nodes[j].id == lb->id;
        if (lb && !have)
            fill_node(&s.nodes[s.nnodes++], lb);
    }
    uint64_t tag = 0;
    if (s.nparts > 0) {
        kwr_t wr;
        kwr_init(&wr, 256);
        ctl_lair_encode(&wr, &s);
        tag = ctl_send(c, broker, KAPI_LEADER_AND_ISR, CTL_LAIR_VERSION, &wr, track);
    }
    free(s.parts);
    free(s.nodes);
    return tag;
}

void ps_propagate(ctl_t *c, const pref_t *parts, int n, uint64_t *tags)
{
    if (!c->active || n == 0)
        return;
    for (int i = 0; i < c->m.nbrokers; i++) {
        uint64_t tag = send_lair(c, c->m.brokers[i].id, parts, n, tags != NULL);
        if (tags)
            tags[i] = tag;
        send_um(c, c->m.brokers[i].id, parts, n);
    }
}

void ps_send_um_all(ctl_t *c, const pref_t *parts, int n, int32_t skip)
{
    if (!c->active)
        return;
    for (int i = 0; i < c->m.nbrokers; i++)
        if (c->m.brokers[i].id != skip)
            send_um(c, c->m.brokers[i].id, parts, n);
}

static pref_t *all_parts(ctl_t *c, int *n)
{
    int cap = 0;
    for (int i = 0; i < c->m.ntopics; i++)
        cap += c->m.topics[i]->nparts;
    pref_t *r = calloc((size_t)(cap ? cap : 1), sizeof(*r));
    if (!r)
        abort();
    *n = 0;
    for (int i = 0; i < c->m.ntopics; i++)
        for (int32_t p = 0; p < c->m.topics[i]->nparts; p++)
            r[(*n)++] = (pref_t){c->m.topics[i], p, false};
    return r;
}

void ps_send_full(ctl_t *c, int32_t broker)
{
    if (!c->active)
        return;
    int n;
    pref_t *all = all_parts(c, &n);
    send_lair(c, broker, all, n, false);
    send_um(c, broker, all, n);
    free(all);
}

uint64_t ps_send_stop(ctl_t *c, int32_t broker, const ctopic_t *t, bool del)
{
    const cbroker_t *b = cm_broker(&c->m, broker);
    if (!c->active || !b)
        return 0;
    ctl_stop_t s = {.controller_id = c->cfg.controller_id,
                    .controller_epoch = c->epoch,
                    .broker_epoch = b->epoch,
                    .delete_partitions = del};
    s.topics = calloc((size_t)(t->nparts ? t->nparts : 1), sizeof(char *));
    s.partitions = calloc((size_t)(t->nparts ? t->nparts : 1), sizeof(int32_t));
    if (!s.topics || !s.partitions)
        abort();
    for (int32_t p = 0; p < t->nparts; p++)
        if (cm_contains(t->parts[p].rep, t->parts[p].nrep, broker)) {
            s.topics[s.n] = t->name;
            s.partitions[s.n++] = p;
        }
    kwr_t wr;
    kwr_init(&wr, 128);
    ctl_stop_encode(&wr, &s);
    free(s.topics);
    free(s.partitions);
    return ctl_send(c, broker, KAPI_STOP_REPLICA, CTL_STOP_VERSION, &wr, true);
}

void ps_send_stop_parts(ctl_t *c, int32_t broker, const pref_t *parts, int n, bool del)
{
    const cbroker_t *b = cm_broker(&c->m, broker);
    if (!c->active || !b || n == 0)
        return;
    ctl_stop_t s = {.controller_id = c->cfg.controller_id,
                    .controller_epoch = c->epoch,
                    .broker_epoch = b->epoch,
                    .delete_partitions = del};
    s.topics = calloc((size_t)n, sizeof(char *));
    s.partitions = calloc((size_t)n, sizeof(int32_t));
    if (!s.topics || !s.partitions)
        abort();
    for (int i = 0; i < n; i++) {
        s.topics[s.n] = parts[i].t->name;
        s.partitions[s.n++] = parts[i].p;
    }
    kwr_t wr;
    kwr_init(&wr, 128);
    ctl_stop_encode(&wr, &s);
    free(s.topics);
    free(s.partitions);
    ctl_send(c, broker, KAPI_STOP_REPLICA, CTL_STOP_VERSION, &wr, false);
}

int ps_commit_push(ctl_t *c, cbatch_t *b, bool lair, pref_t **changed, int *nchanged)
{
    pref_t *ch;
    int n;
    int rc = cb_commit(c, b, &ch, &n);
    if (rc != CTL_DEPOSED) {
        if (lair)
            ps_propagate(c, ch, n, NULL);
        else if (n > 0)
            ps_send_um_all(c, ch, n, -1);
    }
    if (changed) {
        *changed = ch;
        *nchanged = n;
    } else {
        free(ch);
    }
    return rc;
}

/* ---- elections ---- */

bool ps_unclean_allowed(ctl_t *c, ctopic_t *t)
{
    ev_load_config(c, t); /* Kafka reads the topic's config at election time */
    for (int i = 0; i < t->ncfg; i++)
        if (strcmp(t->cfg[i].key, "unclean.leader.election.enable") == 0)
            return strcmp(t->cfg[i].value, "true") == 0;
    return c->cfg.unclean_leader_election_enable;
}

/* Offline election for one partition, unclean only where allowed. */
static bool elect_offline_one(ctl_t *c, ctopic_t *t, const cpart_t *cp, zn_pstate_t *ns)
{
    bool unclean;
    bool changed = cm_elect_offline_ex(cp, ctl_eligible, c, c->epoch, false, ns, &unclean);
    int32_t leader = changed ? ns->leader : cp->st.leader;
    if (leader == CM_LEADER_NONE) {
        /* Nobody outside controlled shutdown can lead: a broker that is
         * shutting down but still up is better than no leader. */
        changed = cm_elect_offline_ex(cp, ctl_live, c, c->epoch, false, ns, &unclean);
        leader = changed ? ns->leader : cp->st.leader;
    }
    if (leader != CM_LEADER_NONE || !ps_unclean_allowed(c, t))
        return changed;
    changed = cm_elect_offline_ex(cp, ctl_live, c, c->epoch, true, ns, &unclean);
    if (unclean)
        wlog_warn("[Controller id=%d epoch=%d] Unclean leader election: partition %s-%d gets leader %d, which "
                  "was not in the ISR; data may be lost",
                  (int)c->cfg.controller_id, (int)c->epoch, t->name, (int)(cp - t->parts), (int)ns->leader);
    return changed;
}

static bool hosts(const cpart_t *p, int32_t broker)
{
    return broker < 0 || cm_contains(p->rep, p->nrep, broker) || cm_contains(p->st.isr, p->st.nisr, broker) ||
           p->st.leader == broker;
}

int ps_elect_offline(ctl_t *c, int32_t only_broker)
{
    cbatch_t b = {0};
    for (int i = 0; c->active && i < c->m.ntopics; i++) {
        ctopic_t *t = c->m.topics[i];
        if (t->deleting)
            continue;
        for (int32_t p = 0; p < t->nparts; p++) {
            cpart_t *cp = &t->parts[p];
            zn_pstate_t ns;
            if (!cp->has_state || !hosts(cp, only_broker))
                continue;
            if (cp->st.controller_epoch > c->epoch) {
                wlog_warn("[Controller id=%d epoch=%d] Partition %s-%d was decided by controller epoch %d; skipping",
                          (int)c->cfg.controller_id, (int)c->epoch, t->name, (int)p, (int)cp->st.controller_epoch);
                continue;
            }
            bool overridden;
            if (ul_queue(c, &b, t, p, false, &overridden))
                continue; /* R22: its only in-sync replica restarted after an unclean shutdown */
            if (!elect_offline_one(c, t, cp, &ns))
                continue;
            if (overridden && ns.leader == cp->st.isr[0])
                wlog_warn("[Controller id=%d epoch=%d] Partition %s-%d gets leader %d, which restarted after an "
                          "unclean shutdown and may have lost acknowledged records: unclean.leader.election.enable "
                          "is set for topic %s",
                          (int)c->cfg.controller_id, (int)c->epoch, t->name, (int)p, (int)ns.leader, t->name);
            ps_change(c, &b, t, p, &ns, "OfflinePartitionLeaderElection");
        }
    }
    int rc = ps_commit_push(c, &b, true, NULL, NULL);
    cb_free(&b);
    return rc;
}

int ps_init_new(ctl_t *c, ctopic_t *t, uint64_t *tags)
{
    cbatch_t b = {0};
    char path[1024];
    struct Stat st;
    bool parent = false;
    for (int32_t p = 0; p < t->nparts; p++) {
        cpart_t *cp = &t->parts[p];
        zn_pstate_t ns;
        if (cp->has_state)
            continue;
        if (!cm_initial_state(cp, cm_live_pred, &c->m, c->epoch, &ns)) {
            wlog_warn("[Controller id=%d epoch=%d] Partition %s-%d has no live replica; it stays new",
                      (int)c->cfg.controller_id, (int)c->epoch, t->name, (int)p);
            continue;
        }
        if (!parent) {
            snprintf(path, sizeof(path), "/brokers/topics/%s/partitions", t->name);
            if (zkc_exists(c->zk, path, false, &st) == ZNONODE)
                zkw_create(&b.w, path, NULL);
            parent = true;
        }
        snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d", t->name, (int)p);
        if (zkc_exists(c->zk, path, false, &st) == ZNONODE)
            zkw_create(&b.w, path, NULL);
        ps_change(c, &b, t, p, &ns, "NewPartition->OnlinePartition");
    }
    pref_t *changed;
    int n;
    int rc = cb_commit(c, &b, &changed, &n);
    cb_free(&b);
    if (rc != CTL_DEPOSED)
        ps_propagate(c, changed, n, tags);
    free(changed);
    return rc;
}
