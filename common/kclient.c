/*
 * kclient.c - blocking Kafka-protocol client over one TCP connection.
 *
 * Owns: the socket and the correlation-id counter.
 * Invariants: one request in flight; every wait is a poll() bounded by the
 * call's deadline; the response size is checked against
 * KCLIENT_MAX_RESPONSE before anything is allocated; after any failure the
 * connection is marked broken, because a late response would otherwise be
 * read as the answer to the next request.
 * Thread: a kclient_t belongs to one thread at a time (no locking).
 */
#include "kclient.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"
#include "util.h"
#include "wire.h"

struct kclient {
    int fd;
    int32_t next_corr;
    bool broken;
    char peer[300];
    char err[400];
};

static int fail(kclient_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(kclient_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    c->broken = true;
    return -1;
}

/* Milliseconds left before deadline (-1 = no deadline, 0 = expired). */
static int remaining(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - mono_ms();
    return left <= 0 ? 0 : (left > INT32_MAX ? INT32_MAX : (int)left);
}

/* Wait for `events` on fd; 0 when ready, -1 on timeout or poll error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int ms = remaining(deadline);
        if (ms == 0)
            return -1;
        struct pollfd p = {fd, events, 0};
        int n = poll(&p, 1, ms);
        if (n > 0)
            return 0;
        if (n == 0 || errno != EINTR)
            return -1;
    }
}

static int connect_addr(const struct addrinfo *ai, int64_t deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) < 0 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
            if (soerr)
                errno = soerr;
            else if (errno == EINPROGRESS)
                errno = ETIMEDOUT;
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

kclient_t *kclient_connect(const char *host, int port, int timeout_ms, char *err, size_t errlen)
{
    char portstr[16];
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(portstr, sizeof portstr, "%d", port);
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "resolving %s: %s", host, gai_strerror(gai));
        return NULL;
    }
    int64_t deadline = timeout_ms > 0 ? mono_ms() + timeout_ms : -1;
    int fd = -1;
    for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
        fd = connect_addr(ai, deadline);
    int saved = errno;
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "connecting to %s:%d: %s", host, port, strerror(saved));
        return NULL;
    }
    kclient_t *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->fd = fd;
    c->next_corr = 1;
    snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
    return c;
}

static int send_all(kclient_t *c, const uint8_t *p, size_t n, int flags, int64_t deadline)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, flags | MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(c->fd, POLLOUT, deadline) < 0)
                return fail(c, "timed out sending to %s", c->peer);
        } else {
            return fail(c, "sending to %s: %s", c->peer, strerror(errno));
        }
    }
    return 0;
}

static int recv_all(kclient_t *c, uint8_t *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t r = recv(c->fd, p, n, 0);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
        } else if (r == 0) {
            return fail(c, "connection closed by %s", c->peer);
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_fd(c->fd, POLLIN, deadline) < 0)
                return fail(c, "timed out waiting for %s", c->peer);
        } else {
            return fail(c, "receiving from %s: %s", c->peer, strerror(errno));
        }
    }
    return 0;
}

static int send_request(kclient_t *c, int16_t api_key, int16_t api_version, bool flex, const char *client_id,
                        int32_t corr, const uint8_t *body, size_t body_len, int64_t deadline)
{
    kwr_t hdr;
    kwr_init(&hdr, 64);
    size_t size_at = kwr_reserve(&hdr, 4);
    kwr_i16(&hdr, api_key);
    kwr_i16(&hdr, api_version);
    kwr_i32(&hdr, corr);
    kwr_str(&hdr, false, client_id); /* the client id stays a nullable STRING even in header v2 */
    if (flex)
        kwr_tags(&hdr);
    size_t total = hdr.len - 4 + body_len;
    if (hdr.oom || total > INT32_MAX) {
        kwr_free(&hdr);
        return fail(c, "request too large or out of memory");
    }
    kwr_put_i32_at(&hdr, size_at, (int32_t)total);
    int rc = send_all(c, hdr.buf, hdr.len, body_len ? MSG_MORE : 0, deadline);
    kwr_free(&hdr);
    if (rc == 0 && body_len)
        rc = send_all(c, body, body_len, 0, deadline);
    return rc;
}

/* Read one response frame; strip the header (v0, or v1 with tagged fields). */
static int read_response(kclient_t *c, int32_t corr, bool tagged, int64_t deadline, uint8_t **resp,
                         size_t *resp_len)
{
    uint8_t szb[4];
    if (recv_all(c, szb, 4, deadline) < 0)
        return -1;
    int32_t size = be32(szb);
    if (size < 4 || (uint32_t)size > KCLIENT_MAX_RESPONSE)
        return fail(c, "bad response size %d from %s", (int)size, c->peer);
    uint8_t *buf = malloc((size_t)size);
    if (!buf)
        return fail(c, "out of memory for a %d-byte response", (int)size);
    if (recv_all(c, buf, (size_t)size, deadline) < 0) {
        free(buf);
        return -1;
    }
    krd_t rd;
    krd_init(&rd, buf, (size_t)size);
    int32_t got = krd_i32(&rd);
    if (tagged)
        krd_tags(&rd);
    if (rd.err || got != corr) {
        free(buf);
        return fail(c, "response from %s has correlation id %d, expected %d (or a bad header)", c->peer,
                    (int)got, (int)corr);
    }
    *resp_len = (size_t)size - rd.pos;
    memmove(buf, buf + rd.pos, *resp_len);
    *resp = buf;
    return 0;
}

static int call(kclient_t *c, int16_t api_key, int16_t api_version, bool flex, const char *client_id,
                const uint8_t *body, size_t body_len, int timeout_ms, uint8_t **resp, size_t *resp_len)
{
    *resp = NULL;
    *resp_len = 0;
    if (c->broken)
        return -1;
    int64_t deadline = timeout_ms > 0 ? mono_ms() + timeout_ms : -1;
    int32_t corr = c->next_corr;
    c->next_corr = corr == INT32_MAX ? 1 : corr + 1;
    if (send_request(c, api_key, api_version, flex, client_id, corr, body, body_len, deadline) < 0)
        return -1;
    /* ApiVersions answers with header v0 even at flexible versions. */
    bool tagged = flex && api_key != KAPI_API_VERSIONS;
    return read_response(c, corr, tagged, deadline, resp, resp_len);
}

int kclient_call(kclient_t *c, int16_t api_key, int16_t api_version, const char *client_id, const uint8_t *body,
                 size_t body_len, int timeout_ms, uint8_t **resp, size_t *resp_len)
{
    return call(c, api_key, api_version, false, client_id, body, body_len, timeout_ms, resp, resp_len);
}

int kclient_call_flex(kclient_t *c, int16_t api_key, int16_t api_version, const char *client_id,
                      const uint8_t *body, size_t body_len, int timeout_ms, uint8_t **resp, size_t *resp_len)
{
    return call(c, api_key, api_version, true, client_id, body, body_len, timeout_ms, resp, resp_len);
}

const char *kclient_error(const kclient_t *c) { return c->err; }

void kclient_close(kclient_t *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c);
}
