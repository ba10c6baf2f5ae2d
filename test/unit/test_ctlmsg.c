/*
 * test_ctlmsg.c - controller<->broker messages: exact wire bytes against the
 * schemas, round trips of every field, every truncation rejected, hostile
 * counts rejected before allocating; and kclient carrying them over a real
 * loopback socket (headers, correlation ids, size cap, timeouts).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctlmsg.h"
#include "kclient.h"
#include "proto.h"
#include "util.h"
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

/* ---- sample messages ---- */

static int32_t isr_a[] = {1, 2}, rep_a[] = {1, 2, 3}, off_a[] = {3};
static int32_t isr_b[] = {2}, rep_b[] = {2, 1};

/* Interleaved topics, so the encoder has to group them. */
static ctl_part_t sample_parts[] = {
    {"beta", 4, 7, 1, 11, isr_a, 2, 21, rep_a, 3, off_a, 1, true},
    {"alpha", 0, 8, 2, 12, isr_b, 1, 22, rep_b, 2, NULL, 0, false},
    {"beta", 1, 9, -1, 13, NULL, 0, 23, rep_b, 2, off_a, 1, true},
    {"alpha", 9, 10, 1, 14, isr_a, 2, 24, rep_a, 3, NULL, 0, true},
};
/* The order the decoder returns them in: topics by name, parts in order. */
static const int grouped[] = {1, 3, 0, 2};

static ctl_node_t sample_nodes[] = {
    {1, "broker-1.local", 9092, "rack-a"},
    {2, "::1", 9093, NULL},
};

static ctl_state_t sample_state(void)
{
    ctl_state_t s = {.controller_id = 100,
                     .controller_epoch = 17,
                     .broker_epoch = 0x123456789aLL,
                     .parts = sample_parts,
                     .nparts = 4,
                     .nodes = sample_nodes,
                     .nnodes = 2};
    return s;
}

static void assert_i32s(const int32_t *a, int na, const int32_t *b, int nb)
{
    assert_int_equal(na, nb);
    if (na)
        assert_memory_equal(a, b, (size_t)na * sizeof(int32_t));
}

static void assert_part(const ctl_part_t *got, const ctl_part_t *want, bool lair)
{
    assert_string_equal(got->topic, want->topic);
    assert_int_equal(got->partition, want->partition);
    assert_int_equal(got->controller_epoch, want->controller_epoch);
    assert_int_equal(got->leader, want->leader);
    assert_int_equal(got->leader_epoch, want->leader_epoch);
    assert_i32s(got->isr, got->nisr, want->isr, want->nisr);
    assert_int_equal(got->zk_version, want->zk_version);
    assert_i32s(got->replicas, got->nreplicas, want->replicas, want->nreplicas);
    if (lair) {
        assert_int_equal(got->is_new, want->is_new);
        assert_int_equal(got->noffline, 0);
    } else {
        assert_i32s(got->offline, got->noffline, want->offline, want->noffline);
        assert_false(got->is_new);
    }
}

static void assert_state(const ctl_state_t *got, const ctl_state_t *want, bool lair)
{
    assert_int_equal(got->controller_id, want->controller_id);
    assert_int_equal(got->controller_epoch, want->controller_epoch);
    assert_int_equal(got->broker_epoch, want->broker_epoch);
    assert_int_equal(got->nparts, want->nparts);
    for (int i = 0; i < want->nparts; i++)
        assert_part(&got->parts[i], &want->parts[grouped[i]], lair);
    assert_int_equal(got->nnodes, want->nnodes);
    for (int i = 0; i < want->nnodes; i++) {
        assert_int_equal(got->nodes[i].id, want->nodes[i].id);
        assert_string_equal(got->nodes[i].host, want->nodes[i].host);
        assert_int_equal(got->nodes[i].port, want->nodes[i].port);
        if (lair || !want->nodes[i].rack)
            assert_null(got->nodes[i].rack);
        else
            assert_string_equal(got->nodes[i].rack, want->nodes[i].rack);
    }
}

/* ---- exact bytes ---- */

static void assert_bytes(const kwr_t *wr, const uint8_t *want, size_t n)
{
    assert_false(wr->oom);
    assert_int_equal(wr->len, n);
    assert_memory_equal(wr->buf, want, n);
}

static ctl_state_t tiny_state(ctl_part_t *p, ctl_node_t *nd)
{
    static int32_t one[] = {1};
    memset(p, 0, sizeof *p);
    p->topic = "t";
    p->partition = 0;
    p->controller_epoch = 2;
    p->leader = 1;
    p->leader_epoch = 4;
    p->isr = one;
    p->nisr = 1;
    p->zk_version = 5;
    p->replicas = one;
    p->nreplicas = 1;
    p->is_new = true;
    nd->id = 1;
    nd->host = "h";
    nd->port = 9092;
    nd->rack = NULL;
    ctl_state_t s = {1, 2, 3, p, 1, nd, 1};
    return s;
}

static void test_lair_bytes(void **state)
{
    (void)state;
    ctl_part_t p;
    ctl_node_t nd;
    ctl_state_t s = tiny_state(&p, &nd);
    static const uint8_t want[] = {
        0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, /* ControllerId, ControllerEpoch, BrokerEpoch */
        0, 0, 0, 1, 0, 1, 't',                          /* TopicStates[1], TopicName */
        0, 0, 0, 1,                                     /* PartitionStates[1] */
        0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4, /* index, ControllerEpoch, Leader, LeaderEpoch */
        0, 0, 0, 1, 0, 0, 0, 1,                         /* Isr */
        0, 0, 0, 5,                                     /* PartitionEpoch */
        0, 0, 0, 1, 0, 0, 0, 1,                         /* Replicas */
        0, 0, 0, 0, 0, 0, 0, 0,                         /* AddingReplicas, RemovingReplicas */
        1,                                              /* IsNew */
        0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'h', 0, 0, 0x23, 0x84, /* LiveLeaders */
    };
    kwr_t wr;
    kwr_init(&wr, 0);
    ctl_lair_encode(&wr, &s);
    assert_bytes(&wr, want, sizeof want);
    kwr_free(&wr);
}

static void test_um_bytes(void **state)
{
    (void)state;
    ctl_part_t p;
    ctl_node_t nd;
    ctl_state_t s = tiny_state(&p, &nd);
    static const uint8_t want[] = {
        0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1,
        0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, /* .. Isr */
        0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 1,                                     /* ZkVersion, Replicas */
        0, 0, 0, 0,                                                             /* OfflineReplicas */
        0, 0, 0, 1, 0, 0, 0, 1,                                                 /* LiveBrokers[1], Id */
        0, 0, 0, 1, 0, 0, 0x23, 0x84, 0, 1, 'h',                                /* Endpoints[1] Port Host */
        0, 9, 'P', 'L', 'A', 'I', 'N', 'T', 'E', 'X', 'T', 0, 0,                /* Listener, SecurityProtocol */
        0xff, 0xff,                                                             /* Rack null */
    };
    kwr_t wr;
    kwr_init(&wr, 0);
    ctl_um_encode(&wr, &s);
    assert_bytes(&wr, want, sizeof want);
    kwr_free(&wr);
}

static void test_stop_bytes(void **state)
{
    (void)state;
    char *topics[] = {"t", "u", "t"};
    int32_t parts[] = {0, 9, 5};
    ctl_stop_t s = {1, 2, 3, true, topics, parts, 3};
    static const uint8_t want[] = {
        0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 1, /* .., DeletePartitions */
        0, 0, 0, 2,                                        /* Topics[2] */
        0, 1, 't', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 5,     /* t: [0, 5] */
        0, 1, 'u', 0, 0, 0, 1, 0, 0, 0, 9,                 /* u: [9] */
    };
    kwr_t wr;
    kwr_init(&wr, 0);
    ctl_stop_encode(&wr, &s);
    assert_bytes(&wr, want, sizeof want);
    kwr_free(&wr);
}

static void encode_any(int which, kwr_t *wr);

/* AlterPartition v1: compact forms (uvarint n+1) and a tag byte after each struct. */
static void test_ap_bytes(void **state)
{
    (void)state;
    int32_t isr[] = {1, 2};
    ctl_ap_part_t p = {"t", 0, 4, isr, 2, 5, 0, -1};
    ctl_ap_t r = {1, 3, 0, &p, 1};
    static const uint8_t want[] = {
        0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, /* BrokerId, BrokerEpoch */
        2, 2, 't',                          /* Topics[1], TopicName */
        2,                                  /* Partitions[1] */
        0, 0, 0, 0, 0, 0, 0, 4,             /* PartitionIndex, LeaderEpoch */
        3, 0, 0, 0, 1, 0, 0, 0, 2,          /* NewIsr */
        0,                                  /* LeaderRecoveryState */
        0, 0, 0, 5,                         /* PartitionEpoch */
        0, 0, 0,                            /* tags: partition, topic, request */
    };
    kwr_t wr;
    kwr_init(&wr, 0);
    ctl_ap_encode(&wr, &r);
    assert_bytes(&wr, want, sizeof want);
    kwr_free(&wr);

    p.error = 107;
    p.leader = 2;
    r.error = 0;
    static const uint8_t want_resp[] = {
        0, 0, 0, 0, 0, 0,          /* ThrottleTimeMs, ErrorCode */
        2, 2, 't', 2,              /* Topics[1], TopicName, Partitions[1] */
        0, 0, 0, 0, 0, 107,        /* PartitionIndex, ErrorCode */
        0, 0, 0, 2, 0, 0, 0, 4,    /* LeaderId, LeaderEpoch */
        3, 0, 0, 0, 1, 0, 0, 0, 2, /* Isr */
        0, 0, 0, 0, 5,             /* LeaderRecoveryState, PartitionEpoch */
        0, 0, 0,
    };
    kwr_init(&wr, 0);
    ctl_ap_resp_encode(&wr, &r);
    assert_bytes(&wr, want_resp, sizeof want_resp);
    kwr_free(&wr);
}

/* Every field survives; parts come back grouped by topic in name order. */
static void test_ap_roundtrip(void **state)
{
    (void)state;
    for (int which = 7; which <= 8; which++) {
        kwr_t wr;
        kwr_init(&wr, 0);
        encode_any(which, &wr);
        krd_t rd;
        krd_init(&rd, wr.buf, wr.len);
        ctl_ap_t d;
        assert_int_equal(which == 7 ? ctl_ap_decode(&rd, &d) : ctl_ap_resp_decode(&rd, &d), 0);
        assert_int_equal(krd_remain(&rd), 0);
        assert_int_equal(d.n, 3);
        if (which == 7) {
            assert_int_equal(d.broker_id, 4);
            assert_true(d.broker_epoch == 1234567890123LL);
        } else {
            assert_int_equal(d.broker_id, -1);
        }
        static const char *const topic[] = {"a", "b", "b"};
        static const int32_t part[] = {3, 0, 1}, lep[] = {6, 5, 5}, pep[] = {8, 7, 9};
        static const int16_t err[] = {74, 0, 0};
        static const int32_t leader[] = {3, 1, 2};
        for (int i = 0; i < 3; i++) {
            assert_string_equal(d.parts[i].topic, topic[i]);
            assert_int_equal(d.parts[i].partition, part[i]);
            assert_int_equal(d.parts[i].leader_epoch, lep[i]);
            assert_int_equal(d.parts[i].partition_epoch, pep[i]);
            assert_int_equal(d.parts[i].error, which == 7 ? 0 : err[i]);
            assert_int_equal(d.parts[i].leader, which == 7 ? -1 : leader[i]);
        }
        assert_int_equal(d.parts[0].nisr, 1);
        assert_int_equal(d.parts[0].isr[0], 3);
        assert_int_equal(d.parts[2].nisr, 2);
        assert_int_equal(d.parts[2].isr[1], 2);
        ctl_ap_free(&d);
        kwr_free(&wr);
    }
    /* Top-level error with no topics, and unknown tagged fields skipped. */
    ctl_ap_t e = {.error = 77};
    kwr_t wr;
    kwr_init(&wr, 0);
    ctl_ap_resp_encode(&wr, &e);
    krd_t rd;
    krd_init(&rd, wr.buf, wr.len);
    ctl_ap_t d;
    assert_int_equal(ctl_ap_resp_decode(&rd, &d), 0);
    assert_int_equal(d.error, 77);
    assert_int_equal(d.n, 0);
    ctl_ap_free(&d);
    kwr_free(&wr);
    static const uint8_t tagged[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 1, /* no topics */
                                     1, 9, 2, 0xaa, 0xbb};             /* one tag: id 9, 2 bytes */
    krd_init(&rd, tagged, sizeof tagged);
    assert_int_equal(ctl_ap_decode(&rd, &d), 0);
    assert_int_equal(d.broker_id, 1);
    ctl_ap_free(&d);
}

static void test_resp_bytes(void **state)
{
    (void)state;
    ctl_perr_t pe[] = {{"t", 3, 6}};
    static const uint8_t perr[] = {0, 11, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 3, 0, 6};
    static const uint8_t cs[] = {0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 3};
    static const uint8_t csreq[] = {0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9};
    kwr_t wr;
    kwr_init(&wr, 0);
    ctl_lair_resp_encode(&wr, KERR_STALE_CONTROLLER_EPOCH, pe, 1);
    assert_bytes(&wr, perr, sizeof perr);
    kwr_reset(&wr);
    ctl_stop_resp_encode(&wr, KERR_STALE_CONTROLLER_EPOCH, pe, 1);
    assert_bytes(&wr, perr, sizeof perr);
    kwr_reset(&wr);
    ctl_cs_resp_encode(&wr, 0, pe, 1);
    assert_bytes(&wr, cs, sizeof cs);
    kwr_reset(&wr);
    ctl_cs_encode(&wr, 4, 9);
    assert_bytes(&wr, csreq, sizeof csreq);
    kwr_free(&wr);
}

/* ---- round trips ---- */

typedef int (*state_dec_fn)(krd_t *, ctl_state_t *);

static void roundtrip_state(void (*enc)(kwr_t *, const ctl_state_t *), state_dec_fn dec, bool lair)
{
    ctl_state_t s = sample_state(), d;
    kwr_t wr;
    kwr_init(&wr, 0);
    enc(&wr, &s);
    krd_t rd;
    krd_init(&rd, wr.buf, wr.len);
    assert_int_equal(dec(&rd, &d), 0);
    assert_int_equal(krd_remain(&rd), 0);
    assert_state(&d, &s, lair);
    ctl_state_free(&d);
    assert_null(d.parts);

    ctl_state_t empty = {.controller_id = 5, .controller_epoch = 6, .broker_epoch = -1};
    kwr_reset(&wr);
    enc(&wr, &empty);
    krd_init(&rd, wr.buf, wr.len);
    assert_int_equal(dec(&rd, &d), 0);
    assert_int_equal(d.controller_id, 5);
    assert_int_equal(d.broker_epoch, -1);
    assert_int_equal(d.nparts, 0);
    assert_int_equal(d.nnodes, 0);
    ctl_state_free(&d);
    kwr_free(&wr);
}

static void test_lair_roundtrip(void **state) { (void)state; roundtrip_state(ctl_lair_encode, ctl_lair_decode, true); }
static void test_um_roundtrip(void **state) { (void)state; roundtrip_state(ctl_um_encode, ctl_um_decode, false); }

static void test_stop_roundtrip(void **state)
{
    (void)state;
    char *topics[] = {"b", "a", "b", "c"};
    int32_t parts[] = {1, 2, 3, 4};
    ctl_stop_t s = {7, 8, 99, false, topics, parts, 4}, d;
    kwr_t wr;
    kwr_init(&wr, 0);
    ctl_stop_encode(&wr, &s);
    krd_t rd;
    krd_init(&rd, wr.buf, wr.len);
    assert_int_equal(ctl_stop_decode(&rd, &d), 0);
    assert_int_equal(d.controller_id, 7);
    assert_int_equal(d.controller_epoch, 8);
    assert_int_equal(d.broker_epoch, 99);
    assert_false(d.delete_partitions);
    assert_int_equal(d.n, 4);
    static const char *wt[] = {"a", "b", "b", "c"};
    static const int32_t wp[] = {2, 1, 3, 4};
    for (int i = 0; i < 4; i++) {
        assert_string_equal(d.topics[i], wt[i]);
        assert_int_equal(d.partitions[i], wp[i]);
    }
    ctl_stop_free(&d);
    kwr_free(&wr);
}

typedef void (*perr_enc_fn)(kwr_t *, int16_t, const ctl_perr_t *, int);
typedef int (*perr_dec_fn)(krd_t *, int16_t *, ctl_perr_t **, int *);

static void roundtrip_perr(perr_enc_fn enc, perr_dec_fn dec, bool with_error)
{
    ctl_perr_t pe[] = {{"x", 1, KERR_NOT_LEADER_OR_FOLLOWER}, {"yy", 2, KERR_NONE}, {"x", 0, 56}}, *d;
    int16_t err;
    int n;
    kwr_t wr;
    kwr_init(&wr, 0);
    enc(&wr, KERR_STALE_CONTROLLER_EPOCH, pe, 3);
    krd_t rd;
    krd_init(&rd, wr.buf, wr.len);
    assert_int_equal(dec(&rd, &err, &d, &n), 0);
    assert_int_equal(err, KERR_STALE_CONTROLLER_EPOCH);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(d[i].topic, pe[i].topic);
        assert_int_equal(d[i].partition, pe[i].partition);
        assert_int_equal(d[i].error, with_error ? pe[i].error : 0);
    }
    ctl_perr_free(d, n);
    kwr_free(&wr);
}

static void test_resp_roundtrip(void **state)
{
    (void)state;
    roundtrip_perr(ctl_lair_resp_encode, ctl_lair_resp_decode, true);
    roundtrip_perr(ctl_stop_resp_encode, ctl_stop_resp_decode, true);
    roundtrip_perr(ctl_cs_resp_encode, ctl_cs_resp_decode, false);

    kwr_t wr;
    int32_t id;
    int64_t epoch;
    kwr_init(&wr, 0);
    ctl_cs_encode(&wr, 12, 0x7000000000000001LL);
    krd_t rd;
    krd_init(&rd, wr.buf, wr.len);
    assert_int_equal(ctl_cs_decode(&rd, &id, &epoch), 0);
    assert_int_equal(id, 12);
    assert_int_equal(epoch, 0x7000000000000001LL);
    kwr_free(&wr);
}

/* UpdateMetadata from another writer: several endpoints, PLAINTEXT not first. */
static void test_um_endpoint_choice(void **state)
{
    (void)state;
    kwr_t wr;
    kwr_init(&wr, 0);
    kwr_i32(&wr, 1);
    kwr_i32(&wr, 2);
    kwr_i64(&wr, 3);
    kwr_array(&wr, false, 0);
    kwr_array(&wr, false, 2);
    kwr_i32(&wr, 5); /* broker 5: two endpoints */
    kwr_array(&wr, false, 2);
    kwr_i32(&wr, 1111);
    kwr_str(&wr, false, "repl");
    kwr_str(&wr, false, "REPLICATION");
    kwr_i16(&wr, 0);
    kwr_i32(&wr, 2222);
    kwr_str(&wr, false, "client");
    kwr_str(&wr, false, "PLAINTEXT");
    kwr_i16(&wr, 0);
    kwr_str(&wr, false, "r1");
    kwr_i32(&wr, 6); /* broker 6: no endpoint */
    kwr_array(&wr, false, 0);
    kwr_str(&wr, false, NULL);
    ctl_state_t d;
    krd_t rd;
    krd_init(&rd, wr.buf, wr.len);
    assert_int_equal(ctl_um_decode(&rd, &d), 0);
    assert_int_equal(d.nnodes, 2);
    assert_string_equal(d.nodes[0].host, "client");
    assert_int_equal(d.nodes[0].port, 2222);
    assert_string_equal(d.nodes[0].rack, "r1");
    assert_string_equal(d.nodes[1].host, "");
    assert_int_equal(d.nodes[1].port, -1);
    assert_null(d.nodes[1].rack);
    ctl_state_free(&d);
    kwr_free(&wr);
}

/* ---- hostile input ---- */

/* Decode a buffer with every decoder kind selected by `which`; 0 or -1. */
static int decode_any(int which, const uint8_t *buf, size_t len)
{
    krd_t rd;
    krd_init(&rd, buf, len);
    ctl_state_t s;
    ctl_stop_t st;
    ctl_perr_t *pe;
    int16_t err;
    int n, rc;
    int32_t id;
    int64_t ep;
    switch (which) {
    case 0:
        rc = ctl_lair_decode(&rd, &s);
        if (rc == 0)
            ctl_state_free(&s);
        else
            assert_null(s.parts);
        return rc;
    case 1:
        rc = ctl_um_decode(&rd, &s);
        if (rc == 0)
            ctl_state_free(&s);
        else
            assert_null(s.nodes);
        return rc;
    case 2:
        rc = ctl_stop_decode(&rd, &st);
        if (rc == 0)
            ctl_stop_free(&st);
        else
            assert_null(st.topics);
        return rc;
    case 3:
        rc = ctl_lair_resp_decode(&rd, &err, &pe, &n);
        break;
    case 4:
        rc = ctl_stop_resp_decode(&rd, &err, &pe, &n);
        break;
    case 5:
        rc = ctl_cs_resp_decode(&rd, &err, &pe, &n);
        break;
    case 6:
        return ctl_cs_decode(&rd, &id, &ep);
    default: {
        ctl_ap_t ap;
        rc = which == 7 ? ctl_ap_decode(&rd, &ap) : ctl_ap_resp_decode(&rd, &ap);
        if (rc == 0)
            ctl_ap_free(&ap);
        else
            assert_null(ap.parts);
        return rc;
    }
    }
    if (rc == 0)
        ctl_perr_free(pe, n);
    else
        assert_null(pe);
    return rc;
}

/* Encodings of the sample of each kind (index as in decode_any). */
static void encode_any(int which, kwr_t *wr)
{
    ctl_state_t s = sample_state();
    char *topics[] = {"b", "a", "b"};
    int32_t parts[] = {1, 2, 3};
    ctl_stop_t st = {7, 8, 99, true, topics, parts, 3};
    ctl_perr_t pe[] = {{"x", 1, 6}, {"yy", 2, 0}};
    switch (which) {
    case 0: ctl_lair_encode(wr, &s); break;
    case 1: ctl_um_encode(wr, &s); break;
    case 2: ctl_stop_encode(wr, &st); break;
    case 3: ctl_lair_resp_encode(wr, 0, pe, 2); break;
    case 4: ctl_stop_resp_encode(wr, 0, pe, 2); break;
    case 5: ctl_cs_resp_encode(wr, 0, pe, 2); break;
    case 6: ctl_cs_encode(wr, 1, 2); break;
    default: {
        int32_t isr1[] = {1, 2}, isr2[] = {3};
        ctl_ap_part_t ap[] = {{"b", 0, 5, isr1, 2, 7, 0, 1}, {"a", 3, 6, isr2, 1, 8, 74, 3}, {"b", 1, 5, isr1, 2, 9, 0, 2}};
        ctl_ap_t r = {4, 1234567890123LL, 0, ap, 3};
        if (which == 7)
            ctl_ap_encode(wr, &r);
        else
            ctl_ap_resp_encode(wr, &r);
        break;
    }
    }
}

static void test_truncation(void **state)
{
    (void)state;
    for (int which = 0; which < 9; which++) {
        kwr_t wr;
        kwr_init(&wr, 0);
        encode_any(which, &wr);
        assert_int_equal(decode_any(which, wr.buf, wr.len), 0);
        for (size_t cut = 0; cut < wr.len; cut++) {
            /* A fresh heap copy of exactly `cut` bytes, so reading past it is a real overrun under ASan. */
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, wr.buf, cut);
            if (decode_any(which, copy, cut) != -1)
                fail_msg("kind %d decoded with %zu of %zu bytes", which, cut, wr.len);
            free(copy);
        }
        kwr_free(&wr);
    }
}

/* Every 4-byte window of every sample overwritten with a huge count: no
 * decode may allocate more than a small multiple of its input. */
static void test_hostile_counts(void **state)
{
    (void)state;
    static const uint32_t huge[] = {0x7fffffffu, 0x7fffff00u, 0x00ffffffu, 0xffffffffu, 0x80000000u};
#if TRACK_ALLOC
    { /* the tracker itself sees a valid decode's allocations */
        kwr_t w;
        kwr_init(&w, 0);
        encode_any(0, &w);
        track_start();
        assert_int_equal(decode_any(0, w.buf, w.len), 0);
        assert_true(track_stop() >= 4 * sizeof(ctl_part_t));
        kwr_free(&w);
    }
#endif
    for (int which = 0; which < 9; which++) {
        kwr_t wr;
        kwr_init(&wr, 0);
        encode_any(which, &wr);
        uint8_t *buf = malloc(wr.len);
        for (size_t off = 0; off + 4 <= wr.len; off++) {
            for (size_t h = 0; h < ARRAY_LEN(huge); h++) {
                memcpy(buf, wr.buf, wr.len);
                put_be32(buf + off, (int32_t)huge[h]);
                track_start();
                (void)decode_any(which, buf, wr.len);
                size_t max = track_stop();
                if (max > 64 * wr.len + 1024)
                    fail_msg("kind %d, count %#x at %zu: allocated %zu bytes for %zu input bytes", which,
                             huge[h], off, max, wr.len);
            }
        }
        free(buf);
        kwr_free(&wr);
    }

    /* Direct cases: each array count larger than what is left must fail. */
    kwr_t wr;
    kwr_init(&wr, 0);
    kwr_i32(&wr, 1);
    kwr_i32(&wr, 2);
    kwr_i64(&wr, 3);
    kwr_i32(&wr, 1); /* one topic */
    kwr_str(&wr, false, "t");
    kwr_i32(&wr, 2); /* claims two partitions, has none */
    kwr_i32(&wr, 0);
    kwr_raw(&wr, "0123456789012345678901234567890123456789", 40);
    assert_int_equal(decode_any(0, wr.buf, wr.len), -1);
    assert_int_equal(decode_any(1, wr.buf, wr.len), -1);
    kwr_reset(&wr);
    kwr_i16(&wr, 0);
    kwr_i32(&wr, 2); /* two partition errors need >= 16 bytes */
    kwr_raw(&wr, "012345678901234", 15);
    assert_int_equal(decode_any(3, wr.buf, wr.len), -1);
    kwr_free(&wr);

    /* Null arrays and strings where the schema does not allow them. */
    static const uint8_t null_topics[] = {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff,
                                          0, 0, 0, 0};
    assert_int_equal(decode_any(0, null_topics, sizeof null_topics), -1);
    static const uint8_t null_name[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                                        0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(decode_any(1, null_name, sizeof null_name), -1);
}

/* ---- kclient over loopback ---- */

enum srv_mode { SRV_ANSWER, SRV_BAD_CORR, SRV_HUGE, SRV_SILENT, SRV_FLEX };

struct srv {
    int lfd, port;
    enum srv_mode mode;
    pthread_t th;
    /* What the server saw in the request, checked by the test. */
    int16_t key, version;
    int32_t corr;
    char client_id[64];
    bool tags_ok;
    ctl_state_t lair;
    int decoded;
};

static int read_n(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n > 0) {
        ssize_t r = read(fd, b, n);
        if (r <= 0)
            return -1;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

static void send_frame(int fd, const kwr_t *hdr_and_body)
{
    uint8_t sz[4];
    put_be32(sz, (int32_t)hdr_and_body->len);
    assert_int_equal(write(fd, sz, 4), 4);
    assert_int_equal(write(fd, hdr_and_body->buf, hdr_and_body->len), (ssize_t)hdr_and_body->len);
}

static void serve_one(struct srv *s, int fd)
{
    uint8_t szb[4];
    if (read_n(fd, szb, 4) < 0)
        return;
    size_t size = (size_t)be32(szb);
    uint8_t *frame = malloc(size);
    if (read_n(fd, frame, size) < 0) {
        free(frame);
        return;
    }
    krd_t rd;
    krd_init(&rd, frame, size);
    s->key = krd_i16(&rd);
    s->version = krd_i16(&rd);
    s->corr = krd_i32(&rd);
    kstr_t cid = krd_str(&rd, false, true);
    snprintf(s->client_id, sizeof s->client_id, "%.*s", cid.len < 0 ? 0 : (int)cid.len, (const char *)cid.ptr);
    s->tags_ok = s->mode != SRV_FLEX || krd_i8(&rd) == 0;
    if (s->decoded == 0)
        ctl_state_free(&s->lair); /* keep only the last request */
    s->decoded = ctl_lair_decode(&rd, &s->lair);
    free(frame);

    kwr_t out;
    kwr_init(&out, 0);
    ctl_perr_t pe[] = {{"alpha", 0, 0}};
    switch (s->mode) {
    case SRV_SILENT:
        usleep(600 * 1000);
        break;
    case SRV_HUGE: {
        uint8_t big[4];
        put_be32(big, (int32_t)(KCLIENT_MAX_RESPONSE + 1));
        assert_int_equal(write(fd, big, 4), 4);
        break;
    }
    default:
        kwr_i32(&out, s->mode == SRV_BAD_CORR ? s->corr + 1 : s->corr);
        if (s->mode == SRV_FLEX) {
            kwr_uvarint(&out, 1); /* one tagged field the client must skip */
            kwr_uvarint(&out, 7);
            kwr_uvarint(&out, 2);
            kwr_i16(&out, 0x7777);
        }
        ctl_lair_resp_encode(&out, KERR_NONE, pe, 1);
        send_frame(fd, &out);
    }
    kwr_free(&out);
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd >= 0) {
        serve_one(s, fd);
        if (s->mode == SRV_ANSWER)
            serve_one(s, fd); /* a second request on the same connection */
        close(fd);
    }
    return NULL;
}

static void srv_start(struct srv *s, enum srv_mode mode)
{
    memset(s, 0, sizeof *s);
    s->mode = mode;
    s->decoded = -1;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->lfd, 4), 0);
    socklen_t len = sizeof a;
    getsockname(s->lfd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->th, NULL, srv_main, s);
}

static void srv_stop(struct srv *s)
{
    pthread_join(s->th, NULL);
    close(s->lfd);
}

static void srv_free(struct srv *s)
{
    if (s->decoded == 0)
        ctl_state_free(&s->lair);
}

static int call_lair(kclient_t *c, bool flex, int timeout_ms, uint8_t **resp, size_t *resp_len)
{
    ctl_state_t st = sample_state();
    kwr_t body;
    kwr_init(&body, 0);
    ctl_lair_encode(&body, &st);
    int rc = (flex ? kclient_call_flex : kclient_call)(c, KAPI_LEADER_AND_ISR, CTL_LAIR_VERSION, "ctl-test", body.buf,
                                                        body.len, timeout_ms, resp, resp_len);
    kwr_free(&body);
    return rc;
}

static void check_lair_resp(const uint8_t *resp, size_t len)
{
    krd_t rd;
    krd_init(&rd, resp, len);
    int16_t err;
    ctl_perr_t *pe;
    int n;
    assert_int_equal(ctl_lair_resp_decode(&rd, &err, &pe, &n), 0);
    assert_int_equal(krd_remain(&rd), 0);
    assert_int_equal(err, 0);
    assert_int_equal(n, 1);
    assert_string_equal(pe[0].topic, "alpha");
    ctl_perr_free(pe, n);
}

static void test_kclient_call(void **state)
{
    (void)state;
    struct srv s;
    char err[256];
    srv_start(&s, SRV_ANSWER);
    kclient_t *c = kclient_connect("127.0.0.1", s.port, 2000, err, sizeof err);
    assert_non_null(c);
    uint8_t *resp;
    size_t len;
    assert_int_equal(call_lair(c, false, 2000, &resp, &len), 0);
    check_lair_resp(resp, len);
    free(resp);
    int32_t first = s.corr;
    assert_int_equal(call_lair(c, false, 2000, &resp, &len), 0);
    check_lair_resp(resp, len);
    free(resp);
    kclient_close(c);
    srv_stop(&s);
    assert_int_equal(s.key, KAPI_LEADER_AND_ISR);
    assert_int_equal(s.version, 3);
    assert_int_equal(s.corr, first + 1);
    assert_string_equal(s.client_id, "ctl-test");
    assert_int_equal(s.decoded, 0);
    ctl_state_t want = sample_state();
    assert_state(&s.lair, &want, true);
    srv_free(&s);
}

static void test_kclient_flex(void **state)
{
    (void)state;
    struct srv s;
    char err[256];
    srv_start(&s, SRV_FLEX);
    kclient_t *c = kclient_connect("127.0.0.1", s.port, 2000, err, sizeof err);
    assert_non_null(c);
    uint8_t *resp;
    size_t len;
    assert_int_equal(call_lair(c, true, 2000, &resp, &len), 0);
    check_lair_resp(resp, len);
    free(resp);
    kclient_close(c);
    srv_stop(&s);
    assert_true(s.tags_ok);
    assert_int_equal(s.decoded, 0);
    srv_free(&s);
}

static void test_kclient_failures(void **state)
{
    (void)state;
    static const enum srv_mode modes[] = {SRV_BAD_CORR, SRV_HUGE, SRV_SILENT};
    for (size_t i = 0; i < ARRAY_LEN(modes); i++) {
        struct srv s;
        char err[256];
        srv_start(&s, modes[i]);
        kclient_t *c = kclient_connect("127.0.0.1", s.port, 2000, err, sizeof err);
        assert_non_null(c);
        uint8_t *resp = (uint8_t *)"x";
        size_t len = 1;
        int64_t t0 = mono_ms();
        assert_int_equal(call_lair(c, false, 300, &resp, &len), -1);
        assert_null(resp);
        assert_true(mono_ms() - t0 < 2000);
        assert_true(kclient_error(c)[0] != '\0');
        /* The connection is now unusable: a second call fails at once. */
        assert_int_equal(call_lair(c, false, 300, &resp, &len), -1);
        kclient_close(c);
        srv_stop(&s);
        srv_free(&s);
    }

    /* Nothing listening. */
    struct srv s;
    srv_start(&s, SRV_ANSWER);
    int port = s.port;
    kclient_t *c = kclient_connect("127.0.0.1", port, 1000, NULL, 0); /* consumes the accept */
    kclient_close(c);
    srv_stop(&s);
    char err[256];
    assert_null(kclient_connect("127.0.0.1", port, 1000, err, sizeof err));
    assert_non_null(strstr(err, "connecting to 127.0.0.1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lair_bytes),       cmocka_unit_test(test_um_bytes),
        cmocka_unit_test(test_stop_bytes),       cmocka_unit_test(test_resp_bytes),
        cmocka_unit_test(test_lair_roundtrip),   cmocka_unit_test(test_um_roundtrip),
        cmocka_unit_test(test_stop_roundtrip),   cmocka_unit_test(test_resp_roundtrip),
        cmocka_unit_test(test_um_endpoint_choice), cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_hostile_counts),   cmocka_unit_test(test_kclient_call),
        cmocka_unit_test(test_ap_bytes),         cmocka_unit_test(test_ap_roundtrip),
        cmocka_unit_test(test_kclient_flex),     cmocka_unit_test(test_kclient_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
