"""0009: two clusters under two chroots of one ZooKeeper.

Both clusters use the same broker ids (1, 2). Each gets its own /cluster/id and
its own active controller; a topic created in one is invisible in the other (in
Metadata and in ZooKeeper). A broker whose log dir belongs to cluster A, started
against cluster B's chroot, must refuse to start: exit non-zero with a message
naming the cluster id mismatch (and must not register in B).
"""

from confluent_kafka import TopicPartition

import harness


def test_two_clusters_one_zookeeper(cluster_factory):
    zk = cluster_factory.zookeeper()
    a = cluster_factory.cluster(zk=zk, chroot="/clusters/a", brokers=2, controllers=1, name="a")
    b = cluster_factory.cluster(zk=zk, chroot="/clusters/b", brokers=2, controllers=1, name="b")

    ida, idb = a.cluster_id(), b.cluster_id()
    assert ida and idb and ida != idb, (ida, idb)
    assert zk.get("/cluster/id") is None, "cluster id written outside the chroots"
    assert a.active_controller() in a.controllers and b.active_controller() in b.controllers
    assert a.registered_brokers() == [1, 2] and b.registered_brokers() == [1, 2]
    for bid in (1, 2):  # meta.properties records the cluster it belongs to
        for c, cid in ((a, ida), (b, idb)):
            with open("%s/meta.properties" % c.log_dir(bid)) as f:
                assert "cluster.id=%s" % cid in f.read().split()

    # A's topic lives in broker 1's log dir only: the dir the misdirected start touches.
    a.create_topic("only-in-a", assignment=[[1], [1]])
    b.create_topic("only-in-b", partitions=1, rf=1)
    ta = a.admin().list_topics(timeout=5).topics
    tb = b.admin().list_topics(timeout=5).topics
    assert "only-in-a" in ta and "only-in-a" not in tb
    assert "only-in-b" in tb and "only-in-b" not in ta
    assert zk.children("/clusters/a/brokers/topics") == ["only-in-a"]
    assert zk.children("/clusters/b/brokers/topics") == ["only-in-b"]

    # Data written to A cannot be read from B's brokers.
    p = harness.ck_producer(a.bootstrap())
    assert harness.ck_produce_all(p, [(b"k", b"in-a", {})], "only-in-a")[0][0] is None

    # A's broker 1 log dir, pointed at B's chroot (after both brokers 1 are stopped, so
    # the id is free in B and nobody else uses the dir): refused, cluster id mismatch.
    assert a.brokers[1].stop() == 0, "clean SIGTERM shutdown should exit 0"
    assert b.brokers[1].stop() == 0, "clean SIGTERM shutdown should exit 0"
    harness.wait_until("b's broker 1 deregistered", lambda: 1 not in b.registered_brokers(),
                       timeout=15)
    wrong = b.start_broker(1, log_dir=a.log_dir(1))
    rc = wrong.wait_exit(30)
    out = wrong.output()
    assert rc is not None, "broker with cluster A's log dir kept running in cluster B:\n" + out
    assert rc != 0, "exit status 0 for a cluster id mismatch"
    low = out.lower()
    assert "cluster" in low and (ida in out or idb in out), \
        "exit message does not name the cluster id mismatch:\n" + out[-2000:]
    assert 1 not in b.registered_brokers()
    # A's data dir is untouched and still carries A's id.
    with open("%s/meta.properties" % a.log_dir(1)) as f:
        assert "cluster.id=%s" % ida in f.read().split()
    # ... and A's broker 1 starts fine from it, in A.
    a.start_broker(1)
    a.wait_ready()
    cons = harness.ck_consumer(a.bootstrap())
    try:
        msgs = harness.ck_consume(cons, [TopicPartition("only-in-a", p, 0) for p in (0, 1)], 1)
        assert msgs[0].value() == b"in-a"
    finally:
        cons.close()
