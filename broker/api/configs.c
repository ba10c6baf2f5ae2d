/*
 * configs.c - DescribeConfigs v0-2 for topics (resource type 2) and this
 * broker (resource type 4).
 *
 * A topic's configuration is its overrides in /config/topics/<t> (source
 * DYNAMIC_TOPIC_CONFIG) over the broker-wide defaults (DEFAULT_CONFIG), so
 * tools that print only non-default values show exactly the overrides.  A
 * broker's configuration is its configuration table as loaded.
 * Thread: the network loop (the topic lookup is one synchronous ZooKeeper read).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "config.h"
#include "proto.h"
#include "znode.h"

#define RES_TOPIC 2
#define RES_BROKER 4
#define SRC_DYNAMIC_TOPIC 1
#define SRC_STATIC_BROKER 4
#define SRC_DEFAULT 5

typedef struct centry {
    const char *name;
    char value[64];
} centry_t;

typedef struct keys_filter {
    krd_t rd;      /* positioned at the key array's elements */
    int32_t n;     /* -1 = all keys */
} keys_filter_t;

static bool wanted(const keys_filter_t *f, const char *name)
{
    if (f->n < 0)
        return true;
    krd_t rd = f->rd;
    for (int32_t i = 0; i < f->n; i++)
        if (kstr_eq(krd_str(&rd, false, false), name))
            return true;
    return false;
}

static void write_entry(kwr_t *wr, int16_t v, const char *name, const char *value, int8_t source)
{
    kwr_str(wr, false, name);
    kwr_str(wr, false, value);
    kwr_bool(wr, false); /* ReadOnly */
    if (v == 0)
        kwr_bool(wr, source == SRC_DEFAULT); /* IsDefault */
    else
        kwr_i8(wr, source);
    kwr_bool(wr, false); /* IsSensitive */
    if (v >= 1)
        kwr_array(wr, false, 0); /* Synonyms */
}

/* Topic-level keys and the broker values they default to. */
static int topic_defaults(const bk_t *b, centry_t *e)
{
    int n = 0;
#define ADD(k, fmt, val) (e[n].name = k, snprintf(e[n].value, sizeof e[n].value, fmt, val), n++)
    ADD("cleanup.policy", "%s", "delete");
    ADD("compression.type", "%s", "producer");
    ADD("max.message.bytes", "%d", b->cfg.message_max_bytes);
    ADD("message.timestamp.type", "%s", "CreateTime");
    ADD("min.insync.replicas", "%d", b->cfg.min_insync_replicas);
    ADD("retention.bytes", "%lld", (long long)b->cfg.log_retention_bytes);
    ADD("retention.ms", "%lld", (long long)b->cfg.log_retention_ms_effective);
    ADD("segment.bytes", "%lld", (long long)b->cfg.log_segment_bytes);
    ADD("segment.ms", "%lld", (long long)b->cfg.log_roll_ms);
    ADD("unclean.leader.election.enable", "%s", b->cfg.unclean_leader_election_enable ? "true" : "false");
#undef ADD
    return n;
}

static int16_t describe_topic(bk_t *b, kstr_t name, const keys_filter_t *f, int16_t v, kwr_t *wr)
{
    if (!bk_valid_topic(name.ptr, (size_t)name.len))
        return KERR_INVALID_TOPIC_EXCEPTION;
    if (!meta_topic(&b->meta, (const char *)name.ptr, (size_t)name.len))
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    zn_kv_t *kv = NULL;
    int nkv = 0;
    char path[300];
    snprintf(path, sizeof path, "/config/topics/%.*s", name.len, (const char *)name.ptr);
    char *json = NULL;
    if (b->zk && zkc_get(b->zk, path, false, &json, NULL) == ZOK && json)
        zn_config_decode(json, &kv, &nkv);
    free(json);
    centry_t d[16];
    int nd = topic_defaults(b, d);
    size_t count_at = kwr_reserve(wr, 4);
    int32_t count = 0;
    for (int i = 0; i < nkv; i++) {
        if (wanted(f, kv[i].key)) {
            write_entry(wr, v, kv[i].key, kv[i].value, SRC_DYNAMIC_TOPIC);
            count++;
        }
    }
    for (int i = 0; i < nd; i++) {
        bool overridden = false;
        for (int j = 0; j < nkv && !overridden; j++)
            overridden = strcmp(kv[j].key, d[i].name) == 0;
        if (!overridden && wanted(f, d[i].name)) {
            write_entry(wr, v, d[i].name, d[i].value, SRC_DEFAULT);
            count++;
        }
    }
    kwr_put_i32_at(wr, count_at, count);
    zn_kv_free(kv, nkv);
    return KERR_NONE;
}

static void describe_broker(bk_t *b, const keys_filter_t *f, int16_t v, kwr_t *wr)
{
    size_t count_at = kwr_reserve(wr, 4);
    int32_t count = 0;
    for (size_t i = 0; i < bcfg_ndefs; i++) {
        const cfg_def_t *d = &bcfg_defs[i];
        if (!wanted(f, d->name))
            continue;
        char val[1024];
        cfg_format(d, &b->cfg, val, sizeof val);
        bool is_default = d->dflt && strcmp(val, d->dflt) == 0;
        write_entry(wr, v, d->name, val, is_default ? SRC_DEFAULT : SRC_STATIC_BROKER);
        count++;
    }
    kwr_put_i32_at(wr, count_at, count);
}

void api_describe_configs(kreq_t *req, void *ctx)
{
    bk_t *b = ctx;
    krd_t *rd = &req->rd;
    int16_t v = req->api_version;
    int32_t n = krd_array(rd, false, false, 7);
    kwr_t wr;
    kwr_init(&wr, 1024);
    kwr_i32(&wr, 0); /* ThrottleTimeMs */
    kwr_array(&wr, false, n);
    for (int32_t i = 0; i < n && !rd->err; i++) {
        int8_t type = krd_i8(rd);
        kstr_t name = krd_str(rd, false, false);
        keys_filter_t f;
        f.n = krd_array(rd, false, true, 2);
        f.rd = *rd;
        for (int32_t k = 0; k < f.n && !rd->err; k++)
            (void)krd_str(rd, false, false);
        if (rd->err)
            break;
        size_t err_at = wr.len;
        kwr_i16(&wr, KERR_NONE);
        kwr_str(&wr, false, NULL); /* ErrorMessage */
        kwr_i8(&wr, type);
        kwr_kstr(&wr, false, name);
        int16_t err = KERR_NONE;
        char idbuf[16];
        snprintf(idbuf, sizeof idbuf, "%d", b->cfg.broker_id);
        if (type == RES_TOPIC) {
            size_t configs_at = wr.len;
            err = describe_topic(b, name, &f, v, &wr);
            if (err) {
                wr.len = configs_at;
                kwr_array(&wr, false, 0);
            }
        } else if (type == RES_BROKER && (name.len == 0 || kstr_eq(name, idbuf))) {
            describe_broker(b, &f, v, &wr);
        } else {
            err = KERR_INVALID_REQUEST;
            kwr_array(&wr, false, 0);
        }
        kwr_put_i16_at(&wr, err_at, err);
    }
    if (v >= 1 && !rd->err)
        (void)krd_bool(rd); /* IncludeSynonyms: none are reported */
    if (rd->err) {
        kwr_free(&wr);
        kreq_close(req, "malformed DescribeConfigs request");
        return;
    }
    kreq_respond(req, &wr);
    kwr_free(&wr);
}
