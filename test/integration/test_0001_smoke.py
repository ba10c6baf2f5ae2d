"""0001: kcat produces 100,000 keyed records to a 6-partition topic and reads them back.

Checks: every record comes back exactly once, offsets in each partition are
0..n-1 in order, records keep their production order within a partition, each
key always lands in the same partition, and every partition got data.
"""

import collections
import os

import harness

N = 100000
KEYS = 997


def test_kcat_roundtrip_100k(cluster, tmp_path):
    topic = "smoke"
    cluster.create_topic(topic, partitions=6, rf=1)
    src = tmp_path / "in.txt"
    with open(src, "w") as f:
        for i in range(N):
            f.write("key-%d:value-%d\n" % (i % KEYS, i))
    b = cluster.bootstrap()
    harness.run([harness.KCAT, "-b", b, "-P", "-t", topic, "-K:", "-l", str(src),
                 "-X", "linger.ms=20", "-X", "queue.buffering.max.messages=200000"], timeout=180)
    cp = harness.run([harness.KCAT, "-b", b, "-C", "-t", topic, "-o", "beginning", "-e",
                      "-q", "-f", "%k %p %o %s\\n"], timeout=180)
    lines = cp.stdout.splitlines()
    assert len(lines) == N, "got %d records back, expected %d" % (len(lines), N)

    by_part = collections.defaultdict(list)
    key_part = {}
    seen = set()
    for line in lines:
        k, p, o, v = line.split(" ")
        p, o, i = int(p), int(o), int(v[len("value-"):])
        assert k == "key-%d" % (i % KEYS), "key/value mismatch: %r" % line
        assert key_part.setdefault(k, p) == p, "key %s seen in partitions %d and %d" % (
            k, key_part[k], p)
        assert i not in seen, "duplicate record %d" % i
        seen.add(i)
        by_part[p].append((o, i))

    assert sorted(by_part) == list(range(6)), "partitions with data: %s" % sorted(by_part)
    for p, recs in by_part.items():
        offsets = [o for o, _ in recs]
        assert offsets == list(range(len(recs))), "partition %d offsets not 0..n-1" % p
        values = [i for _, i in recs]
        assert values == sorted(values), "partition %d out of production order" % p
    assert len(seen) == N

    # The data really is on disk in Kafka's layout for every partition.
    for p in range(6):
        dirs = cluster.partition_dirs(topic, p)
        assert len(dirs) == 1, "partition %d directories: %s" % (p, dirs)
        assert harness.segment_files(dirs[0]), "no .log segment in %s" % dirs[0]
        assert os.path.getsize(os.path.join(dirs[0], harness.segment_files(dirs[0])[0])) > 0
