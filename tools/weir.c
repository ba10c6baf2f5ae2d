/*
 * weir.c - the `weir` command-line tool: global options (-b, -X), command
 * dispatch, and the helpers every command shares (client configuration,
 * number parsing, usage errors).
 *
 * The tool talks to brokers only through the Kafka protocol (librdkafka), so
 * the same commands work against Weir, Apache Kafka and librdkafka's mock
 * cluster (-X test.mock.num.brokers=N).  Single-threaded from the tool's point
 * of view: librdkafka runs its own threads, but every callback we register is
 * served on the main thread from rd_kafka_poll()/rd_kafka_flush().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/weir.h"

static const char usage_text[] =
    "usage: weir [-b BOOTSTRAP] [-X key=val]... COMMAND ...\n"
    "\n"
    "  -b BOOTSTRAP   bootstrap servers (default 127.0.0.1:9092)\n"
    "  -X key=val     librdkafka property, e.g. -X test.mock.num.brokers=3\n"
    "\n"
    "commands:\n"
    "  topics create TOPIC [-p N] [-r RF] [-c key=val]... [--if-not-exists]\n"
    "  topics list\n"
    "  topics describe [TOPIC...] [--under-replicated-partitions] [--unavailable-partitions]\n"
    "  topics delete TOPIC...\n"
    "  topics alter TOPIC -p N\n"
    "  produce TOPIC [-K SEP] [-p PARTITION] [-z none|gzip|snappy|lz4|zstd] [-a ACKS] [-H key=value]...\n"
    "  consume TOPIC [-p PARTITION] [-o beginning|end|OFFSET] [-c MAX] [-e] [-t TIMEOUT_MS]\n"
    "          [-K SEP] [--print-key] [--print-offset] [--print-timestamp] [--print-headers]\n"
    "          [--print-partition]\n"
    "  consume TOPIC -G GROUP [-o beginning|end] [-c MAX] [-e] [-t TIMEOUT_MS] [print options]\n"
    "          as a member of GROUP: resumes at its committed offsets (-o: where there is\n"
    "          none), commits what was printed and leaves the group on exit\n"
    "  perf produce --topic T [--num-records N | --duration S] --record-size BYTES [--warmup S]\n"
    "          [--acks 1|all|0] [--linger-ms MS] [--batch-size B] [--compression C]\n"
    "          [--throughput MSGS_PER_S (-1 = max)] [--partitions P [--replication-factor R]]\n"
    "  perf consume --topic T [--messages N] [--timeout-ms MS]\n"
    "          [--record-size B --partitions P (fill of the mock cluster)]\n"
    "  perf prints one JSON line: records, seconds, msgs_per_s, mb_per_s (2^20 B),\n"
    "  latency_ms p50/p99/p999 (delivery report, or end to end from CreateTime), errors\n"
    "\n"
    "Environment: WEIR_TIMEOUT_MS bounds metadata and admin requests (default 10000).\n";

rd_kafka_conf_t *wt_conf_new(const struct wt_global *g)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (wt_conf_set(conf, "bootstrap.servers", g->bootstrap) != 0 ||
        wt_conf_apply_props(conf, g) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

int wt_conf_set(rd_kafka_conf_t *conf, const char *key, const char *val)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, val, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "weir: %s\n", errstr);
        return -1;
    }
    return 0;
}

int wt_conf_apply_props(rd_kafka_conf_t *conf, const struct wt_global *g)
{
    for (int i = 0; i < g->nprops; i++) {
        char key[256];
        const char *eq = strchr(g->props[i], '=');
        size_t klen = eq ? (size_t)(eq - g->props[i]) : 0;
        if (!eq || klen == 0 || klen >= sizeof(key)) {
            fprintf(stderr, "weir: -X expects key=value, got '%s'\n", g->props[i]);
            return -1;
        }
        memcpy(key, g->props[i], klen);
        key[klen] = '\0';
        if (wt_conf_set(conf, key, eq + 1) != 0)
            return -1;
    }
    return 0;
}

rd_kafka_t *wt_client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "weir: cannot create client: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

int wt_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;
    if (!s || !*s)
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int wt_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "weir %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return WT_EX_USAGE;
}

int wt_timeout_ms(void)
{
    int64_t v;
    const char *s = getenv("WEIR_TIMEOUT_MS");
    if (s && wt_parse_i64(s, 1, 3600 * 1000, &v) == 0)
        return (int)v;
    return 10000;
}

int64_t wt_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Parses the global options; returns the index of the command word, or -1
 * after printing a usage error. */
static int parse_global(int argc, char **argv, struct wt_global *g)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            fputs(usage_text, stdout);
            exit(WT_EX_OK);
        }
        if (strcmp(opt, "--") == 0)
            return i + 1;
        if (i + 1 >= argc) {
            fprintf(stderr, "weir: option %s needs a value\n", opt);
            return -1;
        }
        if (strcmp(opt, "-b") == 0 || strcmp(opt, "--bootstrap-server") == 0) {
            g->bootstrap = argv[++i];
        } else if (strcmp(opt, "-X") == 0) {
            g->props[g->nprops++] = argv[++i];
        } else {
            fprintf(stderr, "weir: unknown option %s\n%s", opt, usage_text);
            return -1;
        }
    }
    return i;
}

int main(int argc, char **argv)
{
    struct wt_global g = {.bootstrap = "127.0.0.1:9092"};
    int cmd;
    const char *name;

    /* Each -X takes two argv slots, so argc bounds the count. */
    g.props = calloc((size_t)argc + 1, sizeof(*g.props));
    if (!g.props)
        return WT_EX_FAIL;
    cmd = parse_global(argc, argv, &g);
    if (cmd < 0 || cmd >= argc) {
        if (cmd >= argc)
            fputs(usage_text, stderr);
        free(g.props);
        return WT_EX_USAGE;
    }
    name = argv[cmd];
    argc -= cmd;
    argv += cmd;
    int rc;
    if (strcmp(name, "topics") == 0)
        rc = wt_topics_main(&g, argc, argv);
    else if (strcmp(name, "produce") == 0)
        rc = wt_produce_main(&g, argc, argv);
    else if (strcmp(name, "consume") == 0)
        rc = wt_consume_main(&g, argc, argv);
    else if (strcmp(name, "perf") == 0)
        rc = wt_perf_main(&g, argc, argv);
    else {
        fprintf(stderr, "weir: unknown command '%s'\n%s", name, usage_text);
        rc = WT_EX_USAGE;
    }
    free(g.props);
    return rc;
}

/* Unknown topics are retried too: a topic created a moment ago may not have
 * reached the broker we asked yet. */
int wt_topic_partitions(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const char *cmd)
{
    int64_t deadline = wt_mono_us() + (int64_t)wt_timeout_ms() * 1000;
    const char *topic = rd_kafka_topic_name(rkt);
    rd_kafka_resp_err_t err;

    for (;;) {
        const rd_kafka_metadata_t *md = NULL;
        int n = -1;
        err = rd_kafka_metadata(rk, 0, rkt, &md, wt_timeout_ms());
        if (!err && md->topic_cnt == 1) {
            err = md->topics[0].err;
            if (!err && md->topics[0].partition_cnt == 0)
                err = RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
            if (!err)
                n = md->topics[0].partition_cnt;
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        if (n >= 0)
            return n;
        if (wt_mono_us() >= deadline)
            break;
        rd_kafka_poll(rk, 200);
    }
    if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        fprintf(stderr, "weir %s: Topic '%s' does not exist\n", cmd, topic);
    else
        fprintf(stderr, "weir %s: cannot read metadata for '%s': %s\n", cmd, topic, rd_kafka_err2str(err));
    return -1;
}
