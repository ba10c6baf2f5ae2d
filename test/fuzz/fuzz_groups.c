/*
 * fuzz_groups.c - libFuzzer harness for the group APIs (JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
 * DescribeGroups, ListGroups, DeleteGroups, OffsetDelete) through the
 * in-process broker of test/unit/api_harness.h, with a group store whose
 * coordinator check always passes, whose writes complete at once, and whose
 * clock the harness moves.
 *
 * An input is a sequence of request frames, each prefixed by a big-endian
 * UINT16 length (the harness adds the INT32 frame size), so one input can
 * join, sync, commit and leave; the clock advances 3 s and the store ticks
 * after each frame, exercising session and rebalance timeouts.  Every input
 * starts from a fresh store (the old one answers whatever it held) and a
 * fresh connection, so inputs stay independent.
 * With WEIR_FUZZ_SEEDS=<dir> it first writes seed inputs there.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/group/group.h"
#include "common/proto.h"
#include "common/wlog.h"
#include "test/unit/api_harness.h"

#define MAX_INPUT (1u << 16)
#define MAX_FRAMES 16

static hs_t H;
static hc_t C;
static int64_t g_now = 1000000;

static int64_t f_now(void *ctx)
{
    (void)ctx;
    return g_now;
}

static int16_t f_check(void *ctx, const char *group)
{
    (void)ctx;
    (void)group;
    return KERR_NONE;
}

static int32_t f_part(void *ctx, const char *group)
{
    (void)ctx;
    return group[0] & 1;
}

static void f_append(void *ctx, const char *group, const coord_rec_t *recs, int n, coord_done_fn done, void *arg)
{
    (void)ctx;
    (void)group;
    (void)recs;
    (void)n;
    done(arg, KERR_NONE);
}

static void store_new(void)
{
    gstore_env_t env = {f_now, f_check, f_part, f_append, NULL, NULL};
    H.b.groups = gstore_new_env(&H.b.cfg, &env);
}

/* ---- seeds ---- */

static void hdr(kwr_t *w, int16_t key, int16_t ver) { hreq_begin(w, key, ver, 1, "fuzz", false); }

/* Append one frame (UINT16 length + bytes) to an input. */
static void frame(kwr_t *in, const kwr_t *w)
{
    uint8_t len[2] = {(uint8_t)(w->len >> 8), (uint8_t)w->len};
    kwr_raw(in, len, 2);
    kwr_raw(in, w->buf, w->len);
}

static void write_seed(const char *dir, const char *name, const kwr_t *in)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(in->buf, 1, in->len, f);
    fclose(f);
}

static void join_req(kwr_t *w, int16_t v, const char *member)
{
    hdr(w, KAPI_JOIN_GROUP, v);
    kwr_str(w, false, "g");
    kwr_i32(w, 10000);
    if (v >= 1)
        kwr_i32(w, 20000);
    kwr_str(w, false, member);
    if (v >= 5)
        kwr_str(w, false, "inst");
    kwr_str(w, false, "consumer");
    kwr_array(w, false, 1);
    kwr_str(w, false, "range");
    kwr_bytes(w, false, "\0\0\0\0\0\1\0\1t\377\377\377\377", 13);
}

static void seeds(const char *dir)
{
    kwr_t in, w;
    kwr_init(&in, 256);
    kwr_init(&w, 256);
    for (int16_t v = 0; v <= 5; v += 5) {
        kwr_reset(&in);
        kwr_reset(&w);
        join_req(&w, v, "");
        frame(&in, &w);
        kwr_reset(&w);
        hdr(&w, KAPI_SYNC_GROUP, v ? 3 : 0);
        kwr_str(&w, false, "g");
        kwr_i32(&w, 1);
        kwr_str(&w, false, "m");
        if (v)
            kwr_str(&w, false, "inst");
        kwr_array(&w, false, 1);
        kwr_str(&w, false, "m");
        kwr_bytes(&w, false, "a", 1);
        frame(&in, &w);
        kwr_reset(&w);
        hdr(&w, KAPI_OFFSET_COMMIT, v ? 7 : 2);
        kwr_str(&w, false, "g");
        kwr_i32(&w, -1);
        kwr_str(&w, false, "");
        if (v)
            kwr_str(&w, false, NULL);
        else
            kwr_i64(&w, 1000);
        kwr_array(&w, false, 1);
        kwr_str(&w, false, "t");
        kwr_array(&w, false, 1);
        kwr_i32(&w, 0);
        kwr_i64(&w, 5);
        if (v)
            kwr_i32(&w, 1);
        kwr_str(&w, false, "md");
        frame(&in, &w);
        kwr_reset(&w);
        hdr(&w, KAPI_OFFSET_FETCH, v ? 5 : 1);
        kwr_str(&w, false, "g");
        kwr_array(&w, false, 1);
        kwr_str(&w, false, "t");
        kwr_array(&w, false, 1);
        kwr_i32(&w, 0);
        frame(&in, &w);
        kwr_reset(&w);
        hdr(&w, KAPI_DESCRIBE_GROUPS, v ? 4 : 0);
        kwr_array(&w, false, 1);
        kwr_str(&w, false, "g");
        if (v)
            kwr_bool(&w, true);
        frame(&in, &w);
        kwr_reset(&w);
        hdr(&w, KAPI_HEARTBEAT, v ? 3 : 0);
        kwr_str(&w, false, "g");
        kwr_i32(&w, 1);
        kwr_str(&w, false, "m");
        if (v)
            kwr_str(&w, false, NULL);
        frame(&in, &w);
        kwr_reset(&w);
        hdr(&w, KAPI_LEAVE_GROUP, v ? 1 : 0);
        kwr_str(&w, false, "g");
        kwr_str(&w, false, "m");
        frame(&in, &w);
        kwr_reset(&w);
        hdr(&w, KAPI_OFFSET_DELETE, 0);
        kwr_str(&w, false, "g");
        kwr_array(&w, false, 1);
        kwr_str(&w, false, "t");
        kwr_array(&w, false, 1);
        kwr_i32(&w, 0);
        frame(&in, &w);
        kwr_reset(&w);
        hdr(&w, KAPI_DELETE_GROUPS, v ? 1 : 0);
        kwr_array(&w, false, 1);
        kwr_str(&w, false, "g");
        frame(&in, &w);
        kwr_reset(&w);
        hdr(&w, KAPI_LIST_GROUPS, v ? 2 : 0);
        frame(&in, &w);
        write_seed(dir, v ? "high" : "low", &in);
    }
    kwr_free(&in);
    kwr_free(&w);
}

/* ---- running an input ---- */

static void reconnect(void)
{
    hc_close(&C);
    if (hc_connect(&H, &C) != 0)
        abort();
}

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
    wlog_setup("fuzz", WLOG_ERROR);
    const char *dir = getenv("WEIR_FUZZ_SEEDS");
    if (dir && *dir)
        seeds(dir);
    if (hs_open(&H) != 0)
        abort();
    bcfg_t *c = &H.b.cfg;
    c->group_min_session_timeout_ms = 6000;
    c->group_max_session_timeout_ms = 1800000;
    c->group_max_size = 4;
    c->group_initial_rebalance_delay_ms = 3000;
    c->offsets_retention_minutes = 1;
    c->offsets_retention_check_interval_ms = 10000;
    c->offset_metadata_max_bytes = 64;
    atexit(remove_dir);
    C.fd = -1;
    return 0;
}

/* Pump until the server is idle for ~2 ms (held answers never come). */
static void settle(void)
{
    int idle = 0;
    size_t last = C.len;
    while (!C.eof && idle < 2) {
        hs_pump(&H);
        hc_fill(&C);
        if (C.len == last) {
            struct pollfd pfd = {C.fd, POLLIN, 0};
            idle += poll(&pfd, 1, 1) == 0;
        }
        last = C.len;
    }
    C.len = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    store_new();
    reconnect();
    size_t pos = 0;
    for (int n = 0; n < MAX_FRAMES && size - pos >= 2 && !C.eof; n++) {
        size_t len = (size_t)data[pos] << 8 | data[pos + 1];
        pos += 2;
        if (len > size - pos)
            len = size - pos;
        if (hc_send(&H, &C, data + pos, len) != 0)
            break;
        pos += len;
        settle();
        g_now += 3000;
        gstore_tick(H.b.groups);
        if (!gstore_validate(H.b.groups))
            abort();
    }
    gstore_free(H.b.groups); /* held answers go out */
    H.b.groups = NULL;
    settle();
    return 0;
}
