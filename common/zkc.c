/*
 * zkc.c - the one place Weir talks to libzookeeper_mt: open with chroot
 * creation, synchronous reads and writes, the cluster id, Kafka's
 * CheckedEphemeral registration, and the watch-event queue to a loop.
 *
 * Owns: the zhandle_t and its session; the evq's pending-event list.
 * Invariants: the watcher (libzookeeper's event thread) touches only the
 * session-state fields under zkc.mu and the user's callback, which itself
 * must only enqueue.  Everything else runs on the caller's thread; the sync
 * API blocks, so daemons call it from their loop (short metadata reads) or a
 * worker, never from the watcher.
 * Thread: zkc_* from any one owner thread; zkc_evq_push from any thread;
 * the evq callback on the loop thread.
 */
#include "zkc.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "wlog.h"
#include "znode.h"

struct zkc {
    zhandle_t *zh;
    zkc_watch_fn fn;
    void *arg;
    int session_timeout_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state; /* last session state seen by the watcher */
};

#define CLUSTER_ID_PATH "/cluster/id"
#define MAX_DATA (64 << 20) /* far above ZooKeeper's jute.maxbuffer; a bound for the retry loop */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* libzookeeper's thread: record session state, then hand the event on. */
static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    zkc_t *z = ctx;
    if (type == ZOO_SESSION_EVENT) {
        pthread_mutex_lock(&z->mu);
        z->state = state;
        pthread_cond_broadcast(&z->cv);
        pthread_mutex_unlock(&z->mu);
    }
    if (z->fn)
        z->fn(z->arg, type, state, path ? path : "");
}

/* Wait for CONNECTED; fails early on a terminal state. */
static int wait_connected(zkc_t *z, int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&z->mu);
    while (z->state != ZOO_CONNECTED_STATE && z->state != ZOO_EXPIRED_SESSION_STATE &&
           z->state != ZOO_AUTH_FAILED_STATE && rc == 0)
        rc = pthread_cond_timedwait(&z->cv, &z->mu, &dl);
    int ok = z->state == ZOO_CONNECTED_STATE;
    pthread_mutex_unlock(&z->mu);
    return ok ? 0 : -1;
}

static zkc_t *open_plain(const char *connect, int session_timeout_ms, zkc_watch_fn fn, void *arg, char *err,
                         size_t errlen)
{
    zkc_t *z = calloc(1, sizeof *z);
    if (!z) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    z->fn = fn;
    z->arg = arg;
    z->session_timeout_ms = session_timeout_ms;
    pthread_mutex_init(&z->mu, NULL);
    pthread_cond_init(&z->cv, NULL);
    z->zh = zookeeper_init(connect, watcher, session_timeout_ms, NULL, z, 0);
    if (!z->zh) {
        snprintf(err, errlen, "zookeeper_init(%s): %s", connect, strerror(errno));
        zkc_close(z);
        return NULL;
    }
    if (wait_connected(z, session_timeout_ms) < 0) {
        snprintf(err, errlen, "could not connect to ZooKeeper at %s within %d ms", connect, session_timeout_ms);
        zkc_close(z);
        return NULL;
    }
    return z;
}

/* Create the chroot through a connection without it (libzookeeper cannot). */
static int ensure_chroot(const char *hosts, const char *chroot, int timeout_ms, char *err, size_t errlen)
{
    zkc_t *z = open_plain(hosts, timeout_ms, NULL, NULL, err, errlen);
    if (!z)
        return -1;
    int rc = zkc_mkdirs(z, chroot);
    zkc_close(z);
    if (rc != ZOK) {
        snprintf(err, errlen, "creating chroot %s: %s", chroot, zerror(rc));
        return -1;
    }
    return 0;
}

static void quiet_zk_log(void) { zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR); }

zkc_t *zkc_open(const char *connect, int session_timeout_ms, zkc_watch_fn fn, void *arg, char *err, size_t errlen)
{
    if (session_timeout_ms <= 0)
        session_timeout_ms = 18000;
    /* libzookeeper logs every reconnect attempt at WARN; quieten it once, and
     * leave any later zoo_set_debug_level() by the daemon in force. */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, quiet_zk_log);
    const char *slash = strchr(connect, '/');
    if (slash && slash[1]) {
        char *hosts = strndup(connect, (size_t)(slash - connect));
        int rc = hosts ? ensure_chroot(hosts, slash, session_timeout_ms, err, errlen) : -1;
        free(hosts);
        if (rc < 0)
            return NULL;
    }
    return open_plain(connect, session_timeout_ms, fn, arg, err, errlen);
}

void zkc_close(zkc_t *z)
{
    if (!z)
        return;
    if (z->zh)
        zookeeper_close(z->zh); /* joins libzookeeper's threads: no callback after this */
    pthread_mutex_destroy(&z->mu);
    pthread_cond_destroy(&z->cv);
    free(z);
}

zhandle_t *zkc_handle(zkc_t *z) { return z->zh; }

int64_t zkc_session_id(zkc_t *z)
{
    const clientid_t *cid = zoo_client_id(z->zh);
    return cid ? cid->client_id : 0;
}

int zkc_mkdirs(zkc_t *z, const char *path)
{
    if (path[0] != '/')
        return ZBADARGUMENTS;
    struct Stat st;
    if (zoo_exists(z->zh, path, 0, &st) == ZOK)
        return ZOK;
    char *p = strdup(path);
    if (!p)
        return ZSYSTEMERROR;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    int rc = ZOK;
    /* Create each prefix in turn: /a, /a/b, ... ; existing ones are fine. */
    for (char *s = p + 1; rc == ZOK && n > 1; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        rc = zoo_create(z->zh, p, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        if (rc == ZNODEEXISTS)
            rc = ZOK;
        *s = saved;
        if (saved == '\0')
            break;
    }
    free(p);
    return rc;
}

int zkc_get(zkc_t *z, const char *path, bool watch, char **data, struct Stat *st)
{
    struct Stat local;
    if (!st)
        st = &local;
    if (data)
        *data = NULL;
    int cap = 4096;
    /* zoo_get truncates to the buffer but reports the true size: grow and retry. */
    for (int attempt = 0; attempt < 8; attempt++) {
        char *buf = malloc((size_t)cap + 1);
        if (!buf)
            return ZSYSTEMERROR;
        int len = cap;
        int rc = zoo_get(z->zh, path, watch, buf, &len, st);
        if (rc != ZOK) {
            free(buf);
            return rc;
        }
        if (st->dataLength > cap) {
            free(buf);
            if (st->dataLength > MAX_DATA)
                return ZMARSHALLINGERROR;
            cap = st->dataLength;
            continue;
        }
        if (len <= 0 || !data) {
            free(buf);
            return ZOK;
        }
        buf[len] = '\0';
        *data = buf;
        return ZOK;
    }
    return ZMARSHALLINGERROR;
}

int zkc_children(zkc_t *z, const char *path, bool watch, char ***names, int *count)
{
    struct String_vector sv = {0, NULL};
    *names = NULL;
    *count = 0;
    int rc = zoo_get_children(z->zh, path, watch, &sv);
    if (rc != ZOK)
        return rc;
    char **out = sv.count > 0 ? calloc((size_t)sv.count, sizeof *out) : NULL;
    if (sv.count > 0 && !out) {
        deallocate_String_vector(&sv);
        return ZSYSTEMERROR;
    }
    for (int i = 0; i < sv.count; i++) {
        if (!(out[i] = strdup(sv.data[i]))) {
            zkc_free_names(out, i);
            deallocate_String_vector(&sv);
            return ZSYSTEMERROR;
        }
    }
    *names = out;
    *count = sv.count > 0 ? sv.count : 0;
    deallocate_String_vector(&sv);
    return ZOK;
}

void zkc_free_names(char **names, int count)
{
    if (!names)
        return;
    for (int i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

int zkc_exists(zkc_t *z, const char *path, bool watch, struct Stat *st)
{
    struct Stat local;
    return zoo_exists(z->zh, path, watch, st ? st : &local);
}

/* ---- cluster id ---- */

static void base64url(const uint8_t *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = tab[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = tab[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

static int random_bytes(uint8_t *buf, size_t n)
{
    if (getrandom(buf, n, 0) == (ssize_t)n)
        return 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t got = read(fd, buf, n);
    close(fd);
    return got == (ssize_t)n ? 0 : -1;
}

int zkc_random_uuid(char out[23])
{
    uint8_t b[16];
    /* Like Kafka's Uuid.randomUuid: a version-4 UUID, re-drawn if its text
     * would start with '-' (it would read as a command-line option). */
    for (;;) {
        if (random_bytes(b, sizeof b) < 0)
            return -1;
        b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
        b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
        base64url(b, sizeof b, out);
        if (out[0] != '-')
            return 0;
    }
}

/* Create /cluster/id with a fresh id; ZNODEEXISTS when another process won. */
static int create_cluster_id(zkc_t *z, char id[23])
{
    char fresh[23];
    if (zkc_random_uuid(fresh) < 0)
        return ZSYSTEMERROR;
    char *json = zn_cluster_id_encode(fresh);
    if (!json)
        return ZSYSTEMERROR;
    int rc = zkc_mkdirs(z, "/cluster");
    if (rc == ZOK)
        rc = zoo_create(z->zh, CLUSTER_ID_PATH, json, (int)strlen(json), &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    free(json);
    if (rc == ZOK) {
        memcpy(id, fresh, 23);
        wlog_info("created cluster id %s in %s", fresh, CLUSTER_ID_PATH);
    }
    return rc;
}

int zkc_cluster_id(zkc_t *z, char id[23])
{
    for (int attempt = 0; attempt < 3; attempt++) {
        char *data = NULL;
        int rc = zkc_get(z, CLUSTER_ID_PATH, false, &data, NULL);
        if (rc == ZOK) {
            rc = zn_cluster_id_decode(data ? data : "", id) == 0 ? ZOK : ZMARSHALLINGERROR;
            if (rc != ZOK)
                wlog_error("malformed %s: %s", CLUSTER_ID_PATH, data ? data : "(empty)");
            free(data);
            return rc;
        }
        if (rc != ZNONODE)
            return rc;
        rc = create_cluster_id(z, id);
        if (rc != ZNODEEXISTS)
            return rc;
        /* Lost the race: read the winner's id on the next pass. */
    }
    return ZNODEEXISTS;
}

/* ---- CheckedEphemeral ---- */

/* One pass after NODEEXISTS.  Returns ZOK (ours), ZNODEEXISTS (in use),
 * ZNONODE (gone or deleted: create again), or an error. */
static int resolve_existing(zkc_t *z, const char *path, int64_t prev_session, int64_t *czxid)
{
    struct Stat st;
    int rc = zoo_exists(z->zh, path, 0, &st);
    if (rc != ZOK)
        return rc;
    int64_t owner = st.ephemeralOwner;
    if (owner != 0 && owner == zkc_session_id(z)) {
        *czxid = st.czxid;
        return ZOK;
    }
    if (prev_session == 0 || owner != prev_session)
        return ZNODEEXISTS;
    wlog_info("deleting %s left by previous session 0x%llx", path, (unsigned long long)prev_session);
    rc = zoo_delete(z->zh, path, st.version);
    return rc == ZOK || rc == ZBADVERSION ? ZNONODE : rc;
}

int zkc_create_ephemeral(zkc_t *z, const char *path, const char *data, int64_t prev_session, int64_t *czxid)
{
    int64_t scratch;
    if (!czxid)
        czxid = &scratch;
    int64_t deadline = mono_ms() + z->session_timeout_ms;
    int len = data ? (int)strlen(data) : -1;
    for (int attempt = 0; attempt < 1000; attempt++) {
        struct Stat st;
        int rc = zoo_create2(z->zh, path, data, len, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0, &st);
        if (rc == ZOK) {
            *czxid = st.czxid;
            return ZOK;
        }
        if (rc == ZNODEEXISTS) {
            rc = resolve_existing(z, path, prev_session, czxid);
            if (rc == ZNONODE)
                continue;
        }
        /* Connection loss: the create may or may not have happened; the
         * retry's NODEEXISTS with our own session as owner settles it. */
        if ((rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT) && mono_ms() < deadline) {
            sleep_ms(100);
            continue;
        }
        return rc;
    }
    return ZSYSTEMERROR;
}

/* ---- event queue ---- */

struct evq_node {
    struct evq_node *next;
    zkc_ev_t ev;
};

struct zkc_evq {
    struct event *wake;
    int fd; /* eventfd: written by push, read by the loop */
    pthread_mutex_t mu;
    struct evq_node *head, *tail;
    void (*on_event)(const zkc_ev_t *ev, void *arg);
    void *arg;
};

static struct evq_node *evq_pop(zkc_evq_t *q)
{
    pthread_mutex_lock(&q->mu);
    struct evq_node *n = q->head;
    if (n) {
        q->head = n->next;
        if (!q->head)
            q->tail = NULL;
    }
    pthread_mutex_unlock(&q->mu);
    return n;
}

/* Loop thread: drain the counter, then deliver every queued event (without the lock held). */
static void evq_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    zkc_evq_t *q = arg;
    uint64_t cnt;
    while (read(q->fd, &cnt, sizeof cnt) > 0)
        ;
    struct evq_node *n;
    while ((n = evq_pop(q))) {
        q->on_event(&n->ev, q->arg);
        free(n);
    }
}

zkc_evq_t *zkc_evq_new(struct event_base *base, void (*on_event)(const zkc_ev_t *ev, void *arg), void *arg)
{
    zkc_evq_t *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->on_event = on_event;
    q->arg = arg;
    pthread_mutex_init(&q->mu, NULL);
    q->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (q->fd >= 0)
        q->wake = event_new(base, q->fd, EV_READ | EV_PERSIST, evq_wake, q);
    if (!q->wake || event_add(q->wake, NULL) < 0) {
        zkc_evq_free(q);
        return NULL;
    }
    return q;
}

void zkc_evq_push(zkc_evq_t *q, int type, int state, const char *path)
{
    struct evq_node *n = calloc(1, sizeof *n);
    if (!n) {
        wlog_error("out of memory: dropped ZooKeeper event type %d state %d", type, state);
        return;
    }
    n->ev.type = type;
    n->ev.state = state;
    if (path && strlen(path) >= sizeof n->ev.path)
        wlog_warn("ZooKeeper event path truncated: %s", path);
    snprintf(n->ev.path, sizeof n->ev.path, "%s", path ? path : "");
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    pthread_mutex_unlock(&q->mu);
    uint64_t one = 1;
    /* EAGAIN only when the counter is saturated, i.e. a wakeup is pending anyway. */
    if (write(q->fd, &one, sizeof one) < 0 && errno != EAGAIN)
        wlog_error("waking the ZooKeeper event loop: %s", strerror(errno));
}

void zkc_evq_free(zkc_evq_t *q)
{
    if (!q)
        return;
    if (q->wake)
        event_free(q->wake);
    if (q->fd >= 0)
        close(q->fd);
    struct evq_node *n;
    while ((n = evq_pop(q)))
        free(n);
    pthread_mutex_destroy(&q->mu);
    free(q);
}
