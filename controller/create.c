/*
 * create.c - CreateTopics v0-4 forwarded by brokers: parse, validate
 * (names, configs, counts, explicit assignments), place replicas, write
 * /config/topics/<t>, /brokers/topics/<t> and every partition state in
 * fenced multis, then LeaderAndIsr(is_new) to the replicas and
 * UpdateMetadata to all brokers; answer once the replicas acknowledged.
 *
 * Invariants: a topic enters the model only together with its znode write
 * (removed again if the write failed); everything read from the request is
 * bounds-checked by the reader before use.
 *
 * Thread: the controller's event loop only.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/admin_int.h"
#include "proto.h"
#include "wlog.h"

#define TOPIC_MAX_LEN 249

typedef struct ct_assign {
    int32_t pidx;
    int32_t n;
    int32_t *ids;
} ct_assign_t;

typedef struct ct_topic {
    int32_t nparts;
    int16_t rf;
    ct_assign_t *as;
    int32_t nas;
    zn_kv_t *cfg;
    int32_t ncfg;
    bool nul_in_name;  /* a NUL byte inside the wire string */
    zn_assignment_t a; /* the assignment to write */
} ct_topic_t;

int admin_check_topic_name(const char *name, char *msg, size_t len)
{
    size_t n = strlen(name);
    if (n == 0)
        snprintf(msg, len, "Topic name is illegal, it can't be empty");
    else if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        snprintf(msg, len, "Topic name cannot be \".\" or \"..\"");
    else if (n > TOPIC_MAX_LEN)
        snprintf(msg, len, "Topic name is illegal, it can't be longer than %d characters, topic name: %s",
                 TOPIC_MAX_LEN, name);
    else {
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)name[i];
            if (!(isascii(ch) && (isalnum(ch) || ch == '.' || ch == '_' || ch == '-'))) {
                snprintf(msg, len,
                         "Topic name \"%s\" is illegal, it contains a character other than ASCII alphanumerics, "
                         "'.', '_' and '-'",
                         name);
                return KERR_INVALID_TOPIC_EXCEPTION;
            }
        }
        return 0;
    }
    return KERR_INVALID_TOPIC_EXCEPTION;
}

enum { TC_LONG, TC_INT, TC_BOOL, TC_ENUM };
static const struct tcfg {
    const char *key;
    int kind;
    long long min;
    const char *choices; /* TC_ENUM: comma-separated */
} topic_configs[] = {
    {"cleanup.policy", TC_ENUM, 0, "delete,compact,compact+delete"},
    {"compression.type", TC_ENUM, 0, "uncompressed,zstd,lz4,snappy,gzip,producer"},
    {"retention.ms", TC_LONG, -1, NULL},
    {"retention.bytes", TC_LONG, -1, NULL},
    {"segment.bytes", TC_INT, 14, NULL},
    {"segment.ms", TC_LONG, 1, NULL},
    {"min.insync.replicas", TC_INT, 1, NULL},
    {"max.message.bytes", TC_INT, 0, NULL},
    {"message.timestamp.type", TC_ENUM, 0, "CreateTime,LogAppendTime"},
    {"unclean.leader.election.enable", TC_BOOL, 0, NULL},
};

static bool in_choices(const char *choices, const char *v, size_t vlen)
{
    const char *p = choices;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == vlen && strncmp(p, v, n) == 0)
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

/* cleanup.policy is a list: "compact,delete" and "delete,compact" are valid too. */
static bool enum_ok(const struct tcfg *d, const char *v)
{
    if (strcmp(d->key, "cleanup.policy") != 0)
        return in_choices(d->choices, v, strlen(v));
    const char *p = v;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && *p == ' ')
            p++, n--;
        while (n && p[n - 1] == ' ')
            n--;
        if (!in_choices("delete,compact", p, n))
            return false;
        if (!e)
            return true;
        p = e + 1;
    }
}

int admin_check_config(const char *key, const char *value, char *msg, size_t len)
{
    const struct tcfg *d = NULL;
    for (size_t i = 0; i < sizeof(topic_configs) / sizeof(topic_configs[0]); i++)
        if (strcmp(topic_configs[i].key, key) == 0)
            d = &topic_configs[i];
    if (!d) {
        snprintf(msg, len, "Unknown topic config name: %s", key);
        return KERR_INVALID_CONFIG;
    }
    const char *why = NULL;
    if (d->kind == TC_BOOL) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
            why = "Expected value to be either true or false";
    } else if (d->kind == TC_ENUM) {
        if (!enum_ok(d, value))
            why = "String must be one of the allowed values";
    } else {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (!*value || *end || errno)
            why = "Not a number";
        else if (v < d->min || (d->kind == TC_INT && v > INT32_MAX))
            why = "Value out of range";
    }
    if (why) {
        snprintf(msg, len, "Invalid value %s for configuration %s: %s", value, key, why);
        return KERR_INVALID_CONFIG;
    }
    return 0;
}

static void ct_free(ct_topic_t *t)
{
    for (int32_t i = 0; i < t->nas; i++)
        free(t->as[i].ids);
    free(t->as);
    zn_kv_free(t->cfg, t->ncfg);
    zn_assignment_free(&t->a);
}

/* One CreatableTopic.  Reader errors are checked by the caller. */
static void parse_topic(krd_t *rd, ct_topic_t *t, char **name)
{
    kstr_t nm = krd_str(rd, false, false);
    *name = kstr_dup(nm);
    t->nul_in_name = nm.len > 0 && memchr(nm.ptr, 0, (size_t)nm.len) != NULL;
    t->nparts = krd_i32(rd);
    t->rf = krd_i16(rd);
    int32_t na = krd_array(rd, false, false, 8);
    t->as = calloc((size_t)(na > 0 ? na : 1), sizeof(ct_assign_t));
    if (!t->as)
        abort();
    for (int32_t i = 0; i < na && !rd->err; i++, t->nas++) {
        t->as[i].pidx = krd_i32(rd);
        int32_t nb = krd_array(rd, false, false, 4);
        t->as[i].ids = calloc((size_t)(nb > 0 ? nb : 1), sizeof(int32_t));
        if (!t->as[i].ids)
            abort();
        for (int32_t j = 0; j < nb && !rd->err; j++)
            t->as[i].ids[t->as[i].n++] = krd_i32(rd);
    }
    int32_t nc = krd_array(rd, false, false, 4);
    t->cfg = calloc((size_t)(nc > 0 ? nc : 1), sizeof(zn_kv_t));
    if (!t->cfg)
        abort();
    for (int32_t i = 0; i < nc && !rd->err; i++) {
        kstr_t k = krd_str(rd, false, false);
        kstr_t v = krd_str(rd, false, true);
        if (rd->err)
            break;
        t->cfg[t->ncfg].key = kstr_dup(k);
        t->cfg[t->ncfg].value = kstr_dup(v); /* NULL for a null Value: rejected later */
        t->ncfg++;
    }
}

static bool topic_exists(ctl_t *c, const char *name)
{
    char path[512];
    struct Stat st;
    snprintf(path, sizeof(path), "/brokers/topics/%s", name);
    return cm_topic(&c->m, name) || zkc_exists(c->zk, path, false, &st) == ZOK;
}

/* Kafka refuses names that differ only in '.' vs '_' (metric names clash). */
static const char *collision(const ctl_t *c, const char *name)
{
    if (!strpbrk(name, "._"))
        return NULL;
    for (int i = 0; i < c->m.ntopics; i++) {
        const char *o = c->m.topics[i]->name;
        if (strlen(o) != strlen(name))
            continue;
        size_t k = 0;
        while (name[k] && (name[k] == o[k] || (strchr("._", name[k]) && strchr("._", o[k]))))
            k++;
        if (!name[k] && strcmp(o, name) != 0)
            return o;
    }
    return NULL;
}

static int alloc_assignment(zn_assignment_t *a, int32_t nparts)
{
    a->nparts = nparts;
    a->nreplicas = calloc((size_t)nparts, sizeof(int32_t));
    a->replicas = calloc((size_t)nparts, sizeof(int32_t *));
    if (!a->nreplicas || !a->replicas)
        abort();
    return 0;
}

/* Explicit Assignments: partition indexes exactly 0..n-1, valid lists. */
static int explicit_assignment(ctl_t *c, ct_topic_t *t, char *msg, size_t len)
{
    alloc_assignment(&t->a, t->nas);
    for (int32_t i = 0; i < t->nas; i++) {
        int32_t p = t->as[i].pidx;
        if (p < 0 || p >= t->nas || t->a.replicas[p]) {
            snprintf(msg, len, "Partitions should be a consecutive 0-based integer sequence");
            return KERR_INVALID_REPLICA_ASSIGNMENT;
        }
        t->a.nreplicas[p] = t->as[i].n;
        t->a.replicas[p] = malloc(sizeof(int32_t) * (size_t)(t->as[i].n ? t->as[i].n : 1));
        if (!t->a.replicas[p])
            abort();
        memcpy(t->a.replicas[p], t->as[i].ids, sizeof(int32_t) * (size_t)t->as[i].n);
    }
    int32_t *live = admin_live_ids(c);
    int rc = place_validate(t->a.nparts, (const int32_t *const *)t->a.replicas, t->a.nreplicas, live, c->m.nbrokers,
                            msg, len);
    free(live);
    if (rc == 0 && t->a.nreplicas[0] > ZN_MAX_ISR) {
        snprintf(msg, len, "Replication factor above %d is not supported.", ZN_MAX_ISR);
        rc = KERR_INVALID_REPLICATION_FACTOR;
    }
    return rc;
}

static int placed_assignment(ctl_t *c, ct_topic_t *t, char *msg, size_t len)
{
    if (t->rf > ZN_MAX_ISR && t->rf <= c->m.nbrokers) {
        snprintf(msg, len, "Replication factor above %d is not supported.", ZN_MAX_ISR);
        return KERR_INVALID_REPLICATION_FACTOR;
    }
    if (t->nparts > 1000000) {
        snprintf(msg, len, "Number of partitions %d is too large.", (int)t->nparts);
        return KERR_INVALID_PARTITIONS;
    }
    int32_t *out = malloc(sizeof(int32_t) * (size_t)t->nparts * (size_t)(t->rf > 0 ? t->rf : 1));
    place_broker_t *pb = admin_live_place(c);
    if (!out)
        abort();
    int rc = place_assign(pb, c->m.nbrokers, t->nparts, t->rf, 0, -1, -1, out, msg, len);
    free(pb);
    if (rc == 0) {
        alloc_assignment(&t->a, t->nparts);
        for (int32_t p = 0; p < t->nparts; p++) {
            t->a.nreplicas[p] = t->rf;
            t->a.replicas[p] = malloc(sizeof(int32_t) * (size_t)t->rf);
            if (!t->a.replicas[p])
                abort();
            memcpy(t->a.replicas[p], out + (size_t)p * (size_t)t->rf, sizeof(int32_t) * (size_t)t->rf);
        }
    }
    free(out);
    return rc;
}

static int check_configs(const ct_topic_t *t, char *msg, size_t len)
{
    for (int32_t i = 0; i < t->ncfg; i++) {
        if (!t->cfg[i].value) {
            snprintf(msg, len, "Null value not supported for topic configs: %s", t->cfg[i].key);
            return KERR_INVALID_CONFIG;
        }
        for (int32_t j = 0; j < i; j++)
            if (strcmp(t->cfg[i].key, t->cfg[j].key) == 0) {
                snprintf(msg, len, "Duplicate configuration %s", t->cfg[i].key);
                return KERR_INVALID_CONFIG;
            }
        int rc = admin_check_config(t->cfg[i].key, t->cfg[i].value, msg, len);
        if (rc)
            return rc;
    }
    return 0;
}

static int validate_topic(ctl_t *c, ct_topic_t *t, const char *name, char *msg, size_t len)
{
    if (!c->active) {
        snprintf(msg, len, "This controller is not active.");
        return KERR_NOT_CONTROLLER;
    }
    if (t->nul_in_name) {
        snprintf(msg, len, "Topic name is illegal, it contains a NUL character");
        return KERR_INVALID_TOPIC_EXCEPTION;
    }
    int rc = admin_check_topic_name(name ? name : "", msg, len);
    if (rc)
        return rc;
    if (topic_exists(c, name)) {
        snprintf(msg, len, "Topic '%s' already exists.", name);
        return KERR_TOPIC_ALREADY_EXISTS;
    }
    const char *other = collision(c, name);
    if (other) {
        snprintf(msg, len, "Topic '%s' collides with existing topic: %s", name, other);
        return KERR_INVALID_TOPIC_EXCEPTION;
    }
    if (t->nas > 0 && (t->nparts != -1 || t->rf != -1)) {
        snprintf(msg, len, "Both numPartitions or replicationFactor and replicasAssignments were set. "
                           "Both cannot be used at the same time.");
        return KERR_INVALID_REQUEST;
    }
    if ((rc = check_configs(t, msg, len)))
        return rc;
    if (t->nas > 0)
        return explicit_assignment(c, t, msg, len);
    if (t->nparts == -1)
        t->nparts = c->cfg.num_partitions;
    if (t->rf == -1)
        t->rf = c->cfg.default_replication_factor;
    if (t->nparts <= 0) {
        snprintf(msg, len, "Number of partitions was set to an invalid non-positive value.");
        return KERR_INVALID_PARTITIONS;
    }
    if (t->rf <= 0) {
        snprintf(msg, len, "Replication factor must be larger than 0.");
        return KERR_INVALID_REPLICATION_FACTOR;
    }
    if (strcmp(name, "__consumer_offsets") == 0 && t->rf > c->m.nbrokers && c->m.nbrokers > 0) {
        /* Kafka's rule for dev clusters: the offsets topic is created with
         * what is there rather than not at all. */
        wlog_warn("creating __consumer_offsets with replication factor %d: only %d broker(s) alive, "
                  "fewer than offsets.topic.replication.factor %d",
                  c->m.nbrokers, c->m.nbrokers, (int)t->rf);
        t->rf = (int16_t)c->m.nbrokers;
    }
    return placed_assignment(c, t, msg, len);
}

/* Znodes and model for one validated topic; LeaderAndIsr tags into pt. */
static void create_topic(ctl_t *c, ct_topic_t *ct, pend_topic_t *pt)
{
    const char *name = pt->name;
    char path[1024];
    if (zkc_random_uuid(ct->a.topic_id) != 0) {
        pend_set(pt, KERR_UNKNOWN_SERVER_ERROR, "Cannot generate a topic id.");
        return;
    }
    cbatch_t b = {0};
    char *cj = zn_config_encode(ct->cfg, ct->ncfg);
    char *aj = zn_assignment_encode(&ct->a);
    struct Stat st;
    snprintf(path, sizeof(path), "/config/topics/%s", name);
    if (zkc_exists(c->zk, path, false, &st) == ZOK)
        zkw_set(&b.w, path, cj, -1);
    else
        zkw_create(&b.w, path, cj);
    snprintf(path, sizeof(path), "/brokers/topics/%s", name);
    int topic_op = b.w.n;
    zkw_create(&b.w, path, aj);
    snprintf(path, sizeof(path), "/brokers/topics/%s/partitions", name);
    zkw_create(&b.w, path, NULL);
    free(cj);
    free(aj);
    ctopic_t *t = cm_topic_add(&c->m, name);
    cm_topic_set_assignment(t, &ct->a);
    cm_topic_set_config(t, ct->cfg, ct->ncfg);
    ct->cfg = NULL;
    ct->ncfg = 0;
    for (int32_t p = 0; p < t->nparts; p++) {
        zn_pstate_t ns;
        snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d", name, (int)p);
        zkw_create(&b.w, path, NULL);
        if (cm_initial_state(&t->parts[p], cm_live_pred, &c->m, c->epoch, &ns))
            ps_change(c, &b, t, p, &ns, "NewPartition->OnlinePartition");
    }
    pref_t *changed;
    int n;
    int rc = cb_commit(c, &b, &changed, &n);
    bool created = rc != CTL_DEPOSED && b.w.ops[topic_op].err == ZOK;
    cb_free(&b);
    if (!created) {
        if (cm_topic(&c->m, name))
            cm_topic_del(&c->m, name);
        pend_set(pt, rc == CTL_DEPOSED ? KERR_NOT_CONTROLLER : rc == ZNODEEXISTS ? KERR_TOPIC_ALREADY_EXISTS
                                                                                 : KERR_UNKNOWN_SERVER_ERROR,
                 "Topic creation failed: %s", rc == CTL_DEPOSED ? "controller moved" : zerror(rc));
        free(changed);
        return;
    }
    wlog_info("[Controller id=%d epoch=%d] Created topic %s with %d partitions (id %s)", (int)c->cfg.controller_id,
              (int)c->epoch, name, (int)t->nparts, t->topic_id);
    snprintf(path, sizeof(path), "/brokers/topics/%s", name);
    zkc_exists(c->zk, path, true, &st); /* data watch: partitions added by others */
    uint64_t *tags = calloc((size_t)(c->m.nbrokers ? c->m.nbrokers : 1), sizeof(uint64_t));
    if (!tags)
        abort();
    ps_propagate(c, changed, n, tags);
    pend_add_tags(pt, tags, c->m.nbrokers);
    free(tags);
    free(changed);
}

void admin_create_topics(kreq_t *req, void *ctx)
{
    ctl_t *c = ctx;
    krd_t *rd = &req->rd;
    int32_t n = krd_array(rd, false, false, 16);
    if (rd->err) {
        kreq_close(req, "malformed CreateTopics request");
        return;
    }
    ct_topic_t *ts = calloc((size_t)(n ? n : 1), sizeof(*ts));
    char **names = calloc((size_t)(n ? n : 1), sizeof(char *));
    if (!ts || !names)
        abort();
    for (int32_t i = 0; i < n && !rd->err; i++)
        parse_topic(rd, &ts[i], &names[i]);
    int32_t timeout = krd_i32(rd);
    bool validate_only = req->api_version >= 1 ? krd_bool(rd) : false;
    if (rd->err) {
        for (int32_t i = 0; i < n; i++) {
            ct_free(&ts[i]);
            free(names[i]);
        }
        free(ts);
        free(names);
        kreq_close(req, "malformed CreateTopics request");
        return;
    }
    pend_t *pd = pend_new(c, req, n);
    for (int32_t i = 0; i < n; i++)
        pd->t[i].name = names[i];
    free(names);
    admin_mark_duplicates(pd, "CreateTopics");
    for (int32_t i = 0; i < n; i++) {
        pend_topic_t *pt = &pd->t[i];
        char msg[512];
        int rc = pt->err ? 0 : validate_topic(c, &ts[i], pt->name, msg, sizeof(msg));
        if (rc)
            pend_set(pt, (int16_t)rc, "%s", msg);
        else if (!pt->err && !validate_only)
            create_topic(c, &ts[i], pt);
    }
    for (int32_t i = 0; i < n; i++)
        ct_free(&ts[i]);
    free(ts);
    pend_arm(pd, validate_only ? 0 : timeout);
}
