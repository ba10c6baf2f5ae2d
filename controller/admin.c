/*
 * admin.c - the controller's API table and the admin requests brokers
 * forward to it: CreateTopics v0-4, DeleteTopics v0-3, CreatePartitions
 * v0-1.  The same table routes AlterPartition and ControlledShutdown to
 * alter.c.
 *
 * A request that must wait (for the replicas' LeaderAndIsr acknowledgements
 * or for a deletion to finish) becomes a `pend`: per-topic results plus the
 * channel tags still outstanding, answered when nothing is outstanding or at
 * the request's timeout (REQUEST_TIMED_OUT for topics still waiting).
 *
 * Invariants: every kreq is answered exactly once (respond, or close on a
 * malformed request); a pend is unlinked and freed when it answers.
 *
 * Thread: the controller's event loop only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "controller/admin_int.h"
#include "controller/ctl.h"
#include "controller/place.h"
#include "ctlmsg.h"
#include "proto.h"
#include "wlog.h"

/* ---- pending requests ---- */

pend_t *pend_new(ctl_t *c, kreq_t *req, int n)
{
    pend_t *pd = calloc(1, sizeof(*pd));
    pd->t = calloc((size_t)(n ? n : 1), sizeof(pend_topic_t));
    if (!pd || !pd->t)
        abort();
    pd->c = c;
    pd->req = req;
    pd->api = req->api_key;
    pd->ver = req->api_version;
    pd->n = n;
    return pd; /* linked into c->pending only once armed: see pend_arm */
}

void pend_set(pend_topic_t *t, int16_t err, const char *fmt, ...)
{
    t->err = err;
    free(t->msg);
    t->msg = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&t->msg, fmt, ap) < 0)
            t->msg = NULL;
        va_end(ap);
    }
}

static void pend_encode(const pend_t *pd, kwr_t *wr)
{
    bool throttle = (pd->api == KAPI_CREATE_TOPICS && pd->ver >= 2) ||
                    (pd->api == KAPI_DELETE_TOPICS && pd->ver >= 1) || pd->api == KAPI_CREATE_PARTITIONS;
    bool msg = (pd->api == KAPI_CREATE_TOPICS && pd->ver >= 1) || pd->api == KAPI_CREATE_PARTITIONS;
    if (throttle)
        kwr_i32(wr, 0);
    kwr_array(wr, false, pd->n);
    for (int i = 0; i < pd->n; i++) {
        const pend_topic_t *t = &pd->t[i];
        kwr_str(wr, false, t->name ? t->name : "");
        kwr_i16(wr, t->err);
        if (msg)
            kwr_str(wr, false, t->err ? t->msg : NULL);
    }
}

static void pend_free(pend_t *pd)
{
    for (int i = 0; i < pd->n; i++) {
        free(pd->t[i].name);
        free(pd->t[i].msg);
        free(pd->t[i].tags);
    }
    if (pd->timer)
        event_free(pd->timer);
    free(pd->t);
    free(pd);
}

static void pend_respond(pend_t *pd)
{
    ctl_t *c = pd->c;
    for (pend_t **pp = &c->pending; *pp; pp = &(*pp)->next)
        if (*pp == pd) {
            *pp = pd->next;
            break;
        }
    kwr_t wr;
    kwr_init(&wr, 256);
    pend_encode(pd, &wr);
    kreq_respond(pd->req, &wr);
    kwr_free(&wr);
    pend_free(pd);
}

static bool topic_waiting(const pend_topic_t *t)
{
    if (t->wait_gone)
        return true;
    for (int i = 0; i < t->ntags; i++)
        if (t->tags[i])
            return true;
    return false;
}

static bool pend_waiting(const pend_t *pd)
{
    for (int i = 0; i < pd->n; i++)
        if (topic_waiting(&pd->t[i]))
            return true;
    return false;
}

static void pend_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    pend_t *pd = arg;
    for (int i = 0; i < pd->n; i++)
        if (topic_waiting(&pd->t[i]))
            pend_set(&pd->t[i], KERR_REQUEST_TIMED_OUT, "Operation timed out before completion.");
    pend_respond(pd);
}

void pend_arm(pend_t *pd, int32_t timeout_ms)
{
    /* A deletion may have finished while the handler ran. */
    for (int i = 0; i < pd->n; i++)
        if (pd->t[i].wait_gone && !cm_topic(&pd->c->m, pd->t[i].name))
            pd->t[i].wait_gone = false;
    if (timeout_ms <= 0 || !pend_waiting(pd)) {
        pend_respond(pd);
        return;
    }
    pd->timer = evtimer_new(pd->c->base, pend_timeout, pd);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(pd->timer, &tv);
    pd->next = pd->c->pending;
    pd->c->pending = pd;
}

void pend_add_tags(pend_topic_t *t, const uint64_t *tags, int n)
{
    t->tags = calloc((size_t)(n ? n : 1), sizeof(uint64_t));
    if (!t->tags)
        abort();
    for (int i = 0; i < n; i++)
        if (tags[i])
            t->tags[t->ntags++] = tags[i];
}

void admin_on_ack(ctl_t *c, uint64_t tag)
{
    pend_t *next;
    for (pend_t *pd = c->pending; pd; pd = next) {
        next = pd->next;
        bool hit = false;
        for (int i = 0; i < pd->n; i++)
            for (int j = 0; j < pd->t[i].ntags; j++)
                if (pd->t[i].tags[j] == tag) {
                    pd->t[i].tags[j] = 0;
                    hit = true;
                }
        if (hit && pd->timer && !pend_waiting(pd))
            pend_respond(pd);
    }
}

void admin_on_topic_gone(ctl_t *c, const char *topic)
{
    pend_t *next;
    for (pend_t *pd = c->pending; pd; pd = next) {
        next = pd->next;
        bool hit = false;
        for (int i = 0; i < pd->n; i++)
            if (pd->t[i].wait_gone && pd->t[i].name && strcmp(pd->t[i].name, topic) == 0) {
                pd->t[i].wait_gone = false;
                hit = true;
            }
        if (hit && pd->timer && !pend_waiting(pd))
            pend_respond(pd);
    }
}

void admin_fail_all(ctl_t *c, int16_t err)
{
    while (c->pending) {
        pend_t *pd = c->pending;
        for (int i = 0; i < pd->n; i++)
            if (topic_waiting(&pd->t[i]))
                pend_set(&pd->t[i], err, "The controller moved or stopped before the operation completed.");
        pend_respond(pd);
    }
}

/* ---- shared checks ---- */

/* Marks repeated names with INVALID_REQUEST; true if any. */
void admin_mark_duplicates(pend_t *pd, const char *what)
{
    for (int i = 0; i < pd->n; i++)
        for (int j = 0; j < pd->n; j++)
            if (i != j && pd->t[i].name && pd->t[j].name && strcmp(pd->t[i].name, pd->t[j].name) == 0) {
                pend_set(&pd->t[i], KERR_INVALID_REQUEST, "%s request contains multiple entries for topic %s",
                         what, pd->t[i].name);
                break;
            }
}

int32_t *admin_live_ids(const ctl_t *c)
{
    int32_t *ids = calloc((size_t)(c->m.nbrokers ? c->m.nbrokers : 1), sizeof(int32_t));
    if (!ids)
        abort();
    for (int i = 0; i < c->m.nbrokers; i++)
        ids[i] = c->m.brokers[i].id;
    return ids;
}

place_broker_t *admin_live_place(const ctl_t *c)
{
    place_broker_t *pb = calloc((size_t)(c->m.nbrokers ? c->m.nbrokers : 1), sizeof(*pb));
    if (!pb)
        abort();
    for (int i = 0; i < c->m.nbrokers; i++)
        pb[i] = (place_broker_t){c->m.brokers[i].id, c->m.brokers[i].rack};
    return pb;
}

/* ---- DeleteTopics v0-3 ---- */

static void delete_one(ctl_t *c, pend_topic_t *pt)
{
    if (!c->active) {
        pend_set(pt, KERR_NOT_CONTROLLER, "This controller is not active.");
        return;
    }
    ctopic_t *t = cm_topic(&c->m, pt->name);
    if (!t) {
        pend_set(pt, KERR_UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition.");
        return;
    }
    if (!c->cfg.delete_topic_enable) {
        pend_set(pt, KERR_TOPIC_DELETION_DISABLED, "Topic deletion is disabled.");
        return;
    }
    char path[512];
    snprintf(path, sizeof(path), "/admin/delete_topics/%s", pt->name);
    zkw_t w = {0};
    zkw_create(&w, path, NULL);
    int rc = zkw_commit(c, &w);
    zkw_free(&w);
    if (rc == ZOK || rc == ZNODEEXISTS)
        pt->wait_gone = true;
    else
        pend_set(pt, rc == CTL_DEPOSED ? KERR_NOT_CONTROLLER : KERR_UNKNOWN_SERVER_ERROR,
                 "Could not mark the topic for deletion.");
}

static void h_delete_topics(kreq_t *req, void *ctx)
{
    ctl_t *c = ctx;
    krd_t *rd = &req->rd;
    int32_t n = krd_array(rd, false, false, 2);
    kstr_t *names = calloc((size_t)(n > 0 ? n : 1), sizeof(kstr_t));
    if (!names)
        abort();
    for (int32_t i = 0; i < n && !rd->err; i++)
        names[i] = krd_str(rd, false, false);
    int32_t timeout = krd_i32(rd);
    if (rd->err) {
        free(names);
        kreq_close(req, "malformed DeleteTopics request");
        return;
    }
    pend_t *pd = pend_new(c, req, n);
    for (int32_t i = 0; i < n; i++)
        pd->t[i].name = kstr_dup(names[i]);
    free(names);
    admin_mark_duplicates(pd, "DeleteTopics");
    bool any = false;
    for (int32_t i = 0; i < n; i++)
        if (pd->t[i].err == KERR_NONE) {
            delete_one(c, &pd->t[i]);
            any = any || pd->t[i].wait_gone;
        }
    if (any && c->active)
        ev_deletions_changed(c);
    pend_arm(pd, timeout);
}

/* The API table kserver dispatches through (ApiVersions comes from it too);
 * AlterPartition and ControlledShutdown are handled in alter.c. */
const kapi_def_t ctl_apis[] = {
    {.key = KAPI_CREATE_TOPICS, .min = 0, .max = 4, .flex_min = INT16_MAX, .handler = admin_create_topics,
     .name = "CreateTopics"},
    {.key = KAPI_DELETE_TOPICS, .min = 0, .max = 3, .flex_min = INT16_MAX, .handler = h_delete_topics,
     .name = "DeleteTopics"},
    {.key = KAPI_CREATE_PARTITIONS, .min = 0, .max = 1, .flex_min = INT16_MAX, .handler = admin_create_partitions,
     .name = "CreatePartitions"},
    {.key = KAPI_CONTROLLED_SHUTDOWN, .min = CTL_CS_VERSION, .max = CTL_CS_VERSION, .flex_min = INT16_MAX,
     .handler = controlled_shutdown, .name = "ControlledShutdown"},
    {.key = KAPI_ALTER_PARTITION, .min = CTL_AP_VERSION, .max = CTL_AP_VERSION, .flex_min = 0,
     .handler = alter_partition, .name = "AlterPartition"},
};
const size_t ctl_napis = sizeof(ctl_apis) / sizeof(ctl_apis[0]);
