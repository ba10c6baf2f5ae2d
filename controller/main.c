/*
 * main.c - the weir-controller process: command line, ZooKeeper session
 * (open, persistent paths, cluster id, /controllers/ids/<id>, re-open after
 * expiry), the listener for requests forwarded by brokers, the per-broker
 * channels and their responses, and clean shutdown on SIGTERM/SIGINT
 * (closing the ZooKeeper session so /controller disappears at once).
 *
 * Invariants: one event loop owns every piece of state; ZooKeeper watcher
 * callbacks only push onto the zkc_evq; channel threads only post to the
 * hub.  Channels exist only while active, one per live broker.
 *
 * Thread: main thread (the event loop), except zk_watch (ZooKeeper's thread).
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "controller/ctl.h"
#include "ctlmsg.h"
#include "proto.h"
#include "util.h"
#include "wlog.h"

static const char *const persistent_paths[] = {"/brokers/ids", "/brokers/topics", "/admin/delete_topics",
                                               "/config/topics", "/controllers/ids"};

static void zk_watch(void *arg, int type, int state, const char *path)
{
    ctl_t *c = arg;
    zkc_evq_push(c->evq, type, state, path);
}

/* Open the session and register this controller.  0, or a sysexits code. */
static int zk_start(ctl_t *c, char *err, size_t errlen)
{
    c->zk = zkc_open(c->cfg.zookeeper_connect, c->cfg.zookeeper_session_timeout_ms, zk_watch, c, err, errlen);
    if (!c->zk)
        return EX_UNAVAILABLE;
    for (size_t i = 0; i < ARRAY_LEN(persistent_paths); i++) {
        int rc = zkc_mkdirs(c->zk, persistent_paths[i]);
        if (rc != ZOK) {
            snprintf(err, errlen, "cannot create %s: %s", persistent_paths[i], zerror(rc));
            return EX_UNAVAILABLE;
        }
    }
    int rc = zkc_cluster_id(c->zk, c->cluster_id);
    if (rc != ZOK) {
        snprintf(err, errlen, "cannot read or create /cluster/id: %s", zerror(rc));
        return EX_UNAVAILABLE;
    }
    char path[64], json[512];
    snprintf(path, sizeof(path), "/controllers/ids/%d", (int)c->cfg.controller_id);
    snprintf(json, sizeof(json), "{\"version\":1,\"id\":%d,\"host\":\"%s\",\"port\":%d,\"timestamp\":\"%lld\"}",
             (int)c->cfg.controller_id, c->host, c->port, (long long)now_ms());
    rc = zkc_create_ephemeral(c->zk, path, json, c->prev_session, NULL);
    if (rc == ZNODEEXISTS) {
        snprintf(err, errlen, "controller.id %d is in use by another live controller (%s exists)",
                 (int)c->cfg.controller_id, path);
        return EX_CONFIG;
    }
    if (rc != ZOK) {
        snprintf(err, errlen, "cannot register %s: %s", path, zerror(rc));
        return EX_UNAVAILABLE;
    }
    return 0;
}

void ctl_session_expired(ctl_t *c)
{
    wlog_warn("Controller %d: ZooKeeper session expired", (int)c->cfg.controller_id);
    ctl_resign(c, "ZooKeeper session expired");
    c->prev_session = zkc_session_id(c->zk);
    zkc_close(c->zk);
    c->zk = NULL;
    for (;;) {
        char err[256] = "";
        int rc = zk_start(c, err, sizeof(err));
        if (rc == 0)
            break;
        wlog_error("Controller %d: reconnecting to ZooKeeper failed: %s", (int)c->cfg.controller_id, err);
        if (c->zk) {
            zkc_close(c->zk);
            c->zk = NULL;
        }
        sleep(1);
    }
    ev_load_all(c);
    ev_deletions_changed(c);
    ctl_elect(c);
}

/* ---- channels ---- */

cchan_t *ctl_chan(ctl_t *c, int32_t broker)
{
    for (int i = 0; i < c->nchans; i++)
        if (chan_broker(c->chans[i]) == broker)
            return c->chans[i];
    return NULL;
}

void ctl_chan_open(ctl_t *c, const cbroker_t *b)
{
    if (!c->active || ctl_chan(c, b->id))
        return;
    char cid[64];
    snprintf(cid, sizeof(cid), "weir-controller-%d", (int)c->cfg.controller_id);
    cchan_t *ch = chan_start(c->hub, b->id, b->host, b->port, cid, c->cfg.controller_socket_timeout_ms);
    if (!ch) {
        wlog_error("Controller %d: cannot start channel to broker %d", (int)c->cfg.controller_id, (int)b->id);
        return;
    }
    cchan_t **n = realloc(c->chans, sizeof(*n) * (size_t)(c->nchans + 1));
    if (!n)
        abort();
    c->chans = n;
    c->chans[c->nchans++] = ch;
}

static void out_failed(ctl_t *c, const ctl_out_t *o)
{
    if (o->api_key == KAPI_LEADER_AND_ISR)
        admin_on_ack(c, o->tag);
    else if (o->api_key == KAPI_STOP_REPLICA)
        del_on_stop_result(c, o->tag, false);
}

void ctl_chan_close(ctl_t *c, int32_t broker)
{
    for (int i = 0; i < c->nchans; i++)
        if (chan_broker(c->chans[i]) == broker) {
            chan_stop(c->chans[i]);
            c->chans[i] = c->chans[--c->nchans];
            break;
        }
    /* Requests that will never be answered: take them out, then report. */
    ctl_out_t *gone = malloc(sizeof(*gone) * (size_t)(c->nout ? c->nout : 1));
    if (!gone)
        abort();
    int ng = 0;
    for (int i = 0; i < c->nout;)
        if (c->out[i].broker == broker) {
            gone[ng++] = c->out[i];
            c->out[i] = c->out[--c->nout];
        } else {
            i++;
        }
    for (int i = 0; i < ng; i++)
        out_failed(c, &gone[i]);
    free(gone);
}

void ctl_chan_close_all(ctl_t *c)
{
    for (int i = 0; i < c->nchans; i++)
        chan_stop(c->chans[i]);
    c->nchans = 0;
}

uint64_t ctl_send(ctl_t *c, int32_t broker, int16_t api_key, int16_t ver, kwr_t *body, bool track)
{
    cchan_t *ch = c->active ? ctl_chan(c, broker) : NULL;
    if (!ch || body->oom) {
        kwr_free(body);
        return 0;
    }
    uint64_t tag = ++c->next_tag;
    chan_send(ch, api_key, ver, body->buf, body->len, tag);
    memset(body, 0, sizeof(*body));
    if (track) {
        if (c->nout == c->capout) {
            c->capout = c->capout ? c->capout * 2 : 64;
            c->out = realloc(c->out, sizeof(*c->out) * (size_t)c->capout);
            if (!c->out)
                abort();
        }
        c->out[c->nout++] = (ctl_out_t){tag, broker, api_key};
    }
    return tag;
}

static bool out_take(ctl_t *c, uint64_t tag)
{
    for (int i = 0; i < c->nout; i++)
        if (c->out[i].tag == tag) {
            c->out[i] = c->out[--c->nout];
            return true;
        }
    return false;
}

static bool stop_ok(krd_t *rd, int32_t broker)
{
    int16_t err = 0;
    ctl_perr_t *pe = NULL;
    int n = 0;
    if (ctl_stop_resp_decode(rd, &err, &pe, &n) != 0) {
        wlog_warn("Malformed StopReplica response from broker %d", (int)broker);
        return false;
    }
    bool ok = err == KERR_NONE;
    for (int i = 0; i < n; i++)
        if (pe[i].error != KERR_NONE && pe[i].error != KERR_UNKNOWN_TOPIC_OR_PARTITION)
            ok = false;
    if (!ok)
        wlog_warn("StopReplica to broker %d failed: %s", (int)broker, kerr_name(err ? err : pe[0].error));
    ctl_perr_free(pe, n);
    return ok;
}

static void lair_log(krd_t *rd, int32_t broker)
{
    int16_t err = 0;
    ctl_perr_t *pe = NULL;
    int n = 0;
    if (ctl_lair_resp_decode(rd, &err, &pe, &n) != 0) {
        wlog_warn("Malformed LeaderAndIsr response from broker %d", (int)broker);
        return;
    }
    if (err)
        wlog_warn("LeaderAndIsr to broker %d failed: %s", (int)broker, kerr_name(err));
    for (int i = 0; i < n; i++)
        if (pe[i].error)
            wlog_warn("LeaderAndIsr to broker %d: partition %s-%d: %s", (int)broker, pe[i].topic,
                      (int)pe[i].partition, kerr_name(pe[i].error));
    ctl_perr_free(pe, n);
}

static void on_resp(const chan_resp_t *r, void *arg)
{
    ctl_t *c = arg;
    cchan_t *ch = ctl_chan(c, r->broker);
    if (!ch || chan_id(ch) != r->chan_id)
        return; /* from a channel we already closed */
    bool tracked = out_take(c, r->tag);
    krd_t rd;
    krd_init(&rd, r->body, r->len);
    if (r->api_key == KAPI_LEADER_AND_ISR) {
        lair_log(&rd, r->broker);
        if (tracked)
            admin_on_ack(c, r->tag);
    } else if (r->api_key == KAPI_STOP_REPLICA) {
        bool ok = stop_ok(&rd, r->broker);
        if (tracked)
            del_on_stop_result(c, r->tag, ok);
    } else if (r->api_key == KAPI_UPDATE_METADATA) {
        int16_t err = krd_i16(&rd);
        if (rd.err || err)
            wlog_warn("UpdateMetadata to broker %d failed: %s", (int)r->broker, rd.err ? "malformed" : kerr_name(err));
    }
}

/* ---- process ---- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    ctl_t *c = arg;
    wlog_info("Controller %d shutting down (signal %d)", (int)c->cfg.controller_id, (int)sig);
    c->stopping = true;
    ctl_resign(c, "shutting down");
    /* Closing the session removes /controller now, not after the timeout. */
    zkc_close(c->zk);
    c->zk = NULL;
    event_base_loopbreak(c->base);
}

static void on_retry(evutil_socket_t fd, short what, void *arg) { (void)fd; (void)what; del_progress_all(arg); }

static void resolve_listener(ctl_t *c)
{
    if (cfg_parse_listener(c->cfg.listeners, c->host, sizeof(c->host), &c->port) != 0) {
        fprintf(stderr, "weir-controller: Invalid value '%s' for configuration 'listeners'\n", c->cfg.listeners);
        exit(EX_CONFIG);
    }
}

int main(int argc, char **argv)
{
    static ctl_t ctl;
    ctl_t *c = &ctl;
    ccfg_cmdline(argc, argv, &c->cfg);
    wlog_setup("weir.controller", WLOG_INFO);
    resolve_listener(c);
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)(now_ms() ^ getpid()));
    evthread_use_pthreads();
    c->base = event_base_new();
    c->evq = zkc_evq_new(c->base, ev_dispatch, c);
    c->hub = chan_hub_new(c->base, on_resp, c);
    if (!c->base || !c->evq || !c->hub) {
        fprintf(stderr, "weir-controller: cannot set up the event loop\n");
        return EX_OSERR;
    }
    char err[512] = "";
    const char *bind_host = c->host[0] ? c->host : "0.0.0.0";
    c->srv = kserver_new(c->base, bind_host, c->port, 100u << 20, ctl_apis, ctl_napis, c, err, sizeof(err));
    if (!c->srv) {
        fprintf(stderr, "weir-controller: cannot listen on %s: %s\n", c->cfg.listeners, err);
        return EX_UNAVAILABLE;
    }
    c->port = kserver_port(c->srv);
    if (!c->host[0] || strcmp(c->host, "0.0.0.0") == 0)
        gethostname(c->host, sizeof(c->host) - 1);
    int rc = zk_start(c, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "weir-controller: cannot connect to ZooKeeper at %s: %s\n", c->cfg.zookeeper_connect, err);
        return rc;
    }
    wlog_info("Controller %d started: cluster %s, listening on %s:%d", (int)c->cfg.controller_id, c->cluster_id,
              c->host, c->port);
    c->retry_ev = evtimer_new(c->base, on_retry, c);
    struct event *sterm = evsignal_new(c->base, SIGTERM, on_signal, c);
    struct event *sint = evsignal_new(c->base, SIGINT, on_signal, c);
    event_add(sterm, NULL);
    event_add(sint, NULL);
    ev_load_all(c);
    ev_deletions_changed(c); /* arms the watch */
    ctl_elect(c);
    event_base_dispatch(c->base);
    kserver_free(c->srv);
    if (c->zk)
        zkc_close(c->zk);
    wlog_info("Controller %d stopped", (int)c->cfg.controller_id);
    return 0;
}
