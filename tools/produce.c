/*
 * produce.c - `weir produce TOPIC`: one record per stdin line, in the manner
 * of kafka-console-producer.sh.  With -K SEP each line is split at the first
 * SEP into key and value (a line without SEP is an error, as in Kafka).
 * Everything read is flushed at EOF; the exit status is non-zero if any
 * record was not delivered.
 *
 * Uses the murmur2 partitioner so keyed records land where Java clients and
 * kafka-python would put them.  The delivery callback runs on the main thread
 * (from rd_kafka_poll/flush), so the counters need no locking.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/weir.h"

#define MAX_HEADERS 64

struct produce_state {
    int64_t delivered;
    int64_t failed;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct produce_state *st = opaque;
    if (!m->err) {
        st->delivered++;
        return;
    }
    /* Report the first failures in full; a dead broker would otherwise
     * print one line per record. */
    if (st->failed++ < 10)
        fprintf(stderr, "weir produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
}

struct produce_opts {
    const char *topic;
    const char *key_sep;
    int32_t partition;
    char *headers[MAX_HEADERS];
    int nheaders;
};

static rd_kafka_headers_t *make_headers(const struct produce_opts *o)
{
    rd_kafka_headers_t *h;
    if (o->nheaders == 0)
        return NULL;
    h = rd_kafka_headers_new((size_t)o->nheaders);
    for (int i = 0; i < o->nheaders; i++) {
        const char *eq = strchr(o->headers[i], '=');
        rd_kafka_header_add(h, o->headers[i], eq - o->headers[i], eq + 1, -1);
    }
    return h;
}

/* Enqueues one record, waiting for room in librdkafka's queue if needed.
 * Returns 0, or -1 after printing why. */
static int send_line(rd_kafka_t *rk, const struct produce_opts *o, const char *line, size_t len, int64_t lineno)
{
    const char *key = NULL, *val = line;
    size_t klen = 0, vlen = len;
    rd_kafka_resp_err_t err;

    if (o->key_sep) {
        const char *sep = memmem(line, len, o->key_sep, strlen(o->key_sep));
        if (!sep) {
            fprintf(stderr, "weir produce: No key separator found on line number %lld: '%.*s'\n",
                    (long long)lineno, (int)len, line);
            return -1;
        }
        key = line;
        klen = (size_t)(sep - line);
        val = sep + strlen(o->key_sep);
        vlen = len - klen - strlen(o->key_sep);
    }
    for (;;) {
        rd_kafka_headers_t *h = make_headers(o);
        err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION(o->partition),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, klen),
                                RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
        if (!err)
            return 0;
        /* On failure the headers stay ours. */
        if (h)
            rd_kafka_headers_destroy(h);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "weir produce: %s\n", rd_kafka_err2str(err));
            return -1;
        }
        rd_kafka_poll(rk, 100);
    }
}

static int parse_produce_opts(int argc, char **argv, struct produce_opts *o, rd_kafka_conf_t *conf)
{
    int c;
    int64_t v;
    optind = 0;
    while ((c = getopt(argc, argv, "K:p:z:a:H:")) != -1) {
        switch (c) {
        case 'K':
            if (!*optarg)
                return wt_usage_error("produce", "-K needs a non-empty separator");
            o->key_sep = optarg;
            break;
        case 'p':
            if (wt_parse_i64(optarg, 0, INT32_MAX, &v) != 0)
                return wt_usage_error("produce", "bad partition '%s'", optarg);
            o->partition = (int32_t)v;
            break;
        case 'z':
            if (wt_conf_set(conf, "compression.codec", optarg) != 0)
                return WT_EX_USAGE;
            break;
        case 'a':
            if (wt_conf_set(conf, "acks", optarg) != 0)
                return WT_EX_USAGE;
            break;
        case 'H':
            if (!strchr(optarg, '=') || o->nheaders >= MAX_HEADERS)
                return wt_usage_error("produce", "-H expects key=value, got '%s'", optarg);
            o->headers[o->nheaders++] = optarg;
            break;
        default:
            return wt_usage_error("produce", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return wt_usage_error("produce", "expects exactly one TOPIC");
    o->topic = argv[optind];
    return 0;
}

int wt_produce_main(const struct wt_global *g, int argc, char **argv)
{
    struct produce_opts o = {.partition = RD_KAFKA_PARTITION_UA};
    struct produce_state st = {0};
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int64_t lineno = 0;
    int rc;

    if (wt_conf_set(conf, "bootstrap.servers", g->bootstrap) != 0 ||
        wt_conf_set(conf, "partitioner", "murmur2_random") != 0) {
        rd_kafka_conf_destroy(conf);
        return WT_EX_FAIL;
    }
    if ((rc = parse_produce_opts(argc, argv, &o, conf)) != 0 || wt_conf_apply_props(conf, g) != 0) {
        rd_kafka_conf_destroy(conf);
        return rc ? rc : WT_EX_USAGE;
    }
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    if (!(rk = wt_client_new(RD_KAFKA_PRODUCER, conf)))
        return WT_EX_FAIL;

    rc = WT_EX_OK;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (send_line(rk, &o, line, (size_t)len, lineno) != 0) {
            rc = WT_EX_FAIL;
            break;
        }
        rd_kafka_poll(rk, 0);
    }
    free(line);
    /* Delivery ends in success or message.timeout.ms; wait for all of it. */
    while (rd_kafka_outq_len(rk) > 0)
        rd_kafka_flush(rk, 1000);
    rd_kafka_destroy(rk);
    if (st.failed > 0) {
        fprintf(stderr, "weir produce: %lld of %lld records not delivered\n", (long long)st.failed,
                (long long)(st.failed + st.delivered));
        rc = WT_EX_FAIL;
    }
    return rc;
}
