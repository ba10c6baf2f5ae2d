/*
 * offsets.c - committed offsets on the wire: OffsetCommit v0-7 (answered
 * once the records are written to __consumer_offsets), OffsetFetch v0-5
 * (null topics from v2 = every committed partition; unknown = offset -1,
 * metadata "", error 0) and OffsetDelete v0.  The group store
 * (broker/group/) validates and keeps the offsets; this file decodes,
 * checks coordination (gstore_check) and encodes.
 *
 * OffsetCommit v0 is stored without group checks (Kafka's ZooKeeper-era
 * semantics, as a simple consumer's commit).  Partitions of topics the
 * metadata cache does not know get UNKNOWN_TOPIC_OR_PARTITION, as in Kafka.
 * Thread: the network loop.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "group/group.h"
#include "proto.h"

static int16_t group_id(bk_t *b, kstr_t s, char **out)
{
    *out = kstr_cstr(s);
    return *out ? gstore_check(b->groups, *out) : KERR_INVALID_GROUP_ID;
}

static bool partition_known(bk_t *b, kstr_t topic, int32_t partition)
{
    const mtopic_t *t = topic.len > 0 ? meta_topic(&b->meta, (const char *)topic.ptr, (size_t)topic.len) : NULL;
    return t && partition >= 0 && partition < t->nparts;
}

/* ---- OffsetCommit ---- */

typedef struct ctopic {
    kstr_t name; /* a view into the frame, valid until responded */
    int32_t first, n;
} ctopic_t;

typedef struct commit_req {
    kreq_t *req;
    int16_t v;
    ctopic_t *topics;
    int32_t ntopics;
    gcommit_part_t *parts;
    int32_t nparts;
} commit_req_t;

static void commit_free(commit_req_t *c)
{
    for (int32_t i = 0; i < c->nparts; i++) {
        free((char *)c->parts[i].topic);
        free((char *)c->parts[i].metadata);
    }
    free(c->parts);
    free(c->topics);
    free(c);
}

static void commit_answer(void *arg, const int16_t *errs, int32_t n)
{
    commit_req_t *c = arg;
    kwr_t wr;
    kwr_init(&wr, 128);
    if (c->v >= 3)
        kwr_i32(&wr, 0); /* ThrottleTimeMs */
    kwr_array(&wr, false, c->ntopics);
    for (int32_t t = 0; t < c->ntopics; t++) {
        kwr_kstr(&wr, false, c->topics[t].name);
        kwr_array(&wr, false, c->topics[t].n);
        for (int32_t i = c->topics[t].first; i < c->topics[t].first + c->topics[t].n; i++) {
            kwr_i32(&wr, c->parts[i].partition);
            kwr_i16(&wr, i < n ? errs[i] : KERR_UNKNOWN_SERVER_ERROR);
        }
    }
    kreq_respond(c->req, &wr);
    kwr_free(&wr);
    commit_free(c);
}

static void read_commit_partition(krd_t *rd, int16_t v, bk_t *b, kstr_t topic, gcommit_part_t *p)
{
    p->partition = krd_i32(rd);
    p->offset = krd_i64(rd);
    p->leader_epoch = v >= 6 ? krd_i32(rd) : -1;
    p->commit_ts = v == 1 ? krd_i64(rd) : -1;
    kstr_t md = krd_str(rd, false, true);
    if (rd->err)
        return;
    char *t = kstr_cstr(topic);
    p->topic = t ? t : kstr_cstr((kstr_t){NULL, 0});
    p->metadata = md.len >= 0 ? kstr_cstr(md) : NULL;
    if (!t || !partition_known(b, topic, p->partition))
        p->err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
    else if (md.len >= 0 && !p->metadata)
        p->err = KERR_INVALID_REQUEST;
}

/* Topics [Name, Partitions [...]]; false if malformed. */
static bool read_commit_topics(krd_t *rd, int16_t v, bk_t *b, commit_req_t *c)
{
    size_t min_part = 4 + 8 + 2 + (v >= 6 ? 4 : 0) + (v == 1 ? 8 : 0);
    int32_t nt = krd_array(rd, false, false, 6);
    c->topics = calloc((size_t)(nt > 0 ? nt : 1), sizeof *c->topics);
    if (!c->topics)
        abort();
    for (int32_t t = 0; t < nt && !rd->err; t++) {
        kstr_t name = krd_str(rd, false, false);
        int32_t np = krd_array(rd, false, false, min_part);
        if (rd->err)
            break;
        gcommit_part_t *parts = realloc(c->parts, sizeof *parts * (size_t)(c->nparts + np + 1));
        if (!parts)
            abort();
        c->parts = parts;
        c->topics[c->ntopics++] = (ctopic_t){name, c->nparts, 0};
        for (int32_t i = 0; i < np && !rd->err; i++) {
            gcommit_part_t *p = &c->parts[c->nparts];
            memset(p, 0, sizeof *p);
            read_commit_partition(rd, v, b, name, p);
            if (rd->err)
                break;
            c->nparts++;
            c->topics[c->ntopics - 1].n++;
        }
    }
    return !rd->err;
}

void api_offset_commit(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    krd_t *rd = &req->rd;
    int16_t v = req->api_version;
    kstr_t group = krd_str(rd, false, false);
    int32_t generation = v >= 1 ? krd_i32(rd) : -1;
    kstr_t member = v >= 1 ? krd_str(rd, false, false) : (kstr_t){NULL, 0};
    kstr_t instance = v >= 7 ? krd_str(rd, false, true) : (kstr_t){NULL, -1};
    int64_t retention = v >= 2 && v <= 4 ? krd_i64(rd) : -1;
    commit_req_t *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->req = req;
    c->v = v;
    if (rd->err || !read_commit_topics(rd, v, b, c)) {
        commit_free(c);
        kreq_close(req, "malformed OffsetCommit request");
        return;
    }
    char *gid = NULL, *mid = kstr_cstr(member), *iid = instance.len >= 0 ? kstr_cstr(instance) : NULL;
    int16_t err = group_id(b, group, &gid);
    if (!err && (!mid || (instance.len >= 0 && !iid)))
        err = KERR_INVALID_REQUEST;
    if (err) {
        int16_t *errs = malloc(sizeof *errs * (size_t)(c->nparts + 1));
        if (!errs)
            abort();
        for (int32_t i = 0; i < c->nparts; i++)
            errs[i] = c->parts[i].err == KERR_UNKNOWN_TOPIC_OR_PARTITION ? c->parts[i].err : err;
        commit_answer(c, errs, c->nparts);
        free(errs);
    } else {
        gcommit_t in = {gid, mid, iid, generation, retention, v == 0, c->parts, c->nparts};
        gstore_commit(b->groups, &in, commit_answer, c);
    }
    free(gid);
    free(mid);
    free(iid);
}

/* ---- OffsetFetch ---- */

static void fetch_partition(kwr_t *wr, int16_t v, const goffset_t *o, int32_t partition, int16_t err)
{
    kwr_i32(wr, partition);
    kwr_i64(wr, o ? o->v.offset : -1);
    if (v >= 5)
        kwr_i32(wr, o ? o->v.leader_epoch : -1);
    kwr_str(wr, false, o ? o->v.metadata : "");
    kwr_i16(wr, err);
}

/* Every committed partition, grouped by topic (null Topics, v2+). */
static void fetch_all(kwr_t *wr, int16_t v, const group_t *g)
{
    size_t n = 0;
    const goffset_t **all = g ? gstore_offsets_sorted(g, &n) : NULL;
    size_t count_at = kwr_reserve(wr, 4);
    int32_t ntopics = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(all[j]->topic, all[i]->topic) == 0)
            j++;
        kwr_str(wr, false, all[i]->topic);
        kwr_array(wr, false, (int32_t)(j - i));
        for (; i < j; i++)
            fetch_partition(wr, v, all[i], all[i]->partition, KERR_NONE);
        ntopics++;
    }
    kwr_put_i32_at(wr, count_at, ntopics);
    free(all);
}

/* The requested partitions; err (v0/v1 coordinator errors) goes to each. */
static bool fetch_listed(krd_t *rd, kwr_t *wr, int16_t v, int32_t ntopics, const group_t *g, int16_t err)
{
    kwr_array(wr, false, ntopics);
    for (int32_t t = 0; t < ntopics && !rd->err; t++) {
        kstr_t name = krd_str(rd, false, false);
        int32_t np = krd_array(rd, false, false, 4);
        char *topic = rd->err ? NULL : kstr_cstr(name);
        kwr_kstr(wr, false, name);
        kwr_array(wr, false, np);
        for (int32_t i = 0; i < np && !rd->err; i++) {
            int32_t partition = krd_i32(rd);
            const goffset_t *o = g && topic && !err ? gstore_offset(g, topic, partition) : NULL;
            fetch_partition(wr, v, o, partition, err);
        }
        free(topic);
    }
    return !rd->err;
}

void api_offset_fetch(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    krd_t *rd = &req->rd;
    int16_t v = req->api_version;
    kstr_t group = krd_str(rd, false, false);
    int32_t ntopics = krd_array(rd, false, v >= 2, 6);
    if (rd->err) {
        kreq_close(req, "malformed OffsetFetch request");
        return;
    }
    char *gid = NULL;
    int16_t err = group_id(b, group, &gid);
    const group_t *g = err ? NULL : gstore_group(b->groups, gid);
    kwr_t wr;
    kwr_init(&wr, 256);
    if (v >= 3)
        kwr_i32(&wr, 0); /* ThrottleTimeMs */
    bool ok = true;
    if (v >= 2 && err)
        kwr_array(&wr, false, 0); /* the error is top-level only */
    else if (ntopics < 0)
        fetch_all(&wr, v, g);
    else
        ok = fetch_listed(rd, &wr, v, ntopics, g, err);
    if (v >= 2)
        kwr_i16(&wr, err);
    free(gid);
    if (!ok) {
        kwr_free(&wr);
        kreq_close(req, "malformed OffsetFetch request");
        return;
    }
    kreq_respond(req, &wr);
    kwr_free(&wr);
}

/* ---- OffsetDelete ---- */

typedef struct dtopic {
    kstr_t name;
    int32_t first, n;
} dtopic_t;

typedef struct del_req {
    dtopic_t *topics;
    int32_t ntopics;
    char **names; /* per partition, "" for a topic name holding a NUL */
    int32_t *parts;
    int16_t *errs; /* preset UNKNOWN_TOPIC_OR_PARTITION, else the store's */
    int32_t n;
} del_req_t;

static void del_free(del_req_t *d)
{
    for (int32_t i = 0; i < d->n; i++)
        free(d->names[i]);
    free(d->names);
    free(d->parts);
    free(d->errs);
    free(d->topics);
}

static bool read_delete(krd_t *rd, bk_t *b, del_req_t *d)
{
    int32_t nt = krd_array(rd, false, false, 6);
    d->topics = calloc((size_t)(nt > 0 ? nt : 1), sizeof *d->topics);
    if (!d->topics)
        abort();
    for (int32_t t = 0; t < nt && !rd->err; t++) {
        kstr_t name = krd_str(rd, false, false);
        int32_t np = krd_array(rd, false, false, 4);
        if (rd->err)
            break;
        size_t cap = (size_t)(d->n + np + 1);
        d->names = realloc(d->names, sizeof *d->names * cap);
        d->parts = realloc(d->parts, sizeof *d->parts * cap);
        d->errs = realloc(d->errs, sizeof *d->errs * cap);
        if (!d->names || !d->parts || !d->errs)
            abort();
        d->topics[d->ntopics++] = (dtopic_t){name, d->n, np};
        for (int32_t i = 0; i < np; i++, d->n++) {
            char *c = kstr_cstr(name);
            d->parts[d->n] = krd_i32(rd);
            d->errs[d->n] = c && partition_known(b, name, d->parts[d->n]) ? KERR_NONE : KERR_UNKNOWN_TOPIC_OR_PARTITION;
            d->names[d->n] = c ? c : kstr_cstr((kstr_t){NULL, 0});
        }
    }
    return !rd->err;
}

/* Hand the known partitions to the store; its errors land in d->errs. */
static int16_t delete_known(bk_t *b, const char *gid, del_req_t *d)
{
    int32_t k = 0, *map = malloc(sizeof *map * (size_t)(d->n + 1)), *parts = malloc(sizeof *parts * (size_t)(d->n + 1));
    const char **names = malloc(sizeof *names * (size_t)(d->n + 1));
    int16_t *errs = malloc(sizeof *errs * (size_t)(d->n + 1));
    if (!map || !parts || !names || !errs)
        abort();
    for (int32_t i = 0; i < d->n; i++)
        if (!d->errs[i]) {
            map[k] = i;
            names[k] = d->names[i];
            parts[k++] = d->parts[i];
        }
    int16_t err = gstore_delete_offsets(b->groups, gid, names, parts, k, errs);
    for (int32_t i = 0; i < k && !err; i++)
        d->errs[map[i]] = errs[i];
    free(map);
    free(parts);
    free(names);
    free(errs);
    return err;
}

void api_offset_delete(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    krd_t *rd = &req->rd;
    kstr_t group = krd_str(rd, false, false);
    del_req_t d = {0};
    if (rd->err || !read_delete(rd, b, &d)) {
        del_free(&d);
        kreq_close(req, "malformed OffsetDelete request");
        return;
    }
    char *gid = NULL;
    int16_t err = group_id(b, group, &gid);
    if (!err)
        err = delete_known(b, gid, &d);
    kwr_t wr;
    kwr_init(&wr, 128);
    kwr_i16(&wr, err);
    kwr_i32(&wr, 0); /* ThrottleTimeMs */
    kwr_array(&wr, false, err ? 0 : d.ntopics);
    for (int32_t t = 0; t < d.ntopics && !err; t++) {
        kwr_kstr(&wr, false, d.topics[t].name);
        kwr_array(&wr, false, d.topics[t].n);
        for (int32_t i = d.topics[t].first; i < d.topics[t].first + d.topics[t].n; i++) {
            kwr_i32(&wr, d.parts[i]);
            kwr_i16(&wr, d.errs[i]);
        }
    }
    kreq_respond(req, &wr);
    kwr_free(&wr);
    del_free(&d);
    free(gid);
}
