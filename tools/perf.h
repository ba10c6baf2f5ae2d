/*
 * perf.h - shared pieces of `weir perf produce|consume`: the latency
 * histogram, the one-line JSON report, and topic preparation (real cluster or
 * librdkafka's mock cluster).  Main thread only.
 */
#ifndef WEIR_TOOLS_PERF_H
#define WEIR_TOOLS_PERF_H

#include <stdint.h>
#include <librdkafka/rdkafka.h>

#include "tools/weir.h"

/* Log-linear histogram of microsecond values: exact below 64 us, then 64
 * buckets per power of two (under 1.6% error), up to about 2^41 us. */
#define PERF_HIST_SUB_BITS 6
#define PERF_HIST_SUB (1 << PERF_HIST_SUB_BITS)
#define PERF_HIST_BUCKETS (PERF_HIST_SUB * 36)

struct perf_hist {
    uint64_t count;
    uint64_t bucket[PERF_HIST_BUCKETS];
};

void perf_hist_add(struct perf_hist *h, int64_t us);
/* The q-quantile (0 < q <= 1) in milliseconds; 0 when empty. */
double perf_hist_quantile_ms(const struct perf_hist *h, double q);

struct perf_report {
    const char *mode; /* "produce" | "consume" */
    int64_t records;  /* counted in the measured window */
    int64_t total_records; /* including the warm-up (what the broker handled) */
    int64_t bytes;    /* value bytes of those records */
    double seconds;   /* measured window */
    int64_t errors;
    const struct perf_hist *latency;
    double client_cpu_s; /* this process, measured window (includes the mock cluster when used) */
    int mock;            /* ran against librdkafka's mock cluster */
};

/* Prints the report as one JSON line on stdout. */
void perf_report_print(const struct perf_report *r);

/* User+system CPU seconds of this process so far. */
double perf_cpu_seconds(void);

/* Makes sure TOPIC exists with PARTITIONS partitions (RF replicas when it has
 * to be created) and every partition has a leader.  On the mock cluster the
 * topic is created directly.  0, or -1 after printing why. */
int perf_ensure_topic(rd_kafka_t *rk, const char *topic, int partitions, int rf);

int perf_produce_main(const struct wt_global *g, int argc, char **argv);
int perf_consume_main(const struct wt_global *g, int argc, char **argv);

#endif
