/*
 * consume.c - `weir consume TOPIC`: reads partitions from a start offset and
 * prints records one per line, close to kafka-console-consumer.sh's default
 * formatter: optional "Partition:P", "Offset:O", "CreateTime:T" and headers
 * columns (tab-separated), then the key and SEP when asked, then the value.
 *
 * No consumer group: partitions are assigned by this process (librdkafka's
 * simple consumer, one shared queue), so nothing is committed and the broker
 * needs no group coordinator.  Stops after -c records, at the end of every
 * partition with -e, after -t milliseconds without a record, or on SIGINT.
 * Main thread only; the SIGINT handler just sets a flag.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/weir.h"

struct consume_opts {
    const char *topic;
    int32_t partition; /* -1 = all */
    int64_t start;     /* librdkafka logical or absolute offset */
    int64_t max;       /* -1 = unlimited */
    int exit_at_end;
    int64_t timeout_ms; /* -1 = none */
    const char *key_sep;
    int print_key, print_offset, print_ts, print_headers, print_partition;
};

static volatile sig_atomic_t stop_requested;

static void on_sigint(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int parse_offset(const char *s, int64_t *out)
{
    int64_t v;
    if (strcmp(s, "beginning") == 0 || strcmp(s, "earliest") == 0)
        *out = RD_KAFKA_OFFSET_BEGINNING;
    else if (strcmp(s, "end") == 0 || strcmp(s, "latest") == 0)
        *out = RD_KAFKA_OFFSET_END;
    else if (wt_parse_i64(s, 0, INT64_MAX, &v) == 0)
        *out = v;
    else if (wt_parse_i64(s, INT32_MIN, -1, &v) == 0)
        *out = RD_KAFKA_OFFSET_TAIL(-v); /* -N: the last N records, as kcat */
    else
        return -1;
    return 0;
}

static int parse_consume_opts(int argc, char **argv, struct consume_opts *o)
{
    static const struct option lopts[] = {{"print-key", no_argument, NULL, 'k'},
                                          {"print-offset", no_argument, NULL, 'O'},
                                          {"print-timestamp", no_argument, NULL, 'T'},
                                          {"print-headers", no_argument, NULL, 'h'},
                                          {"print-partition", no_argument, NULL, 'P'},
                                          {NULL, 0, NULL, 0}};
    int c;
    int64_t v;
    optind = 0;
    while ((c = getopt_long(argc, argv, "p:o:c:et:K:", lopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (wt_parse_i64(optarg, 0, INT32_MAX, &v) != 0)
                return wt_usage_error("consume", "bad partition '%s'", optarg);
            o->partition = (int32_t)v;
            break;
        case 'o':
            if (parse_offset(optarg, &o->start) != 0)
                return wt_usage_error("consume", "bad offset '%s' (beginning|end|N)", optarg);
            break;
        case 'c':
            if (wt_parse_i64(optarg, 0, INT64_MAX, &o->max) != 0)
                return wt_usage_error("consume", "bad count '%s'", optarg);
            break;
        case 't':
            if (wt_parse_i64(optarg, 0, INT64_MAX, &o->timeout_ms) != 0)
                return wt_usage_error("consume", "bad timeout '%s'", optarg);
            break;
        case 'e': o->exit_at_end = 1; break;
        case 'K': o->key_sep = optarg; break;
        case 'k': o->print_key = 1; break;
        case 'O': o->print_offset = 1; break;
        case 'T': o->print_ts = 1; break;
        case 'h': o->print_headers = 1; break;
        case 'P': o->print_partition = 1; break;
        default: return wt_usage_error("consume", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return wt_usage_error("consume", "expects exactly one TOPIC");
    o->topic = argv[optind];
    return 0;
}

static void print_headers(const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *h = NULL;
    const char *name;
    const void *val;
    size_t size;

    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR || rd_kafka_header_cnt(h) == 0) {
        fputs("NO_HEADERS\t", stdout);
        return;
    }
    for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) == 0; i++) {
        printf("%s%s:", i ? "," : "", name);
        if (val)
            fwrite(val, 1, size, stdout);
        else
            fputs("null", stdout);
    }
    putchar('\t');
}

static void print_record(const struct consume_opts *o, const rd_kafka_message_t *m)
{
    if (o->print_partition)
        printf("Partition:%d\t", (int)m->partition);
    if (o->print_offset)
        printf("Offset:%lld\t", (long long)m->offset);
    if (o->print_ts) {
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(m, &tt);
        printf("%s:%lld\t", tt == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? "LogAppendTime" : "CreateTime",
               (long long)ts);
    }
    if (o->print_headers)
        print_headers(m);
    if (o->print_key) {
        if (m->key)
            fwrite(m->key, 1, m->key_len, stdout);
        else
            fputs("null", stdout);
        fputs(o->key_sep ? o->key_sep : "\t", stdout);
    }
    if (m->payload)
        fwrite(m->payload, 1, m->len, stdout);
    else
        fputs("null", stdout);
    putchar('\n');
}

/* Consumes from q until a stop condition; returns the number of records. */
static int64_t consume_loop(const struct consume_opts *o, rd_kafka_queue_t *q, char *at_end, int nparts)
{
    int64_t count = 0, last = wt_mono_us();
    int ended = 0;

    while (!stop_requested && (o->max < 0 || count < o->max)) {
        rd_kafka_message_t *m = rd_kafka_consume_queue(q, 100);
        if (!m) {
            fflush(stdout);
            if (o->timeout_ms >= 0 && wt_mono_us() - last >= o->timeout_ms * 1000)
                break;
            continue;
        }
        int32_t p = m->partition;
        int in_range = p >= 0 && p < nparts;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (in_range && !at_end[p]) {
                at_end[p] = 1;
                ended++;
            }
        } else if (m->err) {
            fprintf(stderr, "weir consume: partition %d: %s\n", (int)p, rd_kafka_message_errstr(m));
        } else {
            if (in_range && at_end[p]) {
                at_end[p] = 0;
                ended--;
            }
            print_record(o, m);
            count++;
            last = wt_mono_us();
        }
        rd_kafka_message_destroy(m);
        if (o->exit_at_end && ended == (o->partition >= 0 ? 1 : nparts))
            break;
    }
    fflush(stdout);
    return count;
}

int wt_consume_main(const struct wt_global *g, int argc, char **argv)
{
    struct consume_opts o = {.partition = -1, .start = RD_KAFKA_OFFSET_END, .max = -1, .timeout_ms = -1};
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    rd_kafka_queue_t *q;
    int rc, nparts;

    if ((rc = parse_consume_opts(argc, argv, &o)) != 0)
        return rc;
    if (!(conf = wt_conf_new(g)))
        return WT_EX_USAGE;
    if (o.exit_at_end && wt_conf_set(conf, "enable.partition.eof", "true") != 0) {
        rd_kafka_conf_destroy(conf);
        return WT_EX_FAIL;
    }
    if (!(rk = wt_client_new(RD_KAFKA_CONSUMER, conf)))
        return WT_EX_FAIL;
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    rkt = rd_kafka_topic_new(rk, o.topic, NULL);
    nparts = wt_topic_partitions(rk, rkt, "consume");
    rc = WT_EX_FAIL;
    if (nparts < 0)
        goto out;
    if (o.partition >= nparts) {
        fprintf(stderr, "weir consume: topic '%s' has no partition %d (it has %d)\n", o.topic, (int)o.partition,
                nparts);
        goto out;
    }
    char *at_end = calloc((size_t)nparts, 1);
    q = rd_kafka_queue_new(rk);
    for (int p = 0; at_end && p < nparts; p++)
        if ((o.partition < 0 || p == o.partition) && rd_kafka_consume_start_queue(rkt, p, o.start, q) != 0)
            fprintf(stderr, "weir consume: cannot start partition %d: %s\n", p,
                    rd_kafka_err2str(rd_kafka_last_error()));
    int64_t n = at_end ? consume_loop(&o, q, at_end, nparts) : 0;
    for (int p = 0; at_end && p < nparts; p++)
        if (o.partition < 0 || p == o.partition)
            rd_kafka_consume_stop(rkt, p);
    fprintf(stderr, "Processed a total of %lld messages\n", (long long)n);
    rd_kafka_queue_destroy(q);
    free(at_end);
    rc = at_end ? WT_EX_OK : WT_EX_FAIL;
out:
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return rc;
}
