/*
 * test_place.c - replica placement: Kafka's fixed-start reference
 * assignment (5 brokers, 10 partitions, RF 3), the shift when adding
 * partitions, rack alternation and rack spread, random starts (balanced
 * leaders, distinct replicas), and every error of placement and of
 * explicit-assignment validation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/proto.h"
#include "controller/place.h"

static place_broker_t five[] = {{3, NULL}, {0, NULL}, {4, ""}, {1, NULL}, {2, NULL}}; /* unsorted on purpose */

/* AdminUtils.assignReplicasToBrokers(0..4, 10, 3, fixedStartIndex 0). */
static const int32_t kafka_ref[10][3] = {{0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 0}, {4, 0, 1},
                                         {0, 2, 3}, {1, 3, 4}, {2, 4, 0}, {3, 0, 1}, {4, 1, 2}};

static void test_fixed_start_matches_kafka(void **state)
{
    (void)state;
    int32_t out[30];
    char err[256];
    assert_int_equal(place_assign(five, 5, 10, 3, 0, 0, 0, out, err, sizeof(err)), 0);
    for (int p = 0; p < 10; p++)
        for (int j = 0; j < 3; j++)
            assert_int_equal(out[p * 3 + j], kafka_ref[p][j]);
}

static void test_add_partitions_continues_pattern(void **state)
{
    (void)state;
    int32_t out[15];
    char err[256];
    /* Adding partitions 5..9 with the same start gives the tail of the full assignment. */
    assert_int_equal(place_assign(five, 5, 5, 3, 5, 0, 0, out, err, sizeof(err)), 0);
    for (int p = 0; p < 5; p++)
        for (int j = 0; j < 3; j++)
            assert_int_equal(out[p * 3 + j], kafka_ref[p + 5][j]);
}

static void test_errors(void **state)
{
    (void)state;
    int32_t out[64];
    char err[256];
    place_broker_t one[] = {{1, NULL}};
    assert_int_equal(place_assign(one, 1, 1, 3, 0, -1, -1, out, err, sizeof(err)), KERR_INVALID_REPLICATION_FACTOR);
    assert_string_equal(err, "Replication factor: 3 larger than available brokers: 1.");
    assert_int_equal(place_assign(one, 1, 0, 1, 0, -1, -1, out, err, sizeof(err)), KERR_INVALID_PARTITIONS);
    assert_int_equal(place_assign(one, 1, 1, 0, 0, -1, -1, out, err, sizeof(err)), KERR_INVALID_REPLICATION_FACTOR);
    assert_int_equal(place_assign(NULL, 0, 1, 1, 0, -1, -1, out, err, sizeof(err)), KERR_INVALID_REPLICATION_FACTOR);
    place_broker_t partial[] = {{1, "r1"}, {2, NULL}};
    assert_int_equal(place_assign(partial, 2, 1, 1, 0, -1, -1, out, err, sizeof(err)),
                     KERR_INVALID_REPLICA_ASSIGNMENT);
}

static void test_single_broker(void **state)
{
    (void)state;
    int32_t out[4];
    char err[256];
    place_broker_t one[] = {{7, NULL}};
    assert_int_equal(place_assign(one, 1, 4, 1, 0, -1, -1, out, err, sizeof(err)), 0);
    for (int p = 0; p < 4; p++)
        assert_int_equal(out[p], 7);
}

static void test_random_start_properties(void **state)
{
    (void)state;
    place_broker_t b[] = {{10, NULL}, {11, NULL}, {12, NULL}, {13, NULL}};
    for (int round = 0; round < 50; round++) {
        int32_t out[12 * 3];
        int leads[4] = {0};
        char err[256];
        assert_int_equal(place_assign(b, 4, 12, 3, 0, -1, -1, out, err, sizeof(err)), 0);
        for (int p = 0; p < 12; p++) {
            const int32_t *r = &out[p * 3];
            for (int j = 0; j < 3; j++) {
                assert_true(r[j] >= 10 && r[j] <= 13);
                for (int k = 0; k < j; k++)
                    assert_int_not_equal(r[j], r[k]);
            }
            leads[r[0] - 10]++;
        }
        for (int i = 0; i < 4; i++)
            assert_int_equal(leads[i], 3); /* round-robin leaders */
    }
}

static void test_rack_aware(void **state)
{
    (void)state;
    /* rack1: 0,5  rack2: 1,2  rack3: 3,4 -> alternated list 0,1,3,5,2,4 */
    place_broker_t b[] = {{0, "rack1"}, {1, "rack2"}, {2, "rack2"}, {3, "rack3"}, {4, "rack3"}, {5, "rack1"}};
    const char *rack_of[6] = {"rack1", "rack2", "rack2", "rack3", "rack3", "rack1"};
    const int32_t alternated[6] = {0, 1, 3, 5, 2, 4};
    int32_t out[6 * 3];
    char err[256];
    assert_int_equal(place_assign(b, 6, 6, 3, 0, 0, 0, out, err, sizeof(err)), 0);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 1);
    assert_int_equal(out[2], 3);
    for (int p = 0; p < 6; p++) {
        assert_int_equal(out[p * 3], alternated[p]);
        /* RF == number of racks: one replica in every rack. */
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < j; k++)
                assert_string_not_equal(rack_of[out[p * 3 + j]], rack_of[out[p * 3 + k]]);
    }
    /* RF 2 < racks: never two replicas in one rack, also with random starts. */
    for (int round = 0; round < 30; round++) {
        assert_int_equal(place_assign(b, 6, 6, 2, 0, -1, -1, out, err, sizeof(err)), 0);
        for (int p = 0; p < 6; p++)
            assert_string_not_equal(rack_of[out[p * 2]], rack_of[out[p * 2 + 1]]);
    }
}

static void test_validate(void **state)
{
    (void)state;
    char err[256];
    int32_t live[] = {1, 2, 3};
    int32_t p0[] = {1, 2}, p1[] = {2, 3}, dup[] = {1, 1}, unknown[] = {1, 9}, one[] = {1};
    const int32_t *ok[] = {p0, p1};
    int32_t n2[] = {2, 2};
    assert_int_equal(place_validate(2, ok, n2, live, 3, err, sizeof(err)), 0);
    const int32_t *d[] = {p0, dup};
    assert_int_equal(place_validate(2, d, n2, live, 3, err, sizeof(err)), KERR_INVALID_REPLICA_ASSIGNMENT);
    const int32_t *u[] = {p0, unknown};
    assert_int_equal(place_validate(2, u, n2, live, 3, err, sizeof(err)), KERR_INVALID_REPLICA_ASSIGNMENT);
    assert_int_equal(place_validate(2, u, n2, NULL, 0, err, sizeof(err)), 0); /* liveness not checked */
    const int32_t *mixed[] = {p0, one};
    int32_t nm[] = {2, 1};
    assert_int_equal(place_validate(2, mixed, nm, live, 3, err, sizeof(err)), KERR_INVALID_REPLICA_ASSIGNMENT);
    int32_t ne[] = {0, 2};
    assert_int_equal(place_validate(2, ok, ne, live, 3, err, sizeof(err)), KERR_INVALID_REPLICA_ASSIGNMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_start_matches_kafka),
        cmocka_unit_test(test_add_partitions_continues_pattern),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_single_broker),
        cmocka_unit_test(test_random_start_properties),
        cmocka_unit_test(test_rack_aware),
        cmocka_unit_test(test_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
