/*
 * ctlmsg.c - encoders and decoders of the controller<->broker request and
 * response bodies (LeaderAndIsr v3, UpdateMetadata v5, StopReplica v1,
 * ControlledShutdown v2, AlterPartition v1), field for field as Kafka's
 * schemas list them.
 *
 * Owns: nothing long-lived; decoded messages are owned by the caller and
 * released with the matching _free.
 * Invariants: every array count goes through krd_array with the smallest
 * possible wire size of one element, so a count larger than the bytes left
 * fails before anything is allocated; a decoder that fails frees what it
 * built and leaves its output zeroed.
 * Thread: any; no shared state.
 */
#include "ctlmsg.h"

#include <stdlib.h>
#include <string.h>

/* Smallest wire size of one array element, for krd_array's count check. */
enum {
    MIN_TOPIC = 2 + 4,                       /* name, partitions count */
    MIN_LAIR_PART = 4 * 4 + 4 + 4 + 4 * 3 + 1, /* 4 ints, Isr, PartitionEpoch, 3 arrays, IsNew */
    MIN_UM_PART = 4 * 4 + 4 + 4 + 4 + 4,     /* 4 ints, Isr, ZkVersion, Replicas, Offline */
    MIN_LEADER = 4 + 2 + 4,
    MIN_BROKER = 4 + 4 + 2,
    MIN_ENDPOINT = 4 + 2 + 2 + 2,
    MIN_PERR = 2 + 4 + 2,
    MIN_REMAINING = 2 + 4,
};

#define SECURITY_PROTOCOL_PLAINTEXT 0

/* ---- grouping parts by topic for the wire ---- */

/* Sorts pointers to topic-name slots by name; ties keep array order, since
 * all pointers point into one array. */
static int cmp_topic_slot(const void *a, const void *b)
{
    const char *const *x = *(const char *const *const *)a;
    const char *const *y = *(const char *const *const *)b;
    int c = strcmp(*x ? *x : "", *y ? *y : "");
    if (c)
        return c;
    return x < y ? -1 : x > y;
}

/*
 * Order in which to write n items whose topic names live at
 * base + i*stride (a char * field of an array of structs).  Returns a
 * malloc'd index array, or NULL when n == 0 or out of memory.
 */
static int *group_order(const void *base, size_t stride, int n)
{
    if (n <= 0)
        return NULL;
    const char *const **slots = malloc((size_t)n * sizeof *slots);
    int *order = malloc((size_t)n * sizeof *order);
    if (!slots || !order) {
        free(slots);
        free(order);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        slots[i] = (const char *const *)((const char *)base + (size_t)i * stride);
    qsort(slots, (size_t)n, sizeof *slots, cmp_topic_slot);
    for (int i = 0; i < n; i++)
        order[i] = (int)(((const char *)slots[i] - (const char *)base) / stride);
    free(slots);
    return order;
}

static const char *str_or_empty(const char *s) { return s ? s : ""; }

static void write_i32s(kwr_t *wr, const int32_t *v, int n)
{
    kwr_array(wr, false, n);
    for (int i = 0; i < n; i++)
        kwr_i32(wr, v[i]);
}

/* ---- shared decode helpers ---- */

static int read_i32s(krd_t *rd, int32_t **out, int *n)
{
    int32_t cnt = krd_array(rd, false, false, 4);
    *out = NULL;
    *n = 0;
    if (rd->err)
        return -1;
    if (cnt == 0)
        return 0;
    int32_t *v = malloc((size_t)cnt * sizeof *v);
    if (!v)
        return -1;
    for (int32_t i = 0; i < cnt; i++)
        v[i] = krd_i32(rd);
    *out = v;
    *n = cnt;
    return rd->err ? -1 : 0;
}

static int skip_i32s(krd_t *rd)
{
    int32_t cnt = krd_array(rd, false, false, 4);
    krd_skip(rd, (size_t)cnt * 4);
    return rd->err ? -1 : 0;
}

/* A wire string as a C string; NULL if it holds a NUL byte, which would
 * silently shorten a topic or host name. */
static char *name_dup(kstr_t s)
{
    if (s.len > 0 && memchr(s.ptr, 0, (size_t)s.len))
        return NULL;
    return kstr_dup(s);
}

/* Non-null STRING as a fresh C string; NULL on error (rd->err set on short input). */
static char *read_str(krd_t *rd)
{
    kstr_t s = krd_str(rd, false, false);
    if (rd->err)
        return NULL;
    char *d = name_dup(s);
    if (!d)
        rd->err = true;
    return d;
}

/* Grow an array of elements of size sz from *have to *have + more, zeroing the new part. */
static void *grow(void *arr, int have, int32_t more, size_t sz)
{
    if (more == 0)
        return arr ? arr : NULL;
    size_t total = (size_t)have + (size_t)more;
    void *n = realloc(arr, total * sz);
    if (n)
        memset((char *)n + (size_t)have * sz, 0, (size_t)more * sz);
    return n;
}

/* ---- LeaderAndIsr v3 / UpdateMetadata v5 ---- */

static void free_part(ctl_part_t *p)
{
    free(p->topic);
    free(p->isr);
    free(p->replicas);
    free(p->offline);
}

static void free_node(ctl_node_t *n)
{
    free(n->host);
    free(n->rack);
}

void ctl_state_free(ctl_state_t *s)
{
    for (int i = 0; i < s->nparts; i++)
        free_part(&s->parts[i]);
    for (int i = 0; i < s->nnodes; i++)
        free_node(&s->nodes[i]);
    free(s->parts);
    free(s->nodes);
    memset(s, 0, sizeof *s);
}

static void write_part(kwr_t *wr, const ctl_part_t *p, bool lair)
{
    kwr_i32(wr, p->partition);
    kwr_i32(wr, p->controller_epoch);
    kwr_i32(wr, p->leader);
    kwr_i32(wr, p->leader_epoch);
    write_i32s(wr, p->isr, p->nisr);
    kwr_i32(wr, p->zk_version);
    write_i32s(wr, p->replicas, p->nreplicas);
    if (lair) {
        kwr_array(wr, false, 0); /* AddingReplicas */
        kwr_array(wr, false, 0); /* RemovingReplicas */
        kwr_bool(wr, p->is_new);
    } else {
        write_i32s(wr, p->offline, p->noffline);
    }
}

/* TopicStates[{TopicName, PartitionStates[...]}], grouping s->parts by topic. */
static void write_topic_states(kwr_t *wr, const ctl_state_t *s, bool lair)
{
    int *order = group_order(s->parts, sizeof *s->parts, s->nparts);
    if (s->nparts > 0 && !order) {
        wr->oom = true;
        return;
    }
    size_t ntopics_at = kwr_reserve(wr, 4);
    int32_t ntopics = 0;
    for (int i = 0; i < s->nparts;) {
        const char *topic = str_or_empty(s->parts[order[i]].topic);
        int j = i;
        while (j < s->nparts && strcmp(str_or_empty(s->parts[order[j]].topic), topic) == 0)
            j++;
        kwr_str(wr, false, topic);
        kwr_array(wr, false, j - i);
        for (; i < j; i++)
            write_part(wr, &s->parts[order[i]], lair);
        ntopics++;
    }
    kwr_put_i32_at(wr, ntopics_at, ntopics);
    free(order);
}

static int read_part(krd_t *rd, ctl_part_t *p, bool lair)
{
    p->partition = krd_i32(rd);
    p->controller_epoch = krd_i32(rd);
    p->leader = krd_i32(rd);
    p->leader_epoch = krd_i32(rd);
    if (read_i32s(rd, &p->isr, &p->nisr) < 0)
        return -1;
    p->zk_version = krd_i32(rd);
    if (read_i32s(rd, &p->replicas, &p->nreplicas) < 0)
        return -1;
    if (lair) {
        if (skip_i32s(rd) < 0 || skip_i32s(rd) < 0) /* AddingReplicas, RemovingReplicas */
            return -1;
        p->is_new = krd_bool(rd);
    } else if (read_i32s(rd, &p->offline, &p->noffline) < 0) {
        return -1;
    }
    return rd->err ? -1 : 0;
}

static int read_topic_states(krd_t *rd, ctl_state_t *s, bool lair)
{
    int32_t ntopics = krd_array(rd, false, false, MIN_TOPIC);
    for (int32_t t = 0; t < ntopics && !rd->err; t++) {
        kstr_t name = krd_str(rd, false, false);
        int32_t np = krd_array(rd, false, false, lair ? MIN_LAIR_PART : MIN_UM_PART);
        if (rd->err)
            return -1;
        ctl_part_t *parts = grow(s->parts, s->nparts, np, sizeof *parts);
        if (np && !parts)
            return -1;
        s->parts = parts;
        for (int32_t i = 0; i < np; i++) {
            ctl_part_t *p = &s->parts[s->nparts++];
            if (!(p->topic = name_dup(name)) || read_part(rd, p, lair) < 0)
                return -1;
        }
    }
    return rd->err ? -1 : 0;
}

void ctl_lair_encode(kwr_t *wr, const ctl_state_t *s)
{
    kwr_i32(wr, s->controller_id);
    kwr_i32(wr, s->controller_epoch);
    kwr_i64(wr, s->broker_epoch);
    write_topic_states(wr, s, true);
    kwr_array(wr, false, s->nnodes);
    for (int i = 0; i < s->nnodes; i++) {
        kwr_i32(wr, s->nodes[i].id);
        kwr_str(wr, false, str_or_empty(s->nodes[i].host));
        kwr_i32(wr, s->nodes[i].port);
    }
}

static int read_live_leaders(krd_t *rd, ctl_state_t *s)
{
    int32_t n = krd_array(rd, false, false, MIN_LEADER);
    if (rd->err)
        return -1;
    if (n && !(s->nodes = calloc((size_t)n, sizeof *s->nodes)))
        return -1;
    for (int32_t i = 0; i < n; i++) {
        ctl_node_t *nd = &s->nodes[s->nnodes++];
        nd->id = krd_i32(rd);
        if (!(nd->host = read_str(rd)))
            return -1;
        nd->port = krd_i32(rd);
    }
    return rd->err ? -1 : 0;
}

/* Common frame of both decoders; on failure everything is released. */
static int decode_state(krd_t *rd, ctl_state_t *s, bool lair, int (*read_nodes)(krd_t *, ctl_state_t *))
{
    memset(s, 0, sizeof *s);
    s->controller_id = krd_i32(rd);
    s->controller_epoch = krd_i32(rd);
    s->broker_epoch = krd_i64(rd);
    if (rd->err || read_topic_states(rd, s, lair) < 0 || read_nodes(rd, s) < 0) {
        rd->err = true;
        ctl_state_free(s);
        return -1;
    }
    return 0;
}

int ctl_lair_decode(krd_t *rd, ctl_state_t *s) { return decode_state(rd, s, true, read_live_leaders); }

void ctl_um_encode(kwr_t *wr, const ctl_state_t *s)
{
    kwr_i32(wr, s->controller_id);
    kwr_i32(wr, s->controller_epoch);
    kwr_i64(wr, s->broker_epoch);
    write_topic_states(wr, s, false);
    kwr_array(wr, false, s->nnodes);
    for (int i = 0; i < s->nnodes; i++) {
        kwr_i32(wr, s->nodes[i].id);
        kwr_array(wr, false, 1); /* Endpoints */
        kwr_i32(wr, s->nodes[i].port);
        kwr_str(wr, false, str_or_empty(s->nodes[i].host));
        kwr_str(wr, false, "PLAINTEXT");
        kwr_i16(wr, SECURITY_PROTOCOL_PLAINTEXT);
        kwr_str(wr, false, s->nodes[i].rack);
    }
}

/* Endpoints[]: keep the PLAINTEXT listener's, else the first. */
static int read_endpoints(krd_t *rd, ctl_node_t *nd)
{
    int32_t n = krd_array(rd, false, false, MIN_ENDPOINT);
    bool have_plaintext = false;
    nd->port = -1;
    for (int32_t i = 0; i < n && !rd->err; i++) {
        int32_t port = krd_i32(rd);
        kstr_t host = krd_str(rd, false, false);
        kstr_t listener = krd_str(rd, false, false);
        (void)krd_i16(rd); /* SecurityProtocol */
        if (rd->err)
            return -1;
        bool plaintext = kstr_eq(listener, "PLAINTEXT");
        if (nd->host && (have_plaintext || !plaintext))
            continue;
        free(nd->host);
        if (!(nd->host = name_dup(host)))
            return -1;
        nd->port = port;
        have_plaintext = plaintext;
    }
    if (!rd->err && !nd->host && !(nd->host = strdup("")))
        return -1;
    return rd->err ? -1 : 0;
}

static int read_live_brokers(krd_t *rd, ctl_state_t *s)
{
    int32_t n = krd_array(rd, false, false, MIN_BROKER);
    if (rd->err)
        return -1;
    if (n && !(s->nodes = calloc((size_t)n, sizeof *s->nodes)))
        return -1;
    for (int32_t i = 0; i < n; i++) {
        ctl_node_t *nd = &s->nodes[s->nnodes++];
        nd->id = krd_i32(rd);
        if (read_endpoints(rd, nd) < 0)
            return -1;
        kstr_t rack = krd_str(rd, false, true);
        if (rd->err || (rack.len >= 0 && !(nd->rack = kstr_dup(rack))))
            return -1;
    }
    return 0;
}

int ctl_um_decode(krd_t *rd, ctl_state_t *s) { return decode_state(rd, s, false, read_live_brokers); }

/* ---- partition error lists (LeaderAndIsr v3, StopReplica v1, ControlledShutdown v2 responses) ---- */

void ctl_perr_free(ctl_perr_t *pe, int n)
{
    if (!pe)
        return;
    for (int i = 0; i < n; i++)
        free(pe[i].topic);
    free(pe);
}

static void write_perrs(kwr_t *wr, int16_t error, const ctl_perr_t *pe, int n, bool with_error)
{
    kwr_i16(wr, error);
    kwr_array(wr, false, n);
    for (int i = 0; i < n; i++) {
        kwr_str(wr, false, str_or_empty(pe[i].topic));
        kwr_i32(wr, pe[i].partition);
        if (with_error)
            kwr_i16(wr, pe[i].error);
    }
}

static int read_perrs(krd_t *rd, int16_t *error, ctl_perr_t **pe, int *n, bool with_error)
{
    *pe = NULL;
    *n = 0;
    *error = krd_i16(rd);
    int32_t cnt = krd_array(rd, false, false, with_error ? MIN_PERR : MIN_REMAINING);
    if (rd->err)
        return -1;
    ctl_perr_t *out = cnt ? calloc((size_t)cnt, sizeof *out) : NULL;
    if (cnt && !out)
        return -1;
    int got = 0;
    for (; got < cnt; got++) {
        out[got].topic = read_str(rd);
        out[got].partition = krd_i32(rd);
        out[got].error = with_error ? krd_i16(rd) : 0;
        if (rd->err) {
            ctl_perr_free(out, got + 1);
            return -1;
        }
    }
    *pe = out;
    *n = got;
    return 0;
}

void ctl_lair_resp_encode(kwr_t *wr, int16_t error, const ctl_perr_t *pe, int n)
{
    write_perrs(wr, error, pe, n, true);
}

int ctl_lair_resp_decode(krd_t *rd, int16_t *error, ctl_perr_t **pe, int *n)
{
    return read_perrs(rd, error, pe, n, true);
}

void ctl_stop_resp_encode(kwr_t *wr, int16_t error, const ctl_perr_t *pe, int n)
{
    write_perrs(wr, error, pe, n, true);
}

int ctl_stop_resp_decode(krd_t *rd, int16_t *error, ctl_perr_t **pe, int *n)
{
    return read_perrs(rd, error, pe, n, true);
}

/* ---- StopReplica v1 ---- */

void ctl_stop_free(ctl_stop_t *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->topics[i]);
    free(s->topics);
    free(s->partitions);
    memset(s, 0, sizeof *s);
}

void ctl_stop_encode(kwr_t *wr, const ctl_stop_t *s)
{
    kwr_i32(wr, s->controller_id);
    kwr_i32(wr, s->controller_epoch);
    kwr_i64(wr, s->broker_epoch);
    kwr_bool(wr, s->delete_partitions);
    int *order = group_order(s->topics, sizeof *s->topics, s->n);
    if (s->n > 0 && !order) {
        wr->oom = true;
        return;
    }
    size_t ntopics_at = kwr_reserve(wr, 4);
    int32_t ntopics = 0;
    for (int i = 0; i < s->n;) {
        const char *topic = str_or_empty(s->topics[order[i]]);
        int j = i;
        while (j < s->n && strcmp(str_or_empty(s->topics[order[j]]), topic) == 0)
            j++;
        kwr_str(wr, false, topic);
        kwr_array(wr, false, j - i);
        for (; i < j; i++)
            kwr_i32(wr, s->partitions[order[i]]);
        ntopics++;
    }
    kwr_put_i32_at(wr, ntopics_at, ntopics);
    free(order);
}

static int read_stop_topics(krd_t *rd, ctl_stop_t *s)
{
    int32_t ntopics = krd_array(rd, false, false, MIN_TOPIC);
    for (int32_t t = 0; t < ntopics && !rd->err; t++) {
        kstr_t name = krd_str(rd, false, false);
        int32_t np = krd_array(rd, false, false, 4);
        if (rd->err)
            return -1;
        if (np == 0)
            continue;
        char **topics = grow(s->topics, s->n, np, sizeof *topics);
        if (!topics)
            return -1;
        s->topics = topics;
        int32_t *parts = grow(s->partitions, s->n, np, sizeof *parts);
        if (!parts)
            return -1;
        s->partitions = parts;
        for (int32_t i = 0; i < np; i++) {
            int k = s->n++;
            s->partitions[k] = krd_i32(rd);
            if (!(s->topics[k] = name_dup(name)))
                return -1;
        }
    }
    return rd->err ? -1 : 0;
}

int ctl_stop_decode(krd_t *rd, ctl_stop_t *s)
{
    memset(s, 0, sizeof *s);
    s->controller_id = krd_i32(rd);
    s->controller_epoch = krd_i32(rd);
    s->broker_epoch = krd_i64(rd);
    s->delete_partitions = krd_bool(rd);
    if (rd->err || read_stop_topics(rd, s) < 0) {
        rd->err = true;
        ctl_stop_free(s);
        return -1;
    }
    return 0;
}

/* ---- ControlledShutdown v2 ---- */

void ctl_cs_encode(kwr_t *wr, int32_t broker_id, int64_t broker_epoch)
{
    kwr_i32(wr, broker_id);
    kwr_i64(wr, broker_epoch);
}

int ctl_cs_decode(krd_t *rd, int32_t *broker_id, int64_t *broker_epoch)
{
    *broker_id = krd_i32(rd);
    *broker_epoch = krd_i64(rd);
    return rd->err ? -1 : 0;
}

void ctl_cs_resp_encode(kwr_t *wr, int16_t error, const ctl_perr_t *remaining, int n)
{
    write_perrs(wr, error, remaining, n, false);
}

int ctl_cs_resp_decode(krd_t *rd, int16_t *error, ctl_perr_t **remaining, int *n)
{
    return read_perrs(rd, error, remaining, n, false);
}

/* ---- AlterPartition v1 (flexible) ---- */

enum {
    MIN_AP_TOPIC = 1 + 1 + 1,                 /* compact name, partitions, tags */
    MIN_AP_PART = 4 + 4 + 1 + 1 + 4 + 1,      /* index, epoch, isr, recovery, partition epoch, tags */
    MIN_AP_RPART = 4 + 2 + 4 + 4 + 1 + 1 + 4 + 1,
};

void ctl_ap_free(ctl_ap_t *r)
{
    for (int i = 0; i < r->n; i++) {
        free(r->parts[i].topic);
        free(r->parts[i].isr);
    }
    free(r->parts);
    memset(r, 0, sizeof *r);
}

static void write_cisr(kwr_t *wr, const int32_t *v, int n)
{
    kwr_array(wr, true, n);
    for (int i = 0; i < n; i++)
        kwr_i32(wr, v[i]);
}

static void write_ap_part(kwr_t *wr, const ctl_ap_part_t *p, bool resp)
{
    kwr_i32(wr, p->partition);
    if (resp) {
        kwr_i16(wr, p->error);
        kwr_i32(wr, p->leader);
    }
    kwr_i32(wr, p->leader_epoch);
    write_cisr(wr, p->isr, p->nisr);
    kwr_i8(wr, 0); /* LeaderRecoveryState: RECOVERED */
    kwr_i32(wr, p->partition_epoch);
    kwr_tags(wr);
}

/* Topics[TopicName, Partitions[...]] grouped by topic; the compact count
 * comes first, so the groups are counted before anything is written. */
static void write_ap_topics(kwr_t *wr, const ctl_ap_t *r, bool resp)
{
    int *order = group_order(r->parts, sizeof *r->parts, r->n);
    if (r->n > 0 && !order) {
        wr->oom = true;
        return;
    }
    int32_t ntopics = 0;
    for (int i = 0; i < r->n; i++)
        if (i == 0 || strcmp(str_or_empty(r->parts[order[i]].topic), str_or_empty(r->parts[order[i - 1]].topic)))
            ntopics++;
    kwr_array(wr, true, ntopics);
    for (int i = 0; i < r->n;) {
        const char *topic = str_or_empty(r->parts[order[i]].topic);
        int j = i;
        while (j < r->n && strcmp(str_or_empty(r->parts[order[j]].topic), topic) == 0)
            j++;
        kwr_str(wr, true, topic);
        kwr_array(wr, true, j - i);
        for (; i < j; i++)
            write_ap_part(wr, &r->parts[order[i]], resp);
        kwr_tags(wr);
    }
    free(order);
}

void ctl_ap_encode(kwr_t *wr, const ctl_ap_t *r)
{
    kwr_i32(wr, r->broker_id);
    kwr_i64(wr, r->broker_epoch);
    write_ap_topics(wr, r, false);
    kwr_tags(wr);
}

void ctl_ap_resp_encode(kwr_t *wr, const ctl_ap_t *r)
{
    kwr_i32(wr, 0); /* ThrottleTimeMs */
    kwr_i16(wr, r->error);
    write_ap_topics(wr, r, true);
    kwr_tags(wr);
}

static int read_cisr(krd_t *rd, int32_t **out, int *n)
{
    int32_t cnt = krd_array(rd, true, false, 4);
    *out = NULL;
    *n = 0;
    if (rd->err)
        return -1;
    if (cnt == 0)
        return 0;
    int32_t *v = malloc((size_t)cnt * sizeof *v);
    if (!v)
        return -1;
    for (int32_t i = 0; i < cnt; i++)
        v[i] = krd_i32(rd);
    *out = v;
    *n = cnt;
    return rd->err ? -1 : 0;
}

static int read_ap_part(krd_t *rd, ctl_ap_part_t *p, bool resp)
{
    p->partition = krd_i32(rd);
    p->leader = -1;
    if (resp) {
        p->error = krd_i16(rd);
        p->leader = krd_i32(rd);
    }
    p->leader_epoch = krd_i32(rd);
    if (read_cisr(rd, &p->isr, &p->nisr) < 0)
        return -1;
    (void)krd_i8(rd); /* LeaderRecoveryState */
    p->partition_epoch = krd_i32(rd);
    krd_tags(rd);
    return rd->err ? -1 : 0;
}

static int read_ap_topics(krd_t *rd, ctl_ap_t *r, bool resp)
{
    int32_t ntopics = krd_array(rd, true, false, MIN_AP_TOPIC);
    for (int32_t t = 0; t < ntopics && !rd->err; t++) {
        kstr_t name = krd_str(rd, true, false);
        int32_t np = krd_array(rd, true, false, resp ? MIN_AP_RPART : MIN_AP_PART);
        if (rd->err)
            return -1;
        ctl_ap_part_t *parts = grow(r->parts, r->n, np, sizeof *parts);
        if (np && !parts)
            return -1;
        r->parts = parts;
        for (int32_t i = 0; i < np; i++) {
            ctl_ap_part_t *p = &r->parts[r->n++];
            if (!(p->topic = name_dup(name)) || read_ap_part(rd, p, resp) < 0)
                return -1;
        }
        krd_tags(rd);
    }
    krd_tags(rd);
    return rd->err ? -1 : 0;
}

int ctl_ap_decode(krd_t *rd, ctl_ap_t *r)
{
    memset(r, 0, sizeof *r);
    r->broker_id = krd_i32(rd);
    r->broker_epoch = krd_i64(rd);
    if (rd->err || read_ap_topics(rd, r, false) < 0) {
        rd->err = true;
        ctl_ap_free(r);
        return -1;
    }
    return 0;
}

int ctl_ap_resp_decode(krd_t *rd, ctl_ap_t *r)
{
    memset(r, 0, sizeof *r);
    r->broker_id = -1;
    r->broker_epoch = -1;
    (void)krd_i32(rd); /* ThrottleTimeMs */
    r->error = krd_i16(rd);
    if (rd->err || read_ap_topics(rd, r, true) < 0) {
        rd->err = true;
        ctl_ap_free(r);
        return -1;
    }
    return 0;
}
