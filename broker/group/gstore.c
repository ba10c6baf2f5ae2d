/*
 * gstore.c - the group store: groups by id, each group's committed offsets
 * by (topic, partition), OffsetCommit's write path, offsets retention,
 * DeleteGroups and OffsetDelete, the replay of __consumer_offsets
 * (gstore_load_*, declared in coord.h), and the environment (clock,
 * coordinator checks, appends, timer) everything runs in.
 *
 * Offsets expire the way Kafka 2.1+ expires them: those of a consumer
 * group from the time it became Empty, those of an offsets-only group (no
 * protocol type) from their commit timestamp, those of a Stable consumer
 * group from their commit timestamp unless it subscribes to the topic, and
 * an explicit expire timestamp (OffsetCommit v2-v4 retention) wins.  An
 * Empty group left without offsets is removed.  Removals are written as
 * tombstones.
 *
 * A write in flight (gop_t) survives its group: when the group goes away
 * first, the write still answers whoever waits on it.
 * Thread: the network loop.
 */
#define GROUP_INTERNAL
#include "group/group.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "proto.h"
#include "util.h"
#include "wlog.h"

#define TICK_MS 100

/* ---- small helpers ---- */

void *gs_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

char *gs_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = gs_alloc(n);
    memcpy(d, s, n);
    return d;
}

int64_t gs_now(const gstore_t *s) { return s->env.now(s->env.ctx); }

static uint64_t hash_str(const char *s, uint64_t h)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

#define HASH_SEED 14695981039346656037ull

/* Kafka's storeGroup error mapping. */
int16_t gs_map_group_err(int16_t err)
{
    switch (err) {
    case KERR_NONE:
        return KERR_NONE;
    case KERR_UNKNOWN_TOPIC_OR_PARTITION:
    case KERR_NOT_ENOUGH_REPLICAS:
    case KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
        return KERR_COORDINATOR_NOT_AVAILABLE;
    case KERR_NOT_COORDINATOR:
    case KERR_NOT_LEADER_OR_FOLLOWER:
    case KERR_KAFKA_STORAGE_ERROR:
        return KERR_NOT_COORDINATOR;
    case KERR_REQUEST_TIMED_OUT:
        return KERR_REBALANCE_IN_PROGRESS;
    default:
        return KERR_UNKNOWN_SERVER_ERROR;
    }
}

/* Kafka's storeOffsets error mapping. */
static int16_t map_commit_err(int16_t err)
{
    switch (err) {
    case KERR_REQUEST_TIMED_OUT:
        return KERR_REQUEST_TIMED_OUT;
    case KERR_MESSAGE_TOO_LARGE:
    case KERR_RECORD_LIST_TOO_LARGE:
    case KERR_INVALID_FETCH_SIZE:
        return KERR_INVALID_COMMIT_OFFSET_SIZE;
    default:
        return gs_map_group_err(err);
    }
}

/* ---- groups by id ---- */

static group_t **group_slot(gstore_t *s, const char *id)
{
    group_t **pp = &s->buckets[hash_str(id, HASH_SEED) % s->nbuckets];
    while (*pp && strcmp((*pp)->id, id) != 0)
        pp = &(*pp)->next;
    return pp;
}

group_t *group_find(gstore_t *s, const char *id) { return *group_slot(s, id); }

static void groups_grow(gstore_t *s)
{
    size_t n = s->nbuckets * 2;
    group_t **nb = calloc(n, sizeof *nb);
    if (!nb)
        abort();
    for (size_t i = 0; i < s->nbuckets; i++)
        for (group_t *g = s->buckets[i], *next; g; g = next) {
            next = g->next;
            size_t h = hash_str(g->id, HASH_SEED) % n;
            g->next = nb[h];
            nb[h] = g;
        }
    free(s->buckets);
    s->buckets = nb;
    s->nbuckets = n;
}

group_t *group_create(gstore_t *s, const char *id)
{
    if (s->ngroups >= s->nbuckets * 2)
        groups_grow(s);
    group_t *g = calloc(1, sizeof *g);
    if (!g)
        abort();
    g->s = s;
    g->id = gs_strdup(id);
    g->part = s->env.partition_for(s->env.ctx, id);
    g->state = GS_EMPTY;
    g->state_ts = gs_now(s);
    g->sync_deadline = -1;
    g->nobuckets = 16;
    g->obuckets = calloc(g->nobuckets, sizeof *g->obuckets);
    if (!g->obuckets)
        abort();
    group_t **pp = group_slot(s, id);
    g->next = *pp;
    *pp = g;
    s->ngroups++;
    return g;
}

static void subscribed_free(group_t *g)
{
    for (int32_t i = 0; i < g->nsubscribed; i++)
        free(g->subscribed[i]);
    free(g->subscribed);
    g->subscribed = NULL;
    g->nsubscribed = 0;
    g->subscribed_known = false;
}

void group_clear_meta(group_t *g)
{
    group_answer_held(g, KERR_NOT_COORDINATOR);
    while (g->members) {
        gmember_t *m = g->members;
        g->members = m->next;
        group_free_member(m);
    }
    g->nmembers = 0;
    while (g->pending) {
        gpending_t *p = g->pending;
        g->pending = p->next;
        free(p->member_id);
        free(p);
    }
    g->npending = 0;
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader);
    g->protocol_type = g->protocol = g->leader = NULL;
    g->generation = 0;
    g->state_ts = -1;
    subscribed_free(g);
}

static void offsets_clear(group_t *g)
{
    for (size_t i = 0; i < g->nobuckets; i++)
        while (g->obuckets[i]) {
            goffset_t *o = g->obuckets[i];
            g->obuckets[i] = o->next;
            free(o->topic);
            free(o->v.metadata);
            free(o);
        }
    g->noffsets = 0;
}

void group_remove(gstore_t *s, group_t *g)
{
    group_t **pp = group_slot(s, g->id);
    if (*pp == g) {
        *pp = g->next;
        s->ngroups--;
    }
    for (gop_t *op = g->ops; op; op = op->next)
        op->g = NULL; /* still answers its waiter when it completes */
    group_clear_meta(g);
    offsets_clear(g);
    free(g->obuckets);
    free(g->id);
    free(g);
}

/* Every group matching pred, collected first so the caller may remove them. */
static group_t **groups_collect(gstore_t *s, bool (*pred)(const group_t *g, const void *arg), const void *arg,
                                size_t *n)
{
    group_t **v = gs_alloc(sizeof *v * (s->ngroups + 1));
    *n = 0;
    for (size_t i = 0; i < s->nbuckets; i++)
        for (group_t *g = s->buckets[i]; g; g = g->next)
            if (!pred || pred(g, arg))
                v[(*n)++] = g;
    return v;
}

/* ---- offsets ---- */

static size_t offset_hash(const group_t *g, const char *topic, int32_t partition)
{
    return (hash_str(topic, HASH_SEED) ^ (uint64_t)(uint32_t)partition * 0x9e3779b97f4a7c15ull) % g->nobuckets;
}

goffset_t *offset_find(const group_t *g, const char *topic, int32_t partition)
{
    for (goffset_t *o = g->obuckets[offset_hash(g, topic, partition)]; o; o = o->next)
        if (o->partition == partition && strcmp(o->topic, topic) == 0)
            return o;
    return NULL;
}

static void offsets_grow(group_t *g)
{
    size_t n = g->nobuckets * 2, old = g->nobuckets;
    goffset_t **ob = g->obuckets;
    g->obuckets = calloc(n, sizeof *g->obuckets);
    if (!g->obuckets)
        abort();
    g->nobuckets = n;
    for (size_t i = 0; i < old; i++)
        for (goffset_t *o = ob[i], *next; o; o = next) {
            next = o->next;
            size_t h = offset_hash(g, o->topic, o->partition);
            o->next = g->obuckets[h];
            g->obuckets[h] = o;
        }
    free(ob);
}

void offset_put(group_t *g, const char *topic, int32_t partition, const offrec_offset_t *v)
{
    goffset_t *o = offset_find(g, topic, partition);
    if (!o) {
        if (g->noffsets >= g->nobuckets * 2)
            offsets_grow(g);
        o = calloc(1, sizeof *o);
        if (!o)
            abort();
        o->topic = gs_strdup(topic);
        o->partition = partition;
        size_t h = offset_hash(g, topic, partition);
        o->next = g->obuckets[h];
        g->obuckets[h] = o;
        g->noffsets++;
    }
    char *md = gs_strdup(v->metadata ? v->metadata : "");
    free(o->v.metadata);
    o->v = *v;
    o->v.metadata = md;
}

void offset_del(group_t *g, const char *topic, int32_t partition)
{
    for (goffset_t **pp = &g->obuckets[offset_hash(g, topic, partition)]; *pp; pp = &(*pp)->next)
        if ((*pp)->partition == partition && strcmp((*pp)->topic, topic) == 0) {
            goffset_t *o = *pp;
            *pp = o->next;
            free(o->topic);
            free(o->v.metadata);
            free(o);
            g->noffsets--;
            return;
        }
}

const goffset_t *gstore_offset(const group_t *g, const char *topic, int32_t partition)
{
    return offset_find(g, topic, partition);
}

static int offset_cmp(const void *a, const void *b)
{
    const goffset_t *x = *(const goffset_t *const *)a, *y = *(const goffset_t *const *)b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

const goffset_t **gstore_offsets_sorted(const group_t *g, size_t *n)
{
    const goffset_t **v = gs_alloc(sizeof *v * (g->noffsets + 1));
    *n = 0;
    for (size_t i = 0; i < g->nobuckets; i++)
        for (const goffset_t *o = g->obuckets[i]; o; o = o->next)
            v[(*n)++] = o;
    qsort(v, *n, sizeof *v, offset_cmp);
    return v;
}

bool group_has_pending_commit(const group_t *g, const char *topic, int32_t partition)
{
    for (const gop_t *op = g->ops; op; op = op->next)
        for (int32_t i = 0; op->kind == GOP_COMMIT && i < op->noffs; i++)
            if (op->offs[i].partition == partition && (!topic || strcmp(op->offs[i].topic, topic) == 0))
                return true;
    return false;
}

static bool any_pending_commit(const group_t *g)
{
    for (const gop_t *op = g->ops; op; op = op->next)
        if (op->kind == GOP_COMMIT)
            return true;
    return false;
}

/* ---- consumer-protocol subscriptions (section 7.2): outside bytes ---- */

static bool subscribed_add(group_t *g, kstr_t topic)
{
    if (memchr(topic.ptr, 0, (size_t)topic.len))
        return false;
    for (int32_t i = 0; i < g->nsubscribed; i++)
        if (kstr_eq(topic, g->subscribed[i]))
            return true;
    char **v = realloc(g->subscribed, sizeof *v * (size_t)(g->nsubscribed + 1));
    if (!v)
        abort();
    g->subscribed = v;
    g->subscribed[g->nsubscribed++] = kstr_dup(topic);
    return true;
}

/* Version INT16 (>= 0) | Topics [STRING] | UserData NULLABLE BYTES, read as
 * v0, the prefix of every version (as Kafka reads it). */
static bool parse_subscription(group_t *g, const uint8_t *p, int32_t len)
{
    krd_t rd;
    krd_init(&rd, p, len > 0 ? (size_t)len : 0);
    if (krd_i16(&rd) < 0)
        return false;
    int32_t n = krd_array(&rd, false, false, 2);
    for (int32_t i = 0; i < n && !rd.err; i++) {
        kstr_t t = krd_str(&rd, false, false);
        if (!rd.err && !subscribed_add(g, t))
            return false;
    }
    (void)krd_bytes(&rd, false, true);
    return !rd.err;
}

void group_compute_subscribed(group_t *g)
{
    subscribed_free(g);
    if (!g->protocol_type || strcmp(g->protocol_type, "consumer") != 0 || !g->protocol || !g->members)
        return;
    for (const gmember_t *m = g->members; m; m = m->next) {
        const gproto_t *p = gmember_proto(m, g->protocol);
        if (!p || !parse_subscription(g, p->metadata, p->metadata_len)) {
            wlog_warn("group %s: unreadable subscription of member %s", g->id, m->member_id);
            subscribed_free(g);
            return;
        }
    }
    g->subscribed_known = true;
}

bool group_subscribed(const group_t *g, const char *topic)
{
    if (!g->subscribed_known)
        return true;
    for (int32_t i = 0; i < g->nsubscribed; i++)
        if (strcmp(g->subscribed[i], topic) == 0)
            return true;
    return false;
}

/* ---- lookups for the wire layer ---- */

const group_t *gstore_group(gstore_t *s, const char *group)
{
    const group_t *g = group_find(s, group);
    return g && !g->loading && g->state != GS_DEAD ? g : NULL;
}

void gstore_foreach_group(gstore_t *s, void (*fn)(const group_t *g, void *arg), void *arg)
{
    for (size_t i = 0; i < s->nbuckets; i++)
        for (const group_t *g = s->buckets[i]; g; g = g->next)
            if (!g->loading && g->state != GS_DEAD)
                fn(g, arg);
}

int16_t gstore_check(gstore_t *s, const char *group)
{
    return s ? s->env.check(s->env.ctx, group) : KERR_COORDINATOR_NOT_AVAILABLE;
}

/* ---- OffsetCommit ---- */

static void encode_offset(kwr_t *key, kwr_t *val, const char *group, const goffset_t *o)
{
    kwr_init(key, 64);
    offrec_encode_offset_key(key, group, o->topic, o->partition);
    if (val) {
        kwr_init(val, 64);
        offrec_encode_offset(val, &o->v);
    }
}

/* Write recs (keys[i] with vals[i], or tombstones when vals is NULL). */
static void append_records(gop_t *op, kwr_t *keys, kwr_t *vals, int32_t n)
{
    coord_rec_t *recs = gs_alloc(sizeof *recs * (size_t)(n + 1));
    for (int32_t i = 0; i < n; i++)
        recs[i] = (coord_rec_t){keys[i].buf, (int32_t)keys[i].len, vals ? vals[i].buf : NULL,
                                vals ? (int32_t)vals[i].len : -1};
    gop_append(op, recs, n);
    free(recs);
}

static void commit_write(group_t *g, const gcommit_t *req, int16_t *errs, gcommit_cb cb, void *arg)
{
    gstore_t *s = g->s;
    int64_t now = gs_now(s);
    gop_t *op = gop_new(g, GOP_COMMIT);
    op->cb = cb;
    op->arg = arg;
    op->errs = errs;
    op->nerrs = req->nparts;
    op->offs = gs_alloc(sizeof *op->offs * (size_t)(req->nparts + 1));
    op->idx = gs_alloc(sizeof *op->idx * (size_t)(req->nparts + 1));
    for (int32_t i = 0; i < req->nparts; i++) {
        const gcommit_part_t *p = &req->parts[i];
        if (errs[i])
            continue;
        if (p->metadata && strlen(p->metadata) > (size_t)s->conf.metadata_max) {
            errs[i] = KERR_OFFSET_METADATA_TOO_LARGE;
            continue;
        }
        goffset_t *o = &op->offs[op->noffs];
        op->idx[op->noffs++] = i;
        o->topic = gs_strdup(p->topic);
        o->partition = p->partition;
        o->v = (offrec_offset_t){p->offset, p->leader_epoch, gs_strdup(p->metadata ? p->metadata : ""),
                                 p->commit_ts >= 0 ? p->commit_ts : now,
                                 req->retention_ms > 0 ? now + req->retention_ms : -1};
    }
    if (op->noffs == 0) {
        op->errs = NULL;
        gop_free(op);
        cb(arg, errs, req->nparts);
        free(errs);
        return;
    }
    kwr_t *keys = gs_alloc(sizeof *keys * (size_t)op->noffs), *vals = gs_alloc(sizeof *vals * (size_t)op->noffs);
    int32_t n = op->noffs;
    for (int32_t i = 0; i < n; i++)
        encode_offset(&keys[i], &vals[i], g->id, &op->offs[i]);
    append_records(op, keys, vals, n); /* op may be gone from here on */
    for (int32_t i = 0; i < n; i++) {
        kwr_free(&keys[i]);
        kwr_free(&vals[i]);
    }
    free(keys);
    free(vals);
}

void gs_commit_done(gop_t *op, int16_t err)
{
    int16_t mapped = map_commit_err(err);
    group_t *g = op->g;
    if (err)
        wlog_warn("group %s: writing %d offsets failed (%s)", op->group_id, op->noffs, kerr_name(err));
    for (int32_t i = 0; i < op->noffs; i++) {
        if (!mapped && g && g->state != GS_DEAD)
            offset_put(g, op->offs[i].topic, op->offs[i].partition, &op->offs[i].v);
        op->errs[op->idx[i]] = mapped;
    }
    op->cb(op->arg, op->errs, op->nerrs);
}

void gstore_commit(gstore_t *s, const gcommit_t *req, gcommit_cb cb, void *arg)
{
    int16_t *errs = gs_alloc(sizeof *errs * (size_t)(req->nparts + 1));
    for (int32_t i = 0; i < req->nparts; i++)
        errs[i] = req->parts[i].err;
    group_t *g = group_find(s, req->group);
    int16_t err = KERR_NONE;
    if (!g && (req->generation < 0 || req->no_checks))
        g = group_create(s, req->group); /* offsets-only (simple consumer) group */
    else if (!g)
        err = KERR_ILLEGAL_GENERATION;
    if (!err && !req->no_checks)
        err = group_validate_commit(g, req);
    if (err) {
        for (int32_t i = 0; i < req->nparts; i++)
            if (!errs[i])
                errs[i] = err;
        cb(arg, errs, req->nparts);
        free(errs);
        return;
    }
    commit_write(g, req, errs, cb, arg);
}

/* ---- removals: DeleteGroups, OffsetDelete, retention ---- */

typedef struct tombs {
    kwr_t *keys;
    int32_t n;
} tombs_t;

static void tomb_offset(tombs_t *t, group_t *g, goffset_t *o)
{
    t->keys = realloc(t->keys, sizeof *t->keys * (size_t)(t->n + 1));
    if (!t->keys)
        abort();
    encode_offset(&t->keys[t->n++], NULL, g->id, o);
    offset_del(g, o->topic, o->partition);
}

/* An Empty group without offsets dies: its record gets a tombstone unless
 * it never had a generation (offsets-only groups write none). */
static bool maybe_dead(tombs_t *t, group_t *g, const char *reason)
{
    if (g->state != GS_EMPTY || g->noffsets || any_pending_commit(g))
        return false;
    group_transition(g, GS_DEAD, reason);
    if (g->generation > 0) {
        t->keys = realloc(t->keys, sizeof *t->keys * (size_t)(t->n + 1));
        if (!t->keys)
            abort();
        kwr_init(&t->keys[t->n], 32);
        offrec_encode_group_key(&t->keys[t->n++], g->id);
    }
    return true;
}

/* Write the tombstones (nobody waits for them), then drop g if dead. */
static void tombs_flush(tombs_t *t, group_t *g, bool dead)
{
    if (t->n > 0)
        append_records(gop_new(g, GOP_LOG), t->keys, NULL, t->n);
    for (int32_t i = 0; i < t->n; i++)
        kwr_free(&t->keys[i]);
    free(t->keys);
    t->keys = NULL;
    t->n = 0;
    if (dead)
        group_remove(g->s, g);
}

int16_t gstore_delete_group(gstore_t *s, const char *group)
{
    group_t *g = group_find(s, group);
    if (!g || g->loading || g->state == GS_DEAD)
        return KERR_GROUP_ID_NOT_FOUND;
    if (g->state != GS_EMPTY)
        return KERR_NON_EMPTY_GROUP;
    tombs_t t = {NULL, 0};
    size_t n;
    goffset_t **all = (goffset_t **)gstore_offsets_sorted(g, &n);
    for (size_t i = 0; i < n; i++)
        tomb_offset(&t, g, all[i]);
    free(all);
    for (gop_t *op = g->ops; op; op = op->next)
        op->g = NULL; /* commits in flight no longer land here */
    g->ops = NULL;
    maybe_dead(&t, g, "deleted");
    tombs_flush(&t, g, true);
    return KERR_NONE;
}

int16_t gstore_delete_offsets(gstore_t *s, const char *group, const char *const *topics, const int32_t *parts,
                              int32_t n, int16_t *errs)
{
    group_t *g = group_find(s, group);
    if (!g || g->loading || g->state == GS_DEAD)
        return KERR_GROUP_ID_NOT_FOUND;
    bool consumer = g->protocol_type && strcmp(g->protocol_type, "consumer") == 0;
    if (g->state != GS_EMPTY && !consumer)
        return KERR_NON_EMPTY_GROUP;
    tombs_t t = {NULL, 0};
    for (int32_t i = 0; i < n; i++) {
        errs[i] = KERR_NONE;
        if (g->state != GS_EMPTY && group_subscribed(g, topics[i])) {
            errs[i] = KERR_GROUP_SUBSCRIBED_TO_TOPIC;
            continue;
        }
        goffset_t *o = offset_find(g, topics[i], parts[i]);
        if (o)
            tomb_offset(&t, g, o);
    }
    bool dead = maybe_dead(&t, g, "its last offsets were deleted");
    tombs_flush(&t, g, dead);
    return KERR_NONE;
}

/* Kafka's GroupMetadata.removeExpiredOffsets. */
static void expire_offsets(group_t *g, int64_t now)
{
    const gconf_t *c = &g->s->conf;
    bool consumer = g->protocol_type && strcmp(g->protocol_type, "consumer") == 0;
    bool from_empty = g->protocol_type && g->state == GS_EMPTY;
    bool skip_subscribed = consumer && g->subscribed_known && g->state == GS_STABLE;
    if (!from_empty && !skip_subscribed && g->protocol_type)
        return;
    tombs_t t = {NULL, 0};
    size_t n;
    goffset_t **all = (goffset_t **)gstore_offsets_sorted(g, &n);
    for (size_t i = 0; i < n; i++) {
        goffset_t *o = all[i];
        if ((skip_subscribed && group_subscribed(g, o->topic)) || group_has_pending_commit(g, o->topic, o->partition))
            continue;
        int64_t base = from_empty && g->state_ts >= 0 ? g->state_ts : o->v.commit_ts;
        bool expired = o->v.expire_ts >= 0 ? now >= o->v.expire_ts : now - base >= c->retention_ms;
        if (expired)
            tomb_offset(&t, g, o);
    }
    free(all);
    if (t.n)
        wlog_info("group %s: %d expired offsets removed", g->id, t.n);
    bool dead = maybe_dead(&t, g, "no offsets left after expiry");
    tombs_flush(&t, g, dead);
}

static bool is_live(const group_t *g, const void *arg)
{
    (void)arg;
    return !g->loading && g->state != GS_DEAD;
}

void gstore_tick(gstore_t *s)
{
    int64_t now = gs_now(s);
    size_t n;
    group_t **v = groups_collect(s, is_live, NULL, &n);
    for (size_t i = 0; i < n; i++)
        group_tick(v[i], now);
    if (now >= s->next_retention) {
        s->next_retention = now + s->conf.retention_check_ms;
        for (size_t i = 0; i < n; i++)
            expire_offsets(v[i], now);
    }
    free(v);
}

/* ---- replay ---- */

static group_t *load_get(gstore_t *s, int32_t part, const char *id)
{
    group_t *g = group_find(s, id);
    if (g && !g->loading) {
        wlog_warn("group %s: dropping a live copy while its partition %d replays", id, part);
        group_remove(s, g);
        g = NULL;
    }
    if (!g) {
        g = group_create(s, id);
        g->loading = true;
        g->state_ts = -1;
    }
    g->part = part;
    return g;
}

void gstore_load_offset(gstore_t *s, int32_t part, const offrec_key_t *k, const offrec_offset_t *v)
{
    if (!s || !k || k->kind != OFFREC_OFFSET || !k->group || !k->topic)
        return;
    group_t *g = load_get(s, part, k->group);
    if (v)
        offset_put(g, k->topic, k->partition, v);
    else
        offset_del(g, k->topic, k->partition);
}

static void load_members(group_t *g, const offrec_group_t *r)
{
    gmember_t **tail = &g->members;
    for (int32_t i = 0; i < r->nmembers; i++) {
        const offrec_member_t *om = &r->members[i];
        gmember_t *m = calloc(1, sizeof *m);
        if (!m)
            abort();
        m->member_id = gs_strdup(om->member_id ? om->member_id : "");
        m->instance_id = om->instance_id ? gs_strdup(om->instance_id) : NULL;
        m->client_id = gs_strdup(om->client_id ? om->client_id : "");
        m->client_host = gs_strdup(om->client_host ? om->client_host : "");
        m->session_timeout = om->session_timeout;
        m->rebalance_timeout = om->rebalance_timeout;
        m->protos = gs_alloc(sizeof *m->protos);
        m->nprotos = 1;
        m->protos[0].name = gs_strdup(r->protocol ? r->protocol : "");
        m->protos[0].metadata_len = om->subscription_len > 0 ? om->subscription_len : 0;
        m->protos[0].metadata = gs_alloc((size_t)m->protos[0].metadata_len + 1);
        if (m->protos[0].metadata_len)
            memcpy(m->protos[0].metadata, om->subscription, (size_t)m->protos[0].metadata_len);
        if (om->assignment_len > 0) {
            m->assignment = gs_alloc((size_t)om->assignment_len);
            memcpy(m->assignment, om->assignment, (size_t)om->assignment_len);
            m->assignment_len = om->assignment_len;
        }
        *tail = m;
        tail = &m->next;
        g->nmembers++;
    }
}

void gstore_load_group(gstore_t *s, int32_t part, const char *group, const offrec_group_t *r)
{
    if (!s || !group)
        return;
    group_t *g = load_get(s, part, group);
    group_clear_meta(g);
    g->has_meta = r != NULL;
    if (!r)
        return;
    g->protocol_type = r->protocol_type && r->protocol_type[0] ? gs_strdup(r->protocol_type) : NULL;
    g->generation = r->generation;
    g->protocol = r->protocol ? gs_strdup(r->protocol) : NULL;
    g->leader = r->leader ? gs_strdup(r->leader) : NULL;
    g->state_ts = r->state_ts;
    load_members(g, r);
}

static bool in_part(const group_t *g, const void *arg) { return g->part == *(const int32_t *)arg; }

void gstore_load_done(gstore_t *s, int32_t part)
{
    if (!s)
        return;
    size_t n;
    group_t **v = groups_collect(s, in_part, &part, &n);
    for (size_t i = 0; i < n; i++) {
        group_t *g = v[i];
        if (!g->loading)
            continue;
        if (!g->has_meta && g->noffsets == 0)
            group_remove(s, g);
        else
            group_loaded(g);
    }
    free(v);
}

void gstore_unload(gstore_t *s, int32_t part)
{
    if (!s)
        return;
    size_t n;
    group_t **v = groups_collect(s, in_part, &part, &n);
    for (size_t i = 0; i < n; i++) {
        group_answer_held(v[i], KERR_NOT_COORDINATOR);
        if (!v[i]->loading)
            group_transition(v[i], GS_DEAD, "coordinator moved");
        group_remove(s, v[i]);
    }
    free(v);
    if (n)
        wlog_info("%s-%d: %zu groups unloaded", COORD_TOPIC, part, n);
}

/* ---- the store ---- */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gstore_tick(arg);
}

gstore_t *gstore_new_env(const bcfg_t *cfg, const gstore_env_t *env)
{
    gstore_t *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->env = *env;
    s->conf = (gconf_t){
        .min_session = cfg->group_min_session_timeout_ms,
        .max_session = cfg->group_max_session_timeout_ms,
        .max_size = cfg->group_max_size,
        .initial_delay = cfg->group_initial_rebalance_delay_ms,
        .metadata_max = cfg->offset_metadata_max_bytes,
        .retention_ms = (int64_t)cfg->offsets_retention_minutes * 60000,
        .retention_check_ms = cfg->offsets_retention_check_interval_ms,
    };
    s->nbuckets = 64;
    s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
    if (!s->buckets)
        abort();
    s->next_retention = gs_now(s) + s->conf.retention_check_ms;
    if (env->base) {
        struct timeval tv = {0, TICK_MS * 1000};
        if (!(s->timer = event_new(env->base, -1, EV_PERSIST, on_timer, s)) || event_add(s->timer, &tv) != 0)
            abort();
    }
    return s;
}

static int64_t env_now(void *ctx)
{
    (void)ctx;
    return now_ms();
}

static int16_t env_check(void *ctx, const char *group) { return coord_check(ctx, group, strlen(group)); }

static int32_t env_partition(void *ctx, const char *group) { return coord_partition_for(ctx, group, strlen(group)); }

static void env_append(void *ctx, const char *group, const coord_rec_t *recs, int n, coord_done_fn done, void *arg)
{
    coord_append(ctx, group, recs, n, done, arg);
}

gstore_t *gstore_new(bk_t *b)
{
    gstore_env_t env = {env_now, env_check, env_partition, env_append, b->base, b};
    return gstore_new_env(&b->cfg, &env);
}

void gstore_free(gstore_t *s)
{
    if (!s)
        return;
    if (s->timer)
        event_free(s->timer);
    size_t n;
    group_t **v = groups_collect(s, NULL, NULL, &n);
    for (size_t i = 0; i < n; i++) {
        group_answer_held(v[i], KERR_NOT_COORDINATOR);
        group_remove(s, v[i]);
    }
    free(v);
    free(s->buckets);
    free(s);
}

bool gstore_validate(gstore_t *s)
{
    size_t count = 0;
    for (size_t i = 0; i < s->nbuckets; i++)
        for (const group_t *g = s->buckets[i]; g; g = g->next) {
            count++;
            if (g->loading)
                continue; /* half-replayed: no state to check yet */
            size_t noff = 0;
            for (size_t j = 0; j < g->nobuckets; j++)
                for (const goffset_t *o = g->obuckets[j]; o; o = o->next)
                    noff++;
            if (noff != g->noffsets || !group_check(g))
                return false;
        }
    return count == s->ngroups;
}
