/*
 * perf_common.c - the latency histogram, JSON report and topic preparation
 * shared by `weir perf produce` and `weir perf consume`, and the `perf`
 * dispatcher.  The histogram is fixed-size (no allocation per sample) so a
 * run of any length records every latency, not a sample.  Main thread only.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "tools/perf.h"

static int hist_index(uint64_t v)
{
    int shift, i;
    if (v < PERF_HIST_SUB)
        return (int)v;
    shift = 63 - __builtin_clzll(v) - PERF_HIST_SUB_BITS;
    i = (shift + 1) * PERF_HIST_SUB + (int)((v >> shift) - PERF_HIST_SUB);
    return i < PERF_HIST_BUCKETS ? i : PERF_HIST_BUCKETS - 1;
}

/* Midpoint of bucket i, in microseconds. */
static double hist_value(int i)
{
    int shift;
    uint64_t low;
    if (i < PERF_HIST_SUB)
        return i;
    shift = i / PERF_HIST_SUB - 1;
    low = (uint64_t)(i % PERF_HIST_SUB + PERF_HIST_SUB) << shift;
    return (double)low + (double)((uint64_t)1 << shift) / 2.0;
}

void perf_hist_add(struct perf_hist *h, int64_t us)
{
    h->bucket[hist_index(us > 0 ? (uint64_t)us : 0)]++;
    h->count++;
}

double perf_hist_quantile_ms(const struct perf_hist *h, double q)
{
    uint64_t rank, seen = 0;
    if (h->count == 0)
        return 0.0;
    rank = (uint64_t)(q * (double)h->count + 0.999999);
    if (rank < 1)
        rank = 1;
    for (int i = 0; i < PERF_HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank)
            return hist_value(i) / 1000.0;
    }
    return hist_value(PERF_HIST_BUCKETS - 1) / 1000.0;
}

void perf_report_print(const struct perf_report *r)
{
    double s = r->seconds > 0 ? r->seconds : 0;
    double rate = s > 0 ? (double)r->records / s : 0;
    double mb = s > 0 ? (double)r->bytes / (1024.0 * 1024.0) / s : 0;
    printf("{\"mode\":\"%s\",\"records\":%lld,\"seconds\":%.3f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.2f,"
           "\"latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f},\"errors\":%lld,"
           "\"bytes\":%lld,\"total_records\":%lld,\"client_cpu_s\":%.3f,\"mock\":%s}\n",
           r->mode, (long long)r->records, s, rate, mb, perf_hist_quantile_ms(r->latency, 0.50),
           perf_hist_quantile_ms(r->latency, 0.99), perf_hist_quantile_ms(r->latency, 0.999), (long long)r->errors,
           (long long)r->bytes, (long long)r->total_records, r->client_cpu_s, r->mock ? "true" : "false");
    fflush(stdout);
}

double perf_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static int create_topic(rd_kafka_t *rk, const char *topic, int partitions, int rf)
{
    char errstr[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, rf, errstr, sizeof(errstr));
    rd_kafka_queue_t *q;
    rd_kafka_AdminOptions_t *o;
    rd_kafka_event_t *ev;
    int rc = -1;

    if (!nt) {
        fprintf(stderr, "weir perf: %s\n", errstr);
        return -1;
    }
    q = rd_kafka_queue_new(rk);
    o = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(o, wt_timeout_ms(), errstr, sizeof(errstr));
    rd_kafka_CreateTopics(rk, &nt, 1, o, q);
    ev = rd_kafka_queue_poll(q, wt_timeout_ms() + 10000);
    if (!ev) {
        fprintf(stderr, "weir perf: timed out creating topic '%s'\n", topic);
    } else if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "weir perf: cannot create topic '%s': %s\n", topic, rd_kafka_event_error_string(ev));
    } else {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        rd_kafka_resp_err_t err = n == 1 ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR__FAIL;
        rc = 0;
        if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            fprintf(stderr, "weir perf: cannot create topic '%s': %s\n", topic, rd_kafka_err2str(err));
            rc = -1;
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    return rc;
}

/* Number of partitions with a leader, or -1 if the topic is unknown; *total
 * receives the partition count. */
static int led_partitions(rd_kafka_t *rk, const char *topic, int *total)
{
    const rd_kafka_metadata_t *md = NULL;
    int led = -1;
    *total = 0;
    if (rd_kafka_metadata(rk, 1, NULL, &md, wt_timeout_ms()) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    for (int i = 0; i < md->topic_cnt; i++) {
        const rd_kafka_metadata_topic_t *t = &md->topics[i];
        if (strcmp(t->topic, topic) != 0 || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            continue;
        led = 0;
        *total = t->partition_cnt;
        for (int p = 0; p < t->partition_cnt; p++)
            led += t->partitions[p].leader >= 0;
    }
    rd_kafka_metadata_destroy(md);
    return led;
}

int perf_ensure_topic(rd_kafka_t *rk, const char *topic, int partitions, int rf)
{
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(rk);
    int64_t deadline = wt_mono_us() + (int64_t)wt_timeout_ms() * 1000;
    int total, led;

    if (mc) {
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, topic, partitions, rf);
        if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            fprintf(stderr, "weir perf: mock topic '%s': %s\n", topic, rd_kafka_err2str(err));
            return -1;
        }
        return 0;
    }
    led = led_partitions(rk, topic, &total);
    if (led < 0 && create_topic(rk, topic, partitions, rf) != 0)
        return -1;
    if (led >= 0 && total != partitions)
        fprintf(stderr, "weir perf: topic '%s' exists with %d partitions (not %d); using it as is\n", topic, total,
                partitions);
    while ((led = led_partitions(rk, topic, &total)) < 0 || led < total || total == 0) {
        if (wt_mono_us() >= deadline) {
            fprintf(stderr, "weir perf: topic '%s' has no leader for every partition\n", topic);
            return -1;
        }
        rd_kafka_poll(rk, 200);
    }
    return 0;
}

int wt_perf_main(const struct wt_global *g, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "produce") == 0)
        return perf_produce_main(g, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "consume") == 0)
        return perf_consume_main(g, argc - 1, argv + 1);
    return wt_usage_error("perf", "expects produce|consume");
}
