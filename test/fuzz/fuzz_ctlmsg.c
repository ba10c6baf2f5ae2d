/*
 * fuzz_ctlmsg.c - every controller<->broker message decoder on arbitrary
 * bytes.  The first byte picks the decoder so the fuzzer can specialise;
 * successful decodes are re-encoded and must decode again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctlmsg.h"

static void state(const uint8_t *p, size_t n, bool lair)
{
    krd_t rd;
    ctl_state_t s, s2;
    krd_init(&rd, p, n);
    if ((lair ? ctl_lair_decode : ctl_um_decode)(&rd, &s) != 0)
        return;
    kwr_t wr;
    kwr_init(&wr, 0);
    (lair ? ctl_lair_encode : ctl_um_encode)(&wr, &s);
    krd_init(&rd, wr.buf, wr.len);
    if (!wr.oom) {
        if ((lair ? ctl_lair_decode : ctl_um_decode)(&rd, &s2) != 0 || s2.nparts != s.nparts || s2.nnodes != s.nnodes)
            abort();
        ctl_state_free(&s2);
    }
    kwr_free(&wr);
    ctl_state_free(&s);
}

static void stop(const uint8_t *p, size_t n)
{
    krd_t rd;
    ctl_stop_t s, s2;
    krd_init(&rd, p, n);
    if (ctl_stop_decode(&rd, &s) != 0)
        return;
    kwr_t wr;
    kwr_init(&wr, 0);
    ctl_stop_encode(&wr, &s);
    krd_init(&rd, wr.buf, wr.len);
    if (!wr.oom) {
        if (ctl_stop_decode(&rd, &s2) != 0 || s2.n != s.n)
            abort();
        ctl_stop_free(&s2);
    }
    kwr_free(&wr);
    ctl_stop_free(&s);
}

static void perrs(const uint8_t *p, size_t n, int which)
{
    krd_t rd;
    int16_t err;
    ctl_perr_t *pe;
    int cnt, rc;
    krd_init(&rd, p, n);
    if (which == 0)
        rc = ctl_lair_resp_decode(&rd, &err, &pe, &cnt);
    else if (which == 1)
        rc = ctl_stop_resp_decode(&rd, &err, &pe, &cnt);
    else
        rc = ctl_cs_resp_decode(&rd, &err, &pe, &cnt);
    if (rc == 0)
        ctl_perr_free(pe, cnt);
}

static void write_seed(const char *dir, int kind, const kwr_t *wr)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-%d", dir, kind);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    uint8_t k = (uint8_t)kind;
    fwrite(&k, 1, 1, f);
    fwrite(wr->buf, 1, wr->len, f);
    fclose(f);
}

/* Valid messages of every kind as starting points, when run.sh names a corpus. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("WEIR_FUZZ_SEEDS");
    if (!dir)
        return 0;
    int32_t isr[] = {1, 2}, off[] = {3};
    ctl_part_t parts[] = {{"b", 4, 7, 1, 11, isr, 2, 21, isr, 2, off, 1, true},
                          {"a", 0, 8, 2, 12, isr, 1, 22, isr, 2, NULL, 0, false}};
    ctl_node_t nodes[] = {{1, "h1", 9092, "r"}, {2, "h2", 9093, NULL}};
    ctl_state_t st = {1, 2, 3, parts, 2, nodes, 2};
    char *topics[] = {"b", "a", "b"};
    int32_t pids[] = {1, 2, 3};
    ctl_stop_t stop = {1, 2, 3, true, topics, pids, 3};
    ctl_perr_t pe[] = {{"x", 1, 6}, {"y", 2, 0}};
    kwr_t wr;
    kwr_init(&wr, 0);
    for (int kind = 0; kind < 7; kind++) {
        kwr_reset(&wr);
        switch (kind) {
        case 0: ctl_lair_encode(&wr, &st); break;
        case 1: ctl_um_encode(&wr, &st); break;
        case 2: ctl_stop_encode(&wr, &stop); break;
        case 3: ctl_lair_resp_encode(&wr, 0, pe, 2); break;
        case 4: ctl_stop_resp_encode(&wr, 0, pe, 2); break;
        case 5: ctl_cs_resp_encode(&wr, 0, pe, 2); break;
        default: ctl_cs_encode(&wr, 1, 2); break;
        }
        write_seed(dir, kind, &wr);
    }
    kwr_free(&wr);
    return 0;
}

/* AlterPartition request or response: decode, re-encode, decode again. */
static void alter(const uint8_t *p, size_t n, bool resp)
{
    krd_t rd;
    krd_init(&rd, p, n);
    ctl_ap_t a;
    if ((resp ? ctl_ap_resp_decode : ctl_ap_decode)(&rd, &a) != 0)
        return;
    kwr_t wr;
    kwr_init(&wr, 256);
    (resp ? ctl_ap_resp_encode : ctl_ap_encode)(&wr, &a);
    krd_init(&rd, wr.buf, wr.len);
    ctl_ap_t b;
    if ((resp ? ctl_ap_resp_decode : ctl_ap_decode)(&rd, &b) != 0 || b.n != a.n)
        abort();
    ctl_ap_free(&b);
    kwr_free(&wr);
    ctl_ap_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    krd_t rd;
    int32_t id;
    int64_t epoch;
    switch (data[0] % 9) {
    case 0: state(p, n, true); break;
    case 1: state(p, n, false); break;
    case 2: stop(p, n); break;
    case 3: perrs(p, n, 0); break;
    case 4: perrs(p, n, 1); break;
    case 5: perrs(p, n, 2); break;
    case 7: alter(p, n, false); break;
    case 8: alter(p, n, true); break;
    default:
        krd_init(&rd, p, n);
        (void)ctl_cs_decode(&rd, &id, &epoch);
        break;
    }
    return 0;
}
