/*
 * weir.h - shared pieces of the `weir` command-line tool: global options,
 * client construction on librdkafka, argument helpers, and the entry point of
 * each command.  Everything here runs on the tool's main thread; librdkafka's
 * callbacks that touch tool state are only served from rd_kafka_poll()/flush()
 * on that thread.
 */
#ifndef WEIR_TOOLS_WEIR_H
#define WEIR_TOOLS_WEIR_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

/* sysexits.h values, spelled out so the tool does not depend on the header. */
#define WT_EX_OK 0
#define WT_EX_FAIL 1
#define WT_EX_USAGE 64

/* Global options: everything before the command word. */
struct wt_global {
    const char *bootstrap;  /* -b, default 127.0.0.1:9092 */
    char **props;           /* -X key=val, in command-line order */
    int nprops;
};

/* A configuration with bootstrap.servers and every -X property applied (-X
 * last, so it can override anything the command sets before).  Returns NULL
 * and prints the reason on a bad property. */
rd_kafka_conf_t *wt_conf_new(const struct wt_global *g);
/* Sets one property, printing "weir: <librdkafka's reason>" on failure. */
int wt_conf_set(rd_kafka_conf_t *conf, const char *key, const char *val);
/* Applies the -X properties (again) on top of what the command set. */
int wt_conf_apply_props(rd_kafka_conf_t *conf, const struct wt_global *g);
/* rd_kafka_new() that prints the reason on failure; takes conf either way. */
rd_kafka_t *wt_client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf);

/* Strict decimal parsing: the whole string, within [min,max].  0 or -1. */
int wt_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Prints "weir <cmd>: <msg>" and returns WT_EX_USAGE. */
int wt_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Partition count of rkt's topic, retrying for up to wt_timeout_ms() while
 * it is being created; -1 after printing "weir CMD: ..." on failure. */
int wt_topic_partitions(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const char *cmd);

/* Timeout for metadata and admin requests (env WEIR_TIMEOUT_MS, default 10 s). */
int wt_timeout_ms(void);

/* Monotonic clock in microseconds, for latency measurement. */
int64_t wt_mono_us(void);

int wt_topics_main(const struct wt_global *g, int argc, char **argv);
int wt_produce_main(const struct wt_global *g, int argc, char **argv);
int wt_consume_main(const struct wt_global *g, int argc, char **argv);
int wt_perf_main(const struct wt_global *g, int argc, char **argv);

#endif
