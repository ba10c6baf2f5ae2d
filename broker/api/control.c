/*
 * control.c - requests from the active controller: LeaderAndIsr (v0-3),
 * UpdateMetadata (v0-5) and StopReplica (v0-1).
 *
 * Fencing: a request from a controller epoch older than the newest seen is
 * refused whole with STALE_CONTROLLER_EPOCH; one carrying an older broker
 * epoch than ours (meant for an earlier incarnation of this broker) with
 * STALE_BROKER_EPOCH.  A LeaderAndIsr partition entry is applied only if its
 * leader epoch is newer than the local one, so a delayed request cannot undo
 * a newer decision.
 * Thread: the network loop.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "group/coord.h"
#include "ctlmsg.h"
#include "proto.h"
#include "wlog.h"

static int16_t check_fence(bk_t *b, int32_t controller_epoch, int64_t broker_epoch)
{
    if (controller_epoch < b->controller_epoch)
        return KERR_STALE_CONTROLLER_EPOCH;
    if (broker_epoch != -1 && broker_epoch < b->broker_epoch)
        return KERR_STALE_BROKER_EPOCH;
    b->controller_epoch = controller_epoch;
    return KERR_NONE;
}

static bool contains(const int32_t *ids, int n, int32_t id)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static void set_ids(int32_t **dst, int32_t *ndst, const int32_t *src, int n)
{
    free(*dst);
    *dst = NULL;
    *ndst = 0;
    if (n <= 0)
        return;
    *dst = malloc((size_t)n * sizeof **dst);
    memcpy(*dst, src, (size_t)n * sizeof **dst);
    *ndst = n;
}

static int16_t apply_partition(bk_t *b, const ctl_state_t *s, const ctl_part_t *cp)
{
    int32_t me = b->cfg.broker_id;
    if (!bk_valid_topic((const uint8_t *)cp->topic, strlen(cp->topic)))
        return KERR_INVALID_TOPIC_EXCEPTION;
    if (!contains(cp->replicas, cp->nreplicas, me))
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    bpart_t *p = bpart_get(b, cp->topic, strlen(cp->topic), cp->partition);
    bool fresh = p == NULL;
    /* A partition demoted after a lost ZooKeeper session takes its state
     * again even at the same leader epoch. */
    bool limbo = p && !p->is_leader && p->follow == FOLLOW_NONE;
    if (p && (cp->leader_epoch < p->leader_epoch || (cp->leader_epoch == p->leader_epoch && !limbo)))
        return cp->leader_epoch == p->leader_epoch ? KERR_NONE : KERR_STALE_CONTROLLER_EPOCH;
    if (!p && !(p = bpart_create(b, cp->topic, cp->partition)))
        return KERR_KAFKA_STORAGE_ERROR;
    if (fresh)
        bpart_load_config(b, p);
    bool was_leader = p->is_leader;
    p->leader = cp->leader;
    p->leader_epoch = cp->leader_epoch;
    p->controller_epoch = cp->controller_epoch;
    p->zk_version = cp->zk_version;
    set_ids(&p->isr, &p->nisr, cp->isr, cp->nisr);
    set_ids(&p->replicas, &p->nreplicas, cp->replicas, cp->nreplicas);
    p->is_leader = cp->leader == me;
    if (p->is_leader) {
        /* The new leader epoch starts at our log end offset, recorded before
         * anything is appended in it. */
        repl_stop(b, p);
        plog_epoch_assign(p->log, cp->leader_epoch, plog_end_offset(p->log));
        repl_become_leader(b, p);
        bpart_update_hw(b, p);
    } else {
        const char *host = NULL;
        int32_t port = -1;
        for (int i = 0; i < s->nnodes; i++)
            if (s->nodes[i].id == cp->leader) {
                host = s->nodes[i].host;
                port = s->nodes[i].port;
            }
        const mbroker_t *mb = host ? NULL : meta_broker(&b->meta, cp->leader);
        if (mb) {
            host = mb->host;
            port = mb->port;
        }
        repl_become_follower(b, p, host, port);
    }
    wlog_info("partition %s-%d: %s, leader %d epoch %d, isr size %d (controller epoch %d)", cp->topic,
              cp->partition, p->is_leader ? "leader" : "follower", cp->leader, cp->leader_epoch, cp->nisr,
              cp->controller_epoch);
    coord_partition_changed(b, p);
    if (was_leader && !p->is_leader) {
        fetch_wakeup(b);   /* waiting fetches now answer NOT_LEADER_OR_FOLLOWER */
        produce_wakeup(b); /* and waiting acks=all produces too */
    }
    return KERR_NONE;
}

void api_leader_and_isr(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    ctl_state_t s;
    memset(&s, 0, sizeof s);
    if (req->api_version != 3 || ctl_lair_decode(&req->rd, &s) != 0) {
        ctl_state_free(&s);
        kreq_close(req, "malformed LeaderAndIsr request");
        return;
    }
    int16_t err = check_fence(b, s.controller_epoch, s.broker_epoch);
    ctl_perr_t *pe = calloc((size_t)s.nparts + 1, sizeof *pe);
    for (int i = 0; i < s.nparts; i++) {
        pe[i].topic = s.parts[i].topic;
        pe[i].partition = s.parts[i].partition;
        pe[i].error = err ? err : apply_partition(b, &s, &s.parts[i]);
    }
    kwr_t wr;
    kwr_init(&wr, 256);
    ctl_lair_resp_encode(&wr, err, pe, s.nparts);
    kreq_respond(req, &wr);
    kwr_free(&wr);
    free(pe);
    ctl_state_free(&s);
}

void api_update_metadata(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    ctl_state_t s;
    memset(&s, 0, sizeof s);
    if (req->api_version != 5 || ctl_um_decode(&req->rd, &s) != 0) {
        ctl_state_free(&s);
        kreq_close(req, "malformed UpdateMetadata request");
        return;
    }
    int16_t err = check_fence(b, s.controller_epoch, s.broker_epoch);
    if (!err)
        meta_apply(&b->meta, &s);
    kwr_t wr;
    kwr_init(&wr, 8);
    kwr_i16(&wr, err);
    kreq_respond(req, &wr);
    kwr_free(&wr);
    ctl_state_free(&s);
}

void api_stop_replica(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    ctl_stop_t s;
    memset(&s, 0, sizeof s);
    if (req->api_version != 1 || ctl_stop_decode(&req->rd, &s) != 0) {
        ctl_stop_free(&s);
        kreq_close(req, "malformed StopReplica request");
        return;
    }
    int16_t err = check_fence(b, s.controller_epoch, s.broker_epoch);
    ctl_perr_t *pe = calloc((size_t)s.n + 1, sizeof *pe);
    for (int i = 0; i < s.n; i++) {
        pe[i].topic = s.topics[i];
        pe[i].partition = s.partitions[i];
        pe[i].error = err;
        if (err)
            continue;
        if (!bk_valid_topic((const uint8_t *)s.topics[i], strlen(s.topics[i]))) {
            pe[i].error = KERR_INVALID_TOPIC_EXCEPTION;
            continue;
        }
        bpart_t *p = bpart_get(b, s.topics[i], strlen(s.topics[i]), s.partitions[i]);
        if (p) {
            wlog_info("stopping replica %s-%d%s", s.topics[i], s.partitions[i],
                      s.delete_partitions ? " and deleting its log" : "");
            bool was_leader = p->is_leader;
            bpart_remove(b, p, s.delete_partitions);
            if (was_leader) {
                fetch_wakeup(b);
                produce_wakeup(b);
            }
        } else if (s.delete_partitions && logmgr_get(b->logs, s.topics[i], s.partitions[i])) {
            logmgr_delete(b->logs, s.topics[i], s.partitions[i]);
        }
    }
    kwr_t wr;
    kwr_init(&wr, 256);
    ctl_stop_resp_encode(&wr, err, pe, s.n);
    kreq_respond(req, &wr);
    kwr_free(&wr);
    free(pe);
    ctl_stop_free(&s);
}
