/*
 * api_harness.h - an in-process broker for request-level tests and fuzzing.
 *
 * hs_open() builds a bk_t without ZooKeeper: configuration set directly, a
 * log manager in a fresh mkdtemp dir, one served partition "t"-0 (leader 1,
 * leader epoch 0, ISR {1}, replicas {1}), the metadata cache holding topic
 * "t" and broker 1, and a kserver listening on 127.0.0.1 on an ephemeral
 * port.  Clients are plain non-blocking loopback sockets; the event loop runs
 * on the caller's thread and only while hc_recv()/hs_pump() pump it, so a
 * test may read and change broker state between requests without locks.
 * Header-only (everything static inline) so the unit test and the fuzz
 * harness share it without a library of their own.
 */
#ifndef WEIR_TEST_API_HARNESS_H
#define WEIR_TEST_API_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"
#include "ctlmsg.h"
#include "util.h"

#define HS_MAX_FRAME (100u << 20)

typedef struct hs {
    bk_t b;
    char dir[64];
    int port;
} hs_t;

/* A client connection with its own receive buffer. */
typedef struct hc {
    int fd;
    uint8_t *buf;
    size_t len, cap;
    bool eof;
} hc_t;

/* Fill the metadata cache with topic "t" (nparts partitions, partition 0
 * led by broker 1) and broker 1 at the advertised address. */
static inline void hs_meta_reset(hs_t *h)
{
    bk_t *b = &h->b;
    static int32_t one[] = {1};
    static char topic[] = "t";
    static char host[] = "127.0.0.1";
    ctl_part_t part = {.topic = topic, .partition = 0, .controller_epoch = 0, .leader = 1, .leader_epoch = 0,
                       .isr = one, .nisr = 1, .zk_version = 0, .replicas = one, .nreplicas = 1};
    ctl_node_t node = {.id = 1, .host = host, .port = b->adv_port, .rack = NULL};
    ctl_state_t s = {.controller_id = 1, .controller_epoch = 0, .broker_epoch = -1,
                     .parts = &part, .nparts = 1, .nodes = &node, .nnodes = 1};
    meta_free(&b->meta);
    meta_init(&b->meta);
    meta_apply(&b->meta, &s);
}

/* Make "t"-0 a served partition led by this broker (creating it if needed). */
static inline bpart_t *hs_serve_t0(hs_t *h)
{
    bk_t *b = &h->b;
    bpart_t *p = bpart_create(b, "t", 0);
    if (!p)
        return NULL;
    p->is_leader = true;
    p->leader = 1;
    p->leader_epoch = 0;
    p->controller_epoch = 0;
    free(p->isr);
    free(p->replicas);
    p->isr = malloc(sizeof *p->isr);
    p->replicas = malloc(sizeof *p->replicas);
    p->isr[0] = p->replicas[0] = 1;
    p->nisr = p->nreplicas = 1;
    p->min_insync = b->cfg.min_insync_replicas;
    p->max_message_bytes = b->cfg.message_max_bytes;
    bpart_update_hw(b, p);
    return p;
}

static inline int hs_open(hs_t *h)
{
    static char empty[] = "", listeners[] = "PLAINTEXT://127.0.0.1:0", zk[] = "127.0.0.1:1/none";
    memset(h, 0, sizeof *h);
    bk_t *b = &h->b;
    snprintf(h->dir, sizeof h->dir, "/tmp/weir-apitest-XXXXXX");
    if (!mkdtemp(h->dir))
        return -1;
    b->cfg.broker_id = 1;
    b->cfg.listeners = listeners;
    b->cfg.advertised_listeners = empty;
    b->cfg.log_dirs = h->dir;
    b->cfg.zookeeper_connect = zk;
    b->cfg.broker_rack = empty;
    b->cfg.message_max_bytes = 1048588;
    b->cfg.socket_request_max_bytes = (int32_t)HS_MAX_FRAME;
    b->cfg.min_insync_replicas = 1;
    b->cfg.auto_create_topics_enable = false;
    b->cfg.num_partitions = 1;
    b->cfg.default_replication_factor = 1;
    b->cfg.delete_topic_enable = true;
    /* Consumer groups: Kafka's defaults (no initial rebalance delay). */
    b->cfg.group_min_session_timeout_ms = 6000;
    b->cfg.group_max_session_timeout_ms = 1800000;
    b->cfg.group_max_size = INT32_MAX;
    b->cfg.group_initial_rebalance_delay_ms = 0;
    b->cfg.offsets_retention_minutes = 10080;
    b->cfg.offsets_retention_check_interval_ms = 600000;
    b->cfg.offset_metadata_max_bytes = 4096;
    b->cfg.offsets_topic_num_partitions = 50;
    b->cfg.offsets_commit_timeout_ms = 5000;
    b->controller_epoch = -1;
    b->broker_epoch = -1;
    snprintf(b->cluster_id, sizeof b->cluster_id, "apitest-cluster-id-001");
    b->npbuckets = 64;
    b->pbuckets = calloc(b->npbuckets, sizeof *b->pbuckets);
    meta_init(&b->meta);
    b->base = event_base_new();
    plog_config_defaults(&b->log_defaults);
    const char *dirs[1] = {h->dir};
    char err[512];
    if (!b->pbuckets || !b->base ||
        logmgr_open(dirs, 1, 1, b->cluster_id, &b->log_defaults, &b->logs, err, sizeof err) != 0) {
        fprintf(stderr, "hs_open: %s\n", err);
        return -1;
    }
    b->srv = kserver_new(b->base, "127.0.0.1", 0, HS_MAX_FRAME, bk_apis, bk_napis, b, err, sizeof err);
    if (!b->srv) {
        fprintf(stderr, "hs_open: %s\n", err);
        return -1;
    }
    h->port = kserver_port(b->srv);
    snprintf(b->adv_host, sizeof b->adv_host, "127.0.0.1");
    b->adv_port = h->port;
    hs_meta_reset(h);
    return hs_serve_t0(h) ? 0 : -1;
}

static inline void hs_drop_part(bpart_t *p, void *arg) { bpart_remove(arg, p, false); }

static inline void hs_rm_rf(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

/* Same order as the broker's own shutdown: waiters answered before the
 * connections go, logs closed last. */
static inline void hs_close(hs_t *h)
{
    bk_t *b = &h->b;
    fetch_free_waiters(b);
    kserver_free(b->srv);
    fwd_free(b);
    if (b->pbuckets)
        bpart_foreach(b, hs_drop_part, b);
    free(b->pbuckets);
    if (b->logs)
        logmgr_close(b->logs, true);
    meta_free(&b->meta);
    if (b->base)
        event_base_free(b->base);
    if (h->dir[0])
        hs_rm_rf(h->dir);
    memset(h, 0, sizeof *h);
}

/* Run whatever the loop has ready, without blocking. */
static inline void hs_pump(hs_t *h) { event_base_loop(h->b.base, EVLOOP_NONBLOCK); }

/* Pump the loop for about ms milliseconds. */
static inline void hs_run_for(hs_t *h, int ms)
{
    int64_t end = mono_ms() + ms;
    while (mono_ms() < end) {
        hs_pump(h);
        poll(NULL, 0, 1);
    }
}

static inline int hc_connect(hs_t *h, hc_t *c)
{
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)h->port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    hs_pump(h); /* accept */
    return 0;
}

static inline void hc_close(hc_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* Write all of p, pumping the server while the socket buffer is full. */
static inline int hc_write(hs_t *h, hc_t *c, const void *p, size_t n)
{
    const uint8_t *q = p;
    while (n > 0) {
        ssize_t w = send(c->fd, q, n, MSG_NOSIGNAL);
        if (w > 0) {
            q += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            hs_pump(h);
            poll(NULL, 0, 1);
        } else {
            return -1;
        }
    }
    return 0;
}

/* Send one frame: the INT32 size, then payload (request header + body). */
static inline int hc_send(hs_t *h, hc_t *c, const void *payload, size_t n)
{
    uint8_t sz[4];
    put_be32(sz, (int32_t)n);
    if (hc_write(h, c, sz, 4) != 0)
        return -1;
    return hc_write(h, c, payload, n);
}

static inline void hc_fill(hc_t *c)
{
    for (;;) {
        if (c->cap - c->len < 65536) {
            size_t ncap = c->cap ? c->cap * 2 : 131072;
            uint8_t *nb = realloc(c->buf, ncap);
            if (!nb)
                return;
            c->buf = nb;
            c->cap = ncap;
        }
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (r > 0)
            c->len += (size_t)r;
        else {
            if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                c->eof = true;
            return;
        }
    }
}

/*
 * Pump until one whole response frame has arrived.  Returns 1 with *out a
 * malloc'd copy of the payload (header + body, without the size), 0 if the
 * server closed the connection first, -1 on timeout.
 */
static inline int hc_recv(hs_t *h, hc_t *c, int timeout_ms, uint8_t **out, size_t *outlen)
{
    int64_t end = mono_ms() + timeout_ms;
    *out = NULL;
    *outlen = 0;
    for (;;) {
        hs_pump(h);
        hc_fill(c);
        if (c->len >= 4) {
            int32_t sz = be32(c->buf);
            if (sz >= 0 && c->len >= 4 + (size_t)sz) {
                *out = malloc((size_t)sz + 1);
                memcpy(*out, c->buf + 4, (size_t)sz);
                *outlen = (size_t)sz;
                memmove(c->buf, c->buf + 4 + sz, c->len - 4 - (size_t)sz);
                c->len -= 4 + (size_t)sz;
                return 1;
            }
        }
        if (c->eof)
            return 0;
        if (mono_ms() >= end)
            return -1;
        struct pollfd pfd = {c->fd, POLLIN, 0};
        poll(&pfd, 1, 1);
    }
}

/* Request header v1 (or v2 when flexible: an empty tagged-field section). */
static inline void hreq_begin(kwr_t *wr, int16_t key, int16_t ver, int32_t corr, const char *client_id,
                              bool flexible)
{
    kwr_i16(wr, key);
    kwr_i16(wr, ver);
    kwr_i32(wr, corr);
    kwr_str(wr, false, client_id);
    if (flexible)
        kwr_tags(wr);
}

#endif
