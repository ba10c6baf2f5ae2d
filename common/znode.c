/*
 * znode.c - encode and decode the JSON stored in Weir's znodes, keeping
 * Kafka's formats byte-compatible (reference/control-plane.md section 1).
 *
 * Owns: nothing long-lived; every call is a pure conversion.
 * Invariants: a decoder never trusts the input - every field's type and
 * range is checked, strings are length-checked against their fixed buffers,
 * duplicate object keys are rejected (they would make "which value wins"
 * depend on the parser), and on failure all partial allocations are freed.
 * Thread: any; no shared state.
 */
#include "znode.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared helpers ---- */

static json_t *parse_object(const char *s)
{
    if (!s)
        return NULL;
    json_t *root = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
    if (root && !json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/*
 * Encoders build with set()/add(), which remember any failure (out of memory,
 * a string that is not UTF-8) in *ok so that dump() returns NULL rather than
 * a document silently missing a field.
 */
static void set(json_t *obj, const char *key, json_t *v, bool *ok)
{
    if (!obj || !v) {
        json_decref(v);
        *ok = false;
    } else if (json_object_set_new(obj, key, v) < 0) {
        *ok = false;
    }
}

static void add(json_t *arr, json_t *v, bool *ok)
{
    if (!arr || !v) {
        json_decref(v);
        *ok = false;
    } else if (json_array_append_new(arr, v) < 0) {
        *ok = false;
    }
}

static char *dump(json_t *root, bool ok)
{
    char *s = ok && root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    return s;
}

/* Integer member within [min,max]. */
static int get_int(const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v))
        return -1;
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return -1;
    *out = x;
    return 0;
}

static int get_i32(const json_t *obj, const char *key, int32_t min, int32_t *out)
{
    int64_t v;
    if (get_int(obj, key, min, INT32_MAX, &v) < 0)
        return -1;
    *out = (int32_t)v;
    return 0;
}

/* Strict decimal int64 (no sign other than '-', no spaces, no trailing junk). */
static int parse_i64(const char *s, int64_t *out)
{
    if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        return -1;
    *out = v;
    return 0;
}

/* Kafka writes millisecond timestamps as strings; accept a number too. */
static int get_timestamp(const json_t *obj, const char *key, int64_t *out)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v))
        return parse_i64(json_string_value(v), out);
    return -1;
}

/* Copy a JSON string into a fixed buffer; too long is an error, not a truncation. */
static int copy_str(char *dst, size_t cap, const json_t *v)
{
    if (!json_is_string(v))
        return -1;
    size_t n = json_string_length(v);
    if (n >= cap)
        return -1;
    memcpy(dst, json_string_value(v), n);
    dst[n] = '\0';
    return 0;
}

/* Optional boolean member: absent is false; anything but true/false is an error. */
static int get_opt_bool(const json_t *obj, const char *key, bool *out)
{
    const json_t *v = json_object_get(obj, key);
    *out = false;
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return -1;
    *out = json_is_true(v);
    return 0;
}

static json_t *ts_string(int64_t ms)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, ms);
    return json_string(buf);
}

/* ---- /brokers/ids/<id> ---- */

/* Kafka's endpoint syntax: host characters [0-9A-Za-z-%._:], and a ':' only
 * in an IPv6 address (bracketed in an endpoint), so that what we decode we
 * can encode and read back. */
static bool valid_host(const char *h, size_t n, bool colon_ok)
{
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
                  c == '%' || c == '.' || c == '_' || (c == ':' && colon_ok);
        if (!ok)
            return false;
    }
    return true;
}

/* "LISTENER://host:port" or "LISTENER://[v6addr]:port". */
static int parse_endpoint(const char *s, zn_endpoint_t *ep)
{
    const char *sep = strstr(s, "://");
    if (!sep || sep == s || (size_t)(sep - s) >= sizeof ep->listener)
        return -1;
    memcpy(ep->listener, s, (size_t)(sep - s));
    ep->listener[sep - s] = '\0';
    const char *h = sep + 3, *hend, *colon;
    if (*h == '[') {
        hend = strchr(h, ']');
        if (!hend || hend[1] != ':')
            return -1;
        colon = hend + 1;
        h++;
    } else {
        colon = strrchr(h, ':');
        if (!colon)
            return -1;
        hend = colon;
    }
    if ((size_t)(hend - h) >= sizeof ep->host)
        return -1;
    if (!valid_host(h, (size_t)(hend - h), sep[3] == '['))
        return -1;
    memcpy(ep->host, h, (size_t)(hend - h));
    ep->host[hend - h] = '\0';
    int64_t port;
    if (parse_i64(colon + 1, &port) < 0 || port < 0 || port > 65535)
        return -1;
    ep->port = (int32_t)port;
    return 0;
}

static json_t *endpoint_string(const zn_endpoint_t *ep)
{
    char buf[sizeof ep->listener + sizeof ep->host + 16];
    bool v6 = strchr(ep->host, ':') != NULL;
    snprintf(buf, sizeof buf, "%s://%s%s%s:%d", ep->listener, v6 ? "[" : "", ep->host, v6 ? "]" : "",
             (int)ep->port);
    return json_string(buf);
}

char *zn_broker_encode(const zn_broker_t *b)
{
    bool ok = true;
    json_t *root = json_object(), *eps = json_array(), *map = json_object();
    /* Top-level host/port repeat the first endpoint, for old tools. */
    set(root, "version", json_integer(5), &ok);
    set(root, "host", b->nep > 0 ? json_string(b->ep[0].host) : json_null(), &ok);
    set(root, "port", json_integer(b->nep > 0 ? b->ep[0].port : -1), &ok);
    set(root, "jmx_port", json_integer(-1), &ok);
    set(root, "timestamp", ts_string(b->timestamp), &ok);
    for (int i = 0; i < b->nep && i < 4; i++) {
        add(eps, endpoint_string(&b->ep[i]), &ok);
        /* Weir speaks plaintext only: every listener maps to PLAINTEXT. */
        set(map, b->ep[i].listener, json_string("PLAINTEXT"), &ok);
    }
    set(root, "endpoints", eps, &ok);
    set(root, "listener_security_protocol_map", map, &ok);
    set(root, "rack", b->rack[0] ? json_string(b->rack) : json_null(), &ok);
    set(root, "features", json_object(), &ok);
    if (b->unclean_shutdown)
        set(root, "unclean_shutdown", json_true(), &ok);
    return dump(root, ok);
}

static int broker_endpoints(const json_t *root, zn_broker_t *b)
{
    const json_t *eps = json_object_get(root, "endpoints");
    if (json_is_array(eps)) {
        size_t i;
        const json_t *v;
        json_array_foreach(eps, i, v) {
            if (!json_is_string(v))
                return -1;
            if (b->nep == 4)
                continue; /* more listeners than we track: keep the first four */
            if (parse_endpoint(json_string_value(v), &b->ep[b->nep]) < 0)
                return -1;
            b->nep++;
        }
        return 0;
    }
    if (eps && !json_is_null(eps))
        return -1;
    /* v1: host/port only, implicitly PLAINTEXT. */
    const json_t *host = json_object_get(root, "host");
    int64_t port;
    if (json_is_null(host) || !host)
        return 0;
    if (copy_str(b->ep[0].host, sizeof b->ep[0].host, host) < 0 ||
        !valid_host(b->ep[0].host, strlen(b->ep[0].host), true) || get_int(root, "port", 0, 65535, &port) < 0)
        return -1;
    strcpy(b->ep[0].listener, "PLAINTEXT");
    b->ep[0].port = (int32_t)port;
    b->nep = 1;
    return 0;
}

int zn_broker_decode(const char *json, int32_t id, zn_broker_t *b)
{
    json_t *root = parse_object(json);
    if (!root)
        return -1;
    memset(b, 0, sizeof *b);
    b->id = id;
    int rc = -1;
    int64_t version;
    if (get_int(root, "version", 1, INT32_MAX, &version) < 0 ||
        get_timestamp(root, "timestamp", &b->timestamp) < 0 || broker_endpoints(root, b) < 0)
        goto out;
    const json_t *rack = json_object_get(root, "rack");
    if (rack && !json_is_null(rack) && copy_str(b->rack, sizeof b->rack, rack) < 0)
        goto out;
    if (get_opt_bool(root, "unclean_shutdown", &b->unclean_shutdown) < 0)
        goto out;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* ---- /controller ---- */

char *zn_controller_encode(const zn_controller_t *c)
{
    bool ok = true;
    json_t *root = json_object();
    set(root, "version", json_integer(2), &ok);
    set(root, "brokerid", json_integer(c->id), &ok);
    set(root, "timestamp", ts_string(c->timestamp), &ok);
    set(root, "kraftControllerEpoch", json_integer(-1), &ok);
    if (c->host[0]) { /* no endpoint known: leave both out, as Kafka does */
        set(root, "host", json_string(c->host), &ok);
        set(root, "port", json_integer(c->port), &ok);
    }
    return dump(root, ok);
}

int zn_controller_decode(const char *json, zn_controller_t *c)
{
    json_t *root = parse_object(json);
    if (!root)
        return -1;
    memset(c, 0, sizeof *c);
    c->port = -1;
    int rc = -1;
    if (get_i32(root, "brokerid", 0, &c->id) < 0 || get_timestamp(root, "timestamp", &c->timestamp) < 0)
        goto out;
    const json_t *host = json_object_get(root, "host");
    if (host) {
        int64_t port;
        if (copy_str(c->host, sizeof c->host, host) < 0 || get_int(root, "port", 0, 65535, &port) < 0)
            goto out;
        c->port = (int32_t)port;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* ---- /brokers/topics/<t> ---- */

/* {"<p>":[ids],...} for the partitions whose list is non-empty. */
static json_t *moving_object(const int32_t *n, int32_t *const *ids, int32_t nparts, bool *ok)
{
    json_t *obj = json_object();
    for (int32_t p = 0; n && ids && p < nparts; p++) {
        if (n[p] <= 0)
            continue;
        char key[16];
        json_t *list = json_array();
        snprintf(key, sizeof key, "%d", (int)p);
        for (int32_t i = 0; i < n[p]; i++)
            add(list, json_integer(ids[p][i]), ok);
        set(obj, key, list, ok);
    }
    return obj;
}

char *zn_assignment_encode(const zn_assignment_t *a)
{
    bool ok = true;
    json_t *root = json_object(), *parts = json_object();
    set(root, "version", json_integer(3), &ok);
    if (a->topic_id[0])
        set(root, "topic_id", json_string(a->topic_id), &ok);
    for (int32_t p = 0; p < a->nparts; p++) {
        char key[16];
        json_t *list = json_array();
        snprintf(key, sizeof key, "%d", (int)p);
        for (int32_t i = 0; i < a->nreplicas[p]; i++)
            add(list, json_integer(a->replicas[p][i]), &ok);
        set(parts, key, list, &ok);
    }
    set(root, "partitions", parts, &ok);
    set(root, "adding_replicas", moving_object(a->nadding, a->adding, a->nparts, &ok), &ok);
    set(root, "removing_replicas", moving_object(a->nremoving, a->removing, a->nparts, &ok), &ok);
    return dump(root, ok);
}

void zn_assignment_free(zn_assignment_t *a)
{
    if (a->replicas)
        for (int32_t p = 0; p < a->nparts; p++)
            free(a->replicas[p]);
    free(a->replicas);
    free(a->nreplicas);
    for (int32_t p = 0; p < a->nparts; p++) {
        if (a->adding)
            free(a->adding[p]);
        if (a->removing)
            free(a->removing[p]);
    }
    free(a->adding);
    free(a->nadding);
    free(a->removing);
    free(a->nremoving);
    a->replicas = NULL;
    a->nreplicas = NULL;
    a->adding = a->removing = NULL;
    a->nadding = a->nremoving = NULL;
    a->nparts = 0;
}

int zn_assignment_set_moving(zn_assignment_t *a, int which, int32_t p, const int32_t *ids, int32_t n)
{
    int32_t **lists = which ? a->removing : a->adding;
    int32_t *counts = which ? a->nremoving : a->nadding;
    if (p < 0 || p >= a->nparts || n < 0)
        return -1;
    if (!lists) {
        lists = calloc((size_t)a->nparts, sizeof *lists);
        counts = calloc((size_t)a->nparts, sizeof *counts);
        if (!lists || !counts) {
            free(lists);
            free(counts);
            return -1;
        }
        if (which) {
            a->removing = lists;
            a->nremoving = counts;
        } else {
            a->adding = lists;
            a->nadding = counts;
        }
    }
    int32_t *copy = n ? malloc((size_t)n * sizeof *copy) : NULL;
    if (n && !copy)
        return -1;
    if (n)
        memcpy(copy, ids, (size_t)n * sizeof *copy);
    free(lists[p]);
    lists[p] = copy;
    counts[p] = n;
    return 0;
}

/* Canonical decimal partition key in [0, n): "0", "17"; not "01", "-1", "+1". */
static int32_t partition_key(const char *k, int32_t n)
{
    int64_t v;
    if (!*k || (k[0] == '0' && k[1]) || k[0] == '-' || parse_i64(k, &v) < 0 || v >= n)
        return -1;
    return (int32_t)v;
}

static int replica_list(const json_t *list, int32_t **out, int32_t *n)
{
    size_t len = json_array_size(list);
    if (!json_is_array(list) || len == 0 || len > 1024)
        return -1;
    int32_t *r = malloc(len * sizeof *r);
    if (!r)
        return -1;
    for (size_t i = 0; i < len; i++) {
        const json_t *v = json_array_get(list, i);
        json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup |= r[j] == x;
        if (x < 0 || x > INT32_MAX || dup) {
            free(r);
            return -1;
        }
        r[i] = (int32_t)x;
    }
    *out = r;
    *n = (int32_t)len;
    return 0;
}

static int assignment_partitions(const json_t *parts, zn_assignment_t *a)
{
    size_t n = json_object_size(parts);
    if (n > INT32_MAX / 2)
        return -1;
    a->nparts = (int32_t)n;
    if (n == 0)
        return 0;
    a->nreplicas = calloc(n, sizeof *a->nreplicas);
    a->replicas = calloc(n, sizeof *a->replicas);
    if (!a->nreplicas || !a->replicas)
        return -1;
    const char *key;
    json_t *list;
    json_object_foreach((json_t *)parts, key, list) {
        int32_t p = partition_key(key, a->nparts);
        /* Keys are unique (duplicates rejected by the parser), so n distinct
         * keys in [0,n) cover 0..n-1 exactly once. */
        if (p < 0 || a->replicas[p] || replica_list(list, &a->replicas[p], &a->nreplicas[p]) < 0)
            return -1;
    }
    return 0;
}

/* adding_replicas / removing_replicas: absent, null or an object keyed by
 * existing partitions; empty lists are ignored. */
static int assignment_moving(const json_t *root, const char *key, int which, zn_assignment_t *a)
{
    const json_t *obj = json_object_get(root, key);
    if (!obj || json_is_null(obj))
        return 0;
    if (!json_is_object(obj))
        return -1;
    const char *k;
    json_t *list;
    json_object_foreach((json_t *)obj, k, list) {
        int32_t p = partition_key(k, a->nparts);
        if (p < 0 || !json_is_array(list))
            return -1;
        if (json_array_size(list) == 0)
            continue;
        int32_t *ids, n;
        if (replica_list(list, &ids, &n) < 0)
            return -1;
        int rc = zn_assignment_set_moving(a, which, p, ids, n);
        free(ids);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int zn_assignment_decode(const char *json, zn_assignment_t *a)
{
    json_t *root = parse_object(json);
    if (!root)
        return -1;
    memset(a, 0, sizeof *a);
    int rc = -1;
    const json_t *parts = json_object_get(root, "partitions");
    const json_t *tid = json_object_get(root, "topic_id");
    if (!json_is_object(parts))
        goto out;
    if (tid && !json_is_null(tid) && copy_str(a->topic_id, sizeof a->topic_id, tid) < 0)
        goto out;
    rc = assignment_partitions(parts, a);
    if (rc == 0)
        rc = assignment_moving(root, "adding_replicas", 0, a);
    if (rc == 0)
        rc = assignment_moving(root, "removing_replicas", 1, a);
out:
    if (rc < 0)
        zn_assignment_free(a);
    json_decref(root);
    return rc;
}

/* ---- /brokers/topics/<t>/partitions/<p>/state ---- */

char *zn_pstate_encode(const zn_pstate_t *s)
{
    bool ok = true;
    json_t *root = json_object(), *isr = json_array();
    set(root, "controller_epoch", json_integer(s->controller_epoch), &ok);
    set(root, "leader", json_integer(s->leader), &ok);
    set(root, "version", json_integer(1), &ok);
    set(root, "leader_epoch", json_integer(s->leader_epoch), &ok);
    for (int i = 0; i < s->nisr && i < ZN_MAX_ISR; i++)
        add(isr, json_integer(s->isr[i]), &ok);
    set(root, "isr", isr, &ok);
    if (s->unclean_blocked)
        set(root, "unclean_shutdown_blocked", json_true(), &ok);
    return dump(root, ok);
}

int zn_pstate_decode(const char *json, zn_pstate_t *s)
{
    json_t *root = parse_object(json);
    if (!root)
        return -1;
    memset(s, 0, sizeof *s);
    int rc = -1;
    const json_t *isr = json_object_get(root, "isr");
    /* leader -1 = no leader. */
    if (get_i32(root, "controller_epoch", 0, &s->controller_epoch) < 0 ||
        get_i32(root, "leader", -1, &s->leader) < 0 || get_i32(root, "leader_epoch", 0, &s->leader_epoch) < 0 ||
        !json_is_array(isr) || json_array_size(isr) > ZN_MAX_ISR ||
        get_opt_bool(root, "unclean_shutdown_blocked", &s->unclean_blocked) < 0)
        goto out;
    for (size_t i = 0; i < json_array_size(isr); i++) {
        const json_t *v = json_array_get(isr, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
            goto out;
        s->isr[s->nisr++] = (int32_t)json_integer_value(v);
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* ---- /config/<type>/<name> ---- */

char *zn_config_encode(const zn_kv_t *kv, int n)
{
    bool ok = true;
    json_t *root = json_object(), *cfg = json_object();
    set(root, "version", json_integer(1), &ok);
    for (int i = 0; i < n; i++)
        set(cfg, kv[i].key, json_string(kv[i].value), &ok);
    set(root, "config", cfg, &ok);
    return dump(root, ok);
}

void zn_kv_free(zn_kv_t *kv, int n)
{
    if (!kv)
        return;
    for (int i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

int zn_config_decode(const char *json, zn_kv_t **kv, int *n)
{
    *kv = NULL;
    *n = 0;
    json_t *root = parse_object(json);
    if (!root)
        return -1;
    const json_t *cfg = json_object_get(root, "config");
    size_t cnt = json_object_size(cfg);
    zn_kv_t *out = NULL;
    int got = 0, rc = -1;
    if (!json_is_object(cfg) || cnt > INT32_MAX / 2)
        goto out;
    if (cnt && !(out = calloc(cnt, sizeof *out)))
        goto out;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)cfg, key, v) {
        if (!json_is_string(v))
            goto out;
        out[got].key = strdup(key);
        out[got].value = strdup(json_string_value(v));
        got++;
        if (!out[got - 1].key || !out[got - 1].value)
            goto out;
    }
    rc = 0;
out:
    if (rc == 0) {
        *kv = out;
        *n = got;
    } else {
        zn_kv_free(out, got);
    }
    json_decref(root);
    return rc;
}

/* ---- /cluster/id ---- */

static bool valid_cluster_id(const char *id, size_t len)
{
    if (len != 22)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = id[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                  ch == '_';
        if (!ok)
            return false;
    }
    return true;
}

char *zn_cluster_id_encode(const char *id)
{
    bool ok = true;
    json_t *root = json_object();
    set(root, "version", json_string("1"), &ok);
    set(root, "id", json_string(id), &ok);
    return dump(root, ok);
}

int zn_cluster_id_decode(const char *json, char id[23])
{
    json_t *root = parse_object(json);
    if (!root)
        return -1;
    const json_t *v = json_object_get(root, "id");
    int rc = -1;
    if (json_is_string(v) && valid_cluster_id(json_string_value(v), json_string_length(v))) {
        memcpy(id, json_string_value(v), 23);
        rc = 0;
    }
    json_decref(root);
    return rc;
}

/* ---- /admin/reassign_partitions, /admin/preferred_replica_election ---- */

void zn_tplist_free(zn_tpr_t *l, int n)
{
    for (int i = 0; l && i < n; i++) {
        free(l[i].topic);
        free(l[i].replicas);
    }
    free(l);
}

static int tp_entry(const json_t *e, int with_replicas, zn_tpr_t *d)
{
    const json_t *topic = json_object_get(e, "topic");
    if (!json_is_object(e) || !json_is_string(topic) || json_string_length(topic) == 0 ||
        json_string_length(topic) > 249 || get_i32(e, "partition", 0, &d->partition) < 0)
        return -1;
    if (memchr(json_string_value(topic), 0, json_string_length(topic)))
        return -1;
    if (!(d->topic = strdup(json_string_value(topic))))
        return -1;
    if (with_replicas && replica_list(json_object_get(e, "replicas"), &d->replicas, &d->nreplicas) < 0)
        return -1;
    return 0;
}

int zn_tplist_decode(const char *json, int with_replicas, zn_tpr_t **out, int *n)
{
    *out = NULL;
    *n = 0;
    json_t *root = parse_object(json);
    if (!root)
        return -1;
    const json_t *parts = json_object_get(root, "partitions");
    size_t len = json_array_size(parts);
    int rc = -1;
    zn_tpr_t *l = NULL;
    size_t got = 0;
    if (!json_is_array(parts) || len > 1000000)
        goto out;
    l = calloc(len ? len : 1, sizeof *l);
    if (!l)
        goto out;
    for (; got < len; got++) {
        if (tp_entry(json_array_get(parts, got), with_replicas, &l[got]) < 0) {
            got++;
            goto out;
        }
        for (size_t j = 0; j < got; j++)
            if (l[j].partition == l[got].partition && strcmp(l[j].topic, l[got].topic) == 0) {
                got++;
                goto out;
            }
    }
    rc = 0;
out:
    json_decref(root);
    if (rc < 0) {
        zn_tplist_free(l, (int)got);
        return -1;
    }
    *out = l;
    *n = (int)got;
    return 0;
}

char *zn_tplist_encode(const zn_tpr_t *l, int n, int with_replicas)
{
    bool ok = true;
    json_t *root = json_object(), *parts = json_array();
    set(root, "version", json_integer(1), &ok);
    for (int i = 0; i < n; i++) {
        json_t *e = json_object();
        set(e, "topic", json_string(l[i].topic ? l[i].topic : ""), &ok);
        set(e, "partition", json_integer(l[i].partition), &ok);
        if (with_replicas) {
            json_t *r = json_array();
            for (int32_t j = 0; j < l[i].nreplicas; j++)
                add(r, json_integer(l[i].replicas[j]), &ok);
            set(e, "replicas", r, &ok);
        }
        add(parts, e, &ok);
    }
    set(root, "partitions", parts, &ok);
    return dump(root, ok);
}
