/*
 * main.c - weir-broker: configuration, ZooKeeper session and registration,
 * log recovery, the network server, periodic retention and checkpoints, and
 * a clean shutdown on SIGTERM/SIGINT.
 *
 * Start order matters: the cluster id comes from ZooKeeper before the logs
 * open (a log dir of another cluster refuses to start), and the listener is
 * up before /brokers/ids/<id> appears, so the controller can reach us as soon
 * as it sees us.
 * Thread: main thread runs the event loop; ZooKeeper watches arrive on
 * libzookeeper's thread and are queued onto the loop.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "broker.h"
#include "group/coord.h"
#include "config.h"
#include "ctlmsg.h"
#include "proto.h"
#include "util.h"
#include "wlog.h"
#include "znode.h"

static void on_zk_watch(void *arg, int type, int state, const char *path)
{
    zkc_evq_push(arg, type, state, path);
}

/*
 * R22: a broker that started after an unclean shutdown says so in its
 * registration until a controller has seen it.  Any request this process
 * accepts from a controller proves that: it carries the broker epoch the
 * controller read from an unclean registration, and the controller records
 * the partitions it must not elect in ZooKeeper before it sends a broker
 * anything.  Then the log dirs forget the crash, and a later clean restart
 * (or a re-registration after a session expiry) registers as clean.
 */
static struct event *unclean_ev;

static void unclean_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bk_t *b = arg;
    if (b->controller_epoch < 0) {
        struct timeval tv = {0, 500 * 1000};
        evtimer_add(unclean_ev, &tv);
        return;
    }
    logmgr_unclean_acknowledged(b->logs);
    wlog_info("controller epoch %d has seen this broker's unclean-shutdown registration",
              (int)b->controller_epoch);
}

static void unclean_watch(bk_t *b)
{
    if (!unclean_ev)
        unclean_ev = evtimer_new(b->base, unclean_check, b);
    if (unclean_ev && !evtimer_pending(unclean_ev, NULL))
        unclean_check(-1, 0, b);
}

static int register_broker(bk_t *b)
{
    zn_broker_t zb;
    memset(&zb, 0, sizeof zb);
    zb.unclean_shutdown = logmgr_unclean_start(b->logs);
    zb.id = b->cfg.broker_id;
    zb.nep = 1;
    snprintf(zb.ep[0].listener, sizeof zb.ep[0].listener, "PLAINTEXT");
    snprintf(zb.ep[0].host, sizeof zb.ep[0].host, "%s", b->adv_host);
    zb.ep[0].port = b->adv_port;
    snprintf(zb.rack, sizeof zb.rack, "%s", b->cfg.broker_rack);
    zb.timestamp = now_ms();
    char *json = zn_broker_encode(&zb);
    char path[64];
    snprintf(path, sizeof path, "/brokers/ids/%d", b->cfg.broker_id);
    /* A node left by a killed process of ours lives until its session
     * expires: wait that long before calling the id in use. */
    int64_t deadline = mono_ms() + b->cfg.zookeeper_session_timeout_ms + 2000;
    int rc;
    bool waited = false;
    while ((rc = zkc_create_ephemeral(b->zk, path, json, b->prev_session, &b->broker_epoch)) == ZNODEEXISTS &&
           mono_ms() < deadline) {
        if (!waited)
            wlog_info("%s exists; waiting up to %d ms for its session to expire", path,
                      b->cfg.zookeeper_session_timeout_ms);
        waited = true;
        usleep(250 * 1000);
    }
    free(json);
    if (rc == ZNODEEXISTS) {
        wlog_error("broker id %d is in use: %s is owned by another live ZooKeeper session", b->cfg.broker_id,
                   path);
        return -1;
    }
    if (rc != ZOK) {
        wlog_error("cannot register %s: %s", path, zerror(rc));
        return -1;
    }
    wlog_info("registered %s at %s:%d (broker epoch %lld)%s", path, b->adv_host, b->adv_port,
              (long long)b->broker_epoch, zb.unclean_shutdown ? " after an unclean shutdown" : "");
    if (zb.unclean_shutdown)
        unclean_watch(b);
    return 0;
}

/* After a lost session the controller may have moved every leadership:
 * serve nothing as leader or follower until it sends state again. */
static void demote(bpart_t *p, void *arg)
{
    repl_stop(arg, p);
    p->is_leader = false;
    coord_lost_leadership(arg, p);
}

static void zk_reconnect(bk_t *b)
{
    char err[256];
    b->prev_session = zkc_session_id(b->zk);
    zkc_close(b->zk);
    for (;;) {
        b->zk = zkc_open(b->cfg.zookeeper_connect, b->cfg.zookeeper_session_timeout_ms, on_zk_watch, b->evq, err,
                         sizeof err);
        if (b->zk)
            break;
        wlog_warn("ZooKeeper reconnect failed: %s; retrying", err);
    }
    bpart_foreach(b, demote, b);
    fetch_wakeup(b);
    produce_wakeup(b);
    if (register_broker(b) != 0)
        event_base_loopexit(b->base, NULL);
    fwd_controller_changed(b);
}

static void on_zk_event(const zkc_ev_t *ev, void *arg)
{
    bk_t *b = arg;
    if (ev->type == ZOO_SESSION_EVENT && ev->state == ZOO_EXPIRED_SESSION_STATE) {
        wlog_warn("ZooKeeper session expired: re-registering");
        zk_reconnect(b);
        return;
    }
    if (!strcmp(ev->path, "/controller"))
        fwd_controller_changed(b);
}

/* ---- controlled shutdown: move leadership away before leaving ---- */

#define CS_MAX_ATTEMPTS 5
#define CS_BACKOFF_MS 500

static int cs_attempts;
static int cs_last_remaining = -1;
static struct event *cs_timer;

static void cs_send(bk_t *b);

static void cs_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cs_send(arg);
}

static void cs_done(void *arg, const uint8_t *resp, size_t len)
{
    bk_t *b = arg;
    int16_t err = KERR_REQUEST_TIMED_OUT;
    ctl_perr_t *rem = NULL;
    int n = -1;
    if (resp) {
        krd_t rd;
        krd_init(&rd, resp, len);
        if (ctl_cs_resp_decode(&rd, &err, &rem, &n) != 0)
            err = KERR_INVALID_REQUEST;
    }
    if (err == KERR_NONE && n == 0) {
        wlog_info("controlled shutdown complete: no partitions led here");
        event_base_loopexit(b->base, NULL);
    } else if (err == KERR_NONE && n == cs_last_remaining) {
        /* Nothing moved since the last attempt (no eligible successor, e.g.
         * replication factor 1): retrying will not help. */
        wlog_info("controlled shutdown: %d partition(s) have no other replica to lead them; stopping", n);
        event_base_loopexit(b->base, NULL);
    } else if (++cs_attempts >= CS_MAX_ATTEMPTS) {
        wlog_warn("controlled shutdown incomplete after %d attempts (%s, %d partition(s) still led): stopping",
                  cs_attempts, kerr_name(err), n);
        event_base_loopexit(b->base, NULL);
    } else {
        cs_last_remaining = err == KERR_NONE ? n : -1;
        wlog_info("controlled shutdown: %s, %d partition(s) still led; retrying", kerr_name(err), n);
        struct timeval tv = {0, CS_BACKOFF_MS * 1000};
        evtimer_add(cs_timer, &tv);
    }
    if (rem)
        ctl_perr_free(rem, n);
}

static void cs_send(bk_t *b)
{
    if (!fwd_known(b)) {
        wlog_warn("controlled shutdown: no active controller known; stopping");
        event_base_loopexit(b->base, NULL);
        return;
    }
    kwr_t wr;
    kwr_init(&wr, 32);
    ctl_cs_encode(&wr, b->cfg.broker_id, b->broker_epoch);
    fwd_call(b, KAPI_CONTROLLED_SHUTDOWN, CTL_CS_VERSION, "weir-broker", wr.buf, wr.len, 10000, cs_done, b);
    kwr_free(&wr);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    bk_t *b = arg;
    if (cs_timer) { /* second signal: stop now */
        wlog_info("received signal %d again: stopping now", (int)sig);
        event_base_loopexit(b->base, NULL);
        return;
    }
    wlog_info("received signal %d: starting controlled shutdown", (int)sig);
    cs_timer = evtimer_new(b->base, cs_retry, b);
    cs_send(b);
}

static void on_isr_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    repl_check_isr(arg);
}

static int64_t hw_of(plog_t *l, void *arg)
{
    bk_t *b = arg;
    const char *t = plog_topic(l);
    bpart_t *p = bpart_get(b, t, strlen(t), plog_partition(l));
    return p ? p->hw : -1;
}

static void drop_part(bpart_t *p, void *arg) { bpart_remove(arg, p, false); }

static void on_retention(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bk_t *b = arg;
    int n = logmgr_retention(b->logs, now_ms());
    if (n > 0)
        wlog_info("retention deleted %d segment(s)", n);
}

static void on_checkpoint(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bk_t *b = arg;
    logmgr_checkpoint(b->logs);
    logmgr_write_hw_checkpoint(b->logs, hw_of, b);
}

static struct event *every(bk_t *b, int64_t ms, event_callback_fn fn)
{
    struct event *ev = event_new(b->base, -1, EV_PERSIST, fn, b);
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    event_add(ev, &tv);
    return ev;
}

static int open_logs(bk_t *b)
{
    char *dirs = strdup(b->cfg.log_dirs);
    const char *list[64];
    int n = 0;
    for (char *save = NULL, *d = strtok_r(dirs, ",", &save); d && n < 64; d = strtok_r(NULL, ",", &save))
        if (*d)
            list[n++] = d;
    char err[512];
    plog_config_t *c = &b->log_defaults;
    plog_config_defaults(c);
    c->segment_bytes = b->cfg.log_segment_bytes;
    c->segment_ms = b->cfg.log_roll_ms;
    c->retention_ms = b->cfg.log_retention_ms_effective;
    c->retention_bytes = b->cfg.log_retention_bytes;
    c->index_interval_bytes = b->cfg.log_index_interval_bytes;
    c->segment_index_bytes = b->cfg.log_index_size_max_bytes;
    int rc = logmgr_open(list, n, b->cfg.broker_id, b->cluster_id, c, &b->logs, err, sizeof err);
    free(dirs);
    if (rc != 0)
        wlog_error("%s", err);
    return rc;
}

int main(int argc, char **argv)
{
    static bk_t broker;
    bk_t *b = &broker;
    wlog_setup("weir.broker", WLOG_INFO);
    bcfg_cmdline(argc, argv, &b->cfg);
    signal(SIGPIPE, SIG_IGN);

    char lhost[256];
    int lport;
    const char *adv = b->cfg.advertised_listeners[0] ? b->cfg.advertised_listeners : b->cfg.listeners;
    if (cfg_parse_listener(b->cfg.listeners, lhost, sizeof lhost, &lport) != 0 ||
        cfg_parse_listener(adv, b->adv_host, sizeof b->adv_host, &b->adv_port) != 0) {
        fprintf(stderr, "weir-broker: Invalid value '%s' for configuration 'listeners'\n", b->cfg.listeners);
        return EX_CONFIG;
    }
    if (!b->adv_host[0])
        snprintf(b->adv_host, sizeof b->adv_host, "127.0.0.1");
    b->controller_epoch = -1;
    b->npbuckets = 4096;
    b->pbuckets = calloc(b->npbuckets, sizeof *b->pbuckets);
    meta_init(&b->meta);
    b->base = event_base_new();
    b->evq = zkc_evq_new(b->base, on_zk_event, b);

    char err[512];
    b->zk = zkc_open(b->cfg.zookeeper_connect, b->cfg.zookeeper_session_timeout_ms, on_zk_watch, b->evq, err,
                     sizeof err);
    if (!b->zk) {
        wlog_error("cannot connect to ZooKeeper at %s: %s", b->cfg.zookeeper_connect, err);
        return EX_UNAVAILABLE;
    }
    zkc_mkdirs(b->zk, "/brokers/ids");
    zkc_mkdirs(b->zk, "/brokers/topics");
    zkc_mkdirs(b->zk, "/config/topics");
    zkc_mkdirs(b->zk, "/admin/delete_topics");
    if (zkc_cluster_id(b->zk, b->cluster_id) != ZOK) {
        wlog_error("cannot read or create /cluster/id");
        return EX_UNAVAILABLE;
    }
    wlog_info("cluster id %s", b->cluster_id);
    if (open_logs(b) != 0)
        return EX_CONFIG;
    b->groups = gstore_new(b);
    coord_start(b);

    b->srv = kserver_new(b->base, lhost, lport, (size_t)b->cfg.socket_request_max_bytes, bk_apis, bk_napis, b, err,
                         sizeof err);
    if (!b->srv) {
        wlog_error("%s", err);
        return EX_UNAVAILABLE;
    }
    if (register_broker(b) != 0)
        return EX_UNAVAILABLE;
    fwd_controller_changed(b);

    b->retention_ev = every(b, b->cfg.log_retention_check_interval_ms, on_retention);
    b->checkpoint_ev = every(b, b->cfg.log_flush_interval_ms, on_checkpoint);
    lease_start(b);
    b->isr_ev = every(b, b->cfg.replica_lag_time_max_ms / 2 > 0 ? b->cfg.replica_lag_time_max_ms / 2 : 1, on_isr_check);
    struct event *sigterm = evsignal_new(b->base, SIGTERM, on_signal, b);
    struct event *sigint = evsignal_new(b->base, SIGINT, on_signal, b);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    if (b->cfg.num_network_threads > 1)
        wlog_info("num.network.threads=%d: connections are served by one event loop in this version",
                  b->cfg.num_network_threads);
    wlog_info("broker %d started, listening on %s:%d", b->cfg.broker_id, lhost[0] ? lhost : "0.0.0.0",
              kserver_port(b->srv));

    event_base_dispatch(b->base);

    /* Leave the cluster first so the controller moves on, then close the logs cleanly. */
    b->shutting_down = true;
    zkc_close(b->zk);
    produce_free_waiters(b);
    fetch_free_waiters(b);
    coord_shutdown(b);      /* waiting group writes answer NOT_COORDINATOR */
    gstore_free(b->groups); /* held JoinGroup/SyncGroup answers go out */
    b->groups = NULL;
    kserver_free(b->srv); /* peers fetching from us fail fast instead of waiting */
    repl_shutdown(b);
    fwd_free(b);
    logmgr_write_hw_checkpoint(b->logs, hw_of, b);
    bpart_foreach(b, drop_part, b);
    free(b->pbuckets);
    logmgr_close(b->logs, true);
    event_free(sigterm);
    event_free(sigint);
    event_free(b->retention_ev);
    event_free(b->checkpoint_ev);
    event_free(b->isr_ev);
    event_free(b->lease_ev);
    if (cs_timer)
        event_free(cs_timer);
    if (unclean_ev)
        event_free(unclean_ev);
    zkc_evq_free(b->evq);
    meta_free(&b->meta);
    event_base_free(b->base);
    bcfg_free(&b->cfg);
    wlog_info("broker shut down cleanly");
    return 0;
}
