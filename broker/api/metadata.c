/*
 * metadata.c - Metadata v0-4 from the controller-fed cache, with topic
 * auto-creation (auto.create.topics.enable; v4's AllowAutoTopicCreation),
 * and FindCoordinator v0-2, which answers COORDINATOR_NOT_AVAILABLE until
 * the group coordinator exists (it must be advertised from the start:
 * librdkafka enables lz4 and groups only when it is).
 * ControllerId is the answering broker: it forwards admin requests to the
 * active controller process.
 * Thread: the network loop.
 */
#include <string.h>

#include "broker.h"
#include "group/coord.h"
#include "proto.h"

bool bk_valid_topic(const uint8_t *name, size_t len)
{
    if (len == 0 || len > 249)
        return false;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

static void write_ids(kwr_t *wr, const int32_t *ids, int32_t n)
{
    kwr_array(wr, false, n);
    for (int32_t i = 0; i < n; i++)
        kwr_i32(wr, ids[i]);
}

static void write_topic(kwr_t *wr, int16_t v, const mtopic_t *t)
{
    kwr_i16(wr, KERR_NONE);
    kwr_str(wr, false, t->name);
    if (v >= 1)
        kwr_bool(wr, strcmp(t->name, "__consumer_offsets") == 0);
    kwr_array(wr, false, t->nparts);
    for (int32_t i = 0; i < t->nparts; i++) {
        const mpart_t *p = &t->parts[i];
        kwr_i16(wr, p->leader < 0 ? KERR_LEADER_NOT_AVAILABLE : KERR_NONE);
        kwr_i32(wr, i);
        kwr_i32(wr, p->leader);
        write_ids(wr, p->replicas, p->nreplicas);
        write_ids(wr, p->isr, p->nisr);
    }
}

static void write_missing(kwr_t *wr, int16_t v, kstr_t name, int16_t err)
{
    kwr_i16(wr, err);
    kwr_kstr(wr, false, name);
    if (v >= 1)
        kwr_bool(wr, false);
    kwr_array(wr, false, 0);
}

typedef struct all_ctx {
    kwr_t *wr;
    int16_t v;
    int32_t n;
} all_ctx_t;

static void count_topic(const mtopic_t *t, void *arg)
{
    (void)t;
    ((all_ctx_t *)arg)->n++;
}

static void emit_topic(const mtopic_t *t, void *arg)
{
    all_ctx_t *a = arg;
    write_topic(a->wr, a->v, t);
}

static void write_brokers(bk_t *b, kwr_t *wr, int16_t v)
{
    const meta_t *m = &b->meta;
    bool self = meta_broker(m, b->cfg.broker_id) != NULL;
    kwr_array(wr, false, m->nbrokers + (self ? 0 : 1));
    for (int i = 0; i < m->nbrokers; i++) {
        kwr_i32(wr, m->brokers[i].id);
        kwr_str(wr, false, m->brokers[i].host);
        kwr_i32(wr, m->brokers[i].port);
        if (v >= 1)
            kwr_str(wr, false, m->brokers[i].rack);
    }
    if (!self) { /* before the first UpdateMetadata, clients still need a broker */
        kwr_i32(wr, b->cfg.broker_id);
        kwr_str(wr, false, b->adv_host);
        kwr_i32(wr, b->adv_port);
        if (v >= 1)
            kwr_str(wr, false, b->cfg.broker_rack[0] ? b->cfg.broker_rack : NULL);
    }
}

void api_metadata(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    krd_t *rd = &req->rd;
    int16_t v = req->api_version;
    int32_t ntopics = krd_array(rd, false, v >= 1, 2);
    size_t topics_pos = rd->pos;
    for (int32_t i = 0; i < ntopics && !rd->err; i++)
        (void)krd_str(rd, false, false);
    bool allow_auto = v >= 4 ? krd_bool(rd) : true;
    if (rd->err) {
        kreq_close(req, "malformed Metadata request");
        return;
    }
    bool all = ntopics < 0 || (v == 0 && ntopics == 0);
    if (!bk_lease_valid(b)) {
        /* Cut off from ZooKeeper: our view may name leaders that are no
         * longer leaders.  Send the client to another broker instead. */
        kreq_close(req, "no ZooKeeper lease: metadata may be stale");
        return;
    }
    kwr_t wr;
    kwr_init(&wr, 1024);
    if (v >= 3)
        kwr_i32(&wr, 0); /* ThrottleTimeMs */
    write_brokers(b, &wr, v);
    if (v >= 2)
        kwr_str(&wr, false, b->cluster_id);
    if (v >= 1)
        kwr_i32(&wr, b->cfg.broker_id); /* ControllerId: we forward admin requests */
    if (all) {
        all_ctx_t a = {&wr, v, 0};
        meta_foreach_topic(&b->meta, count_topic, &a);
        kwr_array(&wr, false, a.n);
        meta_foreach_topic(&b->meta, emit_topic, &a);
    } else {
        krd_t tr;
        krd_init(&tr, rd->buf, rd->len);
        tr.pos = topics_pos;
        kwr_array(&wr, false, ntopics);
        for (int32_t i = 0; i < ntopics; i++) {
            kstr_t name = krd_str(&tr, false, false);
            mtopic_t *t = meta_topic(&b->meta, (const char *)name.ptr, (size_t)name.len);
            if (t) {
                write_topic(&wr, v, t);
            } else if (!bk_valid_topic(name.ptr, (size_t)name.len)) {
                write_missing(&wr, v, name, KERR_INVALID_TOPIC_EXCEPTION);
            } else if (allow_auto && b->cfg.auto_create_topics_enable) {
                bk_auto_create(b, (const char *)name.ptr, (size_t)name.len);
                write_missing(&wr, v, name, KERR_LEADER_NOT_AVAILABLE);
            } else {
                write_missing(&wr, v, name, KERR_UNKNOWN_TOPIC_OR_PARTITION);
            }
        }
    }
    kreq_respond(req, &wr);
    kwr_free(&wr);
}

void api_find_coordinator(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    krd_t *rd = &req->rd;
    int16_t v = req->api_version;
    kstr_t key = krd_str(rd, false, false);
    int8_t key_type = v >= 1 ? krd_i8(rd) : 0;
    if (rd->err) {
        kreq_close(req, "malformed FindCoordinator request");
        return;
    }
    int16_t err = KERR_NONE;
    int32_t id = -1;
    const mbroker_t *mb = NULL;
    if (key_type != 0)
        err = KERR_INVALID_REQUEST; /* transaction coordinators: no transactions here */
    else if (key.len <= 0)
        err = KERR_INVALID_GROUP_ID;
    else if ((id = coord_find(b, (const char *)key.ptr, (size_t)key.len, &err)) >= 0)
        mb = meta_broker(&b->meta, id);
    if (!mb && err == KERR_NONE)
        err = KERR_COORDINATOR_NOT_AVAILABLE;
    kwr_t wr;
    kwr_init(&wr, 64);
    if (v >= 1)
        kwr_i32(&wr, 0); /* ThrottleTimeMs */
    kwr_i16(&wr, err);
    if (v >= 1)
        kwr_str(&wr, false, err ? kerr_name(err) : NULL);
    kwr_i32(&wr, mb ? mb->id : -1);
    kwr_str(&wr, false, mb ? mb->host : "");
    kwr_i32(&wr, mb ? mb->port : -1);
    kreq_respond(req, &wr);
    kwr_free(&wr);
}
