/*
 * meta.c - the metadata cache: live brokers and every partition's leader,
 * ISR and replicas, exactly as the active controller last pushed them with
 * UpdateMetadata.  Client Metadata requests are answered from here.
 * Invariant: a topic's parts array covers partitions 0..nparts-1; entries the
 * controller has not described yet have leader -1.
 * Thread: the network loop.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "ctlmsg.h"

static uint64_t hash_name(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return h;
}

void meta_init(meta_t *m)
{
    memset(m, 0, sizeof *m);
    m->nbuckets = 256;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
}

static void mpart_clear(mpart_t *p)
{
    free(p->isr);
    free(p->replicas);
    free(p->offline);
    memset(p, 0, sizeof *p);
    p->leader = -1;
}

static void topic_free(mtopic_t *t)
{
    for (int32_t i = 0; i < t->nparts; i++)
        mpart_clear(&t->parts[i]);
    free(t->parts);
    free(t->name);
    free(t);
}

static void brokers_free(meta_t *m)
{
    for (int i = 0; i < m->nbrokers; i++) {
        free(m->brokers[i].host);
        free(m->brokers[i].rack);
    }
    free(m->brokers);
    m->brokers = NULL;
    m->nbrokers = 0;
}

void meta_free(meta_t *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        mtopic_t *t = m->buckets[i];
        while (t) {
            mtopic_t *n = t->next;
            topic_free(t);
            t = n;
        }
    }
    free(m->buckets);
    brokers_free(m);
}

mtopic_t *meta_topic(const meta_t *m, const char *name, size_t len)
{
    mtopic_t *t = m->buckets[hash_name(name, len) % m->nbuckets];
    for (; t; t = t->next)
        if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
            return t;
    return NULL;
}

const mbroker_t *meta_broker(const meta_t *m, int32_t id)
{
    for (int i = 0; i < m->nbrokers; i++)
        if (m->brokers[i].id == id)
            return &m->brokers[i];
    return NULL;
}

void meta_foreach_topic(const meta_t *m, void (*fn)(const mtopic_t *t, void *arg), void *arg)
{
    for (size_t i = 0; i < m->nbuckets; i++)
        for (const mtopic_t *t = m->buckets[i]; t; t = t->next)
            fn(t, arg);
}

static void topic_delete(meta_t *m, const char *name)
{
    mtopic_t **pp = &m->buckets[hash_name(name, strlen(name)) % m->nbuckets];
    for (; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->name, name) == 0) {
            mtopic_t *t = *pp;
            *pp = t->next;
            topic_free(t);
            m->ntopics--;
            return;
        }
    }
}

static mtopic_t *topic_upsert(meta_t *m, const char *name, int32_t partition)
{
    mtopic_t *t = meta_topic(m, name, strlen(name));
    if (!t) {
        t = calloc(1, sizeof *t);
        t->name = strdup(name);
        size_t h = hash_name(name, strlen(name)) % m->nbuckets;
        t->next = m->buckets[h];
        m->buckets[h] = t;
        m->ntopics++;
    }
    if (partition >= t->nparts) {
        mpart_t *np = realloc(t->parts, (size_t)(partition + 1) * sizeof *np);
        if (!np)
            return NULL;
        for (int32_t i = t->nparts; i <= partition; i++) {
            memset(&np[i], 0, sizeof np[i]);
            np[i].leader = -1;
        }
        t->parts = np;
        t->nparts = partition + 1;
    }
    return t;
}

static int32_t *dup_ids(const int32_t *ids, int n)
{
    if (n <= 0)
        return NULL;
    int32_t *d = malloc((size_t)n * sizeof *d);
    if (d)
        memcpy(d, ids, (size_t)n * sizeof *d);
    return d;
}

/* Apply one UpdateMetadata: the broker list is replaced, partitions upserted,
 * and a partition with leader -2 removes its topic (deletion in progress). */
void meta_apply(meta_t *m, const ctl_state_t *s)
{
    brokers_free(m);
    if (s->nnodes > 0) {
        m->brokers = calloc((size_t)s->nnodes, sizeof *m->brokers);
        for (int i = 0; i < s->nnodes; i++) {
            m->brokers[i].id = s->nodes[i].id;
            m->brokers[i].host = strdup(s->nodes[i].host ? s->nodes[i].host : "");
            m->brokers[i].port = s->nodes[i].port;
            m->brokers[i].rack = s->nodes[i].rack ? strdup(s->nodes[i].rack) : NULL;
        }
        m->nbrokers = s->nnodes;
    }
    int run_end = 0;     /* entries of one topic arrive together: [run start, run_end) */
    int32_t limit = 0;   /* partition indexes this run may use */
    for (int i = 0; i < s->nparts; i++) {
        const ctl_part_t *cp = &s->parts[i];
        if (i >= run_end) {
            for (run_end = i + 1; run_end < s->nparts && !strcmp(s->parts[run_end].topic, cp->topic); run_end++)
                ;
            /* A topic grows by at most the entries this request carries for
             * it, so a hostile index cannot make the cache allocate without bound. */
            const mtopic_t *old = meta_topic(m, cp->topic, strlen(cp->topic));
            limit = (old ? old->nparts : 0) + (run_end - i);
        }
        if (!bk_valid_topic((const uint8_t *)cp->topic, strlen(cp->topic)))
            continue;
        if (cp->leader == -2) {
            topic_delete(m, cp->topic);
            continue;
        }
        if (cp->partition < 0 || cp->partition >= limit)
            continue;
        mtopic_t *t = topic_upsert(m, cp->topic, cp->partition);
        if (!t)
            continue;
        mpart_t *p = &t->parts[cp->partition];
        mpart_clear(p);
        p->leader = cp->leader;
        p->leader_epoch = cp->leader_epoch;
        p->controller_epoch = cp->controller_epoch;
        p->zk_version = cp->zk_version;
        p->isr = dup_ids(cp->isr, cp->nisr);
        p->nisr = cp->nisr;
        p->replicas = dup_ids(cp->replicas, cp->nreplicas);
        p->nreplicas = cp->nreplicas;
        p->offline = dup_ids(cp->offline, cp->noffline);
        p->noffline = cp->noffline;
    }
}
