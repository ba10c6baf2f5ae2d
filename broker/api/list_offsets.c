/*
 * list_offsets.c - ListOffsets v0-2: earliest (-2), latest (-1: the high
 * watermark, which is also the last stable offset without transactions), and
 * by timestamp: the first record whose timestamp is >= the target, found
 * through the time index and then a scan of that one batch.
 * Thread: the network loop.
 */
#include <stdlib.h>

#include "batch.h"
#include "broker.h"
#include "proto.h"

typedef struct ts_scan {
    int64_t target;
    int64_t offset, timestamp;
} ts_scan_t;

static int ts_cb(const kbatch_hdr_t *h, const krecord_t *r, void *arg)
{
    ts_scan_t *s = arg;
    int64_t ts = (h->Attributes & KBATCH_LOG_APPEND_TIME) ? h->MaxTimestamp : h->BaseTimestamp + r->TimestampDelta;
    if (ts >= s->target) {
        s->offset = h->BaseOffset + r->OffsetDelta;
        s->timestamp = ts;
        return 1;
    }
    return 0;
}

/* Offset of the first record with timestamp >= ts, below the HW; -1 if none. */
static void offset_for_time(bpart_t *p, int64_t ts, int64_t *offset, int64_t *timestamp)
{
    *offset = *timestamp = -1;
    int64_t base, max_ts;
    if (plog_find_time(p->log, ts, &base, &max_ts) != 0 || base >= p->hw)
        return;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (plog_read_copy(p->log, base, p->hw, 1, &buf, &len) != 0 || len == 0) {
        free(buf);
        return;
    }
    ts_scan_t s = {ts, -1, -1};
    if (kbatch_foreach_record(buf, len, 64u << 20, ts_cb, &s) == 1 && s.offset < p->hw) {
        *offset = s.offset;
        *timestamp = s.timestamp;
    } else if (s.offset < 0) {
        /* Compressed batch we could not scan: answer at batch granularity. */
        *offset = base;
        *timestamp = max_ts;
    }
    free(buf);
}

void api_list_offsets(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    krd_t *rd = &req->rd;
    int16_t v = req->api_version;
    (void)krd_i32(rd); /* ReplicaId */
    if (v >= 2)
        (void)krd_i8(rd); /* IsolationLevel: no transactions, LSO == HW */
    int32_t ntopics = krd_array(rd, false, false, 6);
    kwr_t wr;
    kwr_init(&wr, 256);
    if (v >= 2)
        kwr_i32(&wr, 0); /* ThrottleTimeMs */
    kwr_array(&wr, false, ntopics);
    for (int32_t i = 0; i < ntopics && !rd->err; i++) {
        kstr_t topic = krd_str(rd, false, false);
        int32_t nparts = krd_array(rd, false, false, 12);
        kwr_kstr(&wr, false, topic);
        kwr_array(&wr, false, nparts);
        for (int32_t j = 0; j < nparts && !rd->err; j++) {
            int32_t partition = krd_i32(rd);
            int64_t ts = krd_i64(rd);
            int32_t max_num = v == 0 ? krd_i32(rd) : 1;
            int16_t err = KERR_NONE;
            int64_t offset = -1, timestamp = -1;
            bpart_t *p = rd->err ? NULL : bpart_get(b, (const char *)topic.ptr, (size_t)topic.len, partition);
            if (!p || !p->is_leader || !bk_lease_valid(b)) {
                mtopic_t *t = meta_topic(&b->meta, (const char *)topic.ptr, (size_t)topic.len);
                err = (!t || partition < 0 || partition >= t->nparts) ? KERR_UNKNOWN_TOPIC_OR_PARTITION
                                                                     : KERR_NOT_LEADER_OR_FOLLOWER;
            } else if (ts == KTS_LATEST) {
                offset = p->hw;
            } else if (ts == KTS_EARLIEST) {
                offset = plog_start_offset(p->log);
            } else {
                offset_for_time(p, ts, &offset, &timestamp);
            }
            kwr_i32(&wr, partition);
            kwr_i16(&wr, err);
            if (v == 0) {
                bool any = !err && offset >= 0 && max_num > 0;
                kwr_i32(&wr, any ? 1 : 0);
                if (any)
                    kwr_i64(&wr, offset);
            } else {
                kwr_i64(&wr, timestamp);
                kwr_i64(&wr, offset);
            }
        }
    }
    if (rd->err) {
        kwr_free(&wr);
        kreq_close(req, "malformed ListOffsets request");
        return;
    }
    kreq_respond(req, &wr);
    kwr_free(&wr);
}
