/*
 * channel.c - per-broker sender threads (Kafka's RequestSendThread) and the
 * hub that carries their responses back to the controller's event loop.
 *
 * Invariants: only the sender thread pops its queue and frees the channel
 * (after chan_stop); the loop thread only pushes and stops.  A request is
 * retried (reconnecting) every 100 ms until answered or stopped, so each
 * broker sees the controller's requests once each, in order, unless the
 * connection broke after the broker read one (then it may see it twice;
 * brokers tolerate this through the epochs every request carries).
 *
 * Threads: chan_start/chan_send/chan_stop and the hub callback run on the
 * loop; sender_main runs on the channel's own thread.
 */
#include "controller/channel.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kclient.h"
#include "wlog.h"

#define CHAN_RETRY_MS 100

typedef struct creq {
    struct creq *next;
    int16_t key, ver;
    uint8_t *body;
    size_t len;
    uint64_t tag;
} creq_t;

typedef struct hub_item {
    struct hub_item *next;
    chan_resp_t r;
} hub_item_t;

struct chan_hub {
    struct event *ev;
    pthread_mutex_t mu;
    hub_item_t *head, *tail;
    void (*on_resp)(const chan_resp_t *r, void *arg);
    void *arg;
    uint64_t next_id;
};

struct cchan {
    chan_hub_t *hub;
    int32_t id;
    uint64_t cid;
    char host[256];
    int port;
    char client_id[64];
    int timeout_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    creq_t *head, *tail;
    bool stopped;
};

static void hub_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    chan_hub_t *h = arg;
    pthread_mutex_lock(&h->mu);
    hub_item_t *list = h->head;
    h->head = h->tail = NULL;
    pthread_mutex_unlock(&h->mu);
    while (list) {
        hub_item_t *next = list->next;
        h->on_resp(&list->r, h->arg);
        free(list->r.body);
        free(list);
        list = next;
    }
}

chan_hub_t *chan_hub_new(struct event_base *base, void (*on_resp)(const chan_resp_t *r, void *arg), void *arg)
{
    chan_hub_t *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    pthread_mutex_init(&h->mu, NULL);
    h->on_resp = on_resp;
    h->arg = arg;
    h->next_id = 1;
    h->ev = event_new(base, -1, 0, hub_cb, h);
    if (!h->ev) {
        free(h);
        return NULL;
    }
    return h;
}

static void hub_post(chan_hub_t *h, const chan_resp_t *r)
{
    hub_item_t *it = malloc(sizeof(*it));
    if (!it) {
        free(r->body);
        return;
    }
    it->next = NULL;
    it->r = *r;
    pthread_mutex_lock(&h->mu);
    if (h->tail)
        h->tail->next = it;
    else
        h->head = it;
    h->tail = it;
    pthread_mutex_unlock(&h->mu);
    event_active(h->ev, EV_READ, 0);
}

/* Sleep up to ms unless stopped meanwhile; returns true if stopped. */
static bool nap(cchan_t *c, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&c->mu);
    while (!c->stopped)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT)
            break;
    bool st = c->stopped;
    pthread_mutex_unlock(&c->mu);
    return st;
}

static bool is_stopped(cchan_t *c)
{
    pthread_mutex_lock(&c->mu);
    bool st = c->stopped;
    pthread_mutex_unlock(&c->mu);
    return st;
}

/* Send r until it is answered (true) or the channel stops (false). */
static bool send_one(cchan_t *c, kclient_t **kc, const creq_t *r)
{
    unsigned failures = 0;
    while (!is_stopped(c)) {
        char err[256] = "";
        if (!*kc)
            *kc = kclient_connect(c->host, c->port, c->timeout_ms, err, sizeof(err));
        if (*kc) {
            uint8_t *resp = NULL;
            size_t rlen = 0;
            if (kclient_call(*kc, r->key, r->ver, c->client_id, r->body, r->len, c->timeout_ms, &resp, &rlen) == 0) {
                chan_resp_t out = {c->id, c->cid, r->tag, r->key, resp, rlen};
                hub_post(c->hub, &out);
                return true;
            }
            snprintf(err, sizeof(err), "request failed");
            kclient_close(*kc);
            *kc = NULL;
        }
        if (failures++ % 100 == 0)
            wlog_warn("Controller channel to broker %d at %s:%d: %s; retrying", (int)c->id, c->host, c->port, err);
        if (nap(c, CHAN_RETRY_MS))
            break;
    }
    return false;
}

static void chan_destroy(cchan_t *c)
{
    creq_t *r = c->head;
    while (r) {
        creq_t *n = r->next;
        free(r->body);
        free(r);
        r = n;
    }
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

static void *sender_main(void *arg)
{
    cchan_t *c = arg;
    kclient_t *kc = NULL;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (!c->head && !c->stopped)
            pthread_cond_wait(&c->cv, &c->mu);
        creq_t *r = c->stopped ? NULL : c->head;
        pthread_mutex_unlock(&c->mu);
        if (!r || !send_one(c, &kc, r))
            break;
        pthread_mutex_lock(&c->mu);
        c->head = r->next;
        if (!c->head)
            c->tail = NULL;
        pthread_mutex_unlock(&c->mu);
        free(r->body);
        free(r);
    }
    if (kc)
        kclient_close(kc);
    chan_destroy(c);
    return NULL;
}

cchan_t *chan_start(chan_hub_t *hub, int32_t id, const char *host, int port, const char *client_id,
                    int timeout_ms)
{
    cchan_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->hub = hub;
    c->id = id;
    c->cid = hub->next_id++;
    snprintf(c->host, sizeof(c->host), "%s", host);
    c->port = port;
    snprintf(c->client_id, sizeof(c->client_id), "%s", client_id);
    c->timeout_ms = timeout_ms;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&th, &at, sender_main, c);
    pthread_attr_destroy(&at);
    if (rc != 0) {
        chan_destroy(c);
        return NULL;
    }
    return c;
}

uint64_t chan_id(const cchan_t *c) { return c->cid; }
int32_t chan_broker(const cchan_t *c) { return c->id; }

void chan_send(cchan_t *c, int16_t api_key, int16_t ver, uint8_t *body, size_t len, uint64_t tag)
{
    creq_t *r = calloc(1, sizeof(*r));
    if (!r) {
        free(body);
        return;
    }
    r->key = api_key;
    r->ver = ver;
    r->body = body;
    r->len = len;
    r->tag = tag;
    pthread_mutex_lock(&c->mu);
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

void chan_stop(cchan_t *c)
{
    pthread_mutex_lock(&c->mu);
    c->stopped = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}
