/*
 * partition.c - the partitions this broker hosts as leader or follower.
 * Each bpart pairs a partition log with the state the controller decided
 * (leader, leader epoch, ISR, replicas) and the high watermark.
 * Invariant: hw never goes backwards and never exceeds the log end offset.
 * Thread: the network loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "group/coord.h"
#include "wlog.h"
#include "znode.h"

static size_t pbucket(const bk_t *b, const char *topic, size_t tlen, int32_t partition)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < tlen; i++)
        h = (h ^ (uint8_t)topic[i]) * 1099511628211ULL;
    h = (h ^ (uint32_t)partition) * 1099511628211ULL;
    return h % b->npbuckets;
}

bpart_t *bpart_get(bk_t *b, const char *topic, size_t tlen, int32_t partition)
{
    for (bpart_t *p = b->pbuckets[pbucket(b, topic, tlen, partition)]; p; p = p->next)
        if (p->partition == partition && strlen(p->topic) == tlen && memcmp(p->topic, topic, tlen) == 0)
            return p;
    return NULL;
}

bpart_t *bpart_create(bk_t *b, const char *topic, int32_t partition)
{
    bpart_t *p = bpart_get(b, topic, strlen(topic), partition);
    if (p)
        return p;
    plog_t *log = logmgr_get(b->logs, topic, partition);
    if (!log)
        log = logmgr_create(b->logs, topic, partition, &b->log_defaults);
    if (!log) {
        wlog_error("cannot create the log of %s-%d", topic, partition);
        return NULL;
    }
    p = calloc(1, sizeof *p);
    p->topic = strdup(topic);
    p->partition = partition;
    p->log = log;
    p->leader = -1;
    p->leader_epoch = -1;
    p->min_insync = b->cfg.min_insync_replicas;
    p->max_message_bytes = b->cfg.message_max_bytes;
    int64_t hw = logmgr_read_hw(b->logs, log);
    int64_t leo = plog_end_offset(log);
    p->hw = hw < plog_start_offset(log) ? plog_start_offset(log) : hw > leo ? leo : hw;
    size_t h = pbucket(b, topic, strlen(topic), partition);
    p->next = b->pbuckets[h];
    b->pbuckets[h] = p;
    b->nparts++;
    return p;
}

void bpart_remove(bk_t *b, bpart_t *p, bool delete_log)
{
    bpart_t **pp = &b->pbuckets[pbucket(b, p->topic, strlen(p->topic), p->partition)];
    for (; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            b->nparts--;
            break;
        }
    }
    if (delete_log && logmgr_delete(b->logs, p->topic, p->partition) != 0)
        wlog_error("cannot delete the log of %s-%d", p->topic, p->partition);
    repl_stop(b, p);
    p->is_leader = false;
    coord_lost_leadership(b, p);
    free(p->topic);
    free(p->isr);
    free(p->replicas);
    free(p->fol);
    free(p->pending_isr);
    free(p);
}

void bpart_foreach(bk_t *b, void (*fn)(bpart_t *p, void *arg), void *arg)
{
    for (size_t i = 0; i < b->npbuckets; i++) {
        bpart_t *p = b->pbuckets[i];
        while (p) {
            bpart_t *n = p->next; /* fn may remove p */
            fn(p, arg);
            p = n;
        }
    }
}

static bool parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

void bpart_load_config(bk_t *b, bpart_t *p)
{
    plog_config_t c = b->log_defaults;
    p->min_insync = b->cfg.min_insync_replicas;
    p->max_message_bytes = b->cfg.message_max_bytes;
    char path[512];
    snprintf(path, sizeof path, "/config/topics/%s", p->topic);
    char *json = NULL;
    if (b->zk && zkc_get(b->zk, path, false, &json, NULL) == ZOK && json) {
        zn_kv_t *kv = NULL;
        int n = 0;
        if (zn_config_decode(json, &kv, &n) == 0) {
            for (int i = 0; i < n; i++) {
                /* Compaction is not implemented: a compact-only topic keeps
                 * everything rather than losing its latest values to
                 * time or size retention. */
                if (!strcmp(kv[i].key, "cleanup.policy") && !strstr(kv[i].value, "delete"))
                    c.retention_ms = c.retention_bytes = -1;
                int64_t v;
                if (!parse_i64(kv[i].value, &v))
                    continue;
                if (!strcmp(kv[i].key, "segment.bytes") && v >= 14)
                    c.segment_bytes = v;
                else if (!strcmp(kv[i].key, "segment.ms") && v >= 1)
                    c.segment_ms = v;
                else if (!strcmp(kv[i].key, "retention.ms") && v >= -1)
                    c.retention_ms = v;
                else if (!strcmp(kv[i].key, "retention.bytes") && v >= -1)
                    c.retention_bytes = v;
                else if (!strcmp(kv[i].key, "min.insync.replicas") && v >= 1 && v <= INT32_MAX)
                    p->min_insync = (int32_t)v;
                else if (!strcmp(kv[i].key, "max.message.bytes") && v >= 0 && v <= INT32_MAX)
                    p->max_message_bytes = (int32_t)v;
            }
            zn_kv_free(kv, n);
        } else {
            wlog_warn("ignoring malformed topic config %s", path);
        }
    }
    free(json);
    plog_set_config(p->log, &c);
}
