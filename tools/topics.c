/*
 * topics.c - `weir topics create|list|describe|delete|alter`: the admin side of
 * the tool, with kafka-topics.sh's behaviour and output so that operators'
 * scripts that parse it keep working.
 *
 * Reads go through rd_kafka_metadata() (all topics, so nothing is
 * auto-created); writes through the AdminClient (CreateTopics, DeleteTopics,
 * CreatePartitions), which librdkafka sends to the controller broker named in
 * Metadata.  Every failure is printed as kafka-topics.sh prints it,
 * "Error while executing topic command : <message>", with exit status 1.
 * Runs on the main thread only.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/weir.h"

#define MAX_CONFIGS 64

static int topic_error(const char *fmt, const char *arg)
{
    fputs("Error while executing topic command : ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return WT_EX_FAIL;
}

/* The message Kafka's tools show for a per-topic admin error: the broker's
 * ErrorMessage when it sent one, else Kafka's wording for the common cases,
 * else librdkafka's description without its "Broker: " prefix. */
static int admin_error(const char *topic, rd_kafka_resp_err_t err, const char *errstr)
{
    const char *generic = rd_kafka_err2str(err);
    char buf[512];

    if (errstr && *errstr && strcmp(errstr, generic) != 0)
        return topic_error("%s", errstr);
    if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        snprintf(buf, sizeof(buf), "Topic '%s' already exists.", topic);
        return topic_error("%s", buf);
    }
    if (strncmp(generic, "Broker: ", 8) == 0)
        generic += 8;
    return topic_error("%s", generic);
}

static rd_kafka_t *admin_client(const struct wt_global *g)
{
    rd_kafka_conf_t *conf = wt_conf_new(g);
    return conf ? wt_client_new(RD_KAFKA_PRODUCER, conf) : NULL;
}

static const rd_kafka_metadata_t *all_metadata(rd_kafka_t *rk)
{
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, wt_timeout_ms());
    if (err) {
        topic_error("%s", rd_kafka_err2str(err));
        return NULL;
    }
    return md;
}

static const rd_kafka_metadata_topic_t *find_topic(const rd_kafka_metadata_t *md, const char *name)
{
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, name) == 0 &&
            md->topics[i].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            return &md->topics[i];
    return NULL;
}

/* kafka-topics.sh checks that named topics exist before acting on them. */
static int ensure_exist(const rd_kafka_metadata_t *md, char **names, int n)
{
    for (int i = 0; i < n; i++)
        if (!find_topic(md, names[i]))
            return topic_error("Topic '%s' does not exist as expected", names[i]);
    return 0;
}

static rd_kafka_AdminOptions_t *admin_options(rd_kafka_t *rk, rd_kafka_admin_op_t op)
{
    char errstr[256];
    int t = wt_timeout_ms();
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
    /* Configs are decoration in `describe`: a broker without DescribeConfigs
     * must not stall it for the full admin timeout. */
    if (op == RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS) {
        rd_kafka_AdminOptions_set_request_timeout(o, 2000, errstr, sizeof(errstr));
        return o;
    }
    rd_kafka_AdminOptions_set_request_timeout(o, t + 5000, errstr, sizeof(errstr));
    rd_kafka_AdminOptions_set_operation_timeout(o, t, errstr, sizeof(errstr));
    return o;
}

/* Waits for the admin result event on q; prints and returns NULL on a
 * request-level failure. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, int quiet)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, quiet ? 3000 : wt_timeout_ms() + 10000);
    if (!ev) {
        if (!quiet)
            topic_error("%s", "Timed out waiting for the admin request");
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        if (!quiet)
            topic_error("%s", rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

/* Checks the per-topic results of CreateTopics/DeleteTopics/CreatePartitions. */
static int topic_results(const rd_kafka_topic_result_t **res, size_t n, int tolerate_exists, int print_created)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = rd_kafka_topic_result_name(res[i]);
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
        if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && tolerate_exists)
            continue;
        if (err)
            rc = admin_error(name, err, rd_kafka_topic_result_error_string(res[i]));
        else if (print_created)
            printf("Created topic %s.\n", name);
    }
    return rc;
}

static int cmd_create(rd_kafka_t *rk, int argc, char **argv)
{
    static const struct option lopts[] = {{"if-not-exists", no_argument, NULL, 'E'}, {NULL, 0, NULL, 0}};
    int64_t parts = -1, rf = -1;
    int if_not_exists = 0, ncfg = 0, c, rc;
    char *cfg[MAX_CONFIGS];
    char errstr[512];

    while ((c = getopt_long(argc, argv, "p:r:c:", lopts, NULL)) != -1) {
        if (c == 'p' && wt_parse_i64(optarg, 1, INT32_MAX, &parts) == 0)
            continue;
        if (c == 'r' && wt_parse_i64(optarg, 1, INT16_MAX, &rf) == 0)
            continue;
        if (c == 'c' && ncfg < MAX_CONFIGS && strchr(optarg, '=')) {
            cfg[ncfg++] = optarg;
            continue;
        }
        if (c == 'E') {
            if_not_exists = 1;
            continue;
        }
        return wt_usage_error("topics create", "bad option or value near '%s'", optarg ? optarg : argv[optind - 1]);
    }
    if (optind + 1 != argc)
        return wt_usage_error("topics create", "expects exactly one TOPIC");

    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(argv[optind], (int)parts, (int)rf, errstr, sizeof(errstr));
    if (!nt)
        return topic_error("%s", errstr);
    for (int i = 0; i < ncfg; i++) {
        char *eq = strchr(cfg[i], '=');
        *eq = '\0';
        if (rd_kafka_NewTopic_set_config(nt, cfg[i], eq + 1)) {
            rd_kafka_NewTopic_destroy(nt);
            return wt_usage_error("topics create", "bad config '%s'", cfg[i]);
        }
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_options(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_CreateTopics(rk, &nt, 1, o, q);
    rd_kafka_event_t *ev = admin_wait(q, 0);
    rc = WT_EX_FAIL;
    if (ev) {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        rc = topic_results(res, n, if_not_exists, 1);
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmd_list(rd_kafka_t *rk, int argc, char **argv)
{
    (void)argv;
    const rd_kafka_metadata_t *md;
    const char **names;
    int n = 0;

    if (argc > 1)
        return wt_usage_error("topics list", "takes no arguments");
    if (!(md = all_metadata(rk)))
        return WT_EX_FAIL;
    names = calloc((size_t)md->topic_cnt + 1, sizeof(*names));
    for (int i = 0; names && i < md->topic_cnt; i++)
        if (md->topics[i].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            names[n++] = md->topics[i].topic;
    if (names) {
        qsort(names, (size_t)n, sizeof(*names), cmp_str);
        for (int i = 0; i < n; i++)
            printf("%s\n", names[i]);
    }
    free(names);
    rd_kafka_metadata_destroy(md);
    return names ? WT_EX_OK : WT_EX_FAIL;
}

/* Topic names to act on: those given, or every topic, sorted. */
static const char **select_topics(const rd_kafka_metadata_t *md, char **given, int ngiven, int *n)
{
    const char **names = calloc((size_t)md->topic_cnt + (size_t)ngiven + 1, sizeof(*names));
    *n = 0;
    if (!names)
        return NULL;
    if (ngiven) {
        for (int i = 0; i < ngiven; i++)
            names[(*n)++] = given[i];
        return names;
    }
    for (int i = 0; i < md->topic_cnt; i++)
        if (md->topics[i].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            names[(*n)++] = md->topics[i].topic;
    qsort(names, (size_t)*n, sizeof(*names), cmp_str);
    return names;
}

/* "k=v,k=v" of the configs that are not defaults (what kafka-topics.sh shows
 * after "Configs: ").  Best effort: a broker without DescribeConfigs, or any
 * error, gives empty strings. */
static char **describe_configs(rd_kafka_t *rk, const char **names, int n)
{
    char **out = calloc((size_t)n + 1, sizeof(*out));
    rd_kafka_ConfigResource_t **res = calloc((size_t)n + 1, sizeof(*res));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_event_t *ev = NULL;

    if (!out || !res)
        goto done;
    for (int i = 0; i < n; i++)
        res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, names[i]);
    rd_kafka_DescribeConfigs(rk, res, (size_t)n, o, q);
    if (!(ev = admin_wait(q, 1)))
        goto done;
    size_t nr;
    const rd_kafka_ConfigResource_t **rr =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &nr);
    for (size_t r = 0; r < nr; r++) {
        int idx = -1;
        for (int i = 0; i < n && idx < 0; i++)
            if (!out[i] && strcmp(names[i], rd_kafka_ConfigResource_name(rr[r])) == 0)
                idx = i;
        if (idx < 0 || rd_kafka_ConfigResource_error(rr[r]))
            continue;
        size_t ne, len = 0;
        const rd_kafka_ConfigEntry_t **e = rd_kafka_ConfigResource_configs(rr[r], &ne);
        for (size_t k = 0; k < ne; k++) {
            const char *v = rd_kafka_ConfigEntry_value(e[k]);
            len += strlen(rd_kafka_ConfigEntry_name(e[k])) + (v ? strlen(v) : 4) + 2;
        }
        if (!(out[idx] = calloc(1, len + 1)))
            continue;
        for (size_t k = 0; k < ne; k++) {
            const char *v = rd_kafka_ConfigEntry_value(e[k]);
            if (rd_kafka_ConfigEntry_is_default(e[k]))
                continue;
            sprintf(out[idx] + strlen(out[idx]), "%s%s=%s", out[idx][0] ? "," : "",
                    rd_kafka_ConfigEntry_name(e[k]), v ? v : "null");
        }
    }
done:
    if (ev)
        rd_kafka_event_destroy(ev);
    for (int i = 0; res && i < n; i++)
        rd_kafka_ConfigResource_destroy(res[i]);
    free(res);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    return out;
}

static int cmp_partition(const void *a, const void *b)
{
    const rd_kafka_metadata_partition_t *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int broker_alive(const rd_kafka_metadata_t *md, int32_t id)
{
    for (int i = 0; i < md->broker_cnt; i++)
        if (md->brokers[i].id == id)
            return 1;
    return 0;
}

static void print_ids(const char *label, const int32_t *ids, int n)
{
    printf("\t%s: ", label);
    for (int i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", (int)ids[i]);
}

enum { DESCRIBE_UNDER_REPLICATED = 1, DESCRIBE_UNAVAILABLE = 2 };

static void describe_topic(const rd_kafka_metadata_t *md, const rd_kafka_metadata_topic_t *t, const char *configs,
                           int filters)
{
    int n = t->partition_cnt;
    rd_kafka_metadata_partition_t *p = malloc(sizeof(*p) * ((size_t)n + 1));
    if (!p)
        return;
    memcpy(p, t->partitions, sizeof(*p) * (size_t)n);
    qsort(p, (size_t)n, sizeof(*p), cmp_partition);
    if (!filters)
        printf("Topic: %s\tTopicId: -\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n", t->topic, n,
               n ? p[0].replica_cnt : 0, configs ? configs : "");
    for (int i = 0; i < n; i++) {
        int under = p[i].isr_cnt < p[i].replica_cnt;
        int unavailable = p[i].leader < 0 || !broker_alive(md, p[i].leader);
        if (filters && !((filters & DESCRIBE_UNDER_REPLICATED) && under) &&
            !((filters & DESCRIBE_UNAVAILABLE) && unavailable))
            continue;
        printf("\tTopic: %s\tPartition: %d", t->topic, (int)p[i].id);
        if (p[i].leader < 0)
            printf("\tLeader: none");
        else
            printf("\tLeader: %d", (int)p[i].leader);
        print_ids("Replicas", p[i].replicas, p[i].replica_cnt);
        print_ids("Isr", p[i].isrs, p[i].isr_cnt);
        putchar('\n');
    }
    free(p);
}

static int cmd_describe(rd_kafka_t *rk, int argc, char **argv)
{
    static const struct option lopts[] = {{"under-replicated-partitions", no_argument, NULL, 'U'},
                                          {"unavailable-partitions", no_argument, NULL, 'A'},
                                          {"if-exists", no_argument, NULL, 'I'},
                                          {NULL, 0, NULL, 0}};
    int filters = 0, if_exists = 0, c, n;
    const rd_kafka_metadata_t *md;

    while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
        if (c == 'U')
            filters |= DESCRIBE_UNDER_REPLICATED;
        else if (c == 'A')
            filters |= DESCRIBE_UNAVAILABLE;
        else if (c == 'I')
            if_exists = 1;
        else
            return wt_usage_error("topics describe", "unknown option '%s'", argv[optind - 1]);
    }
    if (!(md = all_metadata(rk)))
        return WT_EX_FAIL;
    if (!if_exists && ensure_exist(md, argv + optind, argc - optind) != 0) {
        rd_kafka_metadata_destroy(md);
        return WT_EX_FAIL;
    }
    const char **names = select_topics(md, argv + optind, argc - optind, &n);
    char **configs = (names && n && !filters) ? describe_configs(rk, names, n) : NULL;
    for (int i = 0; names && i < n; i++) {
        const rd_kafka_metadata_topic_t *t = find_topic(md, names[i]);
        if (t)
            describe_topic(md, t, configs ? configs[i] : NULL, filters);
    }
    for (int i = 0; configs && i < n; i++)
        free(configs[i]);
    free(configs);
    free(names);
    rd_kafka_metadata_destroy(md);
    return WT_EX_OK;
}

static int cmd_delete(rd_kafka_t *rk, int argc, char **argv)
{
    static const struct option lopts[] = {{"if-exists", no_argument, NULL, 'I'}, {NULL, 0, NULL, 0}};
    int if_exists = 0, c, n, rc = WT_EX_FAIL;
    const rd_kafka_metadata_t *md;

    while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
        if (c != 'I')
            return wt_usage_error("topics delete", "unknown option '%s'", argv[optind - 1]);
        if_exists = 1;
    }
    n = argc - optind;
    if (n < 1)
        return wt_usage_error("topics delete", "expects at least one TOPIC");
    if (!(md = all_metadata(rk)))
        return WT_EX_FAIL;
    rd_kafka_DeleteTopic_t **dt = calloc((size_t)n, sizeof(*dt));
    int ndt = 0;
    if (!if_exists && ensure_exist(md, argv + optind, n) != 0)
        goto out;
    for (int i = 0; dt && i < n; i++)
        if (find_topic(md, argv[optind + i]))
            dt[ndt++] = rd_kafka_DeleteTopic_new(argv[optind + i]);
    rc = WT_EX_OK;
    if (ndt > 0) {
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *o = admin_options(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
        rd_kafka_DeleteTopics(rk, dt, (size_t)ndt, o, q);
        rd_kafka_event_t *ev = admin_wait(q, 0);
        rc = WT_EX_FAIL;
        if (ev) {
            size_t nr;
            const rd_kafka_topic_result_t **res =
                rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &nr);
            rc = topic_results(res, nr, 0, 0);
            rd_kafka_event_destroy(ev);
        }
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_queue_destroy(q);
    }
out:
    for (int i = 0; i < ndt; i++)
        rd_kafka_DeleteTopic_destroy(dt[i]);
    free(dt);
    rd_kafka_metadata_destroy(md);
    return rc;
}

static int cmd_alter(rd_kafka_t *rk, int argc, char **argv)
{
    static const struct option lopts[] = {{"partitions", required_argument, NULL, 'p'}, {NULL, 0, NULL, 0}};
    int64_t parts = -1;
    int c, rc = WT_EX_FAIL;
    char errstr[512];
    const rd_kafka_metadata_t *md;

    while ((c = getopt_long(argc, argv, "p:", lopts, NULL)) != -1)
        if (c != 'p' || wt_parse_i64(optarg, 1, INT32_MAX, &parts) != 0)
            return wt_usage_error("topics alter", "bad option or value near '%s'", argv[optind - 1]);
    if (optind + 1 != argc || parts < 0)
        return wt_usage_error("topics alter", "expects TOPIC -p N");
    if (!(md = all_metadata(rk)))
        return WT_EX_FAIL;
    if (ensure_exist(md, argv + optind, 1) != 0) {
        rd_kafka_metadata_destroy(md);
        return WT_EX_FAIL;
    }
    rd_kafka_metadata_destroy(md);

    rd_kafka_NewPartitions_t *np = rd_kafka_NewPartitions_new(argv[optind], (size_t)parts, errstr, sizeof(errstr));
    if (!np)
        return topic_error("%s", errstr);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_options(rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
    rd_kafka_CreatePartitions(rk, &np, 1, o, q);
    rd_kafka_event_t *ev = admin_wait(q, 0);
    if (ev) {
        size_t nr;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &nr);
        rc = topic_results(res, nr, 0, 0);
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_NewPartitions_destroy(np);
    rd_kafka_queue_destroy(q);
    return rc;
}

int wt_topics_main(const struct wt_global *g, int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(rd_kafka_t *, int, char **);
    } cmds[] = {{"create", cmd_create},
                {"list", cmd_list},
                {"describe", cmd_describe},
                {"delete", cmd_delete},
                {"alter", cmd_alter}};
    rd_kafka_t *rk;
    int rc;

    if (argc < 2)
        return wt_usage_error("topics", "expects create|list|describe|delete|alter");
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(argv[1], cmds[i].name) != 0)
            continue;
        if (!(rk = admin_client(g)))
            return WT_EX_FAIL;
        optind = 0; /* GNU getopt: full re-initialisation for the sub-argv */
        rc = cmds[i].fn(rk, argc - 1, argv + 1);
        rd_kafka_destroy(rk);
        return rc;
    }
    return wt_usage_error("topics", "unknown subcommand '%s'", argv[1]);
}
