/*
 * test_offrec.c - __consumer_offsets record formats: exact bytes of every
 * encoder, round trips, hand-built records of each older version (and the
 * flexible v4), every truncation and hostile length rejected before any
 * allocation, and Kafka's group -> partition hash against values computed
 * by Java itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "group/offrec.h"
#include "wire.h"

/*
 * Largest single allocation while tracking is on.  Interposes malloc, calloc
 * and realloc over glibc's; skipped under AddressSanitizer, which owns them.
 */
#if defined(__SANITIZE_ADDRESS__)
#define TRACK_ALLOC 0
#else
#define TRACK_ALLOC 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static volatile int g_track;
static size_t g_max_alloc;
static void note(size_t n)
{
    if (g_track && n > g_max_alloc)
        g_max_alloc = n;
}
void *malloc(size_t n)
{
    note(n);
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    note(b && a > SIZE_MAX / b ? SIZE_MAX : a * b);
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    note(n);
    return __libc_realloc(p, n);
}
#endif

static void track_start(void)
{
#if TRACK_ALLOC
    g_max_alloc = 0;
    g_track = 1;
#endif
}

static size_t track_stop(void)
{
#if TRACK_ALLOC
    g_track = 0;
    return g_max_alloc;
#else
    return 0;
#endif
}

/* ---- helpers ---- */

static void assert_bytes(const kwr_t *wr, const uint8_t *want, size_t n)
{
    assert_false(wr->oom);
    assert_int_equal(wr->len, n);
    assert_memory_equal(wr->buf, want, n);
}

static void assert_err_has(const char *err, const char *want)
{
    if (!strstr(err, want))
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void assert_opt_str(const char *got, const char *want)
{
    if (!want)
        assert_null(got);
    else
        assert_string_equal(got, want);
}

static void assert_blob(const uint8_t *got, int32_t got_len, const void *want, int32_t want_len)
{
    assert_int_equal(got_len, want_len);
    if (want_len == 0)
        assert_null(got);
    else
        assert_memory_equal(got, want, (size_t)want_len);
}

/* A sample group with every kind of member field. */
static uint8_t sub1[] = {0, 1, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0};
static uint8_t asg1[] = {0, 1, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
static offrec_member_t sample_members[] = {
    {"consumer-1-aaaa", "inst-1", "consumer-1", "/127.0.0.1", 300000, 10000, sub1, sizeof sub1, asg1, sizeof asg1},
    {"consumer-2-bbbb", NULL, "consumer-2", "/::1", 45000, 6000, NULL, 0, NULL, 0},
};

static offrec_group_t sample_group(void)
{
    offrec_group_t g = {.protocol_type = "consumer",
                        .generation = 7,
                        .protocol = "range",
                        .leader = "consumer-1-aaaa",
                        .state_ts = 1700000000123LL,
                        .members = sample_members,
                        .nmembers = 2};
    return g;
}

static void assert_member(const offrec_member_t *got, const offrec_member_t *want)
{
    assert_string_equal(got->member_id, want->member_id);
    assert_opt_str(got->instance_id, want->instance_id);
    assert_string_equal(got->client_id, want->client_id);
    assert_string_equal(got->client_host, want->client_host);
    assert_int_equal(got->rebalance_timeout, want->rebalance_timeout);
    assert_int_equal(got->session_timeout, want->session_timeout);
    assert_blob(got->subscription, got->subscription_len, want->subscription, want->subscription_len);
    assert_blob(got->assignment, got->assignment_len, want->assignment, want->assignment_len);
}

static void assert_group(const offrec_group_t *got, const offrec_group_t *want)
{
    assert_string_equal(got->protocol_type, want->protocol_type);
    assert_int_equal(got->generation, want->generation);
    assert_opt_str(got->protocol, want->protocol);
    assert_opt_str(got->leader, want->leader);
    assert_int_equal(got->state_ts, want->state_ts);
    assert_int_equal(got->nmembers, want->nmembers);
    for (int32_t i = 0; i < want->nmembers; i++)
        assert_member(&got->members[i], &want->members[i]);
}

/* ---- keys ---- */

static void test_offset_key(void **state)
{
    (void)state;
    kwr_t wr;
    kwr_init(&wr, 0);
    offrec_encode_offset_key(&wr, "g1", "orders", 0x01020304);
    static const uint8_t want[] = {0, 1, 0, 2, 'g', '1', 0, 6, 'o', 'r', 'd', 'e', 'r', 's', 1, 2, 3, 4};
    assert_bytes(&wr, want, sizeof want);

    offrec_key_t k;
    char err[128];
    assert_int_equal(offrec_decode_key(wr.buf, wr.len, &k, err, sizeof err), 0);
    assert_int_equal(k.kind, OFFREC_OFFSET);
    assert_string_equal(k.group, "g1");
    assert_string_equal(k.topic, "orders");
    assert_int_equal(k.partition, 0x01020304);
    offrec_key_free(&k);

    /* v0 has the same layout (Kafka before 0.10.1 wrote it). */
    static const uint8_t v0[] = {0, 0, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 9};
    assert_int_equal(offrec_decode_key(v0, sizeof v0, &k, err, sizeof err), 0);
    assert_int_equal(k.kind, OFFREC_OFFSET);
    assert_string_equal(k.group, "g");
    assert_string_equal(k.topic, "t");
    assert_int_equal(k.partition, 9);
    offrec_key_free(&k);

    /* Empty names are legal strings; NULL encodes as "". */
    kwr_reset(&wr);
    offrec_encode_offset_key(&wr, "", NULL, 0);
    static const uint8_t empty[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_bytes(&wr, empty, sizeof empty);
    assert_int_equal(offrec_decode_key(wr.buf, wr.len, &k, err, sizeof err), 0);
    assert_string_equal(k.group, "");
    assert_string_equal(k.topic, "");
    offrec_key_free(&k);
    kwr_free(&wr);
}

static void test_group_key(void **state)
{
    (void)state;
    kwr_t wr;
    kwr_init(&wr, 0);
    offrec_encode_group_key(&wr, "my-group");
    static const uint8_t want[] = {0, 2, 0, 8, 'm', 'y', '-', 'g', 'r', 'o', 'u', 'p'};
    assert_bytes(&wr, want, sizeof want);

    offrec_key_t k;
    char err[128];
    assert_int_equal(offrec_decode_key(wr.buf, wr.len, &k, err, sizeof err), 0);
    assert_int_equal(k.kind, OFFREC_GROUP);
    assert_string_equal(k.group, "my-group");
    assert_null(k.topic);
    assert_int_equal(k.partition, -1);
    offrec_key_free(&k);
    kwr_free(&wr);
}

static void test_key_errors(void **state)
{
    (void)state;
    offrec_key_t k;
    char err[128];

    static const uint8_t v3[] = {0, 3, 0, 1, 'g'};
    assert_int_equal(offrec_decode_key(v3, sizeof v3, &k, err, sizeof err), -1);
    assert_string_equal(err, "unknown key version 3");
    assert_null(k.group);

    static const uint8_t vneg[] = {0xff, 0xff, 0, 1, 'g'};
    assert_int_equal(offrec_decode_key(vneg, sizeof vneg, &k, err, sizeof err), -1);
    assert_string_equal(err, "unknown key version -1");

    /* An offset key read as a group key leaves topic+partition over. */
    static const uint8_t grp_trailing[] = {0, 2, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 0};
    assert_int_equal(offrec_decode_key(grp_trailing, sizeof grp_trailing, &k, err, sizeof err), -1);
    assert_err_has(err, "7 trailing bytes");
    assert_null(k.group);

    static const uint8_t off_trailing[] = {0, 1, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 0, 0};
    assert_int_equal(offrec_decode_key(off_trailing, sizeof off_trailing, &k, err, sizeof err), -1);
    assert_err_has(err, "trailing");

    /* Null or negative-length strings where the schema has STRING. */
    static const uint8_t null_group[] = {0, 2, 0xff, 0xff};
    assert_int_equal(offrec_decode_key(null_group, sizeof null_group, &k, err, sizeof err), -1);
    assert_err_has(err, "group");
    assert_err_has(err, "null");
    static const uint8_t neg_topic[] = {0, 1, 0, 1, 'g', 0xff, 0xfe, 0, 0, 0, 0};
    assert_int_equal(offrec_decode_key(neg_topic, sizeof neg_topic, &k, err, sizeof err), -1);
    assert_err_has(err, "topic");
    assert_null(k.group);
    static const uint8_t long_topic[] = {0, 1, 0, 1, 'g', 0x7f, 0xff, 't', 0, 0, 0, 0};
    assert_int_equal(offrec_decode_key(long_topic, sizeof long_topic, &k, err, sizeof err), -1);
    assert_err_has(err, "topic");

    /* A NUL inside a name could not survive as a C string. */
    static const uint8_t nul[] = {0, 2, 0, 3, 'a', 0, 'b'};
    assert_int_equal(offrec_decode_key(nul, sizeof nul, &k, err, sizeof err), -1);
    assert_err_has(err, "NUL");

    /* No error buffer is fine. */
    assert_int_equal(offrec_decode_key(v3, sizeof v3, &k, NULL, 0), -1);
    assert_int_equal(offrec_decode_key(NULL, 0, &k, err, sizeof err), -1);
    assert_err_has(err, "key version");
}

/* ---- OffsetCommitValue ---- */

static void test_offset_v3(void **state)
{
    (void)state;
    offrec_offset_t v = {.offset = 0x0102030405060708LL,
                         .leader_epoch = 5,
                         .metadata = "md",
                         .commit_ts = 1700000000000LL,
                         .expire_ts = -1};
    kwr_t wr;
    kwr_init(&wr, 0);
    offrec_encode_offset(&wr, &v);
    static const uint8_t want[] = {0, 3,                        /* version */
                                   1, 2, 3, 4, 5, 6, 7, 8,      /* offset */
                                   0, 0, 0, 5,                  /* leaderEpoch */
                                   0, 2, 'm', 'd',              /* metadata */
                                   0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00}; /* commitTimestamp */
    assert_bytes(&wr, want, sizeof want);

    offrec_offset_t d;
    char err[128];
    assert_int_equal(offrec_decode_offset(wr.buf, wr.len, &d, err, sizeof err), 0);
    assert_int_equal(d.offset, v.offset);
    assert_int_equal(d.leader_epoch, 5);
    assert_string_equal(d.metadata, "md");
    assert_int_equal(d.commit_ts, v.commit_ts);
    assert_int_equal(d.expire_ts, -1);
    offrec_offset_free(&d);

    /* NULL metadata is written as "" and never comes back NULL. */
    v.metadata = NULL;
    v.leader_epoch = -1;
    kwr_reset(&wr);
    offrec_encode_offset(&wr, &v);
    assert_int_equal(wr.len, 2 + 8 + 4 + 2 + 8);
    assert_int_equal(offrec_decode_offset(wr.buf, wr.len, &d, err, sizeof err), 0);
    assert_string_equal(d.metadata, "");
    assert_int_equal(d.leader_epoch, -1);
    offrec_offset_free(&d);
    kwr_free(&wr);
}

static void test_offset_v1_written(void **state)
{
    (void)state;
    offrec_offset_t v = {.offset = 42, .leader_epoch = 9, .metadata = "x", .commit_ts = 1000, .expire_ts = 0};
    kwr_t wr;
    kwr_init(&wr, 0);
    offrec_encode_offset(&wr, &v);
    /* v1 has no leaderEpoch: an explicit expiry wins over it, as in Kafka. */
    static const uint8_t want[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 42, 0, 1, 'x',
                                   0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_bytes(&wr, want, sizeof want);

    offrec_offset_t d;
    char err[128];
    assert_int_equal(offrec_decode_offset(wr.buf, wr.len, &d, err, sizeof err), 0);
    assert_int_equal(d.offset, 42);
    assert_int_equal(d.leader_epoch, -1);
    assert_string_equal(d.metadata, "x");
    assert_int_equal(d.commit_ts, 1000);
    assert_int_equal(d.expire_ts, 0);
    offrec_offset_free(&d);

    v.expire_ts = 86400000 + 1000;
    kwr_reset(&wr);
    offrec_encode_offset(&wr, &v);
    assert_int_equal(be16(wr.buf), 1);
    assert_int_equal(offrec_decode_offset(wr.buf, wr.len, &d, err, sizeof err), 0);
    assert_int_equal(d.expire_ts, 86400000 + 1000);
    offrec_offset_free(&d);
    kwr_free(&wr);
}

/* Older versions, byte by byte as Kafka wrote them. */
static const uint8_t offset_v0[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 3, 'a', 'b', 'c',
                                    0, 0, 0, 0, 0, 0, 0x27, 0x10};
static const uint8_t offset_v1[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5,
                                    0, 0, 0, 0, 0, 0, 0, 0x0f};
static const uint8_t offset_v2[] = {0, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 1, 'z',
                                    0, 0, 0, 0, 0, 0, 0, 1};
/* v4: flexible; metadata as COMPACT_STRING, then a tagged field (tag 7, 2 bytes). */
static const uint8_t offset_v4[] = {0, 4, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 3, 3, 'h', 'i',
                                    0, 0, 0, 0, 0, 0, 0, 0x63, 1, 7, 2, 0xaa, 0xbb};

static void test_offset_old_versions(void **state)
{
    (void)state;
    offrec_offset_t d;
    char err[128];

    assert_int_equal(offrec_decode_offset(offset_v0, sizeof offset_v0, &d, err, sizeof err), 0);
    assert_int_equal(d.offset, 0x10);
    assert_int_equal(d.leader_epoch, -1);
    assert_string_equal(d.metadata, "abc");
    assert_int_equal(d.commit_ts, 10000);
    assert_int_equal(d.expire_ts, -1);
    offrec_offset_free(&d);

    assert_int_equal(offrec_decode_offset(offset_v1, sizeof offset_v1, &d, err, sizeof err), 0);
    assert_int_equal(d.offset, 7);
    assert_int_equal(d.leader_epoch, -1);
    assert_string_equal(d.metadata, "");
    assert_int_equal(d.commit_ts, 5);
    assert_int_equal(d.expire_ts, 15);
    offrec_offset_free(&d);

    assert_int_equal(offrec_decode_offset(offset_v2, sizeof offset_v2, &d, err, sizeof err), 0);
    assert_int_equal(d.offset, -1);
    assert_int_equal(d.leader_epoch, -1);
    assert_string_equal(d.metadata, "z");
    assert_int_equal(d.commit_ts, 1);
    assert_int_equal(d.expire_ts, -1);
    offrec_offset_free(&d);

    assert_int_equal(offrec_decode_offset(offset_v4, sizeof offset_v4, &d, err, sizeof err), 0);
    assert_int_equal(d.offset, 256);
    assert_int_equal(d.leader_epoch, 3);
    assert_string_equal(d.metadata, "hi");
    assert_int_equal(d.commit_ts, 99);
    assert_int_equal(d.expire_ts, -1);
    offrec_offset_free(&d);

    /* A v1 record with a negative expiry: none, so re-encoding gives v3. */
    uint8_t neg[sizeof offset_v1];
    memcpy(neg, offset_v1, sizeof neg);
    memset(neg + sizeof neg - 8, 0xff, 7);
    neg[sizeof neg - 1] = 0xfb; /* -5 */
    assert_int_equal(offrec_decode_offset(neg, sizeof neg, &d, err, sizeof err), 0);
    assert_int_equal(d.expire_ts, -1);
    offrec_offset_free(&d);
}

static void test_offset_errors(void **state)
{
    (void)state;
    offrec_offset_t d;
    char err[128];

    static const uint8_t v5[] = {0, 5, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(offrec_decode_offset(v5, sizeof v5, &d, err, sizeof err), -1);
    assert_string_equal(err, "unknown offset value version 5");
    assert_null(d.metadata);
    static const uint8_t vneg[] = {0x80, 0x00};
    assert_int_equal(offrec_decode_offset(vneg, sizeof vneg, &d, err, sizeof err), -1);
    assert_string_equal(err, "unknown offset value version -32768");

    /* The v1 layout labelled v0 leaves expireTimestamp over. */
    uint8_t relabel[sizeof offset_v1];
    memcpy(relabel, offset_v1, sizeof relabel);
    relabel[1] = 0;
    assert_int_equal(offrec_decode_offset(relabel, sizeof relabel, &d, err, sizeof err), -1);
    assert_string_equal(err, "8 trailing bytes");
    assert_null(d.metadata);

    /* metadata is not nullable in any version. */
    static const uint8_t null_md[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(offrec_decode_offset(null_md, sizeof null_md, &d, err, sizeof err), -1);
    assert_err_has(err, "metadata");
    static const uint8_t null_md4[] = {0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(offrec_decode_offset(null_md4, sizeof null_md4, &d, err, sizeof err), -1);
    assert_err_has(err, "metadata");

    /* A tagged field claiming more bytes than remain. */
    uint8_t badtag[sizeof offset_v4];
    memcpy(badtag, offset_v4, sizeof badtag);
    badtag[sizeof badtag - 3] = 3;
    assert_int_equal(offrec_decode_offset(badtag, sizeof badtag, &d, err, sizeof err), -1);
    assert_err_has(err, "tagged");
}

/* ---- GroupMetadataValue ---- */

static void test_group_v3(void **state)
{
    (void)state;
    offrec_member_t m = {"m", NULL, "c", "h", 0x01020304, 0x05060708, NULL, 0, (uint8_t *)"AB", 2};
    offrec_group_t g = {.protocol_type = "consumer", .generation = 3, .protocol = NULL, .leader = "m",
                        .state_ts = -1, .members = &m, .nmembers = 1};
    kwr_t wr;
    kwr_init(&wr, 0);
    offrec_encode_group(&wr, &g);
    static const uint8_t want[] = {
        0, 3,                                                /* version */
        0, 8, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r',        /* protocolType */
        0, 0, 0, 3,                                          /* generation */
        0xff, 0xff,                                          /* protocol: null */
        0, 1, 'm',                                           /* leader */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,      /* currentStateTimestamp */
        0, 0, 0, 1,                                          /* members[1] */
        0, 1, 'm', 0xff, 0xff, 0, 1, 'c', 0, 1, 'h',         /* memberId, groupInstanceId, clientId, clientHost */
        1, 2, 3, 4, 5, 6, 7, 8,                              /* rebalanceTimeout, sessionTimeout */
        0, 0, 0, 0, 0, 0, 0, 2, 'A', 'B',                    /* subscription, assignment */
    };
    assert_bytes(&wr, want, sizeof want);

    offrec_group_t d;
    char err[128];
    assert_int_equal(offrec_decode_group(wr.buf, wr.len, &d, err, sizeof err), 0);
    assert_group(&d, &g);
    offrec_group_free(&d);

    /* The full sample: two members, instance id set and not, empty bytes. */
    offrec_group_t s = sample_group();
    kwr_reset(&wr);
    offrec_encode_group(&wr, &s);
    assert_int_equal(offrec_decode_group(wr.buf, wr.len, &d, err, sizeof err), 0);
    assert_group(&d, &s);
    offrec_group_free(&d);

    /* An empty group (after everyone left): no protocol, no leader. */
    offrec_group_t e = {.protocol_type = "consumer", .generation = 12, .state_ts = 5};
    kwr_reset(&wr);
    offrec_encode_group(&wr, &e);
    assert_int_equal(offrec_decode_group(wr.buf, wr.len, &d, err, sizeof err), 0);
    assert_group(&d, &e);
    assert_null(d.members);
    offrec_group_free(&d);
    kwr_free(&wr);
}

/* Hand-built values of older versions, with members and null fields. */
static void put_str(kwr_t *wr, bool flex, const char *s) { kwr_str(wr, flex, s); }

static void build_group(kwr_t *wr, int16_t version, const char *protocol, const char *leader)
{
    bool flex = version >= 4;
    kwr_reset(wr);
    kwr_i16(wr, version);
    put_str(wr, flex, "consumer");
    kwr_i32(wr, 4);
    put_str(wr, flex, protocol);
    put_str(wr, flex, leader);
    if (version >= 2)
        kwr_i64(wr, 1234567);
    kwr_array(wr, flex, 2);
    for (int i = 0; i < 2; i++) {
        const offrec_member_t *m = &sample_members[i];
        put_str(wr, flex, m->member_id);
        if (version >= 3)
            put_str(wr, flex, m->instance_id);
        put_str(wr, flex, m->client_id);
        put_str(wr, flex, m->client_host);
        if (version >= 1)
            kwr_i32(wr, m->rebalance_timeout);
        kwr_i32(wr, m->session_timeout);
        kwr_bytes(wr, flex, m->subscription, m->subscription_len);
        kwr_bytes(wr, flex, m->assignment, m->assignment_len);
        if (flex) {
            /* one unknown tagged field on the first member */
            if (i == 0) {
                kwr_uvarint(wr, 1);
                kwr_uvarint(wr, 5);
                kwr_uvarint(wr, 1);
                kwr_i8(wr, 9);
            } else {
                kwr_tags(wr);
            }
        }
    }
    if (flex)
        kwr_tags(wr);
}

static void test_group_old_versions(void **state)
{
    (void)state;
    kwr_t wr;
    kwr_init(&wr, 0);
    offrec_group_t d;
    char err[128];

    for (int16_t v = 0; v <= 4; v++) {
        const char *protocol = v % 2 ? "range" : NULL;
        const char *leader = v % 2 ? "consumer-1-aaaa" : NULL;
        build_group(&wr, v, protocol, leader);
        assert_false(wr.oom);
        if (offrec_decode_group(wr.buf, wr.len, &d, err, sizeof err) != 0)
            fail_msg("v%d: %s", v, err);
        assert_string_equal(d.protocol_type, "consumer");
        assert_int_equal(d.generation, 4);
        assert_opt_str(d.protocol, protocol);
        assert_opt_str(d.leader, leader);
        assert_int_equal(d.state_ts, v >= 2 ? 1234567 : -1);
        assert_int_equal(d.nmembers, 2);
        for (int i = 0; i < 2; i++) {
            offrec_member_t want = sample_members[i];
            if (v < 3)
                want.instance_id = NULL;
            if (v < 1)
                want.rebalance_timeout = want.session_timeout; /* v0: one timeout */
            assert_member(&d.members[i], &want);
        }
        offrec_group_free(&d);
    }

    /* The v0 record of a one-member group, spelled out. */
    static const uint8_t v0[] = {
        0, 0, 0, 8, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r', 0, 0, 0, 1, /* protocolType, generation */
        0, 5, 'r', 'a', 'n', 'g', 'e', 0, 1, 'm',                       /* protocol, leader */
        0, 0, 0, 1,                                                     /* members[1] */
        0, 1, 'm', 0, 1, 'c', 0, 2, '/', 'h',                           /* memberId, clientId, clientHost */
        0, 0, 0x75, 0x30,                                               /* sessionTimeout 30000 */
        0, 0, 0, 1, 'S', 0, 0, 0, 1, 'A',                               /* subscription, assignment */
    };
    assert_int_equal(offrec_decode_group(v0, sizeof v0, &d, err, sizeof err), 0);
    assert_string_equal(d.protocol, "range");
    assert_string_equal(d.leader, "m");
    assert_int_equal(d.state_ts, -1);
    assert_int_equal(d.nmembers, 1);
    assert_string_equal(d.members[0].member_id, "m");
    assert_null(d.members[0].instance_id);
    assert_string_equal(d.members[0].client_id, "c");
    assert_string_equal(d.members[0].client_host, "/h");
    assert_int_equal(d.members[0].session_timeout, 30000);
    assert_int_equal(d.members[0].rebalance_timeout, 30000);
    assert_blob(d.members[0].subscription, d.members[0].subscription_len, "S", 1);
    assert_blob(d.members[0].assignment, d.members[0].assignment_len, "A", 1);
    offrec_group_free(&d);
    kwr_free(&wr);
}

static void test_group_errors(void **state)
{
    (void)state;
    offrec_group_t d;
    char err[128];

    static const uint8_t v5[] = {0, 5, 0, 0};
    assert_int_equal(offrec_decode_group(v5, sizeof v5, &d, err, sizeof err), -1);
    assert_string_equal(err, "unknown group value version 5");
    static const uint8_t vneg[] = {0xff, 0xfe};
    assert_int_equal(offrec_decode_group(vneg, sizeof vneg, &d, err, sizeof err), -1);
    assert_string_equal(err, "unknown group value version -2");

    /* protocolType is not nullable. */
    static const uint8_t null_pt[] = {0, 3, 0xff, 0xff, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff,
                                      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(offrec_decode_group(null_pt, sizeof null_pt, &d, err, sizeof err), -1);
    assert_err_has(err, "protocolType");
    assert_null(d.protocol_type);

    /* A null members array (not nullable), or a negative count. */
    static const uint8_t null_members[] = {0, 1, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(offrec_decode_group(null_members, sizeof null_members, &d, err, sizeof err), -1);
    assert_err_has(err, "members");
    static const uint8_t neg_members[] = {0, 1, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0};
    assert_int_equal(offrec_decode_group(neg_members, sizeof neg_members, &d, err, sizeof err), -1);
    assert_err_has(err, "members");

    /* groupInstanceId -1 is fine in v3, but memberId/clientId -1 are not;
     * a null subscription neither; a second member that fails part-way
     * frees the first (ASan's leak check watches this). */
    kwr_t wr;
    kwr_init(&wr, 0);
    offrec_member_t ms[2] = {sample_members[0], sample_members[1]};
    ms[1].client_id = NULL;
    offrec_group_t g = sample_group();
    g.members = ms;
    /* The encoder writes NULL clientId as "": patch the bytes by hand. */
    offrec_encode_group(&wr, &g);
    offrec_group_t ok;
    assert_int_equal(offrec_decode_group(wr.buf, wr.len, &ok, err, sizeof err), 0);
    assert_string_equal(ok.members[1].client_id, "");
    offrec_group_free(&ok);
    /* member 2 is: 00 0f "consumer-2-bbbb" ff ff 00 00 (clientId) ... */
    uint8_t *p = memmem(wr.buf, wr.len, "consumer-2-bbbb", 15);
    assert_non_null(p);
    assert_int_equal(p[17], 0);
    assert_int_equal(p[18], 0);
    p[17] = 0xff;
    p[18] = 0xff;
    assert_int_equal(offrec_decode_group(wr.buf, wr.len, &d, err, sizeof err), -1);
    assert_err_has(err, "clientId");
    assert_null(d.members);
    assert_int_equal(d.nmembers, 0);

    /* subscription null */
    kwr_reset(&wr);
    offrec_encode_group(&wr, &g);
    p = memmem(wr.buf, wr.len, "/::1", 4);
    assert_non_null(p);
    /* after clientHost: rebalanceTimeout(4) sessionTimeout(4) subscription len(4) */
    assert_memory_equal(p + 4 + 8, "\0\0\0\0", 4);
    memset(p + 4 + 8, 0xff, 4);
    assert_int_equal(offrec_decode_group(wr.buf, wr.len, &d, err, sizeof err), -1);
    assert_err_has(err, "subscription");
    /* a subscription length past the end */
    p[4 + 8] = 0x7f;
    assert_int_equal(offrec_decode_group(wr.buf, wr.len, &d, err, sizeof err), -1);
    assert_err_has(err, "subscription");

    /* trailing bytes after the members */
    kwr_reset(&wr);
    offrec_encode_group(&wr, &g);
    kwr_i8(&wr, 0);
    assert_int_equal(offrec_decode_group(wr.buf, wr.len, &d, err, sizeof err), -1);
    assert_string_equal(err, "1 trailing bytes");
    kwr_free(&wr);
}

/* Counts and lengths that promise more than the record holds are refused
 * before anything of that size is allocated. */
static void test_hostile_lengths(void **state)
{
    (void)state;
    offrec_group_t d;
    offrec_offset_t o;
    offrec_key_t k;
    char err[128];

    static const uint8_t many_members[] = {0, 3, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff,
                                           0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff};
    static const uint8_t many_members4[] = {0, 4, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                            0xff, 0xff, 0xff, 0xff, 0x0f, 0};
    static const uint8_t big_md[] = {0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 'x'};
    static const uint8_t big_md4[] = {0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x'};
    static const uint8_t big_group[] = {0, 2, 0x7f, 0xff, 'g'};
    /* One member whose subscription claims 2 GiB. */
    static const uint8_t big_sub[] = {0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1,
                                      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0};

    track_start();
    assert_int_equal(offrec_decode_group(many_members, sizeof many_members, &d, err, sizeof err), -1);
    assert_err_has(err, "members");
    assert_int_equal(offrec_decode_group(many_members4, sizeof many_members4, &d, err, sizeof err), -1);
    assert_err_has(err, "members");
    assert_int_equal(offrec_decode_offset(big_md, sizeof big_md, &o, err, sizeof err), -1);
    assert_err_has(err, "metadata");
    assert_int_equal(offrec_decode_offset(big_md4, sizeof big_md4, &o, err, sizeof err), -1);
    assert_err_has(err, "metadata");
    assert_int_equal(offrec_decode_key(big_group, sizeof big_group, &k, err, sizeof err), -1);
    assert_err_has(err, "group");
    assert_int_equal(offrec_decode_group(big_sub, sizeof big_sub, &d, err, sizeof err), -1);
    assert_err_has(err, "subscription");
    size_t biggest = track_stop();
    assert_true(biggest < 4096);
}

/* Members of the smallest possible size: the count check must not refuse
 * them (it bounds the count by the remaining bytes / one member's minimum). */
static void test_smallest_members(void **state)
{
    (void)state;
    kwr_t wr;
    kwr_init(&wr, 0);
    char err[128];
    for (int16_t ver = 0; ver <= 4; ver++) {
        bool flex = ver >= 4;
        kwr_reset(&wr);
        kwr_i16(&wr, ver);
        kwr_str(&wr, flex, "");
        kwr_i32(&wr, 1);
        kwr_str(&wr, flex, NULL);
        kwr_str(&wr, flex, NULL);
        if (ver >= 2)
            kwr_i64(&wr, 0);
        kwr_array(&wr, flex, 3);
        size_t start = wr.len;
        for (int i = 0; i < 3; i++) {
            kwr_str(&wr, flex, "");
            if (ver >= 3)
                kwr_str(&wr, flex, NULL);
            kwr_str(&wr, flex, "");
            kwr_str(&wr, flex, "");
            if (ver >= 1)
                kwr_i32(&wr, 1);
            kwr_i32(&wr, 2);
            kwr_bytes(&wr, flex, NULL, 0);
            kwr_bytes(&wr, flex, NULL, 0);
            if (flex)
                kwr_tags(&wr);
        }
        /* 18 bytes each in v0, +4 rebalanceTimeout, +2 groupInstanceId; v4: 15 */
        static const size_t each[] = {18, 22, 22, 24, 15};
        assert_int_equal(wr.len - start, 3 * each[ver]);
        if (flex)
            kwr_tags(&wr);
        offrec_group_t d;
        if (offrec_decode_group(wr.buf, wr.len, &d, err, sizeof err) != 0)
            fail_msg("v%d: %s", ver, err);
        assert_int_equal(d.nmembers, 3);
        assert_string_equal(d.members[2].member_id, "");
        assert_null(d.members[2].instance_id);
        assert_int_equal(d.members[2].session_timeout, 2);
        assert_int_equal(d.members[2].rebalance_timeout, ver >= 1 ? 1 : 2);
        offrec_group_free(&d);
    }
    kwr_free(&wr);
}

/* ---- every truncation of every valid encoding fails cleanly ---- */

typedef int (*decode_fn)(const uint8_t *, size_t, char *, size_t);

static int dec_key(const uint8_t *p, size_t n, char *err, size_t errlen)
{
    offrec_key_t k;
    int rc = offrec_decode_key(p, n, &k, err, errlen);
    if (rc == 0)
        offrec_key_free(&k);
    return rc;
}

static int dec_offset(const uint8_t *p, size_t n, char *err, size_t errlen)
{
    offrec_offset_t v;
    int rc = offrec_decode_offset(p, n, &v, err, errlen);
    if (rc == 0)
        offrec_offset_free(&v);
    return rc;
}

static int dec_group(const uint8_t *p, size_t n, char *err, size_t errlen)
{
    offrec_group_t g;
    int rc = offrec_decode_group(p, n, &g, err, errlen);
    if (rc == 0)
        offrec_group_free(&g);
    return rc;
}

/* The whole record decodes; every proper prefix fails with a message; one
 * extra byte fails.  Each prefix is copied to its own heap block so ASan
 * sees any read past its end. */
static void check_prefixes(decode_fn fn, const uint8_t *p, size_t n, const char *what)
{
    char err[128];
    if (fn(p, n, err, sizeof err) != 0)
        fail_msg("%s: whole record refused: %s", what, err);
    for (size_t i = 0; i < n; i++) {
        uint8_t *c = malloc(i ? i : 1);
        assert_non_null(c);
        memcpy(c, p, i);
        err[0] = '\0';
        if (fn(c, i, err, sizeof err) != -1)
            fail_msg("%s: prefix of %zu/%zu bytes accepted", what, i, n);
        if (err[0] == '\0')
            fail_msg("%s: prefix of %zu bytes refused without a message", what, i);
        free(c);
    }
    uint8_t *c = malloc(n + 1);
    assert_non_null(c);
    memcpy(c, p, n);
    c[n] = 0;
    assert_int_equal(fn(c, n + 1, err, sizeof err), -1);
    assert_err_has(err, "trailing");
    free(c);
}

static void test_truncations(void **state)
{
    (void)state;
    kwr_t wr;
    kwr_init(&wr, 0);

    offrec_encode_offset_key(&wr, "group", "topic", 3);
    check_prefixes(dec_key, wr.buf, wr.len, "offset key");
    kwr_reset(&wr);
    offrec_encode_group_key(&wr, "group");
    check_prefixes(dec_key, wr.buf, wr.len, "group key");

    offrec_offset_t v = {.offset = 1, .leader_epoch = 2, .metadata = "meta", .commit_ts = 3, .expire_ts = -1};
    kwr_reset(&wr);
    offrec_encode_offset(&wr, &v);
    check_prefixes(dec_offset, wr.buf, wr.len, "offset v3");
    v.expire_ts = 4;
    kwr_reset(&wr);
    offrec_encode_offset(&wr, &v);
    check_prefixes(dec_offset, wr.buf, wr.len, "offset v1");
    check_prefixes(dec_offset, offset_v0, sizeof offset_v0, "offset v0");
    check_prefixes(dec_offset, offset_v2, sizeof offset_v2, "offset v2");
    check_prefixes(dec_offset, offset_v4, sizeof offset_v4, "offset v4");

    offrec_group_t g = sample_group();
    kwr_reset(&wr);
    offrec_encode_group(&wr, &g);
    check_prefixes(dec_group, wr.buf, wr.len, "group v3");
    for (int16_t ver = 0; ver <= 4; ver++) {
        char what[32];
        snprintf(what, sizeof what, "group v%d", ver);
        build_group(&wr, ver, "range", ver % 2 ? "consumer-1-aaaa" : NULL);
        check_prefixes(dec_group, wr.buf, wr.len, what);
    }
    kwr_free(&wr);
}

/* Decoding then re-encoding any older version gives a v3 record that
 * decodes to the same values. */
static void test_reencode_old(void **state)
{
    (void)state;
    kwr_t wr, wr2;
    kwr_init(&wr, 0);
    kwr_init(&wr2, 0);
    char err[128];
    for (int16_t ver = 0; ver <= 4; ver++) {
        build_group(&wr, ver, NULL, "consumer-2-bbbb");
        offrec_group_t a, b;
        assert_int_equal(offrec_decode_group(wr.buf, wr.len, &a, err, sizeof err), 0);
        kwr_reset(&wr2);
        offrec_encode_group(&wr2, &a);
        assert_int_equal(be16(wr2.buf), 3);
        assert_int_equal(offrec_decode_group(wr2.buf, wr2.len, &b, err, sizeof err), 0);
        assert_group(&b, &a);
        offrec_group_free(&a);
        offrec_group_free(&b);
    }
    kwr_free(&wr);
    kwr_free(&wr2);
}

/* ---- the group -> partition hash ---- */

/*
 * Expected values come from Java 17: `new String(bytes, UTF_8).hashCode()`
 * and Kafka's `Utils.abs(h) % n`, printed by a single-file program
 * (`java Hash.java`) fed the hex of each name.  The hash column is Java's
 * hashCode; the code under test is checked through n = 50 (Kafka's
 * default partition count) and n = INT32_MAX (which exposes |hash|).
 */
static const struct {
    const char *name;
    size_t len;
    int32_t java_hash;
    int32_t p50;
} hashes[] = {
    {"test-group", 10, 627841412, 12},
    {"", 0, 0, 0},
    {"my-group", 8, -1906497762, 12},
    {"polygenelubricants", 18, INT32_MIN, 0}, /* hashCode is Integer.MIN_VALUE */
    {"gr\xc3\xbcppe", 7, -1233264812, 12},    /* "grüppe" */
    {"\xe7\xbb\x84", 3, 32452, 2},            /* U+7EC4, one BMP unit */
    {"\xf0\x9f\x98\x80group", 9, -1231696132, 32}, /* U+1F600: a surrogate pair */
    /* Invalid UTF-8, as Java's decoder replaces it with U+FFFD: */
    {"\xed\xa0\x80", 3, 65533, 33},              /* encoded surrogate: one U+FFFD */
    {"\xed\xbf\xbf" "A", 4, 2031588, 38},        /* ditto, then 'A' */
    {"a\xe2\x82", 3, 68540, 40},                 /* truncated at the end: one */
    {"a\xe2\x82" "b", 4, 2124838, 38},           /* truncated, then 'b' */
    {"\xf0\x90\x80" "A", 4, 2031588, 38},        /* 3 of 4 bytes: one */
    {"\xf0\x90\x80", 3, 65533, 33},
    {"\xc0\xaf", 2, 2097056, 6},                 /* overlong '/': two */
    {"\x80\xff" "A", 3, 65008801, 1},            /* stray bytes: one each */
    {"\xf4\x90\x80\x80", 4, 2017367872, 22},     /* past U+10FFFF: four */
    {"\xe0\x80\x9f" "A", 4, 2017302404, 4},      /* overlong 3-byte: three */
    {"\xe2\x82\x82" "A", 4, 258047, 47},         /* valid U+2082 then 'A' */
};

static void test_partition_for(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        int32_t h = hashes[i].java_hash;
        int32_t a = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
        int32_t got50 = offrec_partition_for(hashes[i].name, hashes[i].len, 50);
        int32_t gotmax = offrec_partition_for(hashes[i].name, hashes[i].len, INT32_MAX);
        if (got50 != hashes[i].p50 || gotmax != a % INT32_MAX)
            fail_msg("case %zu: got %d/%d, want %d/%d", i, got50, gotmax, hashes[i].p50, a % INT32_MAX);
    }
    /* The length counts, not a NUL: "ab" and "ab\0" differ (Java: 3105, 96255). */
    assert_int_equal(offrec_partition_for("ab", 2, INT32_MAX), 3105);
    assert_int_equal(offrec_partition_for("ab\0", 3, INT32_MAX), 96255);
    /* n <= 0 gives 0; n = 1 always 0. */
    assert_int_equal(offrec_partition_for("test-group", 10, 0), 0);
    assert_int_equal(offrec_partition_for("test-group", 10, -3), 0);
    assert_int_equal(offrec_partition_for("test-group", 10, 1), 0);
    assert_int_equal(offrec_partition_for(NULL, 0, 50), 0);
    /* Another count: 627841412 % 7 = 3. */
    assert_int_equal(offrec_partition_for("test-group", 10, 7), 627841412 % 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offset_key),          cmocka_unit_test(test_group_key),
        cmocka_unit_test(test_key_errors),          cmocka_unit_test(test_offset_v3),
        cmocka_unit_test(test_offset_v1_written),   cmocka_unit_test(test_offset_old_versions),
        cmocka_unit_test(test_offset_errors),       cmocka_unit_test(test_group_v3),
        cmocka_unit_test(test_group_old_versions),  cmocka_unit_test(test_group_errors),
        cmocka_unit_test(test_hostile_lengths),     cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_reencode_old),        cmocka_unit_test(test_partition_for),
        cmocka_unit_test(test_smallest_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
