"""weirzk.py - what the ZooKeeper-side operator scripts share: connecting to a
cluster's ZooKeeper (--zookeeper HOST:PORT/chroot or a cluster.sh DIR),
reading JSON files and topic assignments, and failing with the script's name."""
import json, logging, os, shlex, sys, time
logging.basicConfig(level=logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NoNodeError, NodeExistsError

PROG = os.environ.get("PROG", "weir")


def die(msg, code=1):
    print("%s: %s" % (PROG, msg), file=sys.stderr)
    sys.exit(code)


def zk_connect(zk, d):
    """ZooKeeper host:port/chroot from --zookeeper, or from DIR/cluster.env."""
    if not zk:
        env = {}
        try:
            with open(os.path.join(d, "cluster.env")) as f:
                for line in f:
                    for tok in shlex.split(line, comments=True):
                        k, _, v = tok.partition("=")
                        env[k] = v
        except OSError as e:
            die("no cluster in %s (%s)" % (d, e))
        zk = env.get("ZK_CONNECT") or die("%s/cluster.env has no ZK_CONNECT" % d)
    client = KazooClient(hosts=zk, timeout=10)
    try:
        client.start(timeout=15)
    except Exception as e:
        die("cannot connect to ZooKeeper at %s: %s" % (zk, e))
    if not client.exists("/brokers/ids"):
        die("%s holds no Weir cluster (no /brokers/ids): check the chroot" % zk)
    return client


def read_json_file(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        die("cannot read %s: %s" % (path, e))


def topic_assignment(zk, topic):
    try:
        data, _ = zk.get("/brokers/topics/" + topic)
    except NoNodeError:
        return None
    return json.loads(data)


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"))




def admin_request(zk, path, doc, timeout, what, withdraw=False):
    """Create the request znode `path` for the active controller and wait until it has
    acted (the controller deletes the znode once handled).  With withdraw, a request
    still pending at the timeout is deleted (if it is still ours, by its version) so
    that a controller starting much later does not act on it unasked."""
    try:
        zk.create(path, dumps(doc).encode(), makepath=True)
    except NodeExistsError:
        die("%s currently in progress (%s exists); retry later" % (what, path))
    deadline = time.monotonic() + int(timeout)
    while zk.exists(path) and time.monotonic() < deadline:
        time.sleep(0.2)
    st = zk.exists(path)
    if st and withdraw:
        try:
            zk.delete(path, version=st.version)
            die("the controller did not act on %s within %s s (is a controller running?); the request "
                "was withdrawn" % (path, timeout))
        except (NoNodeError, BadVersionError):
            pass  # the controller took it at the last moment: report what it did
    elif st:
        die("the controller did not act on %s within %s s (is a controller running?)" % (path, timeout))
