"""0005: topic administration.

Through scripts/topics.sh (Kafka's flags and output format) and through
confluent_kafka's AdminClient: create (with configs), list, describe, alter
partitions, delete; error cases INVALID_TOPIC_EXCEPTION (17), TOPIC_ALREADY_EXISTS
(36), INVALID_PARTITIONS (37), UNKNOWN_TOPIC_OR_PARTITION (3); auto-creation with
num.partitions when enabled, and no topic at all when disabled.
"""

import json
import os
import re

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import NewPartitions, NewTopic

import harness

CLUSTER = {"broker_props": {"num.partitions": 4}}
TOPICS_SH = os.path.join(harness.REPO, "scripts", "topics.sh")


def topics_sh(c, *args, check=True):
    env_bin = harness.WEIR_BIN
    cp = harness.run(["env", "WEIR_BIN=" + env_bin, TOPICS_SH,
                      "--bootstrap-server", c.bootstrap(), *args], timeout=60, check=check)
    return cp


def admin_error(fut):
    with pytest.raises(KafkaException) as ei:
        fut.result(timeout=40)
    return ei.value.args[0]


def topic_gone(c, topic):
    md = c.admin().list_topics(timeout=5)
    return topic not in md.topics


def partition_dirs_gone(c, topic):
    for bid in c.broker_ports:
        d = c.log_dir(bid)
        if os.path.isdir(d):
            left = [x for x in os.listdir(d) if re.fullmatch(re.escape(topic) + r"-\d+", x)]
            if left:
                return False
    return True


def test_topics_script_lifecycle(shared_cluster):
    c = shared_cluster
    t = "script-topic"
    topics_sh(c, "--create", "--topic", t, "--partitions", "3", "--replication-factor", "2",
              "--config", "retention.ms=3600000")
    assert t in topics_sh(c, "--list").stdout.split()
    c.wait_topic_leaders(t, 3)

    out = topics_sh(c, "--describe", "--topic", t).stdout
    head = [l for l in out.splitlines() if l.startswith("Topic: %s\t" % t) or
            l.startswith("Topic: %s " % t)]
    assert head, out
    assert re.search(r"PartitionCount: 3\b", out), out
    assert re.search(r"ReplicationFactor: 2\b", out), out
    # The topic config reached ZooKeeper (Kafka's /config/topics JSON).
    zconf = c.zk.get(c.zpath("/config/topics/" + t))
    assert zconf and json.loads(zconf)["config"].get("retention.ms") == "3600000", zconf
    parts = re.findall(r"Partition: (\d+)\s+Leader: (\d+)\s+Replicas: ([\d,]+)\s+Isr: ([\d,]+)", out)
    assert sorted(int(p[0]) for p in parts) == [0, 1, 2], out
    for _, leader, replicas, isr in parts:
        reps = [int(x) for x in replicas.split(",")]
        assert len(reps) == 2 and len(set(reps)) == 2 and set(reps) <= {1, 2, 3}, out
        assert int(leader) in reps, out

    dup = topics_sh(c, "--create", "--topic", t, "--partitions", "1", check=False)
    assert dup.returncode != 0
    assert "already exists" in (dup.stdout + dup.stderr).lower(), dup

    topics_sh(c, "--alter", "--topic", t, "--partitions", "5")
    harness.wait_until("5 partitions after --alter", lambda: re.search(
        r"PartitionCount: 5\b", topics_sh(c, "--describe", "--topic", t).stdout), timeout=20)

    described = topics_sh(c, "--describe", "--topic", t).stdout
    topics_sh(c, "--delete", "--topic", t)
    harness.wait_until("topic deleted", lambda: t not in topics_sh(c, "--list").stdout.split(),
                       timeout=30)
    harness.wait_until("partition directories removed", lambda: partition_dirs_gone(c, t),
                       timeout=30)
    # Kafka's --describe lists the topic's overridden configs (checked last so that a
    # gap here does not hide the rest of the lifecycle).
    assert re.search(r"Configs: .*retention.ms=3600000", described), described


def test_admin_create_alter_delete(shared_cluster):
    c = shared_cluster
    a = c.admin()
    t = "admin-topic"
    fs = a.create_topics([NewTopic(t, num_partitions=2, replication_factor=1)],
                         operation_timeout=30)
    fs[t].result(timeout=40)
    c.wait_topic_leaders(t, 2)

    err = admin_error(a.create_topics([NewTopic(t, num_partitions=2, replication_factor=1)],
                                      operation_timeout=30)[t])
    assert err.code() == KafkaError.TOPIC_ALREADY_EXISTS, err

    a.create_partitions([NewPartitions(t, 4)], operation_timeout=30)[t].result(timeout=40)
    c.wait_topic_leaders(t, 4)
    # The new partitions take writes.
    p = harness.ck_producer(c.bootstrap())
    res = harness.ck_produce_all(p, [(b"k", b"to-p3", {"partition": 3})], t)
    assert res[0][0] is None and res[0][1] == 3 and res[0][2] == 0, res

    err = admin_error(a.create_partitions([NewPartitions(t, 2)], operation_timeout=30)[t])
    assert err.code() == KafkaError.INVALID_PARTITIONS, err

    a.delete_topics([t], operation_timeout=30)[t].result(timeout=40)
    harness.wait_until("topic gone from Metadata", lambda: topic_gone(c, t), timeout=30)
    harness.wait_until("partition directories removed", lambda: partition_dirs_gone(c, t),
                       timeout=30)

    err = admin_error(a.delete_topics([t], operation_timeout=30)[t])
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, err


@pytest.mark.parametrize("name", ["bad name!", "..", "x" * 250, "a/b"])
def test_admin_invalid_topic_name(shared_cluster, name):
    a = shared_cluster.admin()
    err = admin_error(a.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)],
                                      operation_timeout=30)[name])
    assert err.code() == KafkaError.TOPIC_EXCEPTION, err  # INVALID_TOPIC_EXCEPTION (17)
    assert name not in a.list_topics(timeout=5).topics


def test_admin_invalid_partitions_and_rf(shared_cluster):
    a = shared_cluster.admin()
    err = admin_error(a.create_topics([NewTopic("rf-too-big", num_partitions=1,
                                                replication_factor=4)], operation_timeout=30)
                      ["rf-too-big"])
    assert err.code() == KafkaError.INVALID_REPLICATION_FACTOR, err
    assert "rf-too-big" not in a.list_topics(timeout=5).topics


def test_auto_create_on(shared_cluster):
    c = shared_cluster
    t = "auto-created"
    p = harness.ck_producer(c.bootstrap())
    res = harness.ck_produce_all(p, [(b"k%d" % i, b"v", {}) for i in range(20)], t)
    assert all(r[0] is None for r in res), [r[0] for r in res if r[0]]
    tm = c.topic_metadata(t)
    assert tm is not None and len(tm.partitions) == 4, tm  # num.partitions=4


def test_auto_create_off(cluster_factory):
    c = cluster_factory.cluster(brokers=3, controllers=2,
                                broker_props={"auto.create.topics.enable": "false"})
    t = "never-created"
    p = harness.ck_producer(c.bootstrap(), **{"message.timeout.ms": 8000,
                                              "topic.metadata.propagation.max.ms": 1000})
    res = harness.ck_produce_all(p, [(b"k", b"v", {})], t, timeout=30)
    err = res[0][0]
    assert err is not None, "produce to a missing topic succeeded with auto-creation off"
    assert err.code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC,
                          KafkaError._MSG_TIMED_OUT), err
    assert t not in c.admin().list_topics(timeout=5).topics
    assert t not in c.zk.children(c.zpath("/brokers/topics"))
    # The topic-specific Metadata request names the error too.
    tm = c.admin().list_topics(topic=t, timeout=5).topics.get(t)
    assert tm is not None and tm.error is not None and \
        tm.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, tm
