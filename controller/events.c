/*
 * events.c - the controller's reactions to ZooKeeper: broker joins, deaths
 * and bounces (/brokers/ids), topics appearing, changing or disappearing
 * (/brokers/topics), and topic deletion (/admin/delete_topics); the other
 * admin paths are dispatched to reassign.c, balance.c and unclean.c.
 *
 * Watches are one-shot and changes coalesce, so every handler re-reads the
 * current children/data (re-arming the watch in the same read) and diffs it
 * against the model.  Standbys run the same reads (hot model) but take no
 * action; the active controller also elects, writes and sends.
 *
 * Thread: the controller's event loop only (ev_dispatch is the zkc_evq
 * callback).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "controller/ctl.h"
#include "proto.h"
#include "wlog.h"

static void topics_refresh(ctl_t *c, bool act);
static void topic_load(ctl_t *c, const char *name, bool act);

/* ---- brokers ---- */

static bool broker_read(ctl_t *c, const char *name, cbroker_t *out)
{
    char *end;
    long id = strtol(name, &end, 10);
    if (*end || id < 0 || id > INT32_MAX)
        return false;
    char path[512], *data = NULL;
    struct Stat st;
    snprintf(path, sizeof(path), "/brokers/ids/%s", name);
    if (zkc_get(c->zk, path, false, &data, &st) != ZOK)
        return false;
    zn_broker_t zb;
    int rc = data ? zn_broker_decode(data, (int32_t)id, &zb) : -1;
    free(data);
    if (rc != 0 || zb.nep == 0) {
        wlog_warn("Controller %d: ignoring broker %ld with an unreadable registration", (int)c->cfg.controller_id, id);
        return false;
    }
    int e = 0;
    for (int i = 0; i < zb.nep; i++)
        if (strcmp(zb.ep[i].listener, "PLAINTEXT") == 0) {
            e = i;
            break;
        }
    memset(out, 0, sizeof(*out));
    out->id = (int32_t)id;
    out->epoch = st.czxid;
    snprintf(out->host, sizeof(out->host), "%s", zb.ep[e].host);
    out->port = zb.ep[e].port;
    snprintf(out->rack, sizeof(out->rack), "%s", zb.rack);
    out->unclean = zb.unclean_shutdown;
    return true;
}

static bool in_list(const cbroker_t *l, int n, int32_t id, int64_t epoch)
{
    for (int i = 0; i < n; i++)
        if (l[i].id == id && (epoch < 0 || l[i].epoch == epoch))
            return true;
    return false;
}

static void brokers_refresh(ctl_t *c, bool act)
{
    char **names = NULL;
    int n = 0;
    if (zkc_children(c->zk, "/brokers/ids", true, &names, &n) != ZOK)
        return;
    cbroker_t *now = calloc((size_t)(n ? n : 1), sizeof(*now));
    if (!now)
        abort();
    int nnow = 0;
    for (int i = 0; i < n; i++)
        if (broker_read(c, names[i], &now[nnow]))
            nnow++;
    zkc_free_names(names, n);
    /* Died or bounced (same id, new czxid): a failure first. */
    int ndead = 0;
    for (int i = c->m.nbrokers - 1; i >= 0; i--) {
        cbroker_t b = c->m.brokers[i];
        if (in_list(now, nnow, b.id, b.epoch))
            continue;
        wlog_info("Controller %d: broker %d (epoch %lld) %s", (int)c->cfg.controller_id, (int)b.id,
                  (long long)b.epoch, in_list(now, nnow, b.id, -1) ? "bounced" : "died");
        cm_broker_del(&c->m, b.id);
        ctl_chan_close(c, b.id);
        ndead++;
    }
    if (act && ndead && ps_elect_offline(c, -1) == CTL_DEPOSED)
        act = false;
    int32_t *joined = calloc((size_t)(nnow ? nnow : 1), sizeof(int32_t));
    int nj = 0;
    for (int i = 0; i < nnow; i++) {
        if (cm_live(&c->m, now[i].id))
            continue;
        wlog_info("Controller %d: broker %d joined at %s:%d (epoch %lld)%s", (int)c->cfg.controller_id,
                  (int)now[i].id, now[i].host, (int)now[i].port, (long long)now[i].epoch,
                  now[i].unclean ? " after an unclean shutdown" : "");
        cm_broker_put(&c->m, &now[i]);
        joined[nj++] = now[i].id;
        if (act)
            ctl_chan_open(c, &now[i]);
    }
    free(now);
    ctl_shutting_prune(c);
    if (act && nj) {
        int rc = ps_elect_offline(c, -1);
        bool unclean_joined = false;
        for (int i = 0; i < nj; i++)
            unclean_joined |= ctl_unclean(c, joined[i]);
        if (rc != ZOK && rc != CTL_DEPOSED && unclean_joined) {
            /* A broker takes our first request as proof that its R22 blocks
             * are recorded: with the write failed, start over instead. */
            wlog_error("Controller %d: recording partition state failed (%s) while a broker registered after an "
                       "unclean shutdown; resigning so that a fresh election records it",
                       (int)c->cfg.controller_id, zerror(rc));
            ctl_resign(c, "state write failed");
        } else if (rc != CTL_DEPOSED) {
            for (int i = 0; i < nj; i++)
                ps_send_full(c, joined[i]);
            /* Everyone learns the new live-broker list. */
            ps_send_um_all(c, NULL, 0, -1);
            del_progress_all(c);
            /* A reassignment waiting for a live in-sync target replica. */
            if (c->active)
                ra_progress_all(c);
        }
    } else if (act && ndead) {
        ps_send_um_all(c, NULL, 0, -1);
    }
    free(joined);
}

void ev_brokers_changed(ctl_t *c) { brokers_refresh(c, c->active); }

/* ---- topics ---- */

void ev_load_state(ctl_t *c, ctopic_t *t, int32_t p)
{
    char path[1024], *data = NULL;
    struct Stat st;
    snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state", t->name, (int)p);
    cpart_t *cp = &t->parts[p];
    int rc = zkc_get(c->zk, path, false, &data, &st);
    zn_pstate_t s;
    if (rc == ZOK && data && zn_pstate_decode(data, &s) == 0) {
        cp->st = s;
        cp->zkver = st.version;
        cp->mzxid = st.mzxid;
        cp->has_state = true;
    } else {
        if (rc == ZOK)
            wlog_warn("Controller %d: malformed state znode %s", (int)c->cfg.controller_id, path);
        cp->has_state = false;
    }
    free(data);
}

void ev_load_config(ctl_t *c, ctopic_t *t)
{
    char path[512], *data = NULL;
    snprintf(path, sizeof(path), "/config/topics/%s", t->name);
    zn_kv_t *kv = NULL;
    int n = 0;
    int rc = zkc_get(c->zk, path, false, &data, NULL);
    if (rc == ZOK && data && zn_config_decode(data, &kv, &n) == 0)
        cm_topic_set_config(t, kv, n);
    else if (rc == ZNONODE)
        cm_topic_set_config(t, NULL, 0); /* overrides removed */
    free(data);
}

/* Give a topic znode written without a topic id one (Kafka's backfill). */
static void ensure_topic_id(ctl_t *c, ctopic_t *t, zn_assignment_t *a, int version)
{
    if (t->topic_id[0] || !c->active)
        return;
    if (zkc_random_uuid(a->topic_id) != 0)
        return;
    char path[512];
    snprintf(path, sizeof(path), "/brokers/topics/%s", t->name);
    char *json = zn_assignment_encode(a);
    zkw_t w = {0};
    zkw_set(&w, path, json, version);
    if (zkw_commit(c, &w) == ZOK)
        memcpy(t->topic_id, a->topic_id, sizeof(t->topic_id));
    zkw_free(&w);
    free(json);
}

static void topic_load(ctl_t *c, const char *name, bool act)
{
    char path[512], *data = NULL;
    struct Stat st;
    snprintf(path, sizeof(path), "/brokers/topics/%s", name);
    int rc = zkc_get(c->zk, path, true, &data, &st);
    zn_assignment_t a;
    if (rc != ZOK || !data || zn_assignment_decode(data, &a) != 0) {
        if (rc == ZOK)
            wlog_error("Controller %d: malformed topic znode %s", (int)c->cfg.controller_id, path);
        free(data);
        return;
    }
    free(data);
    ctopic_t *t = cm_topic(&c->m, name);
    int32_t old = t ? t->nparts : 0;
    if (!t)
        t = cm_topic_add(&c->m, name);
    cm_topic_set_assignment(t, &a);
    if (old == 0)
        ev_load_config(c, t);
    for (int32_t p = old; p < t->nparts; p++)
        ev_load_state(c, t, p);
    if (act) {
        ensure_topic_id(c, t, &a, st.version);
        if (c->active && !t->deleting)
            ps_init_new(c, t, NULL);
    }
    zn_assignment_free(&a);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void topics_refresh(ctl_t *c, bool act)
{
    char **names = NULL;
    int n = 0;
    if (zkc_children(c->zk, "/brokers/topics", true, &names, &n) != ZOK)
        return;
    if (n > 0)
        qsort(names, (size_t)n, sizeof(char *), cmp_str);
    for (int i = c->m.ntopics - 1; i >= 0; i--) {
        char *nm = c->m.topics[i]->name;
        if (n > 0 && bsearch(&nm, names, (size_t)n, sizeof(char *), cmp_str))
            continue;
        char *gone = strdup(nm);
        wlog_info("Controller %d: topic %s is gone", (int)c->cfg.controller_id, gone);
        cm_topic_del(&c->m, gone);
        admin_on_topic_gone(c, gone);
        free(gone);
    }
    for (int i = 0; i < n; i++)
        if (!cm_topic(&c->m, names[i]))
            topic_load(c, names[i], act);
    zkc_free_names(names, n);
}

int ev_load_all(ctl_t *c)
{
    brokers_refresh(c, false);
    topics_refresh(c, false);
    return ZOK;
}

int ev_reload_states(ctl_t *c)
{
    for (int i = 0; i < c->m.ntopics; i++) {
        ctopic_t *t = c->m.topics[i];
        ev_load_config(c, t);
        for (int32_t p = 0; p < t->nparts; p++)
            ev_load_state(c, t, p);
    }
    return ZOK;
}

/* ---- deletion ---- */

static void delete_request_node(ctl_t *c, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "/admin/delete_topics/%s", name);
    zkw_t w = {0};
    zkw_delete(&w, path, -1);
    zkw_commit(c, &w);
    zkw_free(&w);
}

/* Returns true if the topic is gone from ZooKeeper and the model. */
static bool del_finish(ctl_t *c, ctopic_t *t)
{
    char path[512];
    struct Stat st;
    zkw_t w = {0};
    snprintf(path, sizeof(path), "/brokers/topics/%s", t->name);
    zkw_delete_tree(c, &w, path);
    snprintf(path, sizeof(path), "/config/topics/%s", t->name);
    if (zkc_exists(c->zk, path, false, &st) == ZOK)
        zkw_delete(&w, path, -1);
    snprintf(path, sizeof(path), "/admin/delete_topics/%s", t->name);
    if (zkc_exists(c->zk, path, false, &st) == ZOK)
        zkw_delete(&w, path, -1);
    int rc = zkw_commit(c, &w);
    zkw_free(&w);
    if (rc == CTL_DEPOSED)
        return false;
    if (rc != ZOK) {
        wlog_warn("Controller %d: deletion of topic %s not finished (%s); will retry", (int)c->cfg.controller_id,
                  t->name, zerror(rc));
        event_add(c->retry_ev, &(struct timeval){1, 0});
        return false;
    }
    char *name = strdup(t->name);
    wlog_info("[Controller id=%d epoch=%d] Deletion of topic %s successfully completed", (int)c->cfg.controller_id,
              (int)c->epoch, name);
    cm_topic_del(&c->m, name);
    admin_on_topic_gone(c, name);
    free(name);
    return true;
}

/* Send StopReplica(delete) to replicas that need it; finish when all acked.
 * Returns false if the topic was removed from the model. */
static bool del_progress(ctl_t *c, ctopic_t *t)
{
    bool all = true;
    for (int j = 0; j < t->ndel; j++) {
        if (t->del_state[j] == CM_DEL_UNSENT && cm_live(&c->m, t->del_broker[j])) {
            uint64_t tag = ps_send_stop(c, t->del_broker[j], t, true);
            if (tag) {
                t->del_state[j] = CM_DEL_SENT;
                t->del_tag[j] = tag;
            }
        }
        all = all && t->del_state[j] == CM_DEL_DONE;
    }
    return !(all && c->active && del_finish(c, t));
}

void del_progress_all(ctl_t *c)
{
    for (int i = 0; c->active && i < c->m.ntopics; i++) {
        ctopic_t *t = c->m.topics[i];
        if (t->deleting && !del_progress(c, t))
            i--; /* removed: the next topic moved into slot i */
    }
}

void del_on_stop_result(ctl_t *c, uint64_t tag, bool ok)
{
    for (int i = 0; i < c->m.ntopics; i++) {
        ctopic_t *t = c->m.topics[i];
        for (int j = 0; t->deleting && j < t->ndel; j++) {
            if (t->del_state[j] != CM_DEL_SENT || t->del_tag[j] != tag)
                continue;
            t->del_state[j] = ok ? CM_DEL_DONE : CM_DEL_UNSENT;
            if (!ok && cm_live(&c->m, t->del_broker[j]))
                event_add(c->retry_ev, &(struct timeval){1, 0});
            else if (c->active)
                del_progress(c, t);
            return;
        }
    }
}

static void start_delete(ctl_t *c, ctopic_t *t)
{
    wlog_info("[Controller id=%d epoch=%d] Deletion of topic %s started", (int)c->cfg.controller_id, (int)c->epoch,
              t->name);
    cm_topic_start_delete(t);
    pref_t *parts = calloc((size_t)(t->nparts ? t->nparts : 1), sizeof(*parts));
    if (!parts)
        abort();
    for (int32_t p = 0; p < t->nparts; p++)
        parts[p] = (pref_t){t, p, false};
    ps_send_um_all(c, parts, t->nparts, -1); /* leader -2: being deleted */
    free(parts);
}

void ev_deletions_changed(ctl_t *c)
{
    char **names = NULL;
    int n = 0;
    if (zkc_children(c->zk, "/admin/delete_topics", true, &names, &n) != ZOK)
        return;
    for (int i = 0; c->active && i < n; i++) {
        ctopic_t *t = cm_topic(&c->m, names[i]);
        if (!t) {
            /* Re-check ZooKeeper: the model may lag a topic just created. */
            topic_load(c, names[i], false);
            t = cm_topic(&c->m, names[i]);
        }
        if (!t) {
            wlog_info("Controller %d: deletion requested for unknown topic %s; removing the request",
                      (int)c->cfg.controller_id, names[i]);
            delete_request_node(c, names[i]);
        } else if (!c->cfg.delete_topic_enable) {
            wlog_warn("Controller %d: topic deletion is disabled (delete.topic.enable=false); ignoring request for %s",
                      (int)c->cfg.controller_id, names[i]);
            delete_request_node(c, names[i]);
        } else if (!t->deleting) {
            start_delete(c, t);
        }
    }
    zkc_free_names(names, n);
    del_progress_all(c);
}

/* ---- dispatch ---- */

static void topic_data_changed(ctl_t *c, const char *name)
{
    ctopic_t *t = cm_topic(&c->m, name);
    if (t && t->deleting)
        return;
    topic_load(c, name, c->active);
}

void ev_dispatch(const zkc_ev_t *ev, void *arg)
{
    ctl_t *c = arg;
    if (c->stopping)
        return;
    if (ev->type == ZOO_SESSION_EVENT) {
        if (ev->state == ZOO_EXPIRED_SESSION_STATE)
            ctl_session_expired(c);
        else if (ev->state == ZOO_CONNECTED_STATE && !c->active && c->zk)
            ctl_on_controller_event(c); /* an election may have failed while disconnected */
        return;
    }
    const char *p = ev->path;
    const char *tp = "/brokers/topics/";
    if (strcmp(p, "/controller") == 0)
        ctl_on_controller_event(c);
    else if (strcmp(p, "/brokers/ids") == 0)
        ev_brokers_changed(c);
    else if (strcmp(p, "/brokers/topics") == 0)
        topics_refresh(c, c->active);
    else if (strncmp(p, tp, strlen(tp)) == 0 && !strchr(p + strlen(tp), '/'))
        topic_data_changed(c, p + strlen(tp));
    else if (strcmp(p, "/admin/delete_topics") == 0)
        ev_deletions_changed(c);
    else if (strcmp(p, "/admin/reassign_partitions") == 0)
        ra_changed(c);
    else if (strcmp(p, "/admin/preferred_replica_election") == 0)
        pl_changed(c);
    else if (strcmp(p, "/admin/unclean_leader_election") == 0)
        ul_changed(c);
}
