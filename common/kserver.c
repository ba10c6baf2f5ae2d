/*
 * kserver.c - libevent listener + Kafka framing + ordered responses.
 *
 * Invariants: a frame is read whole before its header is parsed; its size is
 * checked against max_frame (and for negatives) before anything is allocated.
 * Each connection keeps its requests in arrival order; a response is written
 * to the socket only when every earlier request on that connection has been
 * answered.  A connection that closes while requests are still held (long
 * polls) stays allocated until the last of them is answered.
 * Thread: everything runs on the event_base's thread.
 */
#include "kserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto.h"
#include "util.h"
#include "wlog.h"

struct kserver {
    struct event_base *base;
    struct evconnlistener *lev;
    const kapi_def_t *apis;
    size_t napis;
    void *ctx;
    size_t max_frame;
    int port;
    struct kconn *conns;
};

typedef struct kconn {
    kserver_t *srv;
    struct bufferevent *bev;
    struct kconn *prev, *next; /* server's connection list */
    kreq_t *head, *tail;       /* in-order request queue */
    int npending;
    int busy; /* >0 while on_read runs: defer freeing */
    bool closing; /* no more reads; closes once earlier responses are written */
    bool closed;
    char peer[64];
} kconn_t;

static void conn_close(kconn_t *c);
static void conn_shutdown(kconn_t *c);

static void req_free(kreq_t *r)
{
    if (r->resp)
        evbuffer_free(r->resp);
    free((void *)r->frame);
    free(r);
}

static void conn_maybe_free(kconn_t *c)
{
    if (!c->closed || c->head || c->busy)
        return;
    free(c);
}

/* Write out every answered request at the head of the queue. */
static void conn_flush(kconn_t *c)
{
    while (c->head && c->head->done) {
        kreq_t *r = c->head;
        c->head = r->next;
        if (!c->head)
            c->tail = NULL;
        c->npending--;
        if (!c->closed && r->resp && !r->no_response)
            bufferevent_write_buffer(c->bev, r->resp);
        req_free(r);
    }
}

static void finish(kreq_t *req, struct evbuffer *body, bool none)
{
    if (req->done)
        return;
    req->done = true;
    req->no_response = none;
    if (!none) {
        uint8_t hdr[9];
        size_t hlen = 8;
        size_t blen = body ? evbuffer_get_length(body) : 0;
        bool tags = req->flexible && req->api_key != KAPI_API_VERSIONS;
        if (tags)
            hlen = 9;
        put_be32(hdr, (int32_t)(hlen - 4 + blen));
        put_be32(hdr + 4, req->correlation_id);
        hdr[8] = 0;
        req->resp = evbuffer_new();
        evbuffer_add(req->resp, hdr, hlen);
        if (body)
            evbuffer_add_buffer(req->resp, body);
    }
    kconn_t *c = req->conn; /* req may be freed by the flush */
    conn_flush(c);
    conn_maybe_free(c);
}

void kreq_respond(kreq_t *req, const kwr_t *body)
{
    struct evbuffer *b = evbuffer_new();
    if (body->oom) {
        evbuffer_free(b);
        kreq_close(req, "out of memory encoding response");
        return;
    }
    evbuffer_add(b, body->buf, body->len);
    finish(req, b, false);
    evbuffer_free(b);
}

void kreq_respond_evb(kreq_t *req, struct evbuffer *body) { finish(req, body, false); }

void kreq_respond_none(kreq_t *req) { finish(req, NULL, true); }

bool kreq_conn_closed(const kreq_t *req) { return req->conn->closed || req->conn->closing; }

void kreq_close(kreq_t *req, const char *why)
{
    kconn_t *c = req->conn;
    if (!c->closed && !c->closing)
        wlog_warn("closing connection from %s: %s", c->peer, why);
    req->done = true;
    req->no_response = true;
    conn_shutdown(c);
    conn_flush(c);
    conn_maybe_free(c);
}

const kapi_def_t *kapi_find(const kapi_def_t *apis, size_t napis, int16_t key)
{
    for (size_t i = 0; i < napis; i++)
        if (apis[i].key == key)
            return &apis[i];
    return NULL;
}

void kapi_versions_body(kwr_t *wr, const kapi_def_t *apis, size_t napis, int16_t version, int16_t error)
{
    bool flex = version >= 3;
    int32_t n = 0;
    for (size_t i = 0; i < napis; i++)
        n += !apis[i].internal;
    kwr_i16(wr, error);
    kwr_array(wr, flex, n);
    for (size_t i = 0; i < napis; i++) {
        if (apis[i].internal)
            continue;
        kwr_i16(wr, apis[i].key);
        kwr_i16(wr, apis[i].min);
        kwr_i16(wr, apis[i].max);
        if (flex)
            kwr_tags(wr);
    }
    if (version >= 1)
        kwr_i32(wr, 0); /* ThrottleTimeMs */
    if (flex)
        kwr_tags(wr);
}

/* ApiVersions is answered here, from the table, for every version. */
static void handle_api_versions(kreq_t *req, const kapi_def_t *apis, size_t napis, const kapi_def_t *self)
{
    kwr_t wr;
    kwr_init(&wr, 512);
    if (req->api_version > self->max) {
        /* Kafka answers a too-new ApiVersions with a v0 body: error 35 and its own range. */
        req->flexible = false;
        kwr_i16(&wr, KERR_UNSUPPORTED_VERSION);
        kwr_i32(&wr, 1);
        kwr_i16(&wr, KAPI_API_VERSIONS);
        kwr_i16(&wr, self->min);
        kwr_i16(&wr, self->max);
    } else {
        int16_t err = KERR_NONE;
        if (req->api_version >= 3) {
            (void)krd_str(&req->rd, true, false); /* ClientSoftwareName */
            (void)krd_str(&req->rd, true, false); /* ClientSoftwareVersion */
            krd_tags(&req->rd);
            if (req->rd.err)
                err = KERR_INVALID_REQUEST;
        }
        kapi_versions_body(&wr, apis, napis, req->api_version, err);
    }
    kreq_respond(req, &wr);
    kwr_free(&wr);
}

static void dispatch(kconn_t *c, uint8_t *frame, size_t len)
{
    kreq_t *r = calloc(1, sizeof *r);
    if (!r) {
        free(frame);
        conn_close(c);
        return;
    }
    r->conn = c;
    r->frame = frame;
    r->frame_len = len;
    r->received_ms = mono_ms();
    snprintf(r->peer, sizeof r->peer, "%s", c->peer);
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    c->npending++;

    krd_init(&r->rd, frame, len);
    r->api_key = krd_i16(&r->rd);
    r->api_version = krd_i16(&r->rd);
    r->correlation_id = krd_i32(&r->rd);
    r->client_id = krd_str(&r->rd, false, true);
    if (r->rd.err) {
        kreq_close(r, "truncated request header");
        return;
    }
    kserver_t *s = c->srv;
    const kapi_def_t *api = kapi_find(s->apis, s->napis, r->api_key);
    if (api && r->api_key == KAPI_API_VERSIONS) {
        r->flexible = r->api_version >= api->flex_min && r->api_version <= api->max;
        if (r->flexible)
            krd_tags(&r->rd);
        handle_api_versions(r, s->apis, s->napis, api);
        return;
    }
    if (!api || r->api_version < api->min || r->api_version > api->max) {
        char why[128];
        snprintf(why, sizeof why, "unsupported request ApiKey %d version %d", r->api_key, r->api_version);
        kreq_close(r, why);
        return;
    }
    r->flexible = r->api_version >= api->flex_min;
    if (r->flexible)
        krd_tags(&r->rd);
    if (r->rd.err) {
        kreq_close(r, "truncated request header");
        return;
    }
    api->handler(r, s->ctx);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    kconn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    c->busy++;
    while (!c->closed && !c->closing) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 4)
            break;
        uint8_t szb[4];
        evbuffer_copyout(in, szb, 4);
        int32_t size = be32(szb);
        if (size < 0 || (size_t)size > c->srv->max_frame) {
            wlog_warn("closing connection from %s: request size %d outside [0, %zu] (socket.request.max.bytes)",
                      c->peer, size, c->srv->max_frame);
            conn_shutdown(c);
            break;
        }
        if (size < 8) { /* shorter than the smallest request header */
            wlog_warn("closing connection from %s: request size %d too small for a header", c->peer, size);
            conn_shutdown(c);
            break;
        }
        if (avail < 4 + (size_t)size)
            break;
        uint8_t *frame = malloc((size_t)size);
        if (!frame) {
            conn_shutdown(c);
            break;
        }
        evbuffer_drain(in, 4);
        evbuffer_remove(in, frame, (size_t)size);
        dispatch(c, frame, (size_t)size);
    }
    c->busy--;
    conn_maybe_free(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    kconn_t *c = arg;
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        conn_close(c);
        conn_maybe_free(c);
    }
}

static void on_drained(struct bufferevent *bev, void *arg)
{
    kconn_t *c = arg;
    (void)bev;
    conn_close(c);
    conn_maybe_free(c);
}

/* Stop reading; close once the responses already queued have been written,
 * so a client sees every answer that preceded the bad request. */
static void conn_shutdown(kconn_t *c)
{
    if (c->closed || c->closing)
        return;
    c->closing = true;
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        conn_close(c);
        return;
    }
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    bufferevent_setcb(c->bev, NULL, on_drained, on_event, c);
}

static void conn_close(kconn_t *c)
{
    if (c->closed)
        return;
    c->closed = true;
    bufferevent_free(c->bev);
    c->bev = NULL;
    kserver_t *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else if (s->conns == c)
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int slen, void *arg)
{
    kserver_t *s = arg;
    (void)l;
    (void)slen;
    kconn_t *c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->srv = s;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        evutil_closesocket(fd);
        free(c);
        return;
    }
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    /* libevent reads 16 KiB per callback by default: far too little for
     * megabyte produce requests. */
    bufferevent_set_max_single_read(c->bev, 1 << 20);
    bufferevent_set_max_single_write(c->bev, 1 << 20);
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

kserver_t *kserver_new(struct event_base *base, const char *host, int port, size_t max_frame,
                       const kapi_def_t *apis, size_t napis, void *ctx, char *err, size_t errlen)
{
    kserver_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base = base;
    s->apis = apis;
    s->napis = napis;
    s->ctx = ctx;
    s->max_frame = max_frame;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (!host || !*host)
        sin.sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        snprintf(err, errlen, "listener host '%s' is not an IPv4 address", host);
        free(s);
        return NULL;
    }
    s->lev = evconnlistener_new_bind(base, on_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 512,
                                     (struct sockaddr *)&sin, sizeof sin);
    if (!s->lev) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host && *host ? host : "0.0.0.0", port, strerror(errno));
        free(s);
        return NULL;
    }
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    if (getsockname(evconnlistener_get_fd(s->lev), (struct sockaddr *)&bound, &blen) == 0)
        s->port = ntohs(bound.sin_port);
    return s;
}

int kserver_port(const kserver_t *s) { return s->port; }

void kserver_free(kserver_t *s)
{
    if (!s)
        return;
    evconnlistener_free(s->lev);
    while (s->conns) {
        kconn_t *c = s->conns;
        conn_close(c);
        conn_maybe_free(c);
    }
    free(s);
}
