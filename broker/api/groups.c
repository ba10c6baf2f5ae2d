/*
 * groups.c - the group membership APIs: JoinGroup v0-5, SyncGroup v0-3,
 * Heartbeat v0-3, LeaveGroup v0-1, DescribeGroups v0-4, ListGroups v0-2
 * and DeleteGroups v0-1 (all non-flexible).  Each decodes its request,
 * asks gstore_check whether this broker coordinates the group now, and
 * hands the rest to the group store (broker/group/); JoinGroup and
 * SyncGroup answers may be held there and are sent from its callbacks,
 * even when the client has gone (the server copes).
 *
 * Strings become C strings for the store: a group id holding a NUL byte is
 * INVALID_GROUP_ID, any other string holding one INVALID_REQUEST.
 * Thread: the network loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "group/group.h"
#include "proto.h"

/* The group id, checked as Kafka's validateGroupStatus does (an empty id is
 * INVALID_GROUP_ID unless allow_empty), then whether we coordinate it. */
static int16_t group_id(bk_t *b, kstr_t s, bool allow_empty, char **out)
{
    *out = kstr_cstr(s);
    if (!*out || (!allow_empty && !**out))
        return KERR_INVALID_GROUP_ID;
    return gstore_check(b->groups, *out);
}

/* "/ip" from "ip:port", as Kafka shows a client's host. */
static void client_host(const kreq_t *req, char *out, size_t n)
{
    const char *colon = strrchr(req->peer, ':');
    int len = colon ? (int)(colon - req->peer) : (int)strlen(req->peer);
    snprintf(out, n, "/%.*s", len, req->peer);
}

/* ---- JoinGroup ---- */

typedef struct held {
    kreq_t *req;
    int16_t v;
} held_t;

static held_t *held_new(kreq_t *req)
{
    held_t *h = malloc(sizeof *h);
    if (!h)
        abort();
    h->req = req;
    h->v = req->api_version;
    return h;
}

static void join_answer(void *arg, const gjoin_result_t *r)
{
    held_t *h = arg;
    kwr_t wr;
    kwr_init(&wr, 128);
    if (h->v >= 2)
        kwr_i32(&wr, 0); /* ThrottleTimeMs */
    kwr_i16(&wr, r->err);
    kwr_i32(&wr, r->generation);
    kwr_str(&wr, false, r->protocol ? r->protocol : "");
    kwr_str(&wr, false, r->leader ? r->leader : "");
    kwr_str(&wr, false, r->member_id ? r->member_id : "");
    kwr_array(&wr, false, r->nmembers);
    for (int32_t i = 0; i < r->nmembers; i++) {
        kwr_str(&wr, false, r->members[i].member_id);
        if (h->v >= 5)
            kwr_str(&wr, false, r->members[i].instance_id);
        kwr_bytes(&wr, false, r->members[i].metadata, r->members[i].metadata_len);
    }
    kreq_respond(h->req, &wr);
    kwr_free(&wr);
    free(h);
}

typedef struct join_in {
    char *group, *member_id, *instance_id, *protocol_type, *client_id;
    gproto_t *protos;
    int32_t nprotos;
} join_in_t;

static void join_in_free(join_in_t *j)
{
    free(j->group);
    free(j->member_id);
    free(j->instance_id);
    free(j->protocol_type);
    free(j->client_id);
    for (int32_t i = 0; i < j->nprotos; i++)
        free(j->protos[i].name);
    free(j->protos);
}

/* Protocols [Name STRING, Metadata BYTES]; false if malformed. */
static bool read_protocols(krd_t *rd, join_in_t *j, bool *bad)
{
    int32_t n = krd_array(rd, false, false, 6);
    j->protos = calloc((size_t)(n > 0 ? n : 1), sizeof *j->protos);
    if (!j->protos)
        abort();
    for (int32_t i = 0; i < n && !rd->err; i++) {
        kstr_t name = krd_str(rd, false, false);
        kstr_t meta = krd_bytes(rd, false, false);
        if (rd->err)
            break;
        gproto_t *p = &j->protos[j->nprotos++];
        if (!(p->name = kstr_cstr(name))) {
            p->name = kstr_cstr((kstr_t){NULL, 0});
            *bad = true;
        }
        p->metadata = (uint8_t *)meta.ptr; /* a view: the store copies */
        p->metadata_len = meta.len;
    }
    return !rd->err;
}

void api_join_group(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    krd_t *rd = &req->rd;
    int16_t v = req->api_version;
    kstr_t group = krd_str(rd, false, false);
    int32_t session = krd_i32(rd);
    int32_t rebalance = v >= 1 ? krd_i32(rd) : session;
    kstr_t member = krd_str(rd, false, false);
    kstr_t instance = v >= 5 ? krd_str(rd, false, true) : (kstr_t){NULL, -1};
    kstr_t ptype = krd_str(rd, false, false);
    join_in_t j = {0};
    bool bad = false;
    if (rd->err || !read_protocols(rd, &j, &bad)) {
        join_in_free(&j);
        kreq_close(req, "malformed JoinGroup request");
        return;
    }
    j.member_id = kstr_cstr(member);
    j.instance_id = instance.len >= 0 ? kstr_cstr(instance) : NULL;
    j.protocol_type = kstr_cstr(ptype);
    j.client_id = kstr_cstr(req->client_id);
    bad = bad || !j.member_id || (instance.len >= 0 && !j.instance_id) || !j.protocol_type || !j.client_id;
    int16_t err = group_id(b, group, false, &j.group);
    if (!err && bad)
        err = KERR_INVALID_REQUEST;
    held_t *h = held_new(req);
    if (err) {
        gjoin_result_t r = {err, -1, "", "", j.member_id ? j.member_id : "", NULL, 0};
        join_answer(h, &r);
    } else {
        char host[80];
        client_host(req, host, sizeof host);
        gjoin_t in = {j.group,    j.member_id,     j.instance_id, j.client_id, host,
                      session,    rebalance,       j.protocol_type, j.protos,  j.nprotos,
                      v >= 4};
        gstore_join(b->groups, &in, join_answer, h);
    }
    join_in_free(&j);
}

/* ---- SyncGroup ---- */

static void sync_answer(void *arg, int16_t err, const uint8_t *assignment, int32_t len)
{
    held_t *h = arg;
    kwr_t wr;
    kwr_init(&wr, 64);
    if (h->v >= 1)
        kwr_i32(&wr, 0); /* ThrottleTimeMs */
    kwr_i16(&wr, err);
    kwr_bytes(&wr, false, assignment, assignment ? len : 0);
    kreq_respond(h->req, &wr);
    kwr_free(&wr);
    free(h);
}

/* Assignments [MemberId STRING, Assignment BYTES]; false if malformed. */
static bool read_assignments(krd_t *rd, gassign_t **out, int32_t *nout, bool *bad)
{
    int32_t n = krd_array(rd, false, false, 6);
    gassign_t *a = calloc((size_t)(n > 0 ? n : 1), sizeof *a);
    if (!a)
        abort();
    *out = a;
    *nout = 0;
    for (int32_t i = 0; i < n && !rd->err; i++) {
        kstr_t id = krd_str(rd, false, false);
        kstr_t bytes = krd_bytes(rd, false, false);
        if (rd->err)
            break;
        char *cid = kstr_cstr(id);
        *bad = *bad || !cid;
        a[(*nout)++] = (gassign_t){cid ? cid : kstr_cstr((kstr_t){NULL, 0}), bytes.ptr, bytes.len};
    }
    return !rd->err;
}

static void assignments_free(gassign_t *a, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        free((char *)a[i].member_id);
    free(a);
}

void api_sync_group(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    krd_t *rd = &req->rd;
    int16_t v = req->api_version;
    kstr_t group = krd_str(rd, false, false);
    int32_t generation = krd_i32(rd);
    kstr_t member = krd_str(rd, false, false);
    kstr_t instance = v >= 3 ? krd_str(rd, false, true) : (kstr_t){NULL, -1};
    gassign_t *assign = NULL;
    int32_t nassign = 0;
    bool bad = false;
    if (rd->err || !read_assignments(rd, &assign, &nassign, &bad)) {
        assignments_free(assign, nassign);
        kreq_close(req, "malformed SyncGroup request");
        return;
    }
    char *gid = NULL, *mid = kstr_cstr(member), *iid = instance.len >= 0 ? kstr_cstr(instance) : NULL;
    int16_t err = group_id(b, group, false, &gid);
    if (!err && (bad || !mid || (instance.len >= 0 && !iid)))
        err = KERR_INVALID_REQUEST;
    held_t *h = held_new(req);
    if (err) {
        sync_answer(h, err, NULL, 0);
    } else {
        gsync_t in = {gid, mid, iid, generation, assign, nassign};
        gstore_sync(b->groups, &in, sync_answer, h);
    }
    free(gid);
    free(mid);
    free(iid);
    assignments_free(assign, nassign);
}

/* ---- Heartbeat, LeaveGroup ---- */

static void respond_error(kreq_t *req, bool throttle, int16_t err)
{
    kwr_t wr;
    kwr_init(&wr, 16);
    if (throttle)
        kwr_i32(&wr, 0); /* ThrottleTimeMs */
    kwr_i16(&wr, err);
    kreq_respond(req, &wr);
    kwr_free(&wr);
}

void api_heartbeat(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    krd_t *rd = &req->rd;
    int16_t v = req->api_version;
    kstr_t group = krd_str(rd, false, false);
    int32_t generation = krd_i32(rd);
    kstr_t member = krd_str(rd, false, false);
    kstr_t instance = v >= 3 ? krd_str(rd, false, true) : (kstr_t){NULL, -1};
    if (rd->err) {
        kreq_close(req, "malformed Heartbeat request");
        return;
    }
    char *gid = NULL, *mid = kstr_cstr(member), *iid = instance.len >= 0 ? kstr_cstr(instance) : NULL;
    int16_t err = group_id(b, group, false, &gid);
    if (!err && (!mid || (instance.len >= 0 && !iid)))
        err = KERR_INVALID_REQUEST;
    if (!err)
        err = gstore_heartbeat(b->groups, gid, generation, mid, iid);
    respond_error(req, v >= 1, err);
    free(gid);
    free(mid);
    free(iid);
}

void api_leave_group(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    krd_t *rd = &req->rd;
    kstr_t group = krd_str(rd, false, false);
    kstr_t member = krd_str(rd, false, false);
    if (rd->err) {
        kreq_close(req, "malformed LeaveGroup request");
        return;
    }
    char *gid = NULL, *mid = kstr_cstr(member);
    int16_t err = group_id(b, group, false, &gid);
    if (!err && !mid)
        err = KERR_INVALID_REQUEST;
    if (!err)
        err = gstore_leave(b->groups, gid, mid);
    respond_error(req, req->api_version >= 1, err);
    free(gid);
    free(mid);
}

/* ---- DescribeGroups ---- */

static void describe_member(kwr_t *wr, int16_t v, const group_t *g, const gmember_t *m)
{
    bool stable = g->state == GS_STABLE;
    const gproto_t *p = stable ? gmember_proto(m, g->protocol) : NULL;
    kwr_str(wr, false, m->member_id);
    if (v >= 4)
        kwr_str(wr, false, m->instance_id);
    kwr_str(wr, false, m->client_id);
    kwr_str(wr, false, m->client_host);
    kwr_bytes(wr, false, p ? p->metadata : NULL, p ? p->metadata_len : 0);
    kwr_bytes(wr, false, stable ? m->assignment : NULL, stable ? m->assignment_len : 0);
}

/* Kafka's GroupSummary: metadata, assignment and protocol in Stable only;
 * an unknown group is "Dead" with error 0. */
static void describe_group(kwr_t *wr, int16_t v, kstr_t name, int16_t err, const group_t *g)
{
    kwr_i16(wr, err);
    kwr_kstr(wr, false, name);
    kwr_str(wr, false, err ? "" : g ? gstate_name(g->state) : "Dead");
    kwr_str(wr, false, g && g->protocol_type ? g->protocol_type : "");
    kwr_str(wr, false, g && g->state == GS_STABLE && g->protocol ? g->protocol : "");
    kwr_array(wr, false, g ? g->nmembers : 0);
    for (const gmember_t *m = g ? g->members : NULL; m; m = m->next)
        describe_member(wr, v, g, m);
    if (v >= 3)
        kwr_i32(wr, INT32_MIN); /* AuthorizedOperations: not requested/supported */
}

void api_describe_groups(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    krd_t *rd = &req->rd;
    int16_t v = req->api_version;
    int32_t n = krd_array(rd, false, false, 2);
    kstr_t *names = calloc((size_t)(n > 0 ? n : 1), sizeof *names);
    if (!names)
        abort();
    for (int32_t i = 0; i < n && !rd->err; i++)
        names[i] = krd_str(rd, false, false);
    if (v >= 3)
        (void)krd_bool(rd); /* IncludeAuthorizedOperations */
    if (rd->err) {
        free(names);
        kreq_close(req, "malformed DescribeGroups request");
        return;
    }
    kwr_t wr;
    kwr_init(&wr, 256);
    if (v >= 1)
        kwr_i32(&wr, 0); /* ThrottleTimeMs */
    kwr_array(&wr, false, n);
    for (int32_t i = 0; i < n; i++) {
        char *gid = NULL;
        int16_t err = group_id(b, names[i], true, &gid);
        describe_group(&wr, v, names[i], err, err ? NULL : gstore_group(b->groups, gid));
        free(gid);
    }
    free(names);
    kreq_respond(req, &wr);
    kwr_free(&wr);
}

/* ---- ListGroups ---- */

typedef struct list_acc {
    kwr_t *wr;
    int32_t n;
} list_acc_t;

static void list_one(const group_t *g, void *arg)
{
    list_acc_t *a = arg;
    kwr_str(a->wr, false, g->id);
    kwr_str(a->wr, false, g->protocol_type ? g->protocol_type : "");
    a->n++;
}

void api_list_groups(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    kwr_t wr;
    kwr_init(&wr, 128);
    if (req->api_version >= 1)
        kwr_i32(&wr, 0); /* ThrottleTimeMs */
    kwr_i16(&wr, !b->groups       ? KERR_COORDINATOR_NOT_AVAILABLE
                 : coord_loading(b) ? KERR_COORDINATOR_LOAD_IN_PROGRESS
                                    : KERR_NONE);
    size_t count_at = kwr_reserve(&wr, 4);
    list_acc_t acc = {&wr, 0};
    if (b->groups)
        gstore_foreach_group(b->groups, list_one, &acc);
    kwr_put_i32_at(&wr, count_at, acc.n);
    kreq_respond(req, &wr);
    kwr_free(&wr);
}

/* ---- DeleteGroups ---- */

void api_delete_groups(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    krd_t *rd = &req->rd;
    int32_t n = krd_array(rd, false, false, 2);
    kstr_t *names = calloc((size_t)(n > 0 ? n : 1), sizeof *names);
    if (!names)
        abort();
    for (int32_t i = 0; i < n && !rd->err; i++)
        names[i] = krd_str(rd, false, false);
    if (rd->err) {
        free(names);
        kreq_close(req, "malformed DeleteGroups request");
        return;
    }
    kwr_t wr;
    kwr_init(&wr, 128);
    kwr_i32(&wr, 0); /* ThrottleTimeMs */
    kwr_array(&wr, false, n);
    for (int32_t i = 0; i < n; i++) {
        char *gid = NULL;
        int16_t err = group_id(b, names[i], true, &gid);
        if (!err)
            err = gstore_delete_group(b->groups, gid);
        kwr_kstr(&wr, false, names[i]);
        kwr_i16(&wr, err);
        free(gid);
    }
    free(names);
    kreq_respond(req, &wr);
    kwr_free(&wr);
}
