/*
 * fuzz_znode.c - every znode JSON decoder on arbitrary bytes (as the
 * NUL-terminated string a znode read yields); successful decodes are
 * re-encoded and decoded again, which must succeed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "znode.h"

static void broker(const char *s)
{
    zn_broker_t b, b2;
    if (zn_broker_decode(s, 1, &b) != 0)
        return;
    char *again = zn_broker_encode(&b);
    if (again && zn_broker_decode(again, 1, &b2) != 0)
        abort();
    free(again);
}

static void controller(const char *s)
{
    zn_controller_t c, c2;
    if (zn_controller_decode(s, &c) != 0)
        return;
    char *again = zn_controller_encode(&c);
    if (again && zn_controller_decode(again, &c2) != 0)
        abort();
    free(again);
}

static void assignment(const char *s)
{
    zn_assignment_t a, a2;
    if (zn_assignment_decode(s, &a) != 0)
        return;
    char *again = zn_assignment_encode(&a);
    if (again) {
        if (zn_assignment_decode(again, &a2) != 0 || a2.nparts != a.nparts)
            abort();
        zn_assignment_free(&a2);
    }
    free(again);
    zn_assignment_free(&a);
}

static void pstate(const char *s)
{
    zn_pstate_t p, p2;
    if (zn_pstate_decode(s, &p) != 0)
        return;
    char *again = zn_pstate_encode(&p);
    if (again && (zn_pstate_decode(again, &p2) != 0 || memcmp(&p, &p2, sizeof p) != 0))
        abort();
    free(again);
}

static void config(const char *s)
{
    zn_kv_t *kv, *kv2;
    int n, n2;
    if (zn_config_decode(s, &kv, &n) != 0)
        return;
    char *again = zn_config_encode(kv, n);
    if (again) {
        if (zn_config_decode(again, &kv2, &n2) != 0 || n2 != n)
            abort();
        zn_kv_free(kv2, n2);
    }
    free(again);
    zn_kv_free(kv, n);
}

static void cluster_id(const char *s)
{
    char id[23];
    (void)zn_cluster_id_decode(s, id);
}

/* Kafka's documents of each kind as starting points, when run.sh names a corpus. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *seeds[] = {
        "{\"version\":5,\"host\":\"b1\",\"port\":9092,\"jmx_port\":-1,\"timestamp\":\"1700000000000\","
        "\"endpoints\":[\"CLIENT://b1:9092\",\"REPLICATION://[::1]:9093\"],"
        "\"listener_security_protocol_map\":{\"CLIENT\":\"PLAINTEXT\"},\"rack\":\"dc1-a\",\"features\":{}}",
        "{\"version\":2,\"brokerid\":3,\"timestamp\":\"1700000000000\",\"kraftControllerEpoch\":-1,"
        "\"host\":\"h\",\"port\":9190}",
        "{\"version\":3,\"topic_id\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"partitions\":{\"0\":[1,2,3],\"1\":[2,3,1]},"
        "\"adding_replicas\":{},\"removing_replicas\":{}}",
        "{\"controller_epoch\":17,\"leader\":1,\"version\":1,\"leader_epoch\":42,\"isr\":[1,2,3]}",
        "{\"version\":1,\"config\":{\"min.insync.replicas\":\"2\",\"retention.ms\":\"86400000\"}}",
        "{\"version\":\"1\",\"id\":\"q7Xz-_0123456789abcdEF\"}",
    };
    const char *dir = getenv("WEIR_FUZZ_SEEDS");
    for (size_t i = 0; dir && i < sizeof seeds / sizeof seeds[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/seed-%zu", dir, i);
        FILE *f = fopen(path, "w");
        if (f) {
            fputs(seeds[i], f);
            fclose(f);
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    broker(s);
    controller(s);
    assignment(s);
    pstate(s);
    config(s);
    cluster_id(s);
    free(s);
    return 0;
}
