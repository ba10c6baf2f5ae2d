/*
 * fuzz_offrec.c - the __consumer_offsets key and value decoders on arbitrary
 * bytes.  The first byte picks the decoder; a successful decode is
 * re-encoded (in the version we write) and must decode again to equal
 * values.  The group -> partition hash runs on every input too: it must
 * stay in range for any bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/offrec.h"

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* v4 strings are compact and may exceed what a v3 STRING can hold. */
static bool too_long(const char *s) { return s && strlen(s) > INT16_MAX; }

static bool blob_eq(const uint8_t *a, int32_t alen, const uint8_t *b, int32_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, (size_t)alen) == 0);
}

static void key(const uint8_t *p, size_t n)
{
    offrec_key_t a, b;
    char err[128];
    if (offrec_decode_key(p, n, &a, err, sizeof err) != 0)
        return;
    kwr_t wr;
    kwr_init(&wr, 0);
    if (a.kind == OFFREC_OFFSET)
        offrec_encode_offset_key(&wr, a.group, a.topic, a.partition);
    else
        offrec_encode_group_key(&wr, a.group);
    if (wr.oom)
        abort();
    if (offrec_decode_key(wr.buf, wr.len, &b, err, sizeof err) != 0)
        abort();
    if (a.kind != b.kind || !str_eq(a.group, b.group) || !str_eq(a.topic, b.topic) || a.partition != b.partition)
        abort();
    offrec_key_free(&b);
    kwr_free(&wr);
    offrec_key_free(&a);
}

static void offset(const uint8_t *p, size_t n)
{
    offrec_offset_t a, b;
    char err[128];
    if (offrec_decode_offset(p, n, &a, err, sizeof err) != 0)
        return;
    kwr_t wr;
    kwr_init(&wr, 0);
    offrec_encode_offset(&wr, &a);
    if (wr.oom) {
        if (!too_long(a.metadata))
            abort();
        kwr_free(&wr);
        offrec_offset_free(&a);
        return;
    }
    if (offrec_decode_offset(wr.buf, wr.len, &b, err, sizeof err) != 0)
        abort();
    if (a.offset != b.offset || a.leader_epoch != b.leader_epoch || !str_eq(a.metadata, b.metadata) ||
        a.commit_ts != b.commit_ts || a.expire_ts != b.expire_ts)
        abort();
    offrec_offset_free(&b);
    kwr_free(&wr);
    offrec_offset_free(&a);
}

static bool member_eq(const offrec_member_t *a, const offrec_member_t *b)
{
    return str_eq(a->member_id, b->member_id) && str_eq(a->instance_id, b->instance_id) &&
           str_eq(a->client_id, b->client_id) && str_eq(a->client_host, b->client_host) &&
           a->rebalance_timeout == b->rebalance_timeout && a->session_timeout == b->session_timeout &&
           blob_eq(a->subscription, a->subscription_len, b->subscription, b->subscription_len) &&
           blob_eq(a->assignment, a->assignment_len, b->assignment, b->assignment_len);
}

static bool group_too_long(const offrec_group_t *g)
{
    bool t = too_long(g->protocol_type) || too_long(g->protocol) || too_long(g->leader);
    for (int32_t i = 0; i < g->nmembers; i++) {
        const offrec_member_t *m = &g->members[i];
        t = t || too_long(m->member_id) || too_long(m->instance_id) || too_long(m->client_id) ||
            too_long(m->client_host);
    }
    return t;
}

static void group(const uint8_t *p, size_t n)
{
    offrec_group_t a, b;
    char err[128];
    if (offrec_decode_group(p, n, &a, err, sizeof err) != 0)
        return;
    kwr_t wr;
    kwr_init(&wr, 0);
    offrec_encode_group(&wr, &a);
    if (wr.oom) {
        if (!group_too_long(&a))
            abort();
        kwr_free(&wr);
        offrec_group_free(&a);
        return;
    }
    if (offrec_decode_group(wr.buf, wr.len, &b, err, sizeof err) != 0)
        abort();
    if (!str_eq(a.protocol_type, b.protocol_type) || a.generation != b.generation ||
        !str_eq(a.protocol, b.protocol) || !str_eq(a.leader, b.leader) || a.state_ts != b.state_ts ||
        a.nmembers != b.nmembers)
        abort();
    for (int32_t i = 0; i < a.nmembers; i++)
        if (!member_eq(&a.members[i], &b.members[i]))
            abort();
    offrec_group_free(&b);
    kwr_free(&wr);
    offrec_group_free(&a);
}

static void write_seed(const char *dir, int kind, uint8_t selector, const kwr_t *wr)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-offrec-%d", dir, kind);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    uint8_t k = selector;
    fwrite(&k, 1, 1, f);
    fwrite(wr->buf, 1, wr->len, f);
    fclose(f);
}

/* Valid records of every kind as starting points, when run.sh names a corpus. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("WEIR_FUZZ_SEEDS");
    if (!dir)
        return 0;
    uint8_t sub[] = {0, 1, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0};
    offrec_member_t members[] = {
        {"m-1", "inst", "client", "/127.0.0.1", 300000, 10000, sub, sizeof sub, sub, sizeof sub},
        {"m-2", NULL, "client", "/::1", 45000, 6000, NULL, 0, NULL, 0},
    };
    offrec_group_t g = {"consumer", 7, "range", "m-1", 1700000000000LL, members, 2};
    offrec_group_t empty = {"consumer", 8, NULL, NULL, 1700000000001LL, NULL, 0};
    offrec_offset_t v3 = {42, 3, "meta", 1700000000000LL, -1};
    offrec_offset_t v1 = {42, -1, "", 1700000000000LL, 1700086400000LL};
    kwr_t wr;
    kwr_init(&wr, 0);
    /* the selector byte: 0 key, 1 offset value, 2 group value */
    static const uint8_t selector[] = {0, 1, 2, 0, 1, 2, 1};
    for (int kind = 0; kind < 7; kind++) {
        kwr_reset(&wr);
        switch (kind) {
        case 0: offrec_encode_offset_key(&wr, "group", "topic", 3); break;
        case 1: offrec_encode_offset(&wr, &v3); break;
        case 2: offrec_encode_group(&wr, &g); break;
        case 3: offrec_encode_group_key(&wr, "group"); break;
        case 4: offrec_encode_offset(&wr, &v1); break;
        case 5: offrec_encode_group(&wr, &empty); break;
        default: /* a flexible v4 offset value with one tagged field */
            kwr_i16(&wr, 4);
            kwr_i64(&wr, 42);
            kwr_i32(&wr, 3);
            kwr_str(&wr, true, "meta");
            kwr_i64(&wr, 1700000000000LL);
            kwr_uvarint(&wr, 1);
            kwr_uvarint(&wr, 0);
            kwr_uvarint(&wr, 1);
            kwr_i8(&wr, 0);
            break;
        }
        write_seed(dir, kind, selector[kind], &wr);
    }
    kwr_free(&wr);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0: key(p, n); break;
    case 1: offset(p, n); break;
    default: group(p, n); break;
    }
    int32_t parts = (int32_t)(data[0] % 64) - 2; /* a few n <= 0 as well */
    int32_t part = offrec_partition_for((const char *)p, n, parts);
    if (part < 0 || (parts > 0 && part >= parts) || (parts <= 0 && part != 0))
        abort();
    return 0;
}
