/*
 * leader.c - the leader's side of replication: what each follower has
 * fetched, the high watermark, and ISR changes through the controller.
 *
 * Invariants (control-plane.md §5, R11-R13, R20):
 * - The high watermark is the minimum log end offset over the leader, the
 *   maximal ISR (the committed ISR plus a requested expansion) and followers
 *   that are caught up; it never goes backwards.
 * - Only the controller writes the ISR: the leader asks with AlterPartition,
 *   one request in flight per partition.  An expansion counts as soon as it
 *   is asked for (more followers hold back the HW: safe); a shrink counts only
 *   once the controller has confirmed it.
 * - A follower is caught up if it fetched at the leader's log end offset, or
 *   kept reaching where the leader was at its previous fetch, within
 *   replica.lag.time.max.ms (Kafka's lastCaughtUpTime bookkeeping).
 * Thread: the network loop.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "ctlmsg.h"
#include "proto.h"
#include "util.h"
#include "wlog.h"

static bool has_id(const int32_t *ids, int32_t n, int32_t id)
{
    for (int32_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static rfollower_t *follower(bpart_t *p, int32_t id)
{
    for (int32_t i = 0; i < p->nfol; i++)
        if (p->fol[i].id == id)
            return &p->fol[i];
    return NULL;
}

int32_t repl_max_isr_size(const bpart_t *p)
{
    int32_t n = p->nisr;
    for (int32_t i = 0; i < p->npending; i++)
        if (!has_id(p->isr, p->nisr, p->pending_isr[i]))
            n++;
    return n;
}

/* In the maximal ISR: committed, or part of a requested expansion. */
static bool in_max_isr(const bpart_t *p, int32_t id)
{
    return has_id(p->isr, p->nisr, id) || has_id(p->pending_isr, p->npending, id);
}

void repl_become_leader(bk_t *b, bpart_t *p)
{
    int64_t now = mono_ms();
    free(p->fol);
    p->fol = calloc((size_t)p->nreplicas + 1, sizeof *p->fol);
    p->nfol = 0;
    for (int32_t i = 0; i < p->nreplicas; i++) {
        if (p->replicas[i] == b->cfg.broker_id)
            continue;
        rfollower_t *f = &p->fol[p->nfol++];
        f->id = p->replicas[i];
        f->leo = -1;
        f->last_caught_up_ms = has_id(p->isr, p->nisr, f->id) ? now : 0;
    }
    free(p->pending_isr);
    p->pending_isr = NULL;
    p->npending = 0;
    p->isr_inflight = false;
    p->epoch_start_offset = plog_end_offset(p->log);
    p->led_since_ms = now;
    b->became_leader_ms = now;
    fetch_leader_changed(b, p);
}

/* HW = min LEO over the leader and the maximal ISR; never backwards. */
void bpart_update_hw(bk_t *b, bpart_t *p)
{
    int64_t leo = plog_end_offset(p->log);
    if (!p->is_leader) {
        if (p->hw > leo)
            p->hw = leo;
        return;
    }
    /* A follower outside the ISR that keeps up also holds the HW back, so it
     * can actually reach the HW it needs to rejoin (Kafka's starvation fix). */
    int64_t hw = leo, now = mono_ms();
    for (int32_t i = 0; i < p->nfol; i++) {
        const rfollower_t *f = &p->fol[i];
        bool counts = in_max_isr(p, f->id) ||
                      (f->leo >= 0 && f->last_caught_up_ms > 0 &&
                       now - f->last_caught_up_ms <= b->cfg.replica_lag_time_max_ms);
        if (counts && f->leo < hw)
            hw = f->leo;
    }
    if (hw > p->hw) {
        p->hw = hw;
        fetch_wakeup(b);
        produce_wakeup(b);
    }
}

typedef struct ap_call {
    bk_t *b;
    char *topic;
    int32_t partition;
    int32_t leader_epoch;
} ap_call_t;

static void on_alter_partition(void *arg, const uint8_t *resp, size_t len)
{
    ap_call_t *a = arg;
    bk_t *b = a->b;
    bpart_t *p = bpart_get(b, a->topic, strlen(a->topic), a->partition);
    ctl_ap_t r;
    memset(&r, 0, sizeof r);
    bool ok = resp != NULL;
    if (ok) {
        krd_t rd;
        krd_init(&rd, resp, len);
        ok = ctl_ap_resp_decode(&rd, &r) == 0;
    }
    if (p && p->is_leader && p->leader_epoch == a->leader_epoch) {
        p->isr_inflight = false;
        const ctl_ap_part_t *rp = ok && !r.error && r.n == 1 ? &r.parts[0] : NULL;
        if (rp && rp->error == KERR_NONE && rp->leader_epoch == p->leader_epoch) {
            free(p->isr);
            p->isr = malloc((size_t)(rp->nisr ? rp->nisr : 1) * sizeof *p->isr);
            memcpy(p->isr, rp->isr, (size_t)rp->nisr * sizeof *p->isr);
            p->nisr = rp->nisr;
            p->zk_version = rp->partition_epoch;
            wlog_info("partition %s-%d: ISR is now %d member(s) (partition epoch %d)", p->topic, p->partition,
                      p->nisr, p->zk_version);
        } else {
            int16_t e = !ok ? KERR_REQUEST_TIMED_OUT : r.error ? r.error : rp ? rp->error : KERR_INVALID_REQUEST;
            if (r.n == 1 && !r.error)
                e = r.parts[0].error;
            wlog_warn("partition %s-%d: AlterPartition failed: %s", p->topic, p->partition, kerr_name(e));
        }
        free(p->pending_isr);
        p->pending_isr = NULL;
        p->npending = 0;
        bpart_update_hw(b, p);
    }
    ctl_ap_free(&r);
    free(a->topic);
    free(a);
}

/* Ask the controller for `isr` (with `pending` counting toward the HW meanwhile if it grows). */
static void alter_isr(bk_t *b, bpart_t *p, const int32_t *isr, int32_t n, bool expansion)
{
    if (p->isr_inflight || !fwd_known(b))
        return;
    p->isr_inflight = true;
    free(p->pending_isr);
    p->pending_isr = NULL;
    p->npending = 0;
    if (expansion) {
        p->pending_isr = malloc((size_t)n * sizeof *p->pending_isr);
        memcpy(p->pending_isr, isr, (size_t)n * sizeof *isr);
        p->npending = n;
    }
    ctl_ap_part_t part = {.topic = p->topic, .partition = p->partition, .leader_epoch = p->leader_epoch,
                          .isr = (int32_t *)isr, .nisr = n, .partition_epoch = p->zk_version};
    ctl_ap_t req = {.broker_id = b->cfg.broker_id, .broker_epoch = b->broker_epoch, .parts = &part, .n = 1};
    kwr_t wr;
    kwr_init(&wr, 128);
    ctl_ap_encode(&wr, &req);
    ap_call_t *a = calloc(1, sizeof *a);
    a->b = b;
    a->topic = strdup(p->topic);
    a->partition = p->partition;
    a->leader_epoch = p->leader_epoch;
    wlog_info("partition %s-%d: asking the controller to %s the ISR to %d member(s)", p->topic, p->partition,
              expansion ? "expand" : "shrink", n);
    fwd_call_flex(b, KAPI_ALTER_PARTITION, CTL_AP_VERSION, "weir-broker", wr.buf, wr.len, 30000, on_alter_partition,
                  a);
    kwr_free(&wr);
}

void repl_follower_fetched(bk_t *b, bpart_t *p, int32_t replica_id, int64_t offset)
{
    rfollower_t *f = follower(p, replica_id);
    if (!f)
        return;
    int64_t now = mono_ms();
    int64_t leo = plog_end_offset(p->log);
    if (offset >= leo)
        f->last_caught_up_ms = now;
    else if (offset >= f->last_fetch_leader_leo && f->last_fetch_ms > 0)
        f->last_caught_up_ms = f->last_fetch_ms;
    f->last_fetch_leader_leo = leo;
    f->last_fetch_ms = now;
    f->leo = offset > leo ? leo : offset;
    /* Expand: caught up to the HW and into the current leader epoch. */
    if (!has_id(p->isr, p->nisr, f->id) && !p->isr_inflight && f->leo >= p->hw &&
        f->leo >= p->epoch_start_offset && meta_broker(&b->meta, f->id)) {
        int32_t *isr = malloc((size_t)(p->nisr + 1) * sizeof *isr);
        memcpy(isr, p->isr, (size_t)p->nisr * sizeof *isr);
        isr[p->nisr] = f->id;
        alter_isr(b, p, isr, p->nisr + 1, true);
        free(isr);
    }
    bpart_update_hw(b, p);
}

static void check_one(bpart_t *p, void *arg)
{
    bk_t *b = arg;
    if (!p->is_leader || p->isr_inflight || p->nisr <= 1)
        return;
    int64_t now = mono_ms();
    int64_t leo = plog_end_offset(p->log);
    int32_t *isr = malloc((size_t)p->nisr * sizeof *isr);
    int32_t n = 0;
    for (int32_t i = 0; i < p->nisr; i++) {
        rfollower_t *f = follower(p, p->isr[i]);
        bool caught_up = !f || f->leo == leo || now - f->last_caught_up_ms <= b->cfg.replica_lag_time_max_ms;
        if (caught_up)
            isr[n++] = p->isr[i];
        else
            wlog_info("partition %s-%d: follower %d is out of sync (last caught up %lld ms ago)", p->topic,
                      p->partition, f->id, (long long)(now - f->last_caught_up_ms));
    }
    if (n < p->nisr && n > 0)
        alter_isr(b, p, isr, n, false);
    free(isr);
}

void repl_check_isr(bk_t *b) { bpart_foreach(b, check_one, b); }
