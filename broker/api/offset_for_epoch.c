/*
 * offset_for_epoch.c - OffsetForLeaderEpoch v3 (internal: followers only).
 * For each partition the leader answers the end offset of the requested
 * epoch in its own lineage (Kafka's LeaderEpochFileCache.endOffsetFor):
 * the latest epoch ends at the log end offset, an older one where the next
 * higher epoch starts, with the largest epoch at or below the one asked.
 * CurrentLeaderEpoch fences requesters with an out-of-date view.
 * Thread: the network loop.
 */
#include "broker.h"
#include "proto.h"

void api_offset_for_leader_epoch(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    krd_t *rd = &req->rd;
    (void)krd_i32(rd); /* ReplicaId */
    int32_t nt = krd_array(rd, false, false, 6);
    kwr_t wr;
    kwr_init(&wr, 256);
    kwr_i32(&wr, 0); /* ThrottleTimeMs */
    kwr_array(&wr, false, nt);
    for (int32_t i = 0; i < nt && !rd->err; i++) {
        kstr_t topic = krd_str(rd, false, false);
        int32_t np = krd_array(rd, false, false, 12);
        kwr_kstr(&wr, false, topic);
        kwr_array(&wr, false, np);
        for (int32_t j = 0; j < np && !rd->err; j++) {
            int32_t partition = krd_i32(rd);
            int32_t current = krd_i32(rd);
            int32_t epoch = krd_i32(rd);
            int16_t err = KERR_NONE;
            int32_t found = -1;
            int64_t end = -1;
            bpart_t *p = rd->err ? NULL : bpart_get(b, (const char *)topic.ptr, (size_t)topic.len, partition);
            if (!p)
                err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if (!p->is_leader)
                err = KERR_NOT_LEADER_OR_FOLLOWER;
            else if (current >= 0 && current < p->leader_epoch)
                err = KERR_FENCED_LEADER_EPOCH;
            else if (current > p->leader_epoch)
                err = KERR_UNKNOWN_LEADER_EPOCH;
            else
                end = plog_epoch_end_offset(p->log, epoch, &found);
            kwr_i16(&wr, err);
            kwr_i32(&wr, partition);
            kwr_i32(&wr, found);
            kwr_i64(&wr, end);
        }
    }
    if (rd->err) {
        kwr_free(&wr);
        kreq_close(req, "malformed OffsetForLeaderEpoch request");
        return;
    }
    kreq_respond(req, &wr);
    kwr_free(&wr);
}
