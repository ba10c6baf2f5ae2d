/*
 * admin.c - CreateTopics v0-4, DeleteTopics v0-3 and CreatePartitions v0-1.
 * The broker decides nothing here: it forwards the request body as it came
 * to the active controller and relays the answer.  When no controller can
 * be reached it answers every topic itself with NOT_CONTROLLER (none known)
 * or REQUEST_TIMED_OUT (the call failed), in the request's own version.
 * Thread: the network loop.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "group/coord.h"
#include "proto.h"
#include "wlog.h"

typedef struct fwd_req {
    kreq_t *req;
} fwd_req_t;

/* Skip one CreateTopics topic entry after its name. */
static void skip_create_topic(krd_t *rd)
{
    (void)krd_i32(rd); /* NumPartitions */
    (void)krd_i16(rd); /* ReplicationFactor */
    int32_t na = krd_array(rd, false, false, 8);
    for (int32_t i = 0; i < na && !rd->err; i++) {
        (void)krd_i32(rd);
        int32_t nb = krd_array(rd, false, false, 4);
        krd_skip(rd, (size_t)nb * 4);
    }
    int32_t nc = krd_array(rd, false, false, 4);
    for (int32_t i = 0; i < nc && !rd->err; i++) {
        (void)krd_str(rd, false, false);
        (void)krd_str(rd, false, true);
    }
}

static void skip_partitions_topic(krd_t *rd)
{
    (void)krd_i32(rd); /* Count */
    int32_t na = krd_array(rd, false, true, 4);
    for (int32_t i = 0; i < na && !rd->err; i++) {
        int32_t nb = krd_array(rd, false, false, 4);
        krd_skip(rd, (size_t)nb * 4);
    }
}

/* Answer every topic of the request with `err`, in the request's version. */
static void respond_error(kreq_t *req, int16_t err, const char *msg)
{
    krd_t rd;
    krd_init(&rd, req->frame, req->frame_len);
    rd.pos = req->rd.pos;
    int16_t v = req->api_version;
    int32_t n = krd_array(&rd, false, false, 2);
    kwr_t wr;
    kwr_init(&wr, 256);
    /* ThrottleTimeMs: CreateTopics v2+, DeleteTopics v1+, CreatePartitions always */
    int16_t throttle_from = req->api_key == KAPI_CREATE_TOPICS ? 2 : req->api_key == KAPI_DELETE_TOPICS ? 1 : 0;
    if (v >= throttle_from)
        kwr_i32(&wr, 0);
    size_t count_at = kwr_reserve(&wr, 4);
    int32_t written = 0;
    for (int32_t i = 0; i < n && !rd.err; i++) {
        kstr_t name = krd_str(&rd, false, false);
        if (req->api_key == KAPI_CREATE_TOPICS)
            skip_create_topic(&rd);
        else if (req->api_key == KAPI_CREATE_PARTITIONS)
            skip_partitions_topic(&rd);
        if (rd.err)
            break;
        kwr_kstr(&wr, false, name);
        kwr_i16(&wr, err);
        if ((req->api_key == KAPI_CREATE_TOPICS && v >= 1) || req->api_key == KAPI_CREATE_PARTITIONS)
            kwr_str(&wr, false, msg);
        written++;
    }
    kwr_put_i32_at(&wr, count_at, written);
    kreq_respond(req, &wr);
    kwr_free(&wr);
}

static void on_forwarded(void *arg, const uint8_t *resp, size_t len)
{
    fwd_req_t *f = arg;
    if (!resp) {
        respond_error(f->req, KERR_REQUEST_TIMED_OUT, "The controller did not answer in time.");
    } else {
        kwr_t wr = {(uint8_t *)resp, len, len, false};
        kreq_respond(f->req, &wr);
    }
    free(f);
}

/* Read the whole request: only a well-formed one is answered or forwarded. */
static bool admin_well_formed(const kreq_t *req)
{
    krd_t rd = req->rd;
    int32_t n = krd_array(&rd, false, false, 2);
    for (int32_t i = 0; i < n && !rd.err; i++) {
        (void)krd_str(&rd, false, false);
        if (req->api_key == KAPI_CREATE_TOPICS)
            skip_create_topic(&rd);
        else if (req->api_key == KAPI_CREATE_PARTITIONS)
            skip_partitions_topic(&rd);
    }
    (void)krd_i32(&rd); /* timeoutMs */
    if ((req->api_key == KAPI_CREATE_TOPICS && req->api_version >= 1) || req->api_key == KAPI_CREATE_PARTITIONS)
        (void)krd_bool(&rd); /* validateOnly */
    return !rd.err;
}

static void forward(kreq_t *req, bk_t *b)
{
    if (!admin_well_formed(req)) {
        kreq_close(req, "malformed admin request");
        return;
    }
    if (!fwd_known(b)) {
        respond_error(req, KERR_NOT_CONTROLLER, "No active controller is known.");
        return;
    }
    fwd_req_t *f = calloc(1, sizeof *f);
    f->req = req;
    char *client = kstr_dup(req->client_id);
    fwd_call(b, req->api_key, req->api_version, client, req->rd.buf + req->rd.pos, req->rd.len - req->rd.pos,
             300000, on_forwarded, f);
    free(client);
}

void api_create_topics(kreq_t *req, void *ctx) { forward(req, ctx); }
void api_delete_topics(kreq_t *req, void *ctx) { forward(req, ctx); }
void api_create_partitions(kreq_t *req, void *ctx) { forward(req, ctx); }

static void on_auto_created(void *arg, const uint8_t *resp, size_t len)
{
    char *topic = arg;
    if (!resp)
        wlog_warn("creation of topic %s: no answer from the controller", topic);
    else {
        krd_t rd;
        krd_init(&rd, resp, len);
        (void)krd_i32(&rd); /* ThrottleTimeMs */
        int32_t n = krd_array(&rd, false, false, 4);
        for (int32_t i = 0; i < n && !rd.err; i++) {
            (void)krd_str(&rd, false, false);
            int16_t err = krd_i16(&rd);
            kstr_t msg = krd_str(&rd, false, true);
            if (!rd.err && err != KERR_NONE && err != KERR_TOPIC_ALREADY_EXISTS)
                wlog_warn("creation of topic %s failed: %s %.*s", topic, kerr_name(err),
                          msg.len > 0 ? msg.len : 0, msg.len > 0 ? (const char *)msg.ptr : "");
        }
    }
    free(topic);
}

void bk_create_topic(bk_t *b, const char *topic, size_t len, int32_t nparts, int16_t rf,
                     const char *const *configs, int nconfigs)
{
    if (!fwd_known(b))
        return;
    kwr_t wr;
    kwr_init(&wr, 128);
    kwr_array(&wr, false, 1);
    kstr_t name = {(const uint8_t *)topic, (int32_t)len};
    kwr_kstr(&wr, false, name);
    kwr_i32(&wr, nparts);
    kwr_i16(&wr, rf);
    kwr_array(&wr, false, 0); /* Assignments */
    kwr_array(&wr, false, nconfigs);
    for (int i = 0; i < nconfigs; i++) {
        kwr_str(&wr, false, configs[2 * i]);
        kwr_str(&wr, false, configs[2 * i + 1]);
    }
    kwr_i32(&wr, 30000);  /* timeoutMs */
    kwr_bool(&wr, false); /* validateOnly */
    char *t = kstr_dup(name);
    wlog_info("creating topic %s with %d partitions, replication factor %d", t, nparts, rf);
    fwd_call(b, KAPI_CREATE_TOPICS, 4, "weir-broker", wr.buf, wr.len, 30000, on_auto_created, t);
    kwr_free(&wr);
}

void bk_auto_create(bk_t *b, const char *topic, size_t len)
{
    if (len == strlen(COORD_TOPIC) && memcmp(topic, COORD_TOPIC, len) == 0) {
        coord_create_topic(b);
        return;
    }
    bk_create_topic(b, topic, len, b->cfg.num_partitions, b->cfg.default_replication_factor, NULL, 0);
}
