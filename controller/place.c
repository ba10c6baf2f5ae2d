/*
 * place.c - replica placement (Kafka's AdminUtils.assignReplicasToBrokers)
 * and explicit-assignment validation.
 *
 * Without racks: partition p's first replica is brokers[(p + start) % n],
 * replica j >= 1 is at (first + 1 + (shift + j) % (n - 1)) % n, and shift
 * grows by one each time p wraps around n, so followers do not repeat the
 * same pattern.  With a rack on every broker the same walk runs over the
 * rack-alternated broker list, skipping brokers whose rack (or the broker
 * itself) already holds a replica while some rack (or broker) holds none.
 * Leaders (the first replicas) therefore end up round-robin in both cases.
 *
 * Thread: any (pure functions; rand() only when a random start is asked for).
 */
#include "controller/place.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static bool has_rack(const place_broker_t *b) { return b->rack && b->rack[0]; }

static int cmp_broker_id(const void *a, const void *b)
{
    const place_broker_t *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int32_t replica_index(int32_t first, int32_t shift, int32_t j, int32_t n)
{
    int32_t s = 1 + (shift + j) % (n - 1);
    return (first + s) % n;
}

static int cmp_rack_then_id(const void *a, const void *b)
{
    const place_broker_t *x = a, *y = b;
    int c = strcmp(x->rack, y->rack);
    return c ? c : cmp_broker_id(a, b);
}

/* Racks sorted, brokers sorted within a rack, then one broker per rack in
 * turn: {r1:0,1,2; r2:3,4,5} -> 0,3,1,4,2,5. */
static void rack_alternated(const place_broker_t *sorted, int n, place_broker_t *out)
{
    place_broker_t *by_rack = malloc(sizeof(*by_rack) * (size_t)n);
    int *rack_start = malloc(sizeof(int) * (size_t)(n + 1));
    int *rack_next = malloc(sizeof(int) * (size_t)n);
    if (!by_rack || !rack_start || !rack_next)
        abort();
    memcpy(by_rack, sorted, sizeof(*by_rack) * (size_t)n);
    qsort(by_rack, (size_t)n, sizeof(*by_rack), cmp_rack_then_id);
    int nracks = 0;
    for (int i = 0; i < n; i++)
        if (i == 0 || strcmp(by_rack[i].rack, by_rack[i - 1].rack) != 0)
            rack_start[nracks++] = i;
    rack_start[nracks] = n;
    for (int r = 0; r < nracks; r++)
        rack_next[r] = rack_start[r];
    int k = 0, r = 0;
    while (k < n) {
        if (rack_next[r] < rack_start[r + 1])
            out[k++] = by_rack[rack_next[r]++];
        r = (r + 1) % nracks;
    }
    free(by_rack);
    free(rack_start);
    free(rack_next);
}

static int count_racks(const place_broker_t *b, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(b[i].rack, b[j].rack) == 0;
        c += !seen;
    }
    return c;
}

static bool rack_used(const place_broker_t *list, const int32_t *chosen_idx, int nchosen, const char *rack)
{
    for (int i = 0; i < nchosen; i++)
        if (strcmp(list[chosen_idx[i]].rack, rack) == 0)
            return true;
    return false;
}

static bool idx_used(const int32_t *chosen_idx, int nchosen, int32_t idx)
{
    for (int i = 0; i < nchosen; i++)
        if (chosen_idx[i] == idx)
            return true;
    return false;
}

static int count_distinct_racks(const place_broker_t *list, const int32_t *idx, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += !rack_used(list, idx, i, list[idx[i]].rack);
    return c;
}

static void assign_rack_aware(const place_broker_t *list, int n, int nracks, int32_t nparts, int32_t rf,
                              int32_t first_part, int32_t start, int32_t shift, int32_t *out)
{
    int32_t *chosen = malloc(sizeof(int32_t) * (size_t)rf);
    if (!chosen)
        abort();
    int32_t pid = first_part;
    for (int32_t p = 0; p < nparts; p++, pid++) {
        if (pid > 0 && pid % n == 0)
            shift++;
        int32_t first = (pid + start) % n;
        chosen[0] = first;
        int nch = 1;
        int32_t k = 0;
        while (nch < rf) {
            int32_t idx = replica_index(first, shift * nracks, k++, n);
            bool rack_ok = !rack_used(list, chosen, nch, list[idx].rack) ||
                           count_distinct_racks(list, chosen, nch) == nracks;
            bool broker_ok = !idx_used(chosen, nch, idx) || nch == n;
            if (rack_ok && broker_ok)
                chosen[nch++] = idx;
        }
        for (int32_t j = 0; j < rf; j++)
            out[p * rf + j] = list[chosen[j]].id;
    }
    free(chosen);
}

static void assign_plain(const place_broker_t *list, int n, int32_t nparts, int32_t rf, int32_t first_part,
                         int32_t start, int32_t shift, int32_t *out)
{
    int32_t pid = first_part;
    for (int32_t p = 0; p < nparts; p++, pid++) {
        if (pid > 0 && pid % n == 0)
            shift++;
        int32_t first = (pid + start) % n;
        out[p * rf] = list[first].id;
        for (int32_t j = 0; j < rf - 1; j++)
            out[p * rf + 1 + j] = list[replica_index(first, shift, j, n)].id;
    }
}

int place_assign(const place_broker_t *brokers, int nbrokers, int32_t nparts, int32_t rf,
                 int32_t first_part, int32_t start_index, int32_t shift, int32_t *out, char *err,
                 size_t errlen)
{
    if (nparts <= 0) {
        snprintf(err, errlen, "Number of partitions must be larger than 0.");
        return KERR_INVALID_PARTITIONS;
    }
    if (rf <= 0) {
        snprintf(err, errlen, "Replication factor must be larger than 0.");
        return KERR_INVALID_REPLICATION_FACTOR;
    }
    if (rf > nbrokers) {
        snprintf(err, errlen, "Replication factor: %d larger than available brokers: %d.", (int)rf, nbrokers);
        return KERR_INVALID_REPLICATION_FACTOR;
    }
    int nrack = 0;
    for (int i = 0; i < nbrokers; i++)
        nrack += has_rack(&brokers[i]);
    if (nrack != 0 && nrack != nbrokers) {
        snprintf(err, errlen, "Not all brokers have rack information for replica rack aware assignment.");
        return KERR_INVALID_REPLICA_ASSIGNMENT;
    }
    place_broker_t *sorted = malloc(sizeof(*sorted) * (size_t)nbrokers);
    place_broker_t *list = malloc(sizeof(*list) * (size_t)nbrokers);
    if (!sorted || !list)
        abort();
    memcpy(sorted, brokers, sizeof(*sorted) * (size_t)nbrokers);
    qsort(sorted, (size_t)nbrokers, sizeof(*sorted), cmp_broker_id);
    int32_t start = start_index >= 0 ? start_index % nbrokers : rand() % nbrokers;
    int32_t sh = shift >= 0 ? shift % nbrokers : rand() % nbrokers;
    if (first_part < 0)
        first_part = 0;
    if (nrack == 0) {
        assign_plain(sorted, nbrokers, nparts, rf, first_part, start, sh, out);
    } else {
        rack_alternated(sorted, nbrokers, list);
        assign_rack_aware(list, nbrokers, count_racks(list, nbrokers), nparts, rf, first_part, start, sh, out);
    }
    free(sorted);
    free(list);
    return 0;
}

int place_validate(int32_t nparts, const int32_t *const *replicas, const int32_t *nreplicas,
                   const int32_t *live, int nlive, char *err, size_t errlen)
{
    for (int32_t p = 0; p < nparts; p++) {
        if (nreplicas[p] <= 0) {
            snprintf(err, errlen, "Replica assignment for partition %d is empty.", (int)p);
            return KERR_INVALID_REPLICA_ASSIGNMENT;
        }
        if (nreplicas[p] != nreplicas[0]) {
            snprintf(err, errlen, "All partitions should have the same number of replicas.");
            return KERR_INVALID_REPLICA_ASSIGNMENT;
        }
        for (int32_t j = 0; j < nreplicas[p]; j++) {
            int32_t b = replicas[p][j];
            for (int32_t k = 0; k < j; k++)
                if (replicas[p][k] == b) {
                    snprintf(err, errlen, "Duplicate replica assignment found for partition %d: broker %d.",
                             (int)p, (int)b);
                    return KERR_INVALID_REPLICA_ASSIGNMENT;
                }
            bool ok = b >= 0;
            if (ok && live) {
                ok = false;
                for (int i = 0; i < nlive && !ok; i++)
                    ok = live[i] == b;
            }
            if (!ok) {
                snprintf(err, errlen, "Unknown broker %d in replica assignment for partition %d.", (int)b, (int)p);
                return KERR_INVALID_REPLICA_ASSIGNMENT;
            }
        }
    }
    return 0;
}
