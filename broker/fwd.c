/*
 * fwd.c - the broker's channel to the active controller process.
 *
 * Admin requests from clients (CreateTopics, DeleteTopics, CreatePartitions)
 * and the broker's own requests (auto-creation) go over one connection to
 * the controller named in /controller.  The controller answers in request
 * order, so calls wait in a FIFO; each has a deadline, after which its
 * callback gets NULL and its late answer is dropped.  When /controller
 * changes, the connection is closed and every waiting call fails.
 * Thread: the network loop (the /controller watch arrives through the event
 * queue).
 */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "util.h"
#include "wlog.h"
#include "znode.h"

typedef struct fcall {
    int32_t corr;
    fwd_cb cb;
    void *arg;
    struct event *timer;
    bool flex; /* response header v1: tags after the correlation id */
    bool done;
    struct fcall *next;
} fcall_t;

typedef struct fwd {
    bk_t *b;
    char host[256];
    int port;
    int32_t controller_id;
    struct bufferevent *bev;
    bool connected;
    fcall_t *head, *tail;
    int32_t next_corr; /* requests written before the connection is up wait in the bufferevent */
} fwd_t;

static fwd_t *fwd_get(bk_t *b)
{
    if (!b->fwd) {
        b->fwd = calloc(1, sizeof(fwd_t));
        b->fwd->b = b;
        b->fwd->port = -1;
        b->fwd->controller_id = -1;
        b->fwd->next_corr = 1;
    }
    return b->fwd;
}

static void call_done(fcall_t *c, const uint8_t *resp, size_t len)
{
    if (c->done)
        return;
    c->done = true;
    if (c->timer) {
        event_free(c->timer);
        c->timer = NULL;
    }
    c->cb(c->arg, resp, len);
}

static void fail_all(fwd_t *f)
{
    while (f->head) {
        fcall_t *c = f->head;
        f->head = c->next;
        call_done(c, NULL, 0);
        free(c);
    }
    f->tail = NULL;
}

static void disconnect(fwd_t *f)
{
    if (f->bev)
        bufferevent_free(f->bev);
    f->bev = NULL;
    f->connected = false;
    fail_all(f);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    fwd_t *f = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        uint8_t hdr[8];
        if (evbuffer_get_length(in) < 8)
            return;
        evbuffer_copyout(in, hdr, 8);
        int32_t size = be32(hdr);
        if (size < 4 || size > (64 << 20)) {
            wlog_error("controller %s:%d sent a bad response size %d", f->host, f->port, size);
            disconnect(f);
            return;
        }
        if (evbuffer_get_length(in) < 4 + (size_t)size)
            return;
        uint8_t *frame = malloc((size_t)size);
        evbuffer_drain(in, 4);
        evbuffer_remove(in, frame, (size_t)size);
        fcall_t *c = f->head;
        if (!c || c->corr != be32(frame)) {
            wlog_error("controller response out of order (correlation id %d)", be32(frame));
            free(frame);
            disconnect(f);
            return;
        }
        f->head = c->next;
        if (!f->head)
            f->tail = NULL;
        krd_t rd;
        krd_init(&rd, frame + 4, (size_t)size - 4);
        if (c->flex)
            krd_tags(&rd);
        if (rd.err)
            call_done(c, NULL, 0);
        else
            call_done(c, rd.buf + rd.pos, rd.len - rd.pos);
        free(c);
        free(frame);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    fwd_t *f = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        f->connected = true;
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        wlog_warn("connection to controller %d at %s:%d lost", f->controller_id, f->host, f->port);
        disconnect(f);
    }
}

static bool ensure_conn(fwd_t *f)
{
    if (f->bev)
        return true;
    if (f->port <= 0)
        return false;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)f->port);
    if (inet_pton(AF_INET, f->host, &sin.sin_addr) != 1)
        return false;
    f->bev = bufferevent_socket_new(f->b->base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(f->bev, on_read, NULL, on_event, f);
    bufferevent_enable(f->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(f->bev, (struct sockaddr *)&sin, sizeof sin) != 0) {
        bufferevent_free(f->bev);
        f->bev = NULL;
        return false;
    }
    return true;
}

static void on_call_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    call_done(arg, NULL, 0); /* stays queued: its late answer is dropped */
}

static void call(bk_t *b, bool flex, int16_t api_key, int16_t api_version, const char *client_id,
                 const uint8_t *body, size_t len, int timeout_ms, fwd_cb cb, void *arg)
{
    fwd_t *f = fwd_get(b);
    if (!ensure_conn(f)) {
        cb(arg, NULL, 0);
        return;
    }
    fcall_t *c = calloc(1, sizeof *c);
    c->corr = f->next_corr++;
    if (f->next_corr == INT32_MAX)
        f->next_corr = 1;
    c->cb = cb;
    c->arg = arg;
    c->flex = flex;
    if (timeout_ms > 0) {
        c->timer = evtimer_new(b->base, on_call_timeout, c);
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        evtimer_add(c->timer, &tv);
    }
    if (f->tail)
        f->tail->next = c;
    else
        f->head = c;
    f->tail = c;
    kwr_t wr;
    kwr_init(&wr, len + 64);
    size_t sz = kwr_reserve(&wr, 4);
    kwr_i16(&wr, api_key);
    kwr_i16(&wr, api_version);
    kwr_i32(&wr, c->corr);
    kwr_str(&wr, false, client_id ? client_id : "weir-broker");
    if (flex)
        kwr_tags(&wr);
    kwr_raw(&wr, body, len);
    kwr_put_i32_at(&wr, sz, (int32_t)(wr.len - 4));
    bufferevent_write(f->bev, wr.buf, wr.len);
    kwr_free(&wr);
}

void fwd_call(bk_t *b, int16_t api_key, int16_t api_version, const char *client_id, const uint8_t *body,
              size_t len, int timeout_ms, fwd_cb cb, void *arg)
{
    call(b, false, api_key, api_version, client_id, body, len, timeout_ms, cb, arg);
}

void fwd_call_flex(bk_t *b, int16_t api_key, int16_t api_version, const char *client_id, const uint8_t *body,
                   size_t len, int timeout_ms, fwd_cb cb, void *arg)
{
    call(b, true, api_key, api_version, client_id, body, len, timeout_ms, cb, arg);
}

void fwd_controller_changed(bk_t *b)
{
    fwd_t *f = fwd_get(b);
    char *json = NULL;
    zn_controller_t zc;
    int rc;
    /* A get on a missing node leaves no watch: watch its creation instead,
     * and read again if it appeared in between. */
    for (int tries = 0; tries < 5; tries++) {
        free(json);
        json = NULL;
        rc = zkc_get(b->zk, "/controller", true, &json, NULL);
        if (rc != ZNONODE || zkc_exists(b->zk, "/controller", true, NULL) != ZOK)
            break;
    }
    bool ok = rc == ZOK && json && zn_controller_decode(json, &zc) == 0;
    free(json);
    if (ok && zc.id == f->controller_id && zc.port == f->port && !strcmp(zc.host, f->host))
        return;
    disconnect(f);
    if (ok) {
        snprintf(f->host, sizeof f->host, "%s", zc.host);
        f->port = zc.port;
        f->controller_id = zc.id;
        wlog_info("active controller is %d at %s:%d", zc.id, zc.host, zc.port);
    } else {
        f->port = -1;
        f->controller_id = -1;
    }
}

void fwd_set_controller(bk_t *b, int32_t id, const char *host, int port)
{
    fwd_t *f = fwd_get(b);
    disconnect(f);
    snprintf(f->host, sizeof f->host, "%s", host);
    f->port = port;
    f->controller_id = id;
}

void fwd_free(bk_t *b)
{
    if (!b->fwd)
        return;
    disconnect(b->fwd);
    free(b->fwd);
    b->fwd = NULL;
}

bool fwd_known(bk_t *b) { return b->fwd && b->fwd->port > 0; }
