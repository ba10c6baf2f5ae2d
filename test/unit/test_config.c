/*
 * test_config.c - the configuration engine (common/config.c) and the broker
 * and controller tables: .properties parsing, overrides, defaults, every
 * error message, retention resolution, listener and zookeeper.connect syntax,
 * the daemon command line's exit codes, and that the conf/ files load.
 * Runs from the repository root (make test-unit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/bconfig.h"
#include "config.h"
#include "controller/cconfig.h"

/* A small table exercising every type. */
typedef struct {
    int32_t id;
    int64_t big;
    int16_t small;
    bool flag;
    char *name;
    char *path;
    int32_t opt;
} tcfg_t;

static const cfg_def_t tdefs[] = {
    {"node.id", CFG_INT, NULL, 0, 1000, offsetof(tcfg_t, id), true, "id"},
    {"big.bytes", CFG_LONG, "1073741824", 14, INT64_MAX, offsetof(tcfg_t, big), false, "a long"},
    {"small.count", CFG_SHORT, "3", 1, 10, offsetof(tcfg_t, small), false, "a short"},
    {"flag.enable", CFG_BOOL, "true", 0, 0, offsetof(tcfg_t, flag), false, "a bool"},
    {"name", CFG_STRING, "dflt", 0, 0, offsetof(tcfg_t, name), false, "a string"},
    {"path", CFG_STRING, "", 0, 0, offsetof(tcfg_t, path), false, "another string"},
    {"opt.ms", CFG_INT, NULL, -1, INT32_MAX, offsetof(tcfg_t, opt), false, "optional"},
};
#define NT (sizeof tdefs / sizeof tdefs[0])

static char g_path[64];
static char g_err[512];

/* Write `text` to a fresh temporary file; its path is in g_path. */
static const char *tmpfile_with(const char *text)
{
    strcpy(g_path, "/tmp/weir-test-config-XXXXXX");
    int fd = mkstemp(g_path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return g_path;
}

static int load_text(const char *text, char *const *ov, int nov, tcfg_t *c)
{
    memset(c, 0xAB, sizeof *c); /* garbage, as a caller's stack struct would hold */
    g_err[0] = '\0';
    int rc = cfg_load(tdefs, NT, c, text ? tmpfile_with(text) : NULL, ov, nov, g_err, sizeof g_err);
    if (text)
        unlink(g_path);
    return rc;
}

static void test_file_syntax(void **state)
{
    (void)state;
    tcfg_t c;
    const char *text = "# a comment\n"
                       "! another comment\n"
                       "\n"
                       "   node.id   =   7   \n"
                       "big.bytes: 2048\n"
                       "small.count 5\n"
                       "flag.enable=FALSE\r\n"
                       "name = first,\\\n"
                       "       second,\\\n"
                       "   third\n"
                       "# a comment line ending in a backslash does not continue \\\n"
                       "path=a\\:b\\=c\\ \n";
    assert_int_equal(load_text(text, NULL, 0, &c), 0);
    assert_int_equal(c.id, 7);
    assert_int_equal(c.big, 2048);
    assert_int_equal(c.small, 5);
    assert_false(c.flag);
    assert_string_equal(c.name, "first,second,third");
    assert_string_equal(c.path, "a:b=c "); /* escaped trailing space is kept */
    assert_int_equal(c.opt, CFG_UNSET_INT);
    cfg_free(tdefs, NT, &c);
    assert_null(c.name);
    assert_null(c.path);
}

static void test_duplicates_and_empty_values(void **state)
{
    (void)state;
    tcfg_t c;
    assert_int_equal(load_text("node.id=1\nnode.id=2\nname=\npath\n", NULL, 0, &c), 0);
    assert_int_equal(c.id, 2); /* a later line wins, as java.util.Properties */
    assert_string_equal(c.name, "");
    assert_string_equal(c.path, "");
    cfg_free(tdefs, NT, &c);
}

static void test_overrides_win(void **state)
{
    (void)state;
    tcfg_t c;
    char *ov[] = {"name=from-override", "small.count=9", "small.count=10", "path=x=y"};
    assert_int_equal(load_text("node.id=3\nname=from-file\nsmall.count=2\n", ov, 4, &c), 0);
    assert_string_equal(c.name, "from-override");
    assert_int_equal(c.small, 10); /* the later override wins */
    assert_string_equal(c.path, "x=y"); /* only the first '=' separates */
    assert_int_equal(c.id, 3);
    cfg_free(tdefs, NT, &c);
}

static void test_defaults(void **state)
{
    (void)state;
    tcfg_t c;
    char *ov[] = {"node.id=0"};
    assert_int_equal(load_text(NULL, ov, 1, &c), 0);
    assert_int_equal(c.id, 0);
    assert_int_equal(c.big, 1073741824);
    assert_int_equal(c.small, 3);
    assert_true(c.flag);
    assert_string_equal(c.name, "dflt");
    assert_string_equal(c.path, "");
    assert_int_equal(c.opt, CFG_UNSET_INT);
    char buf[32];
    cfg_format(&tdefs[6], &c, buf, sizeof buf);
    assert_string_equal(buf, "");
    cfg_format(&tdefs[1], &c, buf, sizeof buf);
    assert_string_equal(buf, "1073741824");
    cfg_format(&tdefs[3], &c, buf, sizeof buf);
    assert_string_equal(buf, "true");
    cfg_free(tdefs, NT, &c);
}

/* Each bad input gives exactly this message, and leaves no string behind. */
static void expect_error(const char *text, char *const *ov, int nov, const char *msg)
{
    tcfg_t c;
    assert_int_equal(load_text(text, ov, nov, &c), -1);
    const char *want = msg;
    char buf[512];
    if (strstr(msg, "%s")) { /* messages that name the temporary file */
        snprintf(buf, sizeof buf, msg, g_path);
        want = buf;
    }
    assert_string_equal(g_err, want);
    assert_null(c.name);
    assert_null(c.path);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("node.id=1\n\n# c\nno.such.key=5\n", NULL, 0, "Unknown configuration 'no.such.key' (in %s line 4)");
    char *unk[] = {"bogus=1"};
    expect_error("node.id=1\n", unk, 1, "Unknown configuration 'bogus' (in --override)");
    expect_error("node.id=abc\n", NULL, 0,
                 "Invalid value 'abc' for configuration 'node.id': not a number (in %s line 1)");
    expect_error("node.id=12x\n", NULL, 0,
                 "Invalid value '12x' for configuration 'node.id': not a number (in %s line 1)");
    expect_error("node.id=\n", NULL, 0, "Invalid value '' for configuration 'node.id': not a number (in %s line 1)");
    expect_error("node.id=1001\n", NULL, 0,
                 "Invalid value '1001' for configuration 'node.id': out of range [0,1000] (in %s line 1)");
    expect_error("node.id=-1\n", NULL, 0,
                 "Invalid value '-1' for configuration 'node.id': out of range [0,1000] (in %s line 1)");
    expect_error("node.id=1\nbig.bytes=99999999999999999999\n", NULL, 0,
                 "Invalid value '99999999999999999999' for configuration 'big.bytes': out of range "
                 "[14,9223372036854775807] (in %s line 2)");
    char *ovr[] = {"small.count=11"};
    expect_error("node.id=1\n", ovr, 1,
                 "Invalid value '11' for configuration 'small.count': out of range [1,10] (in --override)");
    expect_error("node.id=1\nflag.enable=yes\n", NULL, 0,
                 "Invalid value 'yes' for configuration 'flag.enable': not a boolean (in %s line 2)");
    expect_error("name=x\npath=y\n", NULL, 0, "Missing required configuration 'node.id' which has no default value");
    char *bad[] = {"novalue"};
    expect_error("node.id=1\n", bad, 1, "Invalid override 'novalue': expected key=value");
    char *bad2[] = {"=5"};
    expect_error("node.id=1\n", bad2, 1, "Invalid override '=5': expected key=value");

    tcfg_t c;
    memset(&c, 0, sizeof c);
    assert_int_equal(cfg_load(tdefs, NT, &c, "/nonexistent/weir.properties", NULL, 0, g_err, sizeof g_err), -1);
    assert_string_equal(g_err, "Cannot read configuration file '/nonexistent/weir.properties': "
                               "No such file or directory");
}

static void test_int_width(void **state)
{
    (void)state;
    /* The range is clamped to the field: a short cannot take 40000 even if a
     * table said so. */
    typedef struct { int16_t s; int32_t i; } w_t;
    static const cfg_def_t wd[] = {
        {"s", CFG_SHORT, "1", 0, INT64_MAX, offsetof(w_t, s), false, "s"},
        {"i", CFG_INT, "1", INT64_MIN, INT64_MAX, offsetof(w_t, i), false, "i"},
    };
    w_t w;
    char *ov[] = {"s=40000"};
    assert_int_equal(cfg_load(wd, 2, &w, NULL, ov, 1, g_err, sizeof g_err), -1);
    assert_string_equal(g_err, "Invalid value '40000' for configuration 's': out of range [0,32767] (in --override)");
    char *ov2[] = {"i=-2147483648", "s=32767"};
    assert_int_equal(cfg_load(wd, 2, &w, NULL, ov2, 2, g_err, sizeof g_err), 0);
    assert_int_equal(w.i, INT32_MIN);
    assert_int_equal(w.s, 32767);
    char *ov3[] = {"i=2147483648"};
    assert_int_equal(cfg_load(wd, 2, &w, NULL, ov3, 1, g_err, sizeof g_err), -1);
}

static int load_broker(bcfg_t *b, const char *extra1, const char *extra2)
{
    char *ov[4] = {"broker.id=1", "zookeeper.connect=127.0.0.1:2181/weir", (char *)extra1, (char *)extra2};
    int n = 2 + (extra1 != NULL) + (extra2 != NULL);
    g_err[0] = '\0';
    if (cfg_load(bcfg_defs, bcfg_ndefs, b, NULL, ov, n, g_err, sizeof g_err) < 0)
        return -1;
    int rc = bcfg_resolve(b, g_err, sizeof g_err);
    if (rc < 0)
        bcfg_free(b);
    return rc;
}

static void expect_retention(const char *a, const char *b, int64_t want)
{
    bcfg_t c;
    assert_int_equal(load_broker(&c, a, b), 0);
    assert_int_equal(c.log_retention_ms_effective, want);
    bcfg_free(&c);
}

static void test_retention_resolution(void **state)
{
    (void)state;
    expect_retention(NULL, NULL, 168LL * 3600 * 1000);
    expect_retention("log.retention.hours=1", NULL, 3600LL * 1000);
    expect_retention("log.retention.hours=1", "log.retention.minutes=2", 2LL * 60 * 1000);
    expect_retention("log.retention.minutes=2", "log.retention.ms=1500", 1500);
    expect_retention("log.retention.ms=-1", "log.retention.hours=1", -1);
    expect_retention("log.retention.minutes=-1", NULL, -1);
    expect_retention("log.retention.hours=-1", NULL, -1);
    expect_retention("log.retention.ms=0", "log.retention.hours=5", 0);
    expect_retention("log.retention.hours=2147483647", NULL, 2147483647LL * 3600 * 1000);
}

static void test_broker_defaults_and_derived(void **state)
{
    (void)state;
    bcfg_t c;
    assert_int_equal(load_broker(&c, NULL, NULL), 0);
    assert_int_equal(c.broker_id, 1);
    assert_string_equal(c.listeners, "PLAINTEXT://127.0.0.1:9092");
    assert_string_equal(c.advertised_listeners, "PLAINTEXT://127.0.0.1:9092");
    assert_string_equal(c.log_dirs, "/tmp/weir-logs");
    assert_int_equal(c.zookeeper_session_timeout_ms, 6000);
    assert_int_equal(c.zookeeper_connection_timeout_ms, 6000);
    assert_int_equal(c.num_partitions, 1);
    assert_int_equal(c.default_replication_factor, 1);
    assert_true(c.auto_create_topics_enable);
    assert_true(c.delete_topic_enable);
    assert_int_equal(c.log_segment_bytes, 1073741824);
    assert_int_equal(c.log_roll_ms, 168LL * 3600 * 1000);
    assert_int_equal(c.log_retention_bytes, -1);
    assert_int_equal(c.log_retention_check_interval_ms, 300000);
    assert_int_equal(c.log_index_interval_bytes, 4096);
    assert_int_equal(c.log_index_size_max_bytes, 10485760);
    assert_int_equal(c.log_flush_interval_ms, 60000);
    assert_int_equal(c.message_max_bytes, 1048588);
    assert_int_equal(c.socket_request_max_bytes, 104857600);
    assert_int_equal(c.num_network_threads, 3);
    assert_string_equal(c.broker_rack, "");
    assert_int_equal(c.min_insync_replicas, 1);
    assert_int_equal(c.replica_lag_time_max_ms, 30000);
    assert_false(c.unclean_leader_election_enable);
    assert_int_equal(c.group_initial_rebalance_delay_ms, 3000);
    assert_int_equal(c.offsets_topic_num_partitions, 50);
    assert_int_equal(c.offsets_topic_replication_factor, 3);
    bcfg_free(&c);

    assert_int_equal(load_broker(&c, "zookeeper.connection.timeout.ms=100", "log.roll.ms=5000"), 0);
    assert_int_equal(c.zookeeper_connection_timeout_ms, 100);
    assert_int_equal(c.log_roll_ms, 5000);
    bcfg_free(&c);
    assert_int_equal(load_broker(&c, "log.roll.hours=2", "advertised.listeners=PLAINTEXT://b1:9092"), 0);
    assert_int_equal(c.log_roll_ms, 2LL * 3600 * 1000);
    assert_string_equal(c.advertised_listeners, "PLAINTEXT://b1:9092");
    bcfg_free(&c);
}

static void test_broker_checks(void **state)
{
    (void)state;
    bcfg_t c;
    assert_int_equal(load_broker(&c, "log.roll.ms=0", NULL), -1);
    assert_string_equal(g_err, "Invalid value '0' for configuration 'log.roll.ms': must be at least 1, or -1 to use "
                               "log.roll.hours");
    assert_int_equal(load_broker(&c, "advertised.listeners=PLAINTEXT://0.0.0.0:9092", NULL), -1);
    assert_string_equal(g_err, "Invalid value 'PLAINTEXT://0.0.0.0:9092' for configuration 'advertised.listeners': "
                               "cannot advertise the wildcard address 0.0.0.0; use a routable host");
    assert_int_equal(load_broker(&c, "listeners=127.0.0.1:9092", NULL), -1);
    assert_string_equal(g_err, "Invalid value '127.0.0.1:9092' for configuration 'listeners': expected "
                               "NAME://host:port[,NAME://host:port]");
    assert_int_equal(load_broker(&c, "log.dirs=", NULL), -1);
    assert_string_equal(g_err, "Invalid value '' for configuration 'log.dirs': expected a comma list of directories");
    assert_int_equal(load_broker(&c, "zookeeper.connect=127.0.0.1:2181/weir/", NULL), -1);
    assert_string_equal(g_err, "Invalid value '127.0.0.1:2181/weir/' for configuration 'zookeeper.connect': the "
                               "chroot must be an absolute path without '//' or a trailing '/'");
    assert_int_equal(load_broker(&c, "message.max.bytes=2000", "socket.request.max.bytes=1000"), -1);
    assert_non_null(strstr(g_err, "'message.max.bytes'"));
    assert_int_equal(load_broker(&c, "num.network.threads=65", NULL), -1);
    assert_string_equal(g_err, "Invalid value '65' for configuration 'num.network.threads': out of range [1,64] "
                               "(in --override)");
    assert_int_equal(load_broker(&c, "log.segment.bytes=13", NULL), -1);
    assert_string_equal(g_err, "Invalid value '13' for configuration 'log.segment.bytes': out of range "
                               "[14,2147483647] (in --override)");
    assert_int_equal(load_broker(&c, "unclean.leader.election.enable=1", NULL), -1);
    assert_string_equal(g_err, "Invalid value '1' for configuration 'unclean.leader.election.enable': not a boolean "
                               "(in --override)");
}

static void test_zk_connect_syntax(void **state)
{
    (void)state;
    const char *good[] = {"127.0.0.1:2181", "h1:2181,h2:2182,h3:2183/clusters/a", "localhost:2181/",
                          "[::1]:2181/weir"};
    const char *bad[] = {"", "/weir", "h1", "h1:", "h1:2181,", ",h1:2181", "h1:99999", "h1:2181//x",
                         "h1:2181/a//b", ":2181", "h1:0"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(cfg_check_zk_connect("zookeeper.connect", good[i], g_err, sizeof g_err), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cfg_check_zk_connect("zookeeper.connect", bad[i], g_err, sizeof g_err), -1);
        assert_non_null(strstr(g_err, "for configuration 'zookeeper.connect'"));
    }
}

static void test_listener_parsing(void **state)
{
    (void)state;
    char host[64];
    int port = -1;
    assert_int_equal(cfg_parse_listener("PLAINTEXT://127.0.0.1:9092", host, sizeof host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 9092);
    assert_int_equal(cfg_parse_listener(" INTERNAL://b1.example:19092 ,EXTERNAL://x:1", host, sizeof host, &port), 0);
    assert_string_equal(host, "b1.example");
    assert_int_equal(port, 19092);
    assert_int_equal(cfg_parse_listener("PLAINTEXT://:9092", host, sizeof host, &port), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(port, 9092);
    assert_int_equal(cfg_parse_listener("PLAINTEXT://[::1]:9093", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 9093);
    assert_int_equal(cfg_parse_listener("PLAINTEXT://127.0.0.1:0", host, sizeof host, &port), 0);
    assert_int_equal(port, 0);

    const char *bad[] = {"", "127.0.0.1:9092", "://h:1", "PLAINTEXT://h", "PLAINTEXT://h:", "PLAINTEXT://h:65536",
                         "PLAINTEXT://h:12a", "PLAIN TEXT://h:1", "PLAINTEXT://[::1:9092", "PLAINTEXT://h:1x,A://b:2",
                         "PLAINTEXT://h:123456"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cfg_parse_listener(bad[i], host, sizeof host, &port), -1);
    char tiny[4];
    assert_int_equal(cfg_parse_listener("PLAINTEXT://longhost:1", tiny, sizeof tiny, &port), -1);
    assert_int_equal(cfg_check_listeners("listeners", "A://h:1,B://h:2", g_err, sizeof g_err), 0);
    assert_int_equal(cfg_check_listeners("listeners", "A://h:1,B//h:2", g_err, sizeof g_err), -1);
    assert_int_equal(cfg_check_listeners("listeners", "A://h:1,", g_err, sizeof g_err), -1);
}

static void test_help_round_trip(void **state)
{
    (void)state;
    /* The printed help is itself a valid properties file that yields the defaults. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cfg_print_help(bcfg_defs, bcfg_ndefs, f);
    fclose(f);
    assert_non_null(strstr(buf, "# The broker id of this server; unique in the cluster (int, 0..max, required)\n"
                                "#broker.id=\n"));
    assert_non_null(strstr(buf, "(int, 1..64)\nnum.network.threads=3\n"));
    assert_non_null(strstr(buf, "\n#log.retention.ms=\n"));
    bcfg_t c;
    char *ov[] = {"broker.id=4", "zookeeper.connect=h:1"};
    assert_int_equal(cfg_load(bcfg_defs, bcfg_ndefs, &c, tmpfile_with(buf), ov, 2, g_err, sizeof g_err), 0);
    unlink(g_path);
    free(buf);
    assert_int_equal(c.num_network_threads, 3);
    assert_int_equal(c.log_retention_ms, CFG_UNSET_LONG);
    assert_int_equal(c.log_retention_minutes, CFG_UNSET_INT);
    bcfg_free(&c);
}

/* Every key of the table appears in the documented conf file, set or
 * commented out, so the file cannot drift from the table. */
static void expect_all_keys(const char *path, const cfg_def_t *defs, size_t ndefs)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *text = calloc(1, 65536);
    assert_non_null(text);
    text[0] = '\n';
    size_t n = fread(text + 1, 1, 65534, f);
    fclose(f);
    assert_true(n > 0 && n < 65534);
    for (size_t i = 0; i < ndefs; i++) {
        char set[128], commented[128];
        snprintf(set, sizeof set, "\n%s=", defs[i].name);
        snprintf(commented, sizeof commented, "\n#%s=", defs[i].name);
        if (!strstr(text, set) && !strstr(text, commented))
            fail_msg("%s does not document %s", path, defs[i].name);
    }
    free(text);
}

static void test_conf_files_load(void **state)
{
    expect_all_keys("conf/broker.properties", bcfg_defs, bcfg_ndefs);
    expect_all_keys("conf/controller.properties", ccfg_defs, ccfg_ndefs);
    (void)state;
    bcfg_t b;
    assert_int_equal(cfg_load(bcfg_defs, bcfg_ndefs, &b, "conf/broker.properties", NULL, 0, g_err, sizeof g_err), 0);
    assert_int_equal(bcfg_resolve(&b, g_err, sizeof g_err), 0);
    assert_int_equal(b.broker_id, 1);
    assert_string_equal(b.listeners, "PLAINTEXT://127.0.0.1:9092");
    assert_string_equal(b.zookeeper_connect, "127.0.0.1:2181/weir");
    assert_string_equal(b.log_dirs, "/tmp/weir/broker-1");
    bcfg_free(&b);
    ccfg_t c;
    assert_int_equal(cfg_load(ccfg_defs, ccfg_ndefs, &c, "conf/controller.properties", NULL, 0, g_err, sizeof g_err),
                     0);
    assert_int_equal(ccfg_resolve(&c, g_err, sizeof g_err), 0);
    assert_int_equal(c.controller_id, 1);
    assert_string_equal(c.listeners, "PLAINTEXT://127.0.0.1:9093");
    assert_int_equal(c.controller_socket_timeout_ms, 30000);
    ccfg_free(&c);
}

/* Run cfg_cmdline in a child; return its exit status and first stderr line. */
static int run_cmdline(char **argv, int argc, char *line, size_t linelen)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], 2);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        ccfg_t c;
        ccfg_cmdline(argc, argv, &c);
        _exit(0);
    }
    close(pfd[1]);
    ssize_t n = read(pfd[0], line, linelen - 1);
    line[n > 0 ? n : 0] = '\0';
    char *nl = strchr(line, '\n');
    if (nl)
        *nl = '\0';
    close(pfd[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cmdline(void **state)
{
    (void)state;
    char line[512];
    const char *conf = tmpfile_with("controller.id=2\nzookeeper.connect=127.0.0.1:2181\n");
    char *ok[] = {"weir-controller", (char *)conf, "--override", "listeners=PLAINTEXT://127.0.0.1:0"};
    assert_int_equal(run_cmdline(ok, 4, line, sizeof line), 0);
    char *help[] = {"weir-controller", "--help"};
    assert_int_equal(run_cmdline(help, 2, line, sizeof line), 0);
    char *badflag[] = {"weir-controller", (char *)conf, "--overide", "x=1"};
    assert_int_equal(run_cmdline(badflag, 4, line, sizeof line), 64);
    assert_string_equal(line, "weir-controller: unknown option '--overide'");
    char *nofile[] = {"weir-controller"};
    assert_int_equal(run_cmdline(nofile, 1, line, sizeof line), 64);
    assert_string_equal(line, "weir-controller: missing CONFIG_FILE");
    char *noval[] = {"weir-controller", (char *)conf, "--override"};
    assert_int_equal(run_cmdline(noval, 3, line, sizeof line), 64);
    char *badval[] = {"weir-controller", (char *)conf, "--override=controller.id=x"};
    assert_int_equal(run_cmdline(badval, 3, line, sizeof line), 78);
    assert_string_equal(line, "weir-controller: Invalid value 'x' for configuration 'controller.id': not a number "
                              "(in --override)");
    char *badlst[] = {"weir-controller", (char *)conf, "--override", "listeners=nope"};
    assert_int_equal(run_cmdline(badlst, 4, line, sizeof line), 78);
    assert_string_equal(line, "weir-controller: Invalid value 'nope' for configuration 'listeners': expected "
                              "NAME://host:port[,NAME://host:port]");
    unlink(conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_syntax),
        cmocka_unit_test(test_duplicates_and_empty_values),
        cmocka_unit_test(test_overrides_win),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_int_width),
        cmocka_unit_test(test_retention_resolution),
        cmocka_unit_test(test_broker_defaults_and_derived),
        cmocka_unit_test(test_broker_checks),
        cmocka_unit_test(test_zk_connect_syntax),
        cmocka_unit_test(test_listener_parsing),
        cmocka_unit_test(test_help_round_trip),
        cmocka_unit_test(test_conf_files_load),
        cmocka_unit_test(test_cmdline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
