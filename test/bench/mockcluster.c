/*
 * mockcluster.c - runs librdkafka's in-memory mock cluster as a standalone
 * process, so that separate `weir` processes (produce, then consume, then
 * topics) can share one cluster in tests of the tool.  Prints the bootstrap
 * servers on stdout, then serves until SIGTERM/SIGINT.  The mock has no
 * CreateTopics; topics are auto-created on first use (with the mock's
 * default partition count) or pre-created with "-t TOPIC:PARTITIONS".
 *
 * Build: cc -o mockcluster test/bench/mockcluster.c -lrdkafka
 * Usage: mockcluster [BROKERS] [-t TOPIC:PARTITIONS]...
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t done;

static void on_signal(int sig)
{
    (void)sig;
    done = 1;
}

int main(int argc, char **argv)
{
    char errstr[256];
    int brokers = 1;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;

    /* The handle only hosts the cluster; it never connects anywhere. */
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
        fprintf(stderr, "mockcluster: %s\n", errstr);
        return 1;
    }
    if (argc > 1 && argv[1][0] != '-')
        brokers = atoi(argv[1]);
    if (!(mc = rd_kafka_mock_cluster_new(rk, brokers > 0 ? brokers : 1))) {
        fprintf(stderr, "mockcluster: cannot start the mock cluster\n");
        return 1;
    }
    for (int i = 1; i + 1 < argc; i++) {
        char *colon;
        if (strcmp(argv[i], "-t") != 0 || !(colon = strrchr(argv[i + 1], ':')))
            continue;
        *colon = '\0';
        rd_kafka_mock_topic_create(mc, argv[i + 1], atoi(colon + 1), 1);
        i++;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    while (!done)
        pause();
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
