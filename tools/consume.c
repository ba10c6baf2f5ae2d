/*
 * consume.c - `weir consume TOPIC`: reads a topic and prints records one per
 * line, close to kafka-console-consumer.sh's default formatter: optional
 * "Partition:P", "Offset:O", "CreateTime:T" and headers columns
 * (tab-separated), then the key and SEP when asked, then the value.
 *
 * Two ways to read:
 *   - without -G, partitions are assigned by this process (librdkafka's simple
 *     consumer, one shared queue) from the -o offset, so nothing is committed
 *     and the broker needs no group coordinator;
 *   - with -G GROUP, the process subscribes as a member of GROUP: the group
 *     hands out the partitions, reading starts at the group's committed
 *     offsets (-o beginning|end only says where partitions without one start,
 *     auto.offset.reset), offsets are auto-committed, and closing commits what
 *     was printed and leaves the group.
 * Stops after -c records, at the end of every partition read with -e, after
 * -t milliseconds without a record, or on SIGINT/SIGTERM; every way out goes
 * through the same close.  Main thread only: the signal handler just sets a
 * flag, and the rebalance callback is served from rd_kafka_consumer_poll() or
 * rd_kafka_consumer_close() on this thread.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/weir.h"

struct consume_opts {
    const char *topic;
    const char *group; /* -G: subscribe as a member; NULL = assign partitions */
    int32_t partition; /* -1 = all */
    int64_t start;     /* librdkafka logical or absolute offset */
    int64_t max;       /* -1 = unlimited */
    int exit_at_end;
    int64_t timeout_ms; /* -1 = none */
    const char *key_sep;
    int print_key, print_offset, print_ts, print_headers, print_partition;
};

/* One run's reading state.  at_end[p] is set by a partition's end-of-log
 * event and cleared by a record from it or by a rebalance that moves it; it
 * grows when a group hands out partitions created after the start. */
struct consume_run {
    const struct consume_opts *o;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q; /* without -G: the queue every started partition feeds */
    char *at_end;
    size_t cap;
    int nparts; /* at the start, from the metadata */
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
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
    while ((c = getopt_long(argc, argv, "p:o:c:et:K:G:", lopts, NULL)) != -1) {
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
        case 'G':
            if (!*optarg)
                return wt_usage_error("consume", "-G needs a group id");
            o->group = optarg;
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
    /* A group decides the partitions and where each one resumes, as Kafka's
     * console consumer refuses --partition and --offset with --group. */
    if (o->group && o->partition >= 0)
        return wt_usage_error("consume", "-p cannot be used with -G: the group assigns the partitions");
    if (o->group && o->start != RD_KAFKA_OFFSET_BEGINNING && o->start != RD_KAFKA_OFFSET_END)
        return wt_usage_error("consume", "-o takes only beginning or end with -G: the group resumes at its "
                                         "committed offsets; -o says where partitions without one start");
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

static void set_at_end(struct consume_run *r, int32_t p, char v)
{
    if (p < 0)
        return;
    if ((size_t)p >= r->cap) {
        if (!v)
            return;
        size_t cap = (size_t)p + 1;
        char *n = realloc(r->at_end, cap);
        if (!n)
            return; /* -e then waits for a partition it cannot track: it still stops on -c, -t or a signal */
        memset(n + r->cap, 0, cap - r->cap);
        r->at_end = n;
        r->cap = cap;
    }
    r->at_end[p] = v;
}

static int is_at_end(const struct consume_run *r, int32_t p)
{
    return p >= 0 && (size_t)p < r->cap && r->at_end[p];
}

/* -e: true once every partition being read has reached its end.  In a group
 * that is the current assignment, which is empty until the first rebalance. */
static int all_at_end(const struct consume_run *r)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    int done = 1;

    if (!r->o->group) {
        for (int32_t p = 0; p < r->nparts; p++)
            if ((r->o->partition < 0 || p == r->o->partition) && !is_at_end(r, p))
                return 0;
        return 1;
    }
    if (rd_kafka_assignment(r->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    if (parts->cnt == 0)
        done = 0;
    for (int i = 0; done && i < parts->cnt; i++)
        done = is_at_end(r, parts->elems[i].partition);
    rd_kafka_topic_partition_list_destroy(parts);
    return done;
}

/* The group's rebalances: take or give back what the coordinator decided
 * (incrementally under a cooperative assignor), forgetting the end-of-log
 * state of the partitions that move. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque)
{
    struct consume_run *r = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t aerr = RD_KAFKA_RESP_ERR_NO_ERROR;

    for (int i = 0; i < parts->cnt; i++)
        set_at_end(r, parts->elems[i].partition, 0);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (coop)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            aerr = rd_kafka_assign(rk, parts);
    } else {
        if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            fprintf(stderr, "weir consume: rebalance failed: %s\n", rd_kafka_err2str(err));
        if (coop)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            aerr = rd_kafka_assign(rk, NULL);
    }
    if (error) {
        fprintf(stderr, "weir consume: cannot apply the group's assignment: %s\n", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (aerr) {
        fprintf(stderr, "weir consume: cannot apply the group's assignment: %s\n", rd_kafka_err2str(aerr));
    }
}

/* Consumes until a stop condition; returns the number of records printed.
 * In a group every record returned is printed before the next poll, so the
 * offsets stored for the commit are exactly those of the printed records. */
static int64_t consume_loop(struct consume_run *r)
{
    const struct consume_opts *o = r->o;
    int64_t count = 0, last = wt_mono_us();

    while (!stop_requested && (o->max < 0 || count < o->max)) {
        rd_kafka_message_t *m = r->q ? rd_kafka_consume_queue(r->q, 100) : rd_kafka_consumer_poll(r->rk, 100);
        if (!m) {
            fflush(stdout);
            if (o->timeout_ms >= 0 && wt_mono_us() - last >= o->timeout_ms * 1000)
                break;
            continue;
        }
        int stop = 0;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            set_at_end(r, m->partition, 1);
            stop = o->exit_at_end && all_at_end(r);
        } else if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
            char reason[512];
            rd_kafka_fatal_error(r->rk, reason, sizeof(reason));
            fprintf(stderr, "weir consume: fatal error: %s\n", reason);
            stop = 1;
        } else if (m->err) {
            if (m->partition >= 0)
                fprintf(stderr, "weir consume: partition %d: %s\n", (int)m->partition, rd_kafka_message_errstr(m));
            else
                fprintf(stderr, "weir consume: %s\n", rd_kafka_message_errstr(m));
        } else {
            set_at_end(r, m->partition, 0);
            print_record(o, m);
            count++;
            last = wt_mono_us();
        }
        rd_kafka_message_destroy(m);
        if (stop)
            break;
    }
    fflush(stdout);
    return count;
}

/* Without -G: start every wanted partition at -o on one queue, read, stop. */
static int consume_assigned(struct consume_run *r, rd_kafka_topic_t *rkt, int64_t *n)
{
    const struct consume_opts *o = r->o;

    r->q = rd_kafka_queue_new(r->rk);
    for (int p = 0; p < r->nparts; p++)
        if ((o->partition < 0 || p == o->partition) && rd_kafka_consume_start_queue(rkt, p, o->start, r->q) != 0)
            fprintf(stderr, "weir consume: cannot start partition %d: %s\n", p,
                    rd_kafka_err2str(rd_kafka_last_error()));
    *n = consume_loop(r);
    for (int p = 0; p < r->nparts; p++)
        if (o->partition < 0 || p == o->partition)
            rd_kafka_consume_stop(rkt, p);
    rd_kafka_queue_destroy(r->q);
    r->q = NULL;
    return WT_EX_OK;
}

/* With -G: subscribe, read, then close, which commits the offsets of the
 * printed records and leaves the group (the rebalance callback gives the
 * partitions back on the way). */
static int consume_group(struct consume_run *r, int64_t *n)
{
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t err;
    int rc = WT_EX_OK;

    rd_kafka_poll_set_consumer(r->rk);
    rd_kafka_topic_partition_list_add(topics, r->o->topic, RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(r->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        fprintf(stderr, "weir consume: cannot subscribe to '%s': %s\n", r->o->topic, rd_kafka_err2str(err));
        return WT_EX_FAIL;
    }
    *n = consume_loop(r);
    err = rd_kafka_consumer_close(r->rk);
    if (err) {
        fprintf(stderr, "weir consume: closing the group member: %s\n", rd_kafka_err2str(err));
        rc = WT_EX_FAIL;
    }
    return rc;
}

/* The group member's settings: auto-commit, where partitions without a
 * committed offset start, and the rebalance callback.  The -X properties
 * are applied again so they still win, except group.id, which is -G's. */
static int group_conf(rd_kafka_conf_t *conf, const struct wt_global *g, struct consume_run *r)
{
    const char *reset = r->o->start == RD_KAFKA_OFFSET_BEGINNING ? "earliest" : "latest";
    if (wt_conf_set(conf, "enable.auto.commit", "true") != 0 ||
        wt_conf_set(conf, "auto.offset.reset", reset) != 0 || wt_conf_apply_props(conf, g) != 0 ||
        wt_conf_set(conf, "group.id", r->o->group) != 0)
        return -1;
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, r);
    return 0;
}

int wt_consume_main(const struct wt_global *g, int argc, char **argv)
{
    struct consume_opts o = {.partition = -1, .start = RD_KAFKA_OFFSET_END, .max = -1, .timeout_ms = -1};
    struct consume_run r = {.o = &o};
    rd_kafka_conf_t *conf;
    rd_kafka_topic_t *rkt;
    int64_t n = 0;
    int rc;

    if ((rc = parse_consume_opts(argc, argv, &o)) != 0)
        return rc;
    if (!(conf = wt_conf_new(g)))
        return WT_EX_USAGE;
    if ((o.exit_at_end && wt_conf_set(conf, "enable.partition.eof", "true") != 0) ||
        (o.group && group_conf(conf, g, &r) != 0)) {
        rd_kafka_conf_destroy(conf);
        return WT_EX_USAGE;
    }
    if (!(r.rk = wt_client_new(RD_KAFKA_CONSUMER, conf)))
        return WT_EX_FAIL;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    rkt = rd_kafka_topic_new(r.rk, o.topic, NULL);
    r.nparts = wt_topic_partitions(r.rk, rkt, "consume");
    rc = WT_EX_FAIL;
    if (r.nparts < 0)
        goto out;
    if (o.partition >= r.nparts) {
        fprintf(stderr, "weir consume: topic '%s' has no partition %d (it has %d)\n", o.topic, (int)o.partition,
                r.nparts);
        goto out;
    }
    r.cap = (size_t)r.nparts;
    if (!(r.at_end = calloc(r.cap ? r.cap : 1, 1)))
        goto out;
    rc = o.group ? consume_group(&r, &n) : consume_assigned(&r, rkt, &n);
    fprintf(stderr, "Processed a total of %lld messages\n", (long long)n);
out:
    free(r.at_end);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(r.rk);
    return rc;
}
