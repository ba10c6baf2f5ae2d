/*
 * elect.c - controller election, activation, resignation and the fenced
 * ZooKeeper writes every active-controller change goes through.
 *
 * Invariants: c->active implies we won the multi{create /controller,
 * set /controller_epoch E+1 @V} and epoch_zkver is the version we wrote;
 * every write is multi{check /controller_epoch @epoch_zkver, ops...}, and a
 * failed check resigns at once (no further RPC or write).  A standby keeps
 * an exists watch on /controller and re-runs the election when it goes.
 *
 * Thread: the controller's event loop only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/ctl.h"
#include "proto.h"
#include "util.h"
#include "wlog.h"

#define ZKW_CHUNK 400

static void zkw_push(zkw_t *w, int type, const char *path, const char *data, int version)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->ops = realloc(w->ops, sizeof(*w->ops) * (size_t)w->cap);
        if (!w->ops)
            abort();
    }
    zkw_op_t *op = &w->ops[w->n++];
    memset(op, 0, sizeof(*op));
    op->type = type;
    op->path = strdup(path);
    op->data = data ? strdup(data) : NULL;
    op->version = version;
    if (!op->path || (data && !op->data))
        abort();
}

void zkw_create(zkw_t *w, const char *path, const char *data) { zkw_push(w, ZOO_CREATE_OP, path, data, 0); }
void zkw_set(zkw_t *w, const char *path, const char *data, int version)
{
    zkw_push(w, ZOO_SETDATA_OP, path, data, version);
}
void zkw_delete(zkw_t *w, const char *path, int version) { zkw_push(w, ZOO_DELETE_OP, path, NULL, version); }

void zkw_free(zkw_t *w)
{
    for (int i = 0; i < w->n; i++) {
        free(w->ops[i].path);
        free(w->ops[i].data);
    }
    free(w->ops);
    memset(w, 0, sizeof(*w));
}

static void op_init(zoo_op_t *zo, zkw_op_t *op)
{
    int len = op->data ? (int)strlen(op->data) : -1;
    switch (op->type) {
    case ZOO_CREATE_OP:
        zoo_create_op_init(zo, op->path, op->data, len, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
        break;
    case ZOO_SETDATA_OP:
        zoo_set_op_init(zo, op->path, op->data, len, op->version, &op->stat);
        break;
    default:
        zoo_delete_op_init(zo, op->path, op->version);
        break;
    }
}

/* One multi: the epoch check plus ops[from, from+n).  Returns the multi's rc,
 * CTL_DEPOSED when the check failed. */
static int run_multi(ctl_t *c, zkw_t *w, int from, int n)
{
    zoo_op_t *zo = calloc((size_t)n + 1, sizeof(*zo));
    zoo_op_result_t *res = calloc((size_t)n + 1, sizeof(*res));
    if (!zo || !res)
        abort();
    zoo_check_op_init(&zo[0], "/controller_epoch", c->epoch_zkver);
    for (int i = 0; i < n; i++)
        op_init(&zo[i + 1], &w->ops[from + i]);
    int rc = zoo_multi(zkc_handle(c->zk), n + 1, zo, res);
    if (rc != ZOK && (res[0].err == ZBADVERSION || res[0].err == ZNONODE))
        rc = CTL_DEPOSED;
    for (int i = 0; i < n; i++)
        w->ops[from + i].err = rc == ZOK ? ZOK : res[i + 1].err;
    free(zo);
    free(res);
    return rc;
}

static int32_t current_controller(ctl_t *c);

/* A newer epoch exists: stop at once.  If /controller still names us (the
 * epoch was bumped behind our back), give it up so an election can run. */
static void deposed(ctl_t *c)
{
    ctl_resign(c, "the controller epoch changed (another controller was elected)");
    if (current_controller(c) == c->cfg.controller_id)
        zoo_delete(zkc_handle(c->zk), "/controller", -1);
}

int zkw_commit(ctl_t *c, zkw_t *w)
{
    if (!c->active)
        return CTL_DEPOSED;
    int first_err = ZOK;
    for (int from = 0; from < w->n; from += ZKW_CHUNK) {
        int n = w->n - from < ZKW_CHUNK ? w->n - from : ZKW_CHUNK;
        int rc = run_multi(c, w, from, n);
        if (rc == CTL_DEPOSED) {
            deposed(c);
            return CTL_DEPOSED;
        }
        if (rc == ZOK)
            continue;
        /* One bad op must not sink the others: redo this chunk op by op. */
        for (int i = from; i < from + n; i++) {
            int r1 = run_multi(c, w, i, 1);
            if (r1 == CTL_DEPOSED) {
                deposed(c);
                return CTL_DEPOSED;
            }
            if (r1 != ZOK) {
                wlog_warn("[Controller id=%d epoch=%d] ZooKeeper write of %s failed: %s", (int)c->cfg.controller_id,
                          (int)c->epoch, w->ops[i].path, zerror(w->ops[i].err));
                if (first_err == ZOK)
                    first_err = w->ops[i].err ? w->ops[i].err : r1;
            }
        }
    }
    return first_err;
}

void zkw_delete_tree(ctl_t *c, zkw_t *w, const char *path)
{
    char **names = NULL;
    int n = 0;
    int rc = zkc_children(c->zk, path, false, &names, &n);
    if (rc == ZNONODE)
        return;
    for (int i = 0; rc == ZOK && i < n; i++) {
        char sub[1024];
        snprintf(sub, sizeof(sub), "%s/%s", path, names[i]);
        zkw_delete_tree(c, w, sub);
    }
    zkc_free_names(names, n);
    zkw_delete(w, path, -1);
}

/* Read /controller_epoch (creating "0" if missing). */
static int read_epoch(ctl_t *c, int32_t *epoch, int32_t *ver)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        char *data = NULL;
        struct Stat st;
        int rc = zkc_get(c->zk, "/controller_epoch", false, &data, &st);
        if (rc == ZOK) {
            *epoch = data ? (int32_t)strtol(data, NULL, 10) : 0;
            *ver = st.version;
            free(data);
            return ZOK;
        }
        if (rc != ZNONODE)
            return rc;
        rc = zoo_create(zkc_handle(c->zk), "/controller_epoch", "0", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                        NULL, 0);
        if (rc != ZOK && rc != ZNODEEXISTS)
            return rc;
    }
    return ZSYSTEMERROR;
}

/* Who is /controller now (-1 none) and set the exists watch. */
static int32_t current_controller(ctl_t *c)
{
    char *data = NULL;
    struct Stat st;
    int rc = zkc_get(c->zk, "/controller", true, &data, &st);
    if (rc == ZNONODE) {
        /* zkc_get does not leave a watch on a missing node: arm an exists watch. */
        rc = zkc_exists(c->zk, "/controller", true, &st);
        if (rc == ZOK)
            return current_controller(c);
        return -1;
    }
    zn_controller_t zc;
    int32_t id = -2;
    if (rc == ZOK && data && zn_controller_decode(data, &zc) == 0)
        id = zc.id;
    free(data);
    return id;
}

static void become_active(ctl_t *c);

void ctl_elect(ctl_t *c)
{
    if (c->active || c->stopping)
        return;
    int32_t epoch, ver;
    int rc = read_epoch(c, &epoch, &ver);
    if (rc != ZOK) {
        wlog_error("Controller %d: cannot read /controller_epoch: %s", (int)c->cfg.controller_id, zerror(rc));
        return;
    }
    zn_controller_t me = {.id = c->cfg.controller_id, .timestamp = now_ms(), .port = c->port};
    snprintf(me.host, sizeof(me.host), "%s", c->host);
    char *json = zn_controller_encode(&me);
    char ebuf[16];
    snprintf(ebuf, sizeof(ebuf), "%d", (int)(epoch + 1));
    struct Stat est;
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    zoo_create_op_init(&ops[0], "/controller", json, (int)strlen(json), &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0);
    zoo_set_op_init(&ops[1], "/controller_epoch", ebuf, (int)strlen(ebuf), ver, &est);
    rc = zoo_multi(zkc_handle(c->zk), 2, ops, res);
    free(json);
    if (rc == ZOK) {
        c->epoch = epoch + 1;
        c->epoch_zkver = est.version;
        current_controller(c); /* watch /controller: a takeover must make us resign */
        become_active(c);
        return;
    }
    int32_t who = current_controller(c);
    if (who == -1) {
        /* Deleted between our attempt and the read: try again. */
        ctl_elect(c);
        return;
    }
    c->epoch = epoch;
    wlog_info("Controller %d is standby (active controller is %d)", (int)c->cfg.controller_id, (int)who);
}

static void become_active(ctl_t *c)
{
    c->active = true;
    wlog_info("Controller %d elected as active controller with epoch %d", (int)c->cfg.controller_id, (int)c->epoch);
    /* The model is hot; states are re-read because standbys do not watch
     * every state znode and the old controller may have changed them. */
    if (ev_load_all(c) != ZOK || ev_reload_states(c) != ZOK) {
        wlog_error("Controller %d: failed to load cluster state; resigning", (int)c->cfg.controller_id);
        ctl_resign(c, "load failed");
        return;
    }
    /* R22 blocks are durable before any broker hears from us: a broker
     * takes our first request as proof its unclean restart was seen. */
    int rc = ul_record_all(c);
    if (rc == CTL_DEPOSED)
        return;
    if (rc != ZOK) {
        wlog_error("Controller %d: recording unclean-shutdown blocks failed (%s); resigning",
                   (int)c->cfg.controller_id, zerror(rc));
        ctl_resign(c, "R22 record failed");
        return;
    }
    for (int i = 0; i < c->m.nbrokers; i++)
        ctl_chan_open(c, &c->m.brokers[i]);
    /* Brokers first learn the whole cluster, then any new decisions. */
    for (int i = 0; i < c->m.nbrokers; i++)
        ps_send_full(c, c->m.brokers[i].id);
    if (ps_elect_offline(c, -1) == CTL_DEPOSED)
        return;
    for (int i = 0; c->active && i < c->m.ntopics; i++)
        if (!c->m.topics[i]->deleting && ps_init_new(c, c->m.topics[i], NULL) == CTL_DEPOSED)
            return;
    if (c->active)
        ev_deletions_changed(c);
    if (c->active && ra_resume_all(c) == CTL_DEPOSED)
        return;
    if (c->active)
        ra_changed(c); /* finishes resumed reassignments already in sync */
    if (c->active)
        pl_changed(c);
    if (c->active)
        ul_changed(c);
    if (c->active)
        pl_start(c);
}

void ctl_resign(ctl_t *c, const char *why)
{
    if (!c->active)
        return;
    wlog_warn("Controller %d resigning as active controller (epoch %d): %s", (int)c->cfg.controller_id,
              (int)c->epoch, why);
    c->active = false;
    pl_stop(c);
    c->nshutting = 0; /* brokers repeat ControlledShutdown to the next controller */
    ctl_chan_close_all(c);
    c->nout = 0;
    for (int i = 0; i < c->m.ntopics; i++) {
        ctopic_t *t = c->m.topics[i];
        for (int j = 0; j < t->ndel; j++)
            if (t->del_state[j] == CM_DEL_SENT)
                t->del_state[j] = CM_DEL_UNSENT;
    }
    admin_fail_all(c, KERR_NOT_CONTROLLER);
}

/* /controller was created, changed or deleted. */
void ctl_on_controller_event(ctl_t *c)
{
    int32_t who = current_controller(c);
    if (c->active) {
        if (who != c->cfg.controller_id)
            ctl_resign(c, "/controller names another controller");
        else
            return;
    }
    if (who == -1)
        ctl_elect(c);
}
