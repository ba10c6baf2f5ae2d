/*
 * test_zkc.c - the ZooKeeper wrapper against a real server: Debian's
 * ZooKeeper started here on a free loopback port in a temporary directory,
 * and killed by pid at exit (also if this process dies: PR_SET_PDEATHSIG).
 */
#include "zkc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"
#include "znode.h"

static pid_t g_zk_pid = -1;
static char g_dir[256];
static char g_hosts[64];

static void stop_zk(void)
{
    if (g_zk_pid > 0) {
        kill(g_zk_pid, SIGKILL);
        waitpid(g_zk_pid, NULL, 0);
        g_zk_pid = -1;
    }
    if (g_dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", g_dir);
        g_dir[0] = '\0';
    }
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static int start_zk(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/weir-test-zkc.XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    atexit(stop_zk);
    int port = free_port();
    char cfg[300];
    snprintf(cfg, sizeof cfg, "%s/zoo.cfg", g_dir);
    FILE *f = fopen(cfg, "w");
    if (!f || port < 0)
        return -1;
    fprintf(f, "tickTime=500\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n"
               "admin.enableServer=false\nmaxSessionTimeout=60000\n",
            g_dir, port);
    fclose(f);
    char log[300];
    snprintf(log, sizeof log, "%s/zk.log", g_dir);
    g_zk_pid = fork();
    if (g_zk_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        FILE *out = freopen(log, "w", stdout);
        (void)out;
        dup2(STDOUT_FILENO, STDERR_FILENO);
        execlp("java", "java", "-cp", "/usr/share/java/*:/etc/zookeeper/conf",
               "org.apache.zookeeper.server.ZooKeeperServerMain", cfg, (char *)NULL);
        _exit(127);
    }
    if (g_zk_pid < 0)
        return -1;
    snprintf(g_hosts, sizeof g_hosts, "127.0.0.1:%d", port);
    for (int i = 0; i < 600; i++) { /* up to 60 s for the JVM */
        if (port_open(port))
            return 0;
        if (waitpid(g_zk_pid, NULL, WNOHANG) == g_zk_pid) {
            g_zk_pid = -1;
            fprintf(stderr, "ZooKeeper exited; see %s\n", log);
            return -1;
        }
        usleep(100 * 1000);
    }
    fprintf(stderr, "ZooKeeper did not listen on %d\n", port);
    return -1;
}

static int teardown_zk(void **state)
{
    (void)state;
    stop_zk();
    return 0;
}

static zkc_t *open_at(const char *chroot, zkc_watch_fn fn, void *arg)
{
    char conn[200], err[256];
    snprintf(conn, sizeof conn, "%s%s", g_hosts, chroot);
    zkc_t *z = zkc_open(conn, 6000, fn, arg, err, sizeof err);
    if (!z)
        fail_msg("zkc_open(%s): %s", conn, err);
    return z;
}

static void test_chroot_created(void **state)
{
    (void)state;
    zkc_t *root = open_at("", NULL, NULL);
    assert_int_equal(zkc_exists(root, "/weir/c1", false, NULL), ZNONODE);

    zkc_t *z = open_at("/weir/c1", NULL, NULL);
    assert_int_equal(zkc_mkdirs(z, "/brokers/ids"), ZOK);
    assert_int_equal(zkc_mkdirs(z, "/brokers/ids"), ZOK);
    assert_int_equal(zkc_exists(root, "/weir/c1/brokers/ids", false, NULL), ZOK);
    assert_int_equal(zkc_exists(root, "/brokers", false, NULL), ZNONODE);

    /* Data and children round trip, including data larger than the first read buffer. */
    size_t big = 100000;
    char *payload = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        payload[i] = (char)('a' + i % 26);
    payload[big] = '\0';
    assert_int_equal(zoo_create(zkc_handle(z), "/brokers/ids/big", payload, (int)big, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0),
                     ZOK);
    char *data;
    struct Stat st;
    assert_int_equal(zkc_get(z, "/brokers/ids/big", false, &data, &st), ZOK);
    assert_int_equal(st.dataLength, (int)big);
    assert_string_equal(data, payload);
    free(data);
    free(payload);
    assert_int_equal(zkc_get(z, "/brokers", false, &data, NULL), ZOK);
    assert_null(data); /* mkdirs nodes are empty */
    assert_int_equal(zkc_get(z, "/nope", false, &data, NULL), ZNONODE);
    assert_int_equal(zkc_mkdirs(z, "/brokers/ids/a"), ZOK);
    char **names;
    int n;
    assert_int_equal(zkc_children(z, "/brokers/ids", false, &names, &n), ZOK);
    assert_int_equal(n, 2);
    assert_true((strcmp(names[0], "a") == 0 && strcmp(names[1], "big") == 0) ||
                (strcmp(names[1], "a") == 0 && strcmp(names[0], "big") == 0));
    zkc_free_names(names, n);
    zkc_close(z);
    zkc_close(root);
}

static void test_cluster_id(void **state)
{
    (void)state;
    zkc_t *a = open_at("/weir/c2", NULL, NULL);
    zkc_t *b = open_at("/weir/c2", NULL, NULL);
    char id1[23], id2[23], id3[23];
    assert_int_equal(zkc_cluster_id(a, id1), ZOK);
    assert_int_equal(strlen(id1), 22);
    assert_int_equal(zkc_cluster_id(a, id2), ZOK);
    assert_int_equal(zkc_cluster_id(b, id3), ZOK);
    assert_string_equal(id1, id2);
    assert_string_equal(id1, id3);
    char *data;
    assert_int_equal(zkc_get(a, "/cluster/id", false, &data, NULL), ZOK);
    char want[64];
    snprintf(want, sizeof want, "{\"version\":\"1\",\"id\":\"%s\"}", id1);
    assert_string_equal(data, want);
    free(data);

    /* Another cluster in the same ensemble gets its own id. */
    zkc_t *c = open_at("/weir/c3", NULL, NULL);
    assert_int_equal(zkc_cluster_id(c, id3), ZOK);
    assert_string_not_equal(id1, id3);
    zkc_close(a);
    zkc_close(b);
    zkc_close(c);

    char u1[23], u2[23];
    assert_int_equal(zkc_random_uuid(u1), 0);
    assert_int_equal(zkc_random_uuid(u2), 0);
    assert_string_not_equal(u1, u2);
    assert_true(u1[0] != '-');
}

static void test_create_ephemeral(void **state)
{
    (void)state;
    zkc_t *a = open_at("/weir/c4", NULL, NULL);
    zkc_t *b = open_at("/weir/c4", NULL, NULL);
    assert_int_equal(zkc_mkdirs(a, "/brokers/ids"), ZOK);
    int64_t cz1 = 0, cz2 = 0, cz3 = 0;
    assert_int_equal(zkc_create_ephemeral(a, "/brokers/ids/1", "{\"a\":1}", 0, &cz1), ZOK);
    assert_true(cz1 > 0);
    /* Our own session: success with the same czxid. */
    assert_int_equal(zkc_create_ephemeral(a, "/brokers/ids/1", "{\"a\":1}", 0, &cz2), ZOK);
    assert_int_equal(cz2, cz1);
    /* Another live session: in use, whether or not b names some other previous session. */
    assert_int_equal(zkc_create_ephemeral(b, "/brokers/ids/1", "{\"b\":1}", 0, &cz3), ZNODEEXISTS);
    assert_int_equal(zkc_create_ephemeral(b, "/brokers/ids/1", "{\"b\":1}", 12345, &cz3), ZNODEEXISTS);
    /* A node left by b's "previous session" (a's): deleted and recreated as b's. */
    int64_t sa = zkc_session_id(a);
    assert_true(sa != 0);
    assert_int_equal(zkc_create_ephemeral(b, "/brokers/ids/1", "{\"b\":1}", sa, &cz3), ZOK);
    assert_true(cz3 > cz1);
    struct Stat st;
    char *data;
    assert_int_equal(zkc_get(b, "/brokers/ids/1", false, &data, &st), ZOK);
    assert_int_equal(st.ephemeralOwner, zkc_session_id(b));
    assert_int_equal(st.czxid, cz3);
    assert_string_equal(data, "{\"b\":1}");
    free(data);
    /* Ephemeral: gone with its session. */
    zkc_close(b);
    assert_int_equal(zkc_exists(a, "/brokers/ids/1", false, NULL), ZNONODE);
    zkc_close(a);
}

/* ---- event queue ---- */

struct evlog {
    struct event_base *base;
    zkc_evq_t *q;
    zkc_ev_t evs[4096];
    int n;
    const char *stop_path; /* exit the loop when a non-session event for it arrives */
    int stop_count;        /* or when this many events arrived */
};

static void on_event(const zkc_ev_t *ev, void *arg)
{
    struct evlog *l = arg;
    if (l->n < (int)ARRAY_LEN(l->evs))
        l->evs[l->n++] = *ev;
    if ((l->stop_path && ev->type != ZOO_SESSION_EVENT && strcmp(ev->path, l->stop_path) == 0) ||
        (l->stop_count && l->n >= l->stop_count))
        event_base_loopbreak(l->base);
}

static void watch_to_evq(void *arg, int type, int state, const char *path)
{
    zkc_evq_push(((struct evlog *)arg)->q, type, state, path);
}

static void run_loop(struct event_base *base, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

static void test_evq_watch(void **state)
{
    (void)state;
    static struct evlog l;
    memset(&l, 0, sizeof l);
    l.base = event_base_new();
    l.q = zkc_evq_new(l.base, on_event, &l);
    assert_non_null(l.q);
    zkc_t *w = open_at("/weir/c5", watch_to_evq, &l);
    zkc_t *other = open_at("/weir/c5", NULL, NULL);
    assert_int_equal(zkc_exists(w, "/controller", true, NULL), ZNONODE);
    assert_int_equal(zoo_create(zkc_handle(other), "/controller", "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0),
                     ZOK);
    l.stop_path = "/controller";
    run_loop(l.base, 10000);
    assert_true(l.n >= 2);
    /* The session's CONNECTED event came first, then the watch, with the path relative to the chroot. */
    assert_int_equal(l.evs[0].type, ZOO_SESSION_EVENT);
    assert_int_equal(l.evs[0].state, ZOO_CONNECTED_STATE);
    assert_int_equal(l.evs[l.n - 1].type, ZOO_CREATED_EVENT);
    assert_string_equal(l.evs[l.n - 1].path, "/controller");

    /* A data watch fires on deletion (the owner's session closing). */
    assert_int_equal(zkc_get(w, "/controller", true, NULL, NULL), ZOK);
    int before = l.n;
    zkc_close(other);
    run_loop(l.base, 10000);
    assert_int_equal(l.n, before + 1);
    assert_int_equal(l.evs[l.n - 1].type, ZOO_DELETED_EVENT);
    zkc_close(w);
    zkc_evq_free(l.q);
    event_base_free(l.base);
}

struct pusher {
    zkc_evq_t *q;
    int id;
};

static void *push_many(void *arg)
{
    struct pusher *p = arg;
    for (int i = 0; i < 1000; i++) {
        char path[32];
        snprintf(path, sizeof path, "/%d", i);
        zkc_evq_push(p->q, p->id, i, path);
    }
    return NULL;
}

static void test_evq_threads(void **state)
{
    (void)state;
    static struct evlog l;
    memset(&l, 0, sizeof l);
    l.base = event_base_new();
    l.q = zkc_evq_new(l.base, on_event, &l);
    l.stop_count = 3000;
    pthread_t th[3];
    struct pusher p[3];
    for (int i = 0; i < 3; i++) {
        p[i] = (struct pusher){l.q, i};
        pthread_create(&th[i], NULL, push_many, &p[i]);
    }
    run_loop(l.base, 10000);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(l.n, 3000);
    /* Each thread's events arrive complete and in push order. */
    int next[3] = {0, 0, 0};
    for (int i = 0; i < l.n; i++) {
        int t = l.evs[i].type;
        char want[32];
        assert_true(t >= 0 && t < 3);
        assert_int_equal(l.evs[i].state, next[t]);
        snprintf(want, sizeof want, "/%d", next[t]);
        assert_string_equal(l.evs[i].path, want);
        next[t]++;
    }
    /* Pending events are released by free (checked under valgrind/ASan). */
    zkc_evq_push(l.q, 0, 0, "/left-over");
    zkc_evq_free(l.q);
    event_base_free(l.base);
}

static void test_open_fails(void **state)
{
    (void)state;
    char conn[64], err[256];
    snprintf(conn, sizeof conn, "127.0.0.1:%d", free_port());
    int64_t t0 = mono_ms();
    zoo_set_debug_level(0); /* the library would log every refused attempt */
    assert_null(zkc_open(conn, 1500, NULL, NULL, err, sizeof err));
    assert_true(mono_ms() - t0 < 5000);
    assert_non_null(strstr(err, "could not connect"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chroot_created), cmocka_unit_test(test_cluster_id),
        cmocka_unit_test(test_create_ephemeral), cmocka_unit_test(test_evq_watch),
        cmocka_unit_test(test_evq_threads),    cmocka_unit_test(test_open_fails),
    };
    return cmocka_run_group_tests(tests, start_zk, teardown_zk);
}
