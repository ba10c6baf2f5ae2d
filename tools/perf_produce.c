/*
 * perf_produce.c - `weir perf produce`: a producer load generator in the
 * spirit of kafka-producer-perf-test and rdkafka_performance.
 *
 * Every record carries its send time (monotonic microseconds) as the
 * message opaque; the delivery report turns it into a latency sample.  An
 * optional warm-up (--warmup S) runs before the measured window and is not
 * counted: only records sent inside the window count, and the window ends at
 * the last delivery report of those records.  With --throughput the send rate
 * is held at that many records per second (for latency at fixed load).
 * One payload buffer of random capital letters (as Kafka's tool) is shared by
 * all records and never copied.  Delivery reports are served on the main
 * thread, so the counters need no locking.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "tools/perf.h"

struct pp_opts {
    const char *topic;
    int64_t num_records; /* -1 = use duration */
    int64_t duration_s;  /* -1 = use num_records */
    int64_t record_size;
    int64_t throughput; /* records/s, -1 = max */
    int64_t partitions; /* -1 = do not create */
    int64_t rf;
    int64_t warmup_s;
};

struct pp_state {
    int64_t window_start_us; /* records sent at or after this are measured */
    int64_t last_dr_us;      /* last delivery of a measured record */
    int64_t delivered;       /* measured, delivered */
    int64_t errors;          /* any record */
    int64_t delivered_all;   /* including the warm-up */
    struct perf_hist lat;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct pp_state *st = opaque;
    int64_t sent = (int64_t)(intptr_t)m->_private, now = wt_mono_us();

    if (m->err) {
        if (st->errors++ < 5)
            fprintf(stderr, "weir perf produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
        return;
    }
    st->delivered_all++;
    if (st->window_start_us == 0 || sent < st->window_start_us)
        return;
    st->delivered++;
    st->last_dr_us = now;
    perf_hist_add(&st->lat, now - sent);
}

static int parse_pp_opts(int argc, char **argv, struct pp_opts *o, rd_kafka_conf_t *conf)
{
    static const struct option lopts[] = {
        {"topic", required_argument, NULL, 't'},       {"num-records", required_argument, NULL, 'n'},
        {"duration", required_argument, NULL, 'd'},    {"record-size", required_argument, NULL, 's'},
        {"acks", required_argument, NULL, 'a'},        {"linger-ms", required_argument, NULL, 'l'},
        {"batch-size", required_argument, NULL, 'b'},  {"compression", required_argument, NULL, 'z'},
        {"throughput", required_argument, NULL, 'T'},  {"partitions", required_argument, NULL, 'p'},
        {"replication-factor", required_argument, NULL, 'r'},
        {"warmup", required_argument, NULL, 'w'},      {NULL, 0, NULL, 0}};
    int c, bad = 0;
    optind = 0;
    while (!bad && (c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
        switch (c) {
        case 't': o->topic = optarg; break;
        case 'n': bad = wt_parse_i64(optarg, 1, INT64_MAX, &o->num_records); break;
        case 'd': bad = wt_parse_i64(optarg, 1, 86400, &o->duration_s); break;
        case 's': bad = wt_parse_i64(optarg, 0, 100 * 1024 * 1024, &o->record_size); break;
        case 'T': bad = wt_parse_i64(optarg, -1, INT64_MAX, &o->throughput) || o->throughput == 0; break;
        case 'p': bad = wt_parse_i64(optarg, 1, 100000, &o->partitions); break;
        case 'r': bad = wt_parse_i64(optarg, 1, 32767, &o->rf); break;
        case 'w': bad = wt_parse_i64(optarg, 0, 3600, &o->warmup_s); break;
        case 'a': bad = wt_conf_set(conf, "acks", optarg); break;
        case 'l': bad = wt_conf_set(conf, "linger.ms", optarg); break;
        case 'b': bad = wt_conf_set(conf, "batch.size", optarg); break;
        case 'z': bad = wt_conf_set(conf, "compression.codec", optarg); break;
        default: bad = 1;
        }
    }
    if (bad)
        return wt_usage_error("perf produce", "bad option or value near '%s'", argv[optind - 1]);
    if (optind != argc || !o->topic || o->record_size < 0)
        return wt_usage_error("perf produce", "expects --topic T --record-size BYTES [--num-records N | --duration S]");
    if ((o->num_records < 0) == (o->duration_s < 0))
        return wt_usage_error("perf produce", "give exactly one of --num-records and --duration");
    return 0;
}

/* Holds the send rate at o->throughput records/s since start_us. */
static void pace(rd_kafka_t *rk, const struct pp_opts *o, int64_t start_us, int64_t sent)
{
    if (o->throughput <= 0)
        return;
    for (;;) {
        int64_t due = start_us + (int64_t)((double)sent * 1e6 / (double)o->throughput);
        int64_t wait = due - wt_mono_us();
        if (wait <= 0)
            return;
        if (wait >= 2000) {
            rd_kafka_poll(rk, (int)(wait / 1000) - 1);
        } else {
            struct timespec ts = {0, (long)wait * 1000};
            nanosleep(&ts, NULL);
        }
    }
}

/* The send loop; returns the number of records the client refused (other
 * than a full queue), or -1 on a fatal refusal. */
static int64_t send_all(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const struct pp_opts *o, struct pp_state *st,
                        char *payload, double *cpu0)
{
    int64_t t0 = wt_mono_us(), window_target = t0 + o->warmup_s * 1000000, window_end = INT64_MAX;
    int64_t sent = 0, measured = 0, refused = 0;

    for (;;) {
        int64_t now = wt_mono_us();
        if (!st->window_start_us && now >= window_target) {
            st->window_start_us = now;
            *cpu0 = perf_cpu_seconds();
            if (o->duration_s > 0)
                window_end = now + o->duration_s * 1000000;
        }
        if (st->window_start_us && (o->num_records >= 0 ? measured >= o->num_records : now >= window_end))
            return refused;
        pace(rk, o, t0, sent);
        now = wt_mono_us();
        if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, payload, (size_t)o->record_size, NULL, 0,
                             (void *)(intptr_t)now) == -1) {
            rd_kafka_resp_err_t err = rd_kafka_last_error();
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 1);
                continue;
            }
            fprintf(stderr, "weir perf produce: %s\n", rd_kafka_err2str(err));
            return -1;
        }
        sent++;
        measured += st->window_start_us != 0;
        if ((sent & 63) == 0)
            rd_kafka_poll(rk, 0);
    }
}

int perf_produce_main(const struct wt_global *g, int argc, char **argv)
{
    struct pp_opts o = {.num_records = -1, .duration_s = -1, .record_size = -1, .throughput = -1,
                        .partitions = -1, .rf = 1};
    struct pp_state *st = calloc(1, sizeof(*st));
    rd_kafka_conf_t *conf = wt_conf_new(g);
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    char *payload;
    double cpu0 = 0;
    int rc;

    if (!conf || !st)
        return WT_EX_USAGE;
    if ((rc = parse_pp_opts(argc, argv, &o, conf)) != 0 || wt_conf_apply_props(conf, g) != 0) {
        rd_kafka_conf_destroy(conf);
        return rc ? rc : WT_EX_USAGE;
    }
    rd_kafka_conf_set_opaque(conf, st);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    if (!(rk = wt_client_new(RD_KAFKA_PRODUCER, conf)))
        return WT_EX_FAIL;
    payload = malloc((size_t)o.record_size + 1);
    for (int64_t i = 0; payload && i < o.record_size; i++)
        payload[i] = (char)('A' + rand() % 26);
    rkt = rd_kafka_topic_new(rk, o.topic, NULL);
    rc = WT_EX_FAIL;
    if (!payload || (o.partitions > 0 && perf_ensure_topic(rk, o.topic, (int)o.partitions, (int)o.rf) != 0) ||
        wt_topic_partitions(rk, rkt, "perf produce") < 0)
        goto out;

    int64_t refused = send_all(rk, rkt, &o, st, payload, &cpu0);
    while (rd_kafka_outq_len(rk) > 0)
        rd_kafka_flush(rk, 1000);
    struct perf_report r = {
        .mode = "produce",
        .records = st->delivered,
        .total_records = st->delivered_all,
        .bytes = st->delivered * o.record_size,
        .seconds = st->delivered ? (double)(st->last_dr_us - st->window_start_us) / 1e6 : 0,
        .errors = st->errors + (refused > 0 ? refused : 0),
        .latency = &st->lat,
        .client_cpu_s = perf_cpu_seconds() - cpu0,
        .mock = rd_kafka_handle_mock_cluster(rk) != NULL,
    };
    perf_report_print(&r);
    rc = (refused < 0 || st->errors > 0) ? WT_EX_FAIL : WT_EX_OK;
out:
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(payload);
    free(st);
    return rc;
}
