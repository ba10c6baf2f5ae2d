/*
 * produce.c - Produce v0-7.  Per partition: validate the single v2 batch
 * (header, CRC-32C, counts), check leadership and min.insync.replicas for
 * acks=-1, append the producer's bytes with offsets assigned in place, and
 * answer per partition.  acks=0 gets no response at all.
 * Versions 0-2 carry the legacy message format, which these clients never
 * send once they see v3+ advertised; such partitions get UNSUPPORTED_VERSION.
 * Thread: the network loop.
 */
#include <stdlib.h>

#include "batch.h"
#include "broker.h"
#include "proto.h"
#include "util.h"
#include "wlog.h"

typedef struct presult {
    int16_t error;
    int64_t base_offset;
    int64_t log_start;
} presult_t;

static int16_t produce_one(bk_t *b, kstr_t topic, int32_t partition, kstr_t records, int16_t version,
                           int16_t acks, presult_t *res)
{
    bpart_t *p = bpart_get(b, (const char *)topic.ptr, (size_t)topic.len, partition);
    if (!p || !p->is_leader) {
        mtopic_t *t = meta_topic(&b->meta, (const char *)topic.ptr, (size_t)topic.len);
        if (!t || partition < 0 || partition >= t->nparts)
            return KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return KERR_NOT_LEADER_OR_FOLLOWER;
    }
    res->log_start = plog_start_offset(p->log);
    if (version < 3)
        return KERR_UNSUPPORTED_VERSION;
    if (records.len < 0)
        return KERR_INVALID_RECORD;
    if (records.len > p->max_message_bytes)
        return KERR_MESSAGE_TOO_LARGE;
    kbatch_hdr_t h;
    int16_t err = (int16_t)kbatch_validate_produce(records.ptr, (size_t)records.len, version, &h);
    if (err)
        return err;
    if (acks == -1 && p->nisr < p->min_insync)
        return KERR_NOT_ENOUGH_REPLICAS;
    /* The frame is ours (heap copy made by the server): rewrite in place. */
    if (plog_append(p->log, (uint8_t *)records.ptr, (size_t)records.len, p->leader_epoch, now_ms(),
                    &res->base_offset) != 0) {
        wlog_error("append to %s-%d failed", p->topic, p->partition);
        return KERR_KAFKA_STORAGE_ERROR;
    }
    bpart_update_hw(b, p);
    return KERR_NONE;
}

void api_produce(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    krd_t *rd = &req->rd;
    int16_t v = req->api_version;
    if (v >= 3)
        (void)krd_str(rd, false, true); /* TransactionalId */
    int16_t acks = krd_i16(rd);
    (void)krd_i32(rd); /* TimeoutMs */
    int32_t ntopics = krd_array(rd, false, false, 6);
    if (rd->err) {
        kreq_close(req, "malformed Produce request");
        return;
    }
    bool bad_acks = acks != -1 && acks != 0 && acks != 1;
    kwr_t wr;
    kwr_init(&wr, 256);
    kwr_array(&wr, false, ntopics);
    for (int32_t i = 0; i < ntopics && !rd->err; i++) {
        kstr_t topic = krd_str(rd, false, false);
        int32_t nparts = krd_array(rd, false, false, 8);
        kwr_kstr(&wr, false, topic);
        kwr_array(&wr, false, nparts);
        for (int32_t j = 0; j < nparts && !rd->err; j++) {
            int32_t partition = krd_i32(rd);
            kstr_t records = krd_bytes(rd, false, true);
            if (rd->err)
                break;
            presult_t res = {0, -1, -1};
            if (bad_acks)
                res.error = KERR_INVALID_REQUIRED_ACKS;
            else if (!bk_valid_topic(topic.ptr, (size_t)topic.len))
                res.error = KERR_INVALID_TOPIC_EXCEPTION;
            else
                res.error = produce_one(b, topic, partition, records, v, acks, &res);
            if (res.error)
                res.base_offset = -1;
            kwr_i32(&wr, partition);
            kwr_i16(&wr, res.error);
            kwr_i64(&wr, res.base_offset);
            if (v >= 2)
                kwr_i64(&wr, -1); /* LogAppendTimeMs: CreateTime topics */
            if (v >= 5)
                kwr_i64(&wr, res.log_start);
        }
    }
    if (rd->err) {
        kwr_free(&wr);
        kreq_close(req, "malformed Produce request");
        return;
    }
    if (v >= 1)
        kwr_i32(&wr, 0); /* ThrottleTimeMs */
    if (acks == 0)
        kreq_respond_none(req);
    else
        kreq_respond(req, &wr);
    kwr_free(&wr);
}
