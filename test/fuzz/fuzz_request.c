/*
 * fuzz_request.c - libFuzzer harness for the broker's request handling: the
 * input is one request frame (header + body; the harness prepends the INT32
 * size) sent over a loopback connection into a real kserver serving the
 * broker's API table, with one partition "t"-0 led by this broker and the
 * metadata cache holding topic "t" (test/unit/api_harness.h; no ZooKeeper).
 * The loop runs until the answer or the close; any fetch left waiting is
 * answered at once, and state the input may have changed (partitions made by
 * LeaderAndIsr, the metadata cache, fencing epochs) is put back, so inputs
 * stay independent.  The log of "t"-0 grows with accepted produces; the whole
 * broker is rebuilt in a fresh directory every RESET_EVERY inputs.
 * With WEIR_FUZZ_SEEDS=<dir> (test/fuzz/run.sh sets it to the corpus dir) it
 * first writes a valid request of every API there as seeds.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/batch.h"
#include "common/ctlmsg.h"
#include "common/proto.h"
#include "common/wlog.h"
#include "test/unit/api_harness.h"

#define RESET_EVERY 10000
#define MAX_INPUT (1u << 20)

static hs_t H;
static hc_t C;
static unsigned long g_inputs;

static void hdr(kwr_t *w, int16_t key, int16_t ver, bool flexible)
{
    hreq_begin(w, key, ver, 1, "fuzz", flexible);
}

/* ---- seeds: a valid request of every API and version range ---- */

static void write_seed(const char *dir, const char *name, int v, const kwr_t *w)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-%s-v%d", dir, name, v);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(w->buf, 1, w->len, f);
    fclose(f);
}

static void seed_produce(const char *dir)
{
    krecord_in_t r[2] = {{.key = "k", .key_len = 1, .value = "value", .value_len = 5, .timestamp = 1000},
                         {.key_len = -1, .value = "v2", .value_len = 2, .timestamp = 1001}};
    kwr_t batch, w;
    kwr_init(&batch, 128);
    kwr_init(&w, 256);
    kbatch_build(&batch, 0, r, 2);
    int16_t versions[] = {0, 3, 7};
    int16_t acks[] = {1, -1, 0};
    for (size_t i = 0; i < 3; i++) {
        kwr_reset(&w);
        hdr(&w, KAPI_PRODUCE, versions[i], false);
        if (versions[i] >= 3)
            kwr_str(&w, false, NULL);
        kwr_i16(&w, acks[i]);
        kwr_i32(&w, 1000);
        kwr_array(&w, false, 1);
        kwr_str(&w, false, "t");
        kwr_array(&w, false, 1);
        kwr_i32(&w, 0);
        kwr_bytes(&w, false, batch.buf, (int32_t)batch.len);
        write_seed(dir, "produce", versions[i], &w);
    }
    kwr_free(&batch);
    kwr_free(&w);
}

static void seed_fetch(const char *dir)
{
    kwr_t w;
    kwr_init(&w, 128);
    int16_t versions[] = {0, 4, 7, 11};
    for (size_t i = 0; i < 4; i++) {
        int16_t v = versions[i];
        kwr_reset(&w);
        hdr(&w, KAPI_FETCH, v, false);
        kwr_i32(&w, -1);
        kwr_i32(&w, 100);
        kwr_i32(&w, 1);
        if (v >= 3)
            kwr_i32(&w, 1 << 20);
        if (v >= 4)
            kwr_i8(&w, 0);
        if (v >= 7) {
            kwr_i32(&w, 0);
            kwr_i32(&w, -1);
        }
        kwr_array(&w, false, 1);
        kwr_str(&w, false, "t");
        kwr_array(&w, false, 1);
        kwr_i32(&w, 0);
        if (v >= 9)
            kwr_i32(&w, -1);
        kwr_i64(&w, 0);
        if (v >= 5)
            kwr_i64(&w, -1);
        kwr_i32(&w, 1 << 20);
        if (v >= 7)
            kwr_array(&w, false, 0);
        if (v >= 11)
            kwr_str(&w, false, "");
        write_seed(dir, "fetch", v, &w);
    }
    kwr_free(&w);
}

static void seed_simple(const char *dir)
{
    kwr_t w;
    kwr_init(&w, 128);
    for (int16_t v = 0; v <= 4; v++) {
        kwr_reset(&w);
        hdr(&w, KAPI_API_VERSIONS, v, v >= 3);
        if (v >= 3) {
            kwr_str(&w, true, "librdkafka");
            kwr_str(&w, true, "2.0.2");
            kwr_tags(&w);
        }
        write_seed(dir, "apiversions", v, &w);

        kwr_reset(&w);
        hdr(&w, KAPI_METADATA, v, false);
        kwr_array(&w, false, 2);
        kwr_str(&w, false, "t");
        kwr_str(&w, false, "u");
        if (v >= 4)
            kwr_bool(&w, true);
        write_seed(dir, "metadata", v, &w);
    }
    for (int16_t v = 0; v <= 2; v++) {
        kwr_reset(&w);
        hdr(&w, KAPI_LIST_OFFSETS, v, false);
        kwr_i32(&w, -1);
        if (v >= 2)
            kwr_i8(&w, 0);
        kwr_array(&w, false, 1);
        kwr_str(&w, false, "t");
        kwr_array(&w, false, 2);
        for (int i = 0; i < 2; i++) {
            kwr_i32(&w, 0);
            kwr_i64(&w, i ? 1000 : KTS_LATEST);
            if (v == 0)
                kwr_i32(&w, 1);
        }
        write_seed(dir, "listoffsets", v, &w);

        kwr_reset(&w);
        hdr(&w, KAPI_FIND_COORDINATOR, v, false);
        kwr_str(&w, false, "group");
        if (v >= 1)
            kwr_i8(&w, 0);
        write_seed(dir, "findcoordinator", v, &w);

        kwr_reset(&w);
        hdr(&w, KAPI_DESCRIBE_CONFIGS, v, false);
        kwr_array(&w, false, 2);
        kwr_i8(&w, 2);
        kwr_str(&w, false, "t");
        kwr_array(&w, false, -1);
        kwr_i8(&w, 4);
        kwr_str(&w, false, "1");
        kwr_array(&w, false, 1);
        kwr_str(&w, false, "broker.id");
        if (v >= 1)
            kwr_bool(&w, true);
        write_seed(dir, "describeconfigs", v, &w);
    }
    kwr_free(&w);
}

static void seed_admin(const char *dir)
{
    kwr_t w;
    kwr_init(&w, 128);
    for (int16_t v = 0; v <= 4; v++) {
        kwr_reset(&w);
        hdr(&w, KAPI_CREATE_TOPICS, v, false);
        kwr_array(&w, false, 1);
        kwr_str(&w, false, "a");
        kwr_i32(&w, 2);
        kwr_i16(&w, 1);
        kwr_array(&w, false, 1);
        kwr_i32(&w, 0);
        kwr_array(&w, false, 1);
        kwr_i32(&w, 1);
        kwr_array(&w, false, 1);
        kwr_str(&w, false, "retention.ms");
        kwr_str(&w, false, "1000");
        kwr_i32(&w, 1000);
        if (v >= 1)
            kwr_bool(&w, false);
        write_seed(dir, "createtopics", v, &w);
    }
    kwr_reset(&w);
    hdr(&w, KAPI_DELETE_TOPICS, 1, false);
    kwr_array(&w, false, 1);
    kwr_str(&w, false, "a");
    kwr_i32(&w, 1000);
    write_seed(dir, "deletetopics", 1, &w);
    kwr_reset(&w);
    hdr(&w, KAPI_CREATE_PARTITIONS, 1, false);
    kwr_array(&w, false, 1);
    kwr_str(&w, false, "a");
    kwr_i32(&w, 3);
    kwr_array(&w, false, 1);
    kwr_array(&w, false, 1);
    kwr_i32(&w, 1);
    kwr_i32(&w, 1000);
    kwr_bool(&w, false);
    write_seed(dir, "createpartitions", 1, &w);
    kwr_free(&w);
}

static void seed_control(const char *dir)
{
    static int32_t ids[] = {1, 2};
    static char t[] = "t", n[] = "n", host[] = "127.0.0.1", rack[] = "r";
    ctl_part_t parts[2] = {
        {.topic = t, .partition = 0, .controller_epoch = 1, .leader = 1, .leader_epoch = 1, .isr = ids, .nisr = 2,
         .zk_version = 1, .replicas = ids, .nreplicas = 2},
        {.topic = n, .partition = 1, .controller_epoch = 1, .leader = 2, .leader_epoch = 0, .isr = ids, .nisr = 1,
         .zk_version = 0, .replicas = ids, .nreplicas = 2},
    };
    ctl_node_t nodes[2] = {{.id = 1, .host = host, .port = 9092}, {.id = 2, .host = host, .port = 9093, .rack = rack}};
    ctl_state_t s = {.controller_id = 9, .controller_epoch = 1, .broker_epoch = -1, .parts = parts, .nparts = 2,
                     .nodes = nodes, .nnodes = 2};
    kwr_t w;
    kwr_init(&w, 256);
    hdr(&w, KAPI_LEADER_AND_ISR, CTL_LAIR_VERSION, false);
    ctl_lair_encode(&w, &s);
    write_seed(dir, "leaderandisr", CTL_LAIR_VERSION, &w);
    kwr_reset(&w);
    hdr(&w, KAPI_UPDATE_METADATA, CTL_UM_VERSION, false);
    ctl_um_encode(&w, &s);
    write_seed(dir, "updatemetadata", CTL_UM_VERSION, &w);
    char *topics[] = {t, n};
    int32_t pids[] = {0, 1};
    ctl_stop_t st = {.controller_id = 9, .controller_epoch = 1, .broker_epoch = -1, .delete_partitions = true,
                     .topics = topics, .partitions = pids, .n = 2};
    kwr_reset(&w);
    hdr(&w, KAPI_STOP_REPLICA, CTL_STOP_VERSION, false);
    ctl_stop_encode(&w, &st);
    write_seed(dir, "stopreplica", CTL_STOP_VERSION, &w);
    kwr_free(&w);
}

/* ---- per-input reset ---- */

static void drop_extra(bpart_t *p, void *arg)
{
    if (strcmp(p->topic, "t") != 0 || p->partition != 0)
        bpart_remove(arg, p, true);
}

static void reset_state(void)
{
    bk_t *b = &H.b;
    bpart_foreach(b, drop_extra, b);
    if (!hs_serve_t0(&H))
        abort();
    hs_meta_reset(&H);
    b->controller_epoch = -1;
    b->broker_epoch = -1;
}

static void reconnect(void)
{
    hc_close(&C);
    if (hc_connect(&H, &C) != 0)
        abort();
}

static void rebuild(void)
{
    hc_close(&C);
    hs_close(&H);
    if (hs_open(&H) != 0)
        abort();
    reconnect();
}

/* libFuzzer exits without a teardown hook: at least leave no log dir behind. */
static void remove_dir(void)
{
    if (H.dir[0])
        hs_rm_rf(H.dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    wlog_setup("fuzz", WLOG_ERROR); /* every malformed input logs a close */
    const char *dir = getenv("WEIR_FUZZ_SEEDS");
    if (dir && *dir) {
        seed_produce(dir);
        seed_fetch(dir);
        seed_simple(dir);
        seed_admin(dir);
        seed_control(dir);
    }
    if (hs_open(&H) != 0)
        abort();
    atexit(remove_dir);
    C.fd = -1;
    reconnect();
    return 0;
}

/* Pump until a whole response is in, the server closed, or ~3 ms idle. */
static void await_answer(void)
{
    int idle = 0;
    size_t last = C.len;
    while (!C.eof && idle < 3) {
        hs_pump(&H);
        hc_fill(&C);
        if (C.len >= 4 && C.len >= 4 + (size_t)(uint32_t)be32(C.buf))
            return;
        if (C.len == last) {
            struct pollfd pfd = {C.fd, POLLIN, 0};
            idle += poll(&pfd, 1, 1) == 0;
        }
        last = C.len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    if (++g_inputs % RESET_EVERY == 0)
        rebuild();
    if (hc_send(&H, &C, data, size) != 0) {
        reconnect();
        return 0;
    }
    await_answer();
    /* Answer any long poll now, deliver it, and forget every byte received. */
    fetch_free_waiters(&H.b);
    hs_pump(&H);
    hc_fill(&C);
    C.len = 0;
    reset_state();
    if (C.eof)
        reconnect();
    return 0;
}
