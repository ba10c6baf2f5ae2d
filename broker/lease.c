/*
 * lease.c - the leader lease (control-plane.md R8).
 *
 * ZooKeeper expires a session no earlier than a full session timeout after
 * it last heard from the client.  The broker probes ZooKeeper every 1/6 of
 * the timeout and remembers when the newest answered probe was sent; if that
 * is more than 2/3 of the timeout ago, the session may be expiring and the
 * controller may already have elected another leader, so this broker stops
 * serving as leader.  The check is made on every produce, fetch and
 * ListOffsets, so a process resumed after SIGSTOP cannot answer even one
 * request from stale leadership.
 * Thread: probes are sent from the loop; answers arrive on libzookeeper's
 * thread and only store a timestamp.
 */
#include <event2/event.h>
#include <stdlib.h>

#include "broker.h"
#include "util.h"
#include "wlog.h"

typedef struct lease_probe {
    bk_t *b;
    int64_t sent_ms;
} lease_probe_t;

static void lease_answered(int rc, const struct Stat *st, const void *data)
{
    (void)st;
    lease_probe_t *lp = (lease_probe_t *)data;
    if (rc == ZOK || rc == ZNONODE) {
        int64_t prev = lp->b->zk_last_ok_ms;
        if (lp->sent_ms > prev)
            lp->b->zk_last_ok_ms = lp->sent_ms;
    }
    free(lp);
}

/* Say when the lease lapses and when it is back: a broker that refuses to
 * act as leader while its metadata names it must tell the operator why. */
static void lease_log(bk_t *b)
{
    int64_t quiet = mono_ms() - b->zk_last_ok_ms;
    bool lapsed = !bk_lease_valid(b);
    if (lapsed == b->lease_lapsed)
        return;
    b->lease_lapsed = lapsed;
    if (lapsed)
        wlog_warn("leader lease lapsed: ZooKeeper has not answered a request sent in the last %lld ms (2/3 of "
                  "zookeeper.session.timeout.ms=%d); not acting as leader until it does",
                  (long long)quiet, (int)b->cfg.zookeeper_session_timeout_ms);
    else
        wlog_info("leader lease renewed: ZooKeeper answers again");
}

static void on_probe(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bk_t *b = arg;
    lease_log(b);
    lease_probe_t *lp = malloc(sizeof *lp);
    lp->b = b;
    lp->sent_ms = mono_ms();
    if (zoo_aexists(zkc_handle(b->zk), "/controller", 0, lease_answered, lp) != ZOK)
        free(lp);
}

bool bk_lease_valid(bk_t *b)
{
    if (!b->zk) /* no session to lose (in-process tests) */
        return true;
    return mono_ms() - b->zk_last_ok_ms < (int64_t)b->cfg.zookeeper_session_timeout_ms * 2 / 3;
}

void lease_start(bk_t *b)
{
    b->zk_last_ok_ms = mono_ms();
    int64_t ms = b->cfg.zookeeper_session_timeout_ms / 6;
    if (ms < 50)
        ms = 50;
    b->lease_ev = event_new(b->base, -1, EV_PERSIST, on_probe, b);
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    event_add(b->lease_ev, &tv);
}
