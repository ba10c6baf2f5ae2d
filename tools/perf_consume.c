/*
 * perf_consume.c - `weir perf consume`: a consumer load generator in the
 * spirit of kafka-consumer-perf-test.  Reads every partition of the topic
 * from the beginning with librdkafka's simple consumer (no group) in batches.
 * The measured window runs from the first record received to the last one;
 * latency is end to end, now minus each record's CreateTime (millisecond
 * resolution, so only meaningful when the producer runs at the same time).
 * Stops after --messages records, or at the end of every partition when no
 * count is given, or after --timeout-ms without a record.
 *
 * On librdkafka's mock cluster (-X test.mock.num.brokers=N) the cluster lives
 * inside this process and starts empty, so the topic is first filled here
 * with records of --record-size bytes in --partitions partitions (as many as
 * the mock keeps), then read in passes until --messages records (default
 * 1,000,000 for the fill).  Main thread only.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "tools/perf.h"
#include "util.h"

#define BATCH 1024

struct pc_opts {
    const char *topic;
    int64_t messages;   /* -1 = until the end of every partition */
    int64_t timeout_ms; /* idle timeout */
    int64_t record_size, partitions; /* mock preload only */
};

static int parse_pc_opts(int argc, char **argv, struct pc_opts *o)
{
    static const struct option lopts[] = {{"topic", required_argument, NULL, 't'},
                                          {"messages", required_argument, NULL, 'n'},
                                          {"timeout-ms", required_argument, NULL, 'T'},
                                          {"record-size", required_argument, NULL, 's'},
                                          {"partitions", required_argument, NULL, 'p'},
                                          {NULL, 0, NULL, 0}};
    int c, bad = 0;
    optind = 0;
    while (!bad && (c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
        switch (c) {
        case 't': o->topic = optarg; break;
        case 'n': bad = wt_parse_i64(optarg, 1, INT64_MAX, &o->messages); break;
        case 'T': bad = wt_parse_i64(optarg, 1, INT64_MAX, &o->timeout_ms); break;
        case 's': bad = wt_parse_i64(optarg, 0, 100 * 1024 * 1024, &o->record_size); break;
        case 'p': bad = wt_parse_i64(optarg, 1, 100000, &o->partitions); break;
        default: bad = 1;
        }
    }
    if (bad)
        return wt_usage_error("perf consume", "bad option or value near '%s'", argv[optind - 1]);
    if (optind != argc || !o->topic)
        return wt_usage_error("perf consume", "expects --topic T [--messages N] [--timeout-ms MS]");
    return 0;
}

/* Fills the mock cluster's topic through a second client connected to it. */
static int mock_preload(rd_kafka_mock_cluster_t *mc, rd_kafka_t *owner, const struct pc_opts *o, int64_t n)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *p;
    char *payload = calloc(1, (size_t)o->record_size + 1);
    int64_t sent = 0;

    if (!payload || perf_ensure_topic(owner, o->topic, (int)o->partitions, 1) != 0 ||
        wt_conf_set(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc)) != 0 ||
        wt_conf_set(conf, "linger.ms", "20") != 0 || !(p = wt_client_new(RD_KAFKA_PRODUCER, conf))) {
        free(payload);
        return -1;
    }
    memset(payload, 'x', (size_t)o->record_size);
    while (sent < n) {
        if (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_VALUE(payload, (size_t)o->record_size),
                              RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(p, 10);
            continue;
        }
        sent++;
    }
    while (rd_kafka_outq_len(p) > 0)
        rd_kafka_flush(p, 1000);
    rd_kafka_destroy(p);
    free(payload);
    fprintf(stderr, "weir perf consume: preloaded %lld records into the mock cluster\n", (long long)n);
    return 0;
}

/* What the mock keeps without pruning (it prunes a partition at about
 * 5 MB): 3 MiB per partition on average, at most --messages records. */
static int64_t mock_preload_count(const struct pc_opts *o)
{
    int64_t fit = o->partitions * 3 * 1024 * 1024 / (o->record_size + 70);
    int64_t want = o->messages > 0 ? o->messages : 1000000;
    return fit < want ? (fit > 0 ? fit : 1) : want;
}

struct pc_state {
    int64_t records, bytes, errors, first_us, last_us;
    int ended;
    struct perf_hist lat;
};

static void pc_message(struct pc_state *st, const rd_kafka_message_t *m, char *at_end, int nparts, int64_t now_us)
{
    int in_range = m->partition >= 0 && m->partition < nparts;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (in_range && !at_end[m->partition]) {
            at_end[m->partition] = 1;
            st->ended++;
        }
        return;
    }
    if (m->err) {
        if (st->errors++ < 5)
            fprintf(stderr, "weir perf consume: %s\n", rd_kafka_message_errstr(m));
        return;
    }
    if (in_range && at_end[m->partition]) {
        at_end[m->partition] = 0;
        st->ended--;
    }
    if (!st->records)
        st->first_us = now_us;
    st->last_us = now_us;
    st->records++;
    st->bytes += (int64_t)m->len;
    int64_t ts = rd_kafka_message_timestamp(m, NULL);
    if (ts > 0)
        perf_hist_add(&st->lat, (now_ms() - ts) * 1000);
}

/* Consumes until --messages records, the end of every partition (when no
 * count is given, or always with stop_at_end), or the idle timeout.  Returns
 * 1 when it stopped because every partition was at its end. */
static int pc_loop(const struct pc_opts *o, rd_kafka_queue_t *q, struct pc_state *st, char *at_end, int nparts,
                   int stop_at_end)
{
    rd_kafka_message_t *batch[BATCH];
    int64_t idle_since = wt_mono_us();

    for (;;) {
        ssize_t n = rd_kafka_consume_batch_queue(q, 100, batch, BATCH);
        int64_t now = wt_mono_us();
        for (ssize_t i = 0; i < n; i++) {
            pc_message(st, batch[i], at_end, nparts, now);
            rd_kafka_message_destroy(batch[i]);
        }
        if (n > 0)
            idle_since = now;
        if (o->messages > 0 && st->records >= o->messages)
            return 0;
        if (st->ended == nparts && (o->messages <= 0 || stop_at_end))
            return 1;
        if (now - idle_since >= o->timeout_ms * 1000) {
            fprintf(stderr, "weir perf consume: no record for %lld ms, stopping\n", (long long)o->timeout_ms);
            return 0;
        }
    }
}

/* Reads the topic from the beginning.  The mock cluster keeps only about
 * 5 MB per partition, so there the topic is read again from the beginning
 * until --messages records have been consumed: the same fetch path, passes
 * joined into one measured window. */
static void pc_run(const struct pc_opts *o, rd_kafka_topic_t *rkt, rd_kafka_queue_t *q, struct pc_state *st,
                   char *at_end, int nparts, int mock)
{
    for (int p = 0; p < nparts; p++)
        rd_kafka_consume_start_queue(rkt, p, RD_KAFKA_OFFSET_BEGINNING, q);
    /* Logical "beginning": the random partitioner may have overfilled one
     * partition past what the mock keeps, moving its log start. */
    while (pc_loop(o, q, st, at_end, nparts, mock) && mock && o->messages > 0 && st->records > 0) {
        memset(at_end, 0, (size_t)nparts);
        st->ended = 0;
        for (int p = 0; p < nparts; p++)
            rd_kafka_seek(rkt, p, RD_KAFKA_OFFSET_BEGINNING, 0);
    }
    for (int p = 0; p < nparts; p++)
        rd_kafka_consume_stop(rkt, p);
}

/* Between passes over the mock's log the fetcher sits at the log end; short
 * waits there keep the passes joined (they do not change fetches that find
 * data).  -X still overrides them. */
static int uses_mock(const struct wt_global *g)
{
    for (int i = 0; i < g->nprops; i++)
        if (strncmp(g->props[i], "test.mock.num.brokers=", 22) == 0)
            return 1;
    return 0;
}

int perf_consume_main(const struct wt_global *g, int argc, char **argv)
{
    struct pc_opts o = {.messages = -1, .timeout_ms = 10000, .record_size = 100, .partitions = 1};
    struct pc_state *st = calloc(1, sizeof(*st));
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_mock_cluster_t *mc;
    char *at_end = NULL;
    int rc, nparts = -1;

    if (!st || (rc = parse_pc_opts(argc, argv, &o)) != 0)
        return st ? rc : WT_EX_FAIL;
    if (!(conf = wt_conf_new(g)) || wt_conf_set(conf, "enable.partition.eof", "true") != 0 ||
        (uses_mock(g) && (wt_conf_set(conf, "fetch.wait.max.ms", "5") != 0 ||
                          wt_conf_set(conf, "fetch.error.backoff.ms", "5") != 0)) ||
        wt_conf_apply_props(conf, g) != 0)
        return WT_EX_USAGE;
    if (!(rk = wt_client_new(RD_KAFKA_CONSUMER, conf)))
        return WT_EX_FAIL;
    rc = WT_EX_FAIL;
    mc = rd_kafka_handle_mock_cluster(rk);
    if (mc && mock_preload(mc, rk, &o, mock_preload_count(&o)) != 0)
        goto out;
    rkt = rd_kafka_topic_new(rk, o.topic, NULL);
    if ((nparts = wt_topic_partitions(rk, rkt, "perf consume")) < 0 || !(at_end = calloc((size_t)nparts, 1)))
        goto out;
    q = rd_kafka_queue_new(rk);
    double cpu0 = perf_cpu_seconds();
    pc_run(&o, rkt, q, st, at_end, nparts, mc != NULL);
    struct perf_report r = {
        .mode = "consume",
        .records = st->records,
        .total_records = st->records,
        .bytes = st->bytes,
        .seconds = st->records > 1 ? (double)(st->last_us - st->first_us) / 1e6 : 0,
        .errors = st->errors,
        .latency = &st->lat,
        .client_cpu_s = perf_cpu_seconds() - cpu0,
        .mock = mc != NULL,
    };
    perf_report_print(&r);
    rc = (st->errors || (o.messages > 0 && st->records < o.messages)) ? WT_EX_FAIL : WT_EX_OK;
out:
    if (q)
        rd_kafka_queue_destroy(q);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(at_end);
    free(st);
    return rc;
}
