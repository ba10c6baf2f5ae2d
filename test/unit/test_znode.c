/*
 * test_znode.c - znode JSON: round trips, Kafka's own documents decode to
 * the right values, and every kind of malformed input is rejected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "znode.h"

static void assert_contains(const char *hay, const char *needle)
{
    assert_non_null(hay);
    if (!strstr(hay, needle))
        fail_msg("'%s' not found in %s", needle, hay ? hay : "");
}

/* ---- brokers ---- */

static zn_broker_t sample_broker(void)
{
    zn_broker_t b;
    memset(&b, 0, sizeof b);
    b.id = 7;
    b.nep = 2;
    strcpy(b.ep[0].listener, "PLAINTEXT");
    strcpy(b.ep[0].host, "127.0.0.1");
    b.ep[0].port = 9092;
    strcpy(b.ep[1].listener, "REPLICATION");
    strcpy(b.ep[1].host, "::1");
    b.ep[1].port = 9093;
    strcpy(b.rack, "dc1-a");
    b.timestamp = 1700000000123;
    return b;
}

static void test_broker_roundtrip(void **state)
{
    (void)state;
    zn_broker_t b = sample_broker(), d;
    char *json = zn_broker_encode(&b);
    assert_non_null(json);
    assert_contains(json, "\"version\":5");
    assert_contains(json, "\"host\":\"127.0.0.1\",\"port\":9092");
    assert_contains(json, "\"jmx_port\":-1");
    assert_contains(json, "\"timestamp\":\"1700000000123\"");
    assert_contains(json, "\"endpoints\":[\"PLAINTEXT://127.0.0.1:9092\",\"REPLICATION://[::1]:9093\"]");
    assert_contains(json, "\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\",\"REPLICATION\":\"PLAINTEXT\"}");
    assert_contains(json, "\"rack\":\"dc1-a\"");
    assert_contains(json, "\"features\":{}");
    assert_int_equal(zn_broker_decode(json, 7, &d), 0);
    assert_int_equal(d.id, 7);
    assert_int_equal(d.nep, 2);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(d.ep[i].listener, b.ep[i].listener);
        assert_string_equal(d.ep[i].host, b.ep[i].host);
        assert_int_equal(d.ep[i].port, b.ep[i].port);
    }
    assert_string_equal(d.rack, "dc1-a");
    assert_int_equal(d.timestamp, b.timestamp);
    free(json);

    b.rack[0] = '\0';
    b.nep = 0;
    json = zn_broker_encode(&b);
    assert_contains(json, "\"rack\":null");
    assert_contains(json, "\"host\":null,\"port\":-1");
    assert_int_equal(zn_broker_decode(json, 3, &d), 0);
    assert_int_equal(d.nep, 0);
    assert_string_equal(d.rack, "");
    assert_int_equal(d.id, 3);
    free(json);
}

/* R22: "unclean_shutdown" is written only when set and read back; absent is false. */
static void test_broker_unclean_shutdown(void **state)
{
    (void)state;
    zn_broker_t b = sample_broker(), d;
    char *json = zn_broker_encode(&b);
    assert_null(strstr(json, "unclean_shutdown"));
    assert_int_equal(zn_broker_decode(json, 7, &d), 0);
    assert_false(d.unclean_shutdown);
    free(json);

    b.unclean_shutdown = true;
    json = zn_broker_encode(&b);
    assert_contains(json, "\"unclean_shutdown\":true");
    d.unclean_shutdown = false;
    assert_int_equal(zn_broker_decode(json, 7, &d), 0);
    assert_true(d.unclean_shutdown);
    assert_int_equal(d.nep, 2); /* the rest of the document is unaffected */
    free(json);

    const char *f = "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[],\"unclean_shutdown\":false}";
    d.unclean_shutdown = true;
    assert_int_equal(zn_broker_decode(f, 1, &d), 0);
    assert_false(d.unclean_shutdown);

    static const char *bad[] = {
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[],\"unclean_shutdown\":\"true\"}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[],\"unclean_shutdown\":1}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[],\"unclean_shutdown\":0}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[],\"unclean_shutdown\":null}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[],\"unclean_shutdown\":[true]}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[],\"unclean_shutdown\":{}}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[],\"unclean_shutdown\":false,\"unclean_shutdown\":true}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (zn_broker_decode(bad[i], 1, &d) != -1)
            fail_msg("accepted: %s", bad[i]);
}

static void test_broker_kafka_documents(void **state)
{
    (void)state;
    zn_broker_t d;
    const char *v5 = "{\"version\":5,\"host\":\"b1\",\"port\":9092,\"jmx_port\":-1,\"timestamp\":\"1700000000000\","
                     "\"endpoints\":[\"CLIENT://b1:9092\",\"REPLICATION://b1:9093\"],"
                     "\"listener_security_protocol_map\":{\"CLIENT\":\"PLAINTEXT\",\"REPLICATION\":\"PLAINTEXT\"},"
                     "\"rack\":\"dc1-a\",\"features\":{\"metadata.version\":{\"min_version\":1,\"max_version\":7}}}";
    assert_int_equal(zn_broker_decode(v5, 1, &d), 0);
    assert_int_equal(d.nep, 2);
    assert_string_equal(d.ep[1].listener, "REPLICATION");
    assert_string_equal(d.ep[1].host, "b1");
    assert_int_equal(d.ep[1].port, 9093);
    assert_int_equal(d.timestamp, 1700000000000);

    const char *v1 = "{\"version\":1,\"host\":\"old\",\"port\":9000,\"jmx_port\":-1,\"timestamp\":\"5\"}";
    assert_int_equal(zn_broker_decode(v1, 2, &d), 0);
    assert_int_equal(d.nep, 1);
    assert_string_equal(d.ep[0].listener, "PLAINTEXT");
    assert_string_equal(d.ep[0].host, "old");
    assert_int_equal(d.ep[0].port, 9000);
    assert_string_equal(d.rack, "");

    /* More listeners than we track: the first four are kept. */
    const char *many = "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[\"A://h:1\",\"B://h:2\",\"C://h:3\","
                       "\"D://h:4\",\"E://h:5\"]}";
    assert_int_equal(zn_broker_decode(many, 2, &d), 0);
    assert_int_equal(d.nep, 4);
    assert_string_equal(d.ep[3].listener, "D");
}

static void test_broker_malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "not json",
        "[1,2]",
        "{\"version\":5}",                                               /* no timestamp */
        "{\"version\":\"5\",\"timestamp\":\"1\",\"endpoints\":[]}",       /* version type */
        "{\"version\":5,\"timestamp\":\"1x\",\"endpoints\":[]}",          /* timestamp junk */
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[\"PLAINTEXT:/h:1\"]}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[\"://h:1\"]}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[\"P://h:70000\"]}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[\"P://h:-1\"]}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[\"P://h\"]}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[\"P://[::1:9\"]}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[\"P://a:b:9\"]}",     /* unbracketed ':' */
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[\"P://a/b:9\"]}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[\"P://[a]b]:9\"]}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[7]}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":\"P://h:1\"}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[],\"rack\":5}",
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[],\"rack\":\"a\",\"rack\":\"b\"}", /* duplicate key */
        "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[\"ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFG://h:1\"]}",
    };
    zn_broker_t d;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (zn_broker_decode(bad[i], 1, &d) != -1)
            fail_msg("accepted: %s", bad[i]);
    assert_int_equal(zn_broker_decode(NULL, 1, &d), -1);

    /* A host one byte too long for the buffer. */
    char json[600], host[300];
    memset(host, 'h', 256);
    host[256] = '\0';
    snprintf(json, sizeof json, "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[\"P://%s:1\"]}", host);
    assert_int_equal(zn_broker_decode(json, 1, &d), -1);
    host[255] = '\0';
    snprintf(json, sizeof json, "{\"version\":5,\"timestamp\":\"1\",\"endpoints\":[\"P://%s:1\"]}", host);
    assert_int_equal(zn_broker_decode(json, 1, &d), 0);
    assert_int_equal(strlen(d.ep[0].host), 255);
}

/* ---- controller ---- */

static void test_controller(void **state)
{
    (void)state;
    zn_controller_t c = {.id = 3, .timestamp = 1700000000000, .port = 9190}, d;
    strcpy(c.host, "ctl.local");
    char *json = zn_controller_encode(&c);
    assert_string_equal(json, "{\"version\":2,\"brokerid\":3,\"timestamp\":\"1700000000000\","
                              "\"kraftControllerEpoch\":-1,\"host\":\"ctl.local\",\"port\":9190}");
    assert_int_equal(zn_controller_decode(json, &d), 0);
    assert_int_equal(d.id, 3);
    assert_int_equal(d.timestamp, 1700000000000);
    assert_string_equal(d.host, "ctl.local");
    assert_int_equal(d.port, 9190);
    free(json);

    c.host[0] = '\0'; /* no endpoint: host and port left out */
    json = zn_controller_encode(&c);
    assert_string_equal(json, "{\"version\":2,\"brokerid\":3,\"timestamp\":\"1700000000000\",\"kraftControllerEpoch\":-1}");
    assert_int_equal(zn_controller_decode(json, &d), 0);
    assert_int_equal(d.port, -1);
    free(json);

    /* Written by Kafka: no endpoint. */
    assert_int_equal(zn_controller_decode("{\"version\":1,\"brokerid\":5,\"timestamp\":\"12\"}", &d), 0);
    assert_int_equal(d.id, 5);
    assert_string_equal(d.host, "");
    assert_int_equal(d.port, -1);

    assert_int_equal(zn_controller_decode("{\"version\":2,\"timestamp\":\"12\"}", &d), -1);
    assert_int_equal(zn_controller_decode("{\"brokerid\":\"5\",\"timestamp\":\"12\"}", &d), -1);
    assert_int_equal(zn_controller_decode("{\"brokerid\":-1,\"timestamp\":\"12\"}", &d), -1);
    assert_int_equal(zn_controller_decode("{\"brokerid\":4294967296,\"timestamp\":\"12\"}", &d), -1);
    assert_int_equal(zn_controller_decode("{\"brokerid\":1,\"timestamp\":\"12\",\"host\":\"h\"}", &d), -1);
    assert_int_equal(zn_controller_decode("{\"brokerid\":1,\"timestamp\":\"12\",\"host\":\"h\",\"port\":65536}", &d),
                     -1);
}

/* ---- assignment ---- */

static void test_assignment_roundtrip(void **state)
{
    (void)state;
    int32_t r0[] = {1, 2, 3}, r1[] = {2, 3, 1}, r2[] = {3};
    int32_t *reps[] = {r0, r1, r2};
    int32_t nrep[] = {3, 3, 1};
    zn_assignment_t a = {.nparts = 3, .nreplicas = nrep, .replicas = reps}, d;
    strcpy(a.topic_id, "AAAAAAAAAAAAAAAAAAAAAA");
    char *json = zn_assignment_encode(&a);
    assert_string_equal(json, "{\"version\":3,\"topic_id\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"partitions\":{\"0\":[1,2,3],"
                              "\"1\":[2,3,1],\"2\":[3]},\"adding_replicas\":{},\"removing_replicas\":{}}");
    assert_int_equal(zn_assignment_decode(json, &d), 0);
    assert_int_equal(d.nparts, 3);
    assert_string_equal(d.topic_id, a.topic_id);
    for (int p = 0; p < 3; p++) {
        assert_int_equal(d.nreplicas[p], nrep[p]);
        assert_memory_equal(d.replicas[p], reps[p], (size_t)nrep[p] * sizeof(int32_t));
    }
    zn_assignment_free(&d);
    assert_null(d.replicas);
    free(json);

    /* Kafka v1 document, keys out of order. */
    assert_int_equal(zn_assignment_decode("{\"version\":1,\"partitions\":{\"1\":[5],\"0\":[4,5]}}", &d), 0);
    assert_int_equal(d.nparts, 2);
    assert_string_equal(d.topic_id, "");
    assert_int_equal(d.replicas[0][0], 4);
    assert_int_equal(d.replicas[0][1], 5);
    assert_int_equal(d.replicas[1][0], 5);
    zn_assignment_free(&d);
}

static void test_assignment_malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "{\"version\":3}",
        "{\"partitions\":[]}",
        "{\"partitions\":{\"0\":[1],\"2\":[1]}}", /* gap */
        "{\"partitions\":{\"1\":[1]}}",           /* does not start at 0 */
        "{\"partitions\":{\"00\":[1]}}",
        "{\"partitions\":{\"-0\":[1]}}",
        "{\"partitions\":{\"+0\":[1]}}",
        "{\"partitions\":{\" 0\":[1]}}",
        "{\"partitions\":{\"0\":[]}}",
        "{\"partitions\":{\"0\":[1,1]}}",
        "{\"partitions\":{\"0\":[-1]}}",
        "{\"partitions\":{\"0\":[2147483648]}}",
        "{\"partitions\":{\"0\":[1.5]}}",
        "{\"partitions\":{\"0\":\"1\"}}",
        "{\"partitions\":{\"0\":[1],\"0\":[2]}}",
        "{\"partitions\":{\"0\":[1]},\"topic_id\":\"AAAAAAAAAAAAAAAAAAAAAAAA\"}",
        "{\"partitions\":{\"0\":[1]},\"topic_id\":7}",
        "{\"partitions\":{\"0\":[1],\"1\":[2],\"x\":[3]}}",
    };
    zn_assignment_t d;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (zn_assignment_decode(bad[i], &d) != -1)
            fail_msg("accepted: %s", bad[i]);
        assert_null(d.replicas);
        assert_null(d.nreplicas);
    }
}

/* ---- partition state ---- */

static void test_pstate(void **state)
{
    (void)state;
    zn_pstate_t s = {.controller_epoch = 17, .leader = 1, .leader_epoch = 42, .isr = {1, 2, 3}, .nisr = 3}, d;
    char *json = zn_pstate_encode(&s);
    assert_string_equal(json, "{\"controller_epoch\":17,\"leader\":1,\"version\":1,\"leader_epoch\":42,\"isr\":[1,2,3]}");
    assert_int_equal(zn_pstate_decode(json, &d), 0);
    assert_int_equal(d.controller_epoch, 17);
    assert_int_equal(d.leader, 1);
    assert_int_equal(d.leader_epoch, 42);
    assert_int_equal(d.nisr, 3);
    assert_memory_equal(d.isr, s.isr, 3 * sizeof(int32_t));
    free(json);

    assert_int_equal(zn_pstate_decode("{\"controller_epoch\":1,\"leader\":-1,\"version\":1,\"leader_epoch\":0,"
                                      "\"isr\":[2],\"leader_recovery_state\":1}",
                                      &d),
                     0);
    assert_int_equal(d.leader, -1);

    char big[1024] = "{\"controller_epoch\":1,\"leader\":1,\"leader_epoch\":0,\"isr\":[0";
    for (int i = 1; i <= ZN_MAX_ISR; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big), ",%d", i);
    strcat(big, "]}");
    assert_int_equal(zn_pstate_decode(big, &d), -1);

    static const char *bad[] = {
        "{\"leader\":1,\"leader_epoch\":0,\"isr\":[1]}",
        "{\"controller_epoch\":1,\"leader\":-2,\"leader_epoch\":0,\"isr\":[1]}",
        "{\"controller_epoch\":1,\"leader\":1,\"leader_epoch\":2147483648,\"isr\":[1]}",
        "{\"controller_epoch\":1,\"leader\":1,\"leader_epoch\":0,\"isr\":[\"1\"]}",
        "{\"controller_epoch\":1,\"leader\":1,\"leader_epoch\":0,\"isr\":{}}",
        "{\"controller_epoch\":1,\"leader\":1,\"leader_epoch\":0}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (zn_pstate_decode(bad[i], &d) != -1)
            fail_msg("accepted: %s", bad[i]);
}

/* R22: "unclean_shutdown_blocked" is written only when set, read back, strict about its type. */
static void test_pstate_unclean_blocked(void **state)
{
    (void)state;
    zn_pstate_t s = {.controller_epoch = 3, .leader = -1, .leader_epoch = 9, .isr = {2}, .nisr = 1}, d;
    char *json = zn_pstate_encode(&s);
    assert_null(strstr(json, "unclean"));
    assert_int_equal(zn_pstate_decode(json, &d), 0);
    assert_false(d.unclean_blocked);
    free(json);

    s.unclean_blocked = true;
    json = zn_pstate_encode(&s);
    assert_string_equal(json, "{\"controller_epoch\":3,\"leader\":-1,\"version\":1,\"leader_epoch\":9,\"isr\":[2],"
                              "\"unclean_shutdown_blocked\":true}");
    assert_int_equal(zn_pstate_decode(json, &d), 0);
    assert_true(d.unclean_blocked);
    assert_int_equal(d.leader, -1);
    assert_int_equal(d.nisr, 1);
    assert_int_equal(d.isr[0], 2);
    free(json);

    assert_int_equal(zn_pstate_decode("{\"controller_epoch\":1,\"leader\":-1,\"leader_epoch\":0,\"isr\":[2],"
                                      "\"unclean_shutdown_blocked\":false}",
                                      &d),
                     0);
    assert_false(d.unclean_blocked);

    static const char *bad[] = {
        "{\"controller_epoch\":1,\"leader\":-1,\"leader_epoch\":0,\"isr\":[2],\"unclean_shutdown_blocked\":1}",
        "{\"controller_epoch\":1,\"leader\":-1,\"leader_epoch\":0,\"isr\":[2],\"unclean_shutdown_blocked\":\"true\"}",
        "{\"controller_epoch\":1,\"leader\":-1,\"leader_epoch\":0,\"isr\":[2],\"unclean_shutdown_blocked\":null}",
        "{\"controller_epoch\":1,\"leader\":-1,\"leader_epoch\":0,\"isr\":[2],\"unclean_shutdown_blocked\":[]}",
        "{\"controller_epoch\":1,\"leader\":-1,\"leader_epoch\":0,\"isr\":[2],\"unclean_shutdown_blocked\":true,"
        "\"unclean_shutdown_blocked\":true}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (zn_pstate_decode(bad[i], &d) != -1)
            fail_msg("accepted: %s", bad[i]);
}

/* ---- config ---- */

static void test_config(void **state)
{
    (void)state;
    zn_kv_t kv[] = {{"min.insync.replicas", "2"}, {"retention.ms", "86400000"}}, *d;
    int n;
    char *json = zn_config_encode(kv, 2);
    assert_string_equal(json, "{\"version\":1,\"config\":{\"min.insync.replicas\":\"2\",\"retention.ms\":\"86400000\"}}");
    assert_int_equal(zn_config_decode(json, &d, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(d[0].key, "min.insync.replicas");
    assert_string_equal(d[0].value, "2");
    assert_string_equal(d[1].key, "retention.ms");
    assert_string_equal(d[1].value, "86400000");
    zn_kv_free(d, n);
    free(json);

    assert_int_equal(zn_config_decode("{\"version\":1,\"config\":{}}", &d, &n), 0);
    assert_int_equal(n, 0);
    assert_null(d);
    assert_int_equal(zn_config_decode("{\"version\":1,\"config\":{\"a\":\"1\",\"b\":2}}", &d, &n), -1);
    assert_null(d);
    assert_int_equal(zn_config_decode("{\"version\":1}", &d, &n), -1);
    assert_int_equal(zn_config_decode("{\"version\":1,\"config\":{\"a\":\"1\",\"a\":\"2\"}}", &d, &n), -1);
}

/* ---- cluster id ---- */

static void test_cluster_id(void **state)
{
    (void)state;
    char id[23];
    char *json = zn_cluster_id_encode("q7Xz-_0123456789abcdEF");
    assert_string_equal(json, "{\"version\":\"1\",\"id\":\"q7Xz-_0123456789abcdEF\"}");
    assert_int_equal(zn_cluster_id_decode(json, id), 0);
    assert_string_equal(id, "q7Xz-_0123456789abcdEF");
    free(json);
    assert_int_equal(zn_cluster_id_decode("{\"version\":\"1\",\"id\":\"short\"}", id), -1);
    assert_int_equal(zn_cluster_id_decode("{\"version\":\"1\",\"id\":\"q7Xz+/0123456789abcdEF\"}", id), -1);
    assert_int_equal(zn_cluster_id_decode("{\"version\":\"1\",\"id\":\"q7Xz-_0123456789abcdEFG\"}", id), -1);
    assert_int_equal(zn_cluster_id_decode("{\"version\":\"1\"}", id), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broker_roundtrip),     cmocka_unit_test(test_broker_kafka_documents),
        cmocka_unit_test(test_broker_malformed),     cmocka_unit_test(test_controller),
        cmocka_unit_test(test_assignment_roundtrip), cmocka_unit_test(test_assignment_malformed),
        cmocka_unit_test(test_pstate),               cmocka_unit_test(test_config),
        cmocka_unit_test(test_broker_unclean_shutdown), cmocka_unit_test(test_pstate_unclean_blocked),
        cmocka_unit_test(test_cluster_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
