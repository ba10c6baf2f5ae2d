"""consumer_groups.py - the work behind consumer-groups.sh (Kafka's
kafka-consumer-groups.sh for Weir).

consumer-groups.sh checks the flags and runs this file with key=value words
(group= and topic= may repeat).  This file talks to the brokers with
kafka-python's network client and its protocol structs, plus the few requests
kafka-python lacks (DescribeGroups v4 for group instance ids, OffsetDelete),
and prints what Kafka 3's ConsumerGroupCommand prints: the same columns,
widths, "-" for unknown values and the same messages.

Every request to a group goes to the group's coordinator, found with
FindCoordinator; COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE,
NOT_COORDINATOR and lost connections are retried until --timeout runs out, so
the tool works during a coordinator fail-over.  Offsets of new plans are
written with OffsetCommit generation -1 (an admin commit, accepted only while
the group is Empty), as Kafka's AdminClient does.

Exit status: 0, or 1 when an "Error:" was reported, or 2 on bad usage.
"""
import calendar
import datetime
import logging
import os
import re
import struct
import sys
import time

logging.basicConfig(level=logging.CRITICAL)
from kafka.client_async import KafkaClient  # noqa: E402
from kafka.protocol.api import Request, Response  # noqa: E402
from kafka.protocol.commit import GroupCoordinatorRequest, OffsetCommitRequest, OffsetFetchRequest  # noqa: E402
from kafka.protocol.admin import DeleteGroupsRequest, ListGroupsRequest  # noqa: E402
from kafka.protocol.metadata import MetadataRequest  # noqa: E402
from kafka.protocol.offset import OffsetRequest  # noqa: E402
from kafka.protocol.types import Array, Boolean, Bytes, Int16, Int32, Schema, String  # noqa: E402
import kafka.errors as kerrors  # noqa: E402

PROG = os.environ.get("PROG", "consumer-groups.sh")
MISSING = "-"
STATES = ["PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty"]

# Error codes (kafka-protocol.md §5).
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
GROUP_ID_NOT_FOUND = 69
RETRY_GROUP = (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR)

# What Kafka's AdminClient prints for the group errors (exception class, message).
JAVA_ERRORS = {
    24: ("InvalidGroupIdException", "The configured groupId is invalid."),
    25: ("UnknownMemberIdException", "The coordinator is not aware of this member."),
    30: ("GroupAuthorizationException", "Not authorized to access group."),
    68: ("GroupNotEmptyException", "The group is not empty."),
    69: ("GroupIdNotFoundException", "The group id does not exist."),
    86: ("GroupSubscribedToTopicException",
         "Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it."),
    3: ("UnknownTopicOrPartitionException", "This server does not host this topic-partition."),
}


class CgError(Exception):
    """Printed as Kafka's "Error: ..." line; exit status 1."""


class UsageError(Exception):
    """A bad value found only once the brokers were asked; exit status 2."""


def java_error(code):
    if code in JAVA_ERRORS:
        cls, msg = JAVA_ERRORS[code]
        return "org.apache.kafka.common.errors.%s: %s" % (cls, msg)
    err = kerrors.for_code(code)
    return "%s (error code %d): %s" % (err.__name__, code, err.description)


def error_message(code):
    return JAVA_ERRORS[code][1] if code in JAVA_ERRORS else kerrors.for_code(code).description


# ---- requests kafka-python 2.0.2 does not have --------------------------------------------

class DescribeGroupsResponse_v4(Response):
    API_KEY = 15
    API_VERSION = 4
    SCHEMA = Schema(
        ('throttle_time_ms', Int32),
        ('groups', Array(
            ('error_code', Int16),
            ('group', String('utf-8')),
            ('state', String('utf-8')),
            ('protocol_type', String('utf-8')),
            ('protocol', String('utf-8')),
            ('members', Array(
                ('member_id', String('utf-8')),
                ('group_instance_id', String('utf-8')),
                ('client_id', String('utf-8')),
                ('client_host', String('utf-8')),
                ('member_metadata', Bytes),
                ('member_assignment', Bytes))),
            ('authorized_operations', Int32))))


class DescribeGroupsResponse_v0(Response):
    API_KEY = 15
    API_VERSION = 0
    SCHEMA = Schema(
        ('groups', Array(
            ('error_code', Int16),
            ('group', String('utf-8')),
            ('state', String('utf-8')),
            ('protocol_type', String('utf-8')),
            ('protocol', String('utf-8')),
            ('members', Array(
                ('member_id', String('utf-8')),
                ('client_id', String('utf-8')),
                ('client_host', String('utf-8')),
                ('member_metadata', Bytes),
                ('member_assignment', Bytes))))))


class DescribeGroupsRequest_v4(Request):
    API_KEY = 15
    API_VERSION = 4
    RESPONSE_TYPE = DescribeGroupsResponse_v4
    SCHEMA = Schema(
        ('groups', Array(String('utf-8'))),
        ('include_authorized_operations', Boolean))


class DescribeGroupsRequest_v0(Request):
    API_KEY = 15
    API_VERSION = 0
    RESPONSE_TYPE = DescribeGroupsResponse_v0
    SCHEMA = Schema(('groups', Array(String('utf-8'))))


class OffsetDeleteResponse_v0(Response):
    API_KEY = 47
    API_VERSION = 0
    SCHEMA = Schema(
        ('error_code', Int16),
        ('throttle_time_ms', Int32),
        ('topics', Array(
            ('name', String('utf-8')),
            ('partitions', Array(
                ('partition_index', Int32),
                ('error_code', Int16))))))


class OffsetDeleteRequest_v0(Request):
    API_KEY = 47
    API_VERSION = 0
    RESPONSE_TYPE = OffsetDeleteResponse_v0
    SCHEMA = Schema(
        ('group_id', String('utf-8')),
        ('topics', Array(
            ('name', String('utf-8')),
            ('partitions', Array(Int32)))))


def decode_assignment(data):
    """ConsumerProtocolAssignment bytes -> [(topic, partition)], or [] if absent or malformed.

    Version INT16 | [Topic STRING, Partitions [INT32]] | UserData BYTES (ignored).
    """
    out = []
    if not data:
        return out
    try:
        pos = 2  # version
        (ntopics,) = struct.unpack_from(">i", data, pos)
        pos += 4
        if ntopics < 0 or ntopics > len(data):
            return []
        for _ in range(ntopics):
            (tlen,) = struct.unpack_from(">h", data, pos)
            pos += 2
            if tlen < 0 or pos + tlen > len(data):
                return []
            topic = data[pos:pos + tlen].decode("utf-8", "replace")
            pos += tlen
            (nparts,) = struct.unpack_from(">i", data, pos)
            pos += 4
            if nparts < 0 or pos + 4 * nparts > len(data):
                return []
            for i in range(nparts):
                out.append((topic, struct.unpack_from(">i", data, pos + 4 * i)[0]))
            pos += 4 * nparts
    except struct.error:
        return []
    return out


# ---- talking to the cluster ---------------------------------------------------------------

class Cluster:
    def __init__(self, bootstrap, timeout_ms):
        self.timeout = timeout_ms / 1000.0
        self.bootstrap = bootstrap
        try:
            self.client = KafkaClient(bootstrap_servers=bootstrap.split(","),
                                      client_id="weir-consumer-groups",
                                      request_timeout_ms=max(timeout_ms, 1000) + 1000,
                                      api_version_auto_timeout_ms=max(timeout_ms, 2000),
                                      reconnect_backoff_max_ms=500)
        except kerrors.NoBrokersAvailable:
            raise CgError("Executing consumer group command failed due to no broker of %s answered "
                          "(Timed out waiting for a node assignment)" % bootstrap)
        self.versions = self.client.get_api_versions() or {}
        deadline = self.deadline()
        while not self.client.cluster._brokers:
            if time.monotonic() >= deadline:
                raise CgError("Executing consumer group command failed due to no Metadata from %s "
                              "within %d ms" % (bootstrap, timeout_ms))
            f = self.client.cluster.request_update()
            self.client.poll(timeout_ms=100, future=f)

    def close(self):
        try:
            self.client.close()
        except Exception:
            pass

    def deadline(self):
        return time.monotonic() + self.timeout

    def version(self, api_key, highest):
        """The highest version <= highest that the brokers accept, or None."""
        if api_key not in self.versions:
            return None
        lo, hi = self.versions[api_key]
        v = min(hi, highest)
        return v if v >= lo else None

    def send(self, node, req, deadline):
        """One request to one node; its response, or an exception (timeout included)."""
        while not self.client.ready(node):
            if time.monotonic() >= deadline:
                raise kerrors.KafkaTimeoutError("no connection to broker %s" % (node,))
            self.client.poll(timeout_ms=50)
        f = self.client.send(node, req)
        while not f.is_done:
            if time.monotonic() >= deadline:
                raise kerrors.KafkaTimeoutError("no answer from broker %s" % (node,))
            self.client.poll(timeout_ms=100, future=f)
        if f.failed():
            raise f.exception
        return f.value

    def any_node(self, deadline):
        while True:
            node = self.client.least_loaded_node()
            if node is not None:
                return node
            if time.monotonic() >= deadline:
                raise kerrors.KafkaTimeoutError("no broker available")
            self.client.poll(timeout_ms=100)

    # ---- metadata ----
    def brokers(self):
        return {b.nodeId: (b.host, b.port) for b in self.client.cluster._brokers.values()}

    def topics(self, names=None):
        """{topic: (error_code, {partition: leader})} for `names` (None = all topics)."""
        deadline = self.deadline()
        if (self.version(3, 4) or 0) >= 4:  # never auto-create a topic by asking about it
            req = MetadataRequest[4](topics=names, allow_auto_topic_creation=False)
        else:
            req = MetadataRequest[1](topics=names)
        last = None
        while True:
            try:
                r = self.send(self.any_node(deadline), req, min(deadline, time.monotonic() + 3))
                return {t[1]: (t[0], {p[1]: p[2] for p in t[3]}) for t in r.topics}
            except kerrors.KafkaError as e:
                last = e
            if time.monotonic() >= deadline:
                raise CgError("Executing consumer group command failed due to Metadata: %s" % last)
            time.sleep(0.1)

    def partitions_of(self, topic):
        err, parts = self.topics([topic]).get(topic, (3, {}))
        if err != 0 or not parts:
            raise CgError("Executing consumer group command failed due to %s" % java_error(err or 3)
                          + " (topic '%s')" % topic)
        return sorted((topic, p) for p in parts)

    # ---- groups ----
    def coordinator(self, group, deadline):
        """(node id for send, broker id, host, port) of the group's coordinator."""
        last = None
        while True:
            try:
                r = self.send(self.any_node(deadline), GroupCoordinatorRequest[0](group),
                              min(deadline, time.monotonic() + 3))
                if r.error_code == 0:
                    node = self.client.cluster.add_group_coordinator(group, r)
                    return node, r.coordinator_id, r.host, r.port
                if r.error_code not in RETRY_GROUP:
                    raise CgError("Executing consumer group command failed due to %s" % java_error(r.error_code))
                last = "%s" % kerrors.for_code(r.error_code).__name__
            except kerrors.KafkaError as e:
                last = e
            if time.monotonic() >= deadline:
                raise CgError("Executing consumer group command failed due to no coordinator for group "
                              "'%s' within %d ms (%s)" % (group, self.timeout * 1000, last))
            time.sleep(0.2)

    def group_call(self, group, req, error_of):
        """Send req to the group's coordinator, again while it moves or loads.

        error_of(response) -> the error code that decides a retry (0 when done).
        Returns (response, (broker id, host, port)).
        """
        deadline = self.deadline()
        last = None
        while True:
            node, bid, host, port = self.coordinator(group, deadline)
            try:
                r = self.send(node, req, min(deadline, time.monotonic() + max(self.timeout, 3)))
                code = error_of(r)
                if code not in RETRY_GROUP:
                    return r, (bid, host, port)
                last = kerrors.for_code(code).__name__
            except kerrors.KafkaError as e:
                last = e
            if time.monotonic() >= deadline:
                raise CgError("Executing consumer group command failed due to the coordinator of group "
                              "'%s' did not answer within %d ms (%s)" % (group, self.timeout * 1000, last))
            time.sleep(0.2)

    def list_groups(self):
        """[(group, protocol_type)] from every broker (Kafka lists each coordinator's groups)."""
        v = self.version(16, 2)
        if v is None:
            raise CgError("Executing consumer group command failed due to The broker does not support LIST_GROUPS")
        out = set()
        for node in sorted(self.brokers()):
            deadline = self.deadline()
            while True:
                try:
                    r = self.send(node, ListGroupsRequest[v](), deadline)
                    if r.error_code == 0:
                        out.update((g, pt) for g, pt in r.groups)
                        break
                    if r.error_code not in RETRY_GROUP:
                        raise CgError("Executing consumer group command failed due to %s" % java_error(r.error_code))
                    last = kerrors.for_code(r.error_code).__name__
                except kerrors.KafkaError as e:
                    last = e
                if time.monotonic() >= deadline:
                    raise CgError("Executing consumer group command failed due to ListGroups on broker %s: %s"
                                  % (node, last))
                time.sleep(0.2)
        return sorted(out)

    def consumer_groups(self):
        """Group ids Kafka's tool lists: protocol type "consumer", or "" (offsets only)."""
        return [g for g, pt in self.list_groups() if pt in ("consumer", "")]

    def describe(self, group):
        """{state, protocol_type, protocol, coordinator, members: [{...}]}; state Dead if unknown."""
        v = self.version(15, 4)
        if v is None:
            raise CgError("Executing consumer group command failed due to The broker does not support DESCRIBE_GROUPS")
        if v >= 4:
            req = DescribeGroupsRequest_v4(groups=[group], include_authorized_operations=False)
        elif v >= 3:
            from kafka.protocol.admin import DescribeGroupsRequest
            req = DescribeGroupsRequest[3](groups=[group], include_authorized_operations=False)
        elif v >= 1:
            from kafka.protocol.admin import DescribeGroupsRequest
            req = DescribeGroupsRequest[v](groups=[group])
        else:
            req = DescribeGroupsRequest_v0(groups=[group])

        def err(r):
            return r.groups[0][0] if len(r.groups) == 1 else 0
        r, coord = self.group_call(group, req, err)
        if len(r.groups) != 1:
            raise CgError("Executing consumer group command failed due to DescribeGroups answered %d groups for 1"
                          % len(r.groups))
        g = r.groups[0]
        code, state, ptype, proto, members = g[0], g[2], g[3], g[4], g[5]
        if code == GROUP_ID_NOT_FOUND:
            state, ptype, proto, members = "Dead", "", "", []
        elif code != 0:
            raise CgError("Executing consumer group command failed due to %s" % java_error(code))
        out = []
        for m in members:
            if v >= 4:
                mid, iid, cid, host, _meta, assign = m
            else:
                mid, cid, host, _meta, assign = m
                iid = None
            out.append({"member_id": mid, "instance_id": iid or "", "client_id": cid, "host": host,
                        "assignment": decode_assignment(assign)})
        return {"group": group, "state": state, "protocol_type": ptype, "protocol": proto or "",
                "coordinator": coord, "members": out}

    def committed(self, group):
        """{(topic, partition): (offset, metadata)} of every committed offset of the group."""
        v = self.version(9, 3)
        if v is None or v < 2:
            raise CgError("Executing consumer group command failed due to the brokers do not offer "
                          "OffsetFetch v2+ (all partitions of a group)")
        r, _ = self.group_call(group, OffsetFetchRequest[v](group, None), lambda r: r.error_code)
        if r.error_code != 0:
            raise CgError("Executing consumer group command failed due to %s" % java_error(r.error_code))
        out = {}
        for topic, parts in r.topics:
            for p in parts:
                partition, offset, meta, code = p[0], p[1], p[2], p[-1]
                if code != 0:
                    raise CgError("Executing consumer group command failed due to %s (%s-%d)"
                                  % (java_error(code), topic, partition))
                if offset >= 0:
                    out[(topic, partition)] = (offset, meta)
        return out

    def commit(self, group, offsets):
        """OffsetCommit generation -1 (admin commit) of {(topic, partition): offset}."""
        v = self.version(8, 2)
        if v is None or v < 2:
            raise CgError("Executing consumer group command failed due to the brokers do not offer OffsetCommit v2")
        by_topic = {}
        for (t, p), off in sorted(offsets.items()):
            by_topic.setdefault(t, []).append((p, off, ""))
        req = OffsetCommitRequest[2](group, -1, "", -1, list(by_topic.items()))

        def err(r):
            codes = [c for _, ps in r.topics for _, c in ps]
            return next((c for c in codes if c in RETRY_GROUP), 0)
        r, _ = self.group_call(group, req, err)
        failed = [(t, p, c) for t, ps in r.topics for p, c in ps if c != 0]
        if failed:
            t, p, c = failed[0]
            raise CgError("Executing consumer group command failed due to %s (%d of %d partitions, e.g. %s-%d)"
                          % (java_error(c), len(failed), len(offsets), t, p))

    def delete_groups(self, groups):
        """[(group, error code)] in the order given."""
        v = self.version(42, 1)
        if v is None:
            raise CgError("Executing consumer group command failed due to The broker does not support DELETE_GROUPS")
        out = []
        for g in groups:
            r, _ = self.group_call(g, DeleteGroupsRequest[v]([g]),
                                   lambda r: r.results[0][1] if len(r.results) == 1 else 0)
            codes = [c for name, c in r.results if name == g]
            out.append((g, codes[0] if codes else -1))
        return out

    def delete_offsets(self, group, tps):
        """(top-level error code, {(topic, partition): error code})."""
        if self.version(47, 0) is None:
            raise CgError("Executing consumer group command failed due to The broker does not support OFFSET_DELETE")
        by_topic = {}
        for t, p in sorted(tps):
            by_topic.setdefault(t, []).append(p)
        req = OffsetDeleteRequest_v0(group_id=group, topics=list(by_topic.items()))
        r, _ = self.group_call(group, req, lambda r: r.error_code)
        return r.error_code, {(t, p): c for t, ps in r.topics for p, c in ps}

    # ---- log offsets ----
    def list_offsets(self, tps, timestamp):
        """{(topic, partition): offset or None} (ListOffsets v1 to each leader; -1 latest, -2 earliest)."""
        tps = sorted(set(tps))
        out = {tp: None for tp in tps}
        if not tps:
            return out
        meta = self.topics(sorted({t for t, _ in tps}))
        by_leader = {}
        for t, p in tps:
            leader = meta.get(t, (3, {}))[1].get(p, -1)
            if leader is not None and leader >= 0:
                by_leader.setdefault(leader, []).append((t, p))
        for leader, lst in by_leader.items():
            topics = {}
            for t, p in lst:
                topics.setdefault(t, []).append((p, timestamp))
            req = OffsetRequest[1](replica_id=-1, topics=list(topics.items()))
            try:
                r = self.send(leader, req, self.deadline())
            except kerrors.KafkaError:
                continue
            for t, ps in r.topics:
                for p, code, _ts, off in ps:
                    if code == 0 and off >= 0 and (t, p) in out:
                        out[(t, p)] = off
        return out


# ---- output in Kafka's format -------------------------------------------------------------

def row(widths, values):
    """Kafka's "%-Ns %-Ns ... %s": every column but the last left-justified to its width."""
    cells = [str(v).ljust(w) for v, w in zip(values, widths)]
    return " ".join(cells + [str(v) for v in values[len(widths):]])


class Out:
    def __init__(self):
        self.errors = 0

    def error(self, msg):
        """Kafka's printError: a blank line and "Error: msg" on standard output."""
        print("\nError: %s" % msg)
        self.errors += 1

    def member_state_ok(self, group, state, nrows):
        """Kafka's shouldPrintMemberState: complain about Dead/Empty/rebalancing groups."""
        if nrows is None:
            self.error("The consumer group '%s' does not exist." % group)
            return False
        if state == "Dead":
            self.error("Consumer group '%s' does not exist." % group)
        elif state == "Empty":
            sys.stdout.flush()
            print("\nConsumer group '%s' has no active members." % group, file=sys.stderr)
        elif state in ("PreparingRebalance", "CompletingRebalance"):
            sys.stdout.flush()
            print("\nWarning: Consumer group '%s' is rebalancing." % group, file=sys.stderr)
        elif state != "Stable":
            self.error("Expected a valid consumer group state, but found '%s'." % state)
            return False
        return state != "Dead" and nrows > 0


def describe_offsets(cl, out, groups):
    for g in sorted(set(groups)):
        d = cl.describe(g)
        committed = cl.committed(g)
        rows = []  # [topic, partition, offset, lag, consumer, host, client] before end offsets
        assigned = set()
        members = [m for m in d["members"] if m["assignment"]]
        members.sort(key=lambda m: -len(m["assignment"]))  # stable, as Kafka's sortWith
        for m in members:
            for t, p in sorted(m["assignment"], key=lambda tp: tp[1]):
                assigned.add((t, p))
                rows.append([t, p, m["member_id"], m["host"], m["client_id"]])
        for t, p in sorted((tp for tp in committed if tp not in assigned), key=lambda tp: (tp[1], tp[0])):
            rows.append([t, p, MISSING, MISSING, MISSING])
        ends = cl.list_offsets([(r[0], r[1]) for r in rows], -1)
        if not out.member_state_ok(g, d["state"], len(rows)):
            continue
        table = []
        for t, p, cid, host, client in rows:
            off = committed.get((t, p), (None, ""))[0]
            end = ends.get((t, p))
            lag = end - off if off is not None and off != -1 and end is not None else None
            table.append([g, t, p, MISSING if off is None else off, MISSING if end is None else end,
                          MISSING if lag is None else lag, cid, host, client])
        wg = max([15] + [len(r[0]) for r in table])
        wt = max([15] + [len(r[1]) for r in table])
        wc = max([15] + [len(r[6]) for r in table])
        wh = max([15] + [len(r[7]) for r in table])
        widths = [wg, wt, 10, 15, 15, 15, wc, wh]
        print("\n" + row(widths, ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                                   "CONSUMER-ID", "HOST", "CLIENT-ID"]))
        for r in table:
            print(row(widths, r))


def describe_members(cl, out, groups, verbose):
    for g in sorted(set(groups)):
        d = cl.describe(g)
        ms = d["members"]
        if not out.member_state_ok(g, d["state"], len(ms)):
            continue
        with_iid = any(m["instance_id"] for m in ms)
        wg = max([15, len(g)])
        wc = max([15] + [len(m["member_id"]) for m in ms])
        wi = max([17] + [len(m["instance_id"]) for m in ms])
        wh = max([15] + [len(m["host"]) for m in ms])
        wl = max([15] + [len(m["client_id"]) for m in ms])
        if with_iid:
            widths = [wg, wc, wi, wh, wl, 15]
            head = ["GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS"]
        else:
            widths = [wg, wc, wh, wl, 15]
            head = ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"]
        print("\n" + row(widths, head + [""]) + ("ASSIGNMENT" if verbose else ""))
        for m in ms:
            vals = [g, m["member_id"]] + ([m["instance_id"]] if with_iid else []) + \
                   [m["host"], m["client_id"], len(m["assignment"]), ""]
            line = row(widths, vals)
            if verbose:
                by_topic = {}
                for t, p in m["assignment"]:
                    by_topic.setdefault(t, []).append(p)
                parts = sorted("%s(%s)" % (t, ",".join(str(p) for p in sorted(ps))) for t, ps in by_topic.items())
                line += ", ".join(parts) if parts else MISSING
            print(line)


def describe_state(cl, out, groups):
    for g in sorted(set(groups)):
        d = cl.describe(g)
        if not out.member_state_ok(g, d["state"], 1):
            continue
        bid, host, port = d["coordinator"]
        coord = "%s:%d (%d)" % (host, port, bid)
        widths = [max(15, len(g)), max(25, len(coord)), 25, 20]
        print("\n" + row(widths, ["GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"]))
        print(row(widths, [g, coord, d["protocol"], d["state"], len(d["members"])]))


def list_groups(cl, with_state, states_arg):
    groups = cl.consumer_groups()
    if not with_state:
        for g in groups:
            print(g)
        return
    wanted = None
    if states_arg:
        wanted = set()
        for s in states_arg.split(","):
            match = [x for x in STATES if x.lower() == s.strip().lower()]
            if not match:
                raise UsageError("Invalid state list '%s'. Valid states are: %s" % (states_arg, ", ".join(STATES)))
            wanted.add(match[0])
    listed = []
    for g in groups:
        st = cl.describe(g)["state"]
        if wanted is None or st in wanted:
            listed.append((g, st))
    w = max([15] + [len(g) for g, _ in listed])
    print(row([w], ["GROUP", "STATE"]))
    for g, st in listed:
        print(row([w], [g, st]))


# ---- --reset-offsets ----------------------------------------------------------------------

DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?"
                      r"(Z|[+-]\d{2}(?::?\d{2})?)?$")
DURATION = re.compile(r"^([-+]?)P(?:([-+]?\d+)D)?(?:T(?:([-+]?\d+)H)?(?:([-+]?\d+)M)?"
                      r"(?:([-+]?\d+)(?:[.,](\d{0,9}))?S)?)?$", re.IGNORECASE)


def parse_datetime_ms(s):
    """Kafka's Utils.getDateTime: yyyy-MM-dd'T'HH:mm:ss.SSS with an optional zone, UTC without one."""
    m = DATETIME.match(s)
    if not m:
        raise UsageError("Error parsing timestamp '%s': expected YYYY-MM-DDTHH:mm:SS.sss with an optional zone "
                         "(Z, +hh:mm)" % s)
    y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
    ms = int((m.group(7) or "0").ljust(3, "0"))
    try:
        base = calendar.timegm(datetime.datetime(y, mo, d, h, mi, sec).timetuple())
    except (ValueError, OverflowError):
        raise UsageError("Error parsing timestamp '%s': not a valid date and time" % s)
    zone = m.group(8)
    off = 0
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        off = sign * (int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60)
    return (base - off) * 1000 + ms


def parse_duration_ms(s):
    """Java's Duration.parse for PnDTnHnMn.nS, in milliseconds."""
    m = DURATION.match(s)
    if not m or s.upper().endswith("T") or s.upper() in ("P", "-P", "+P"):
        raise UsageError("Error parsing duration '%s': expected PnDTnHnMnS, e.g. PT1H or P1DT30M" % s)
    neg, d, h, mi, sec, frac = m.groups()
    total = (int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + int(sec or 0)) * 1000
    if frac:
        f = int(frac.ljust(3, "0")[:3])
        total += -f if (sec or "").startswith("-") else f
    return -total if neg == "-" else total


def read_plan(path, groups):
    """--from-file CSV -> {group: {(topic, partition): offset}}."""
    try:
        with open(path) as f:
            lines = [ln.strip() for ln in f.read().split("\n") if ln.strip()]
    except OSError as e:
        raise UsageError("cannot read %s: %s" % (path, e))
    plan = {}
    single = len(groups) == 1
    three = bool(lines) and len(lines[0].split(",")) == 3
    for i, ln in enumerate(lines, 1):
        f = ln.split(",")
        try:
            if single and three and len(f) == 3:
                g, t, p, o = groups[0], f[0], int(f[1]), int(f[2])
            elif len(f) == 4:
                g, t, p, o = f[0], f[1], int(f[2]), int(f[3])
            else:
                raise ValueError
        except ValueError:
            raise UsageError("%s line %d: expected topic,partition,offset or group,topic,partition,offset, got '%s'"
                             % (path, i, ln))
        plan.setdefault(g, {})[(t, p)] = o
    return plan


def clamp(cl, requested):
    """Kafka's checkOffsetsRange: offsets past the log end go to it, before the log start to it."""
    starts = cl.list_offsets(list(requested), -2)
    ends = cl.list_offsets(list(requested), -1)
    out = {}
    for tp, off in requested.items():
        end, start = ends.get(tp), starts.get(tp)
        if end is None:
            raise CgError("Executing consumer group command failed due to no log end offset for %s-%d "
                          "(no leader?)" % tp)
        if off > end:
            print("New offset (%d) is higher than latest offset for topic partition %s-%d. Value will be set to %d"
                  % (off, tp[0], tp[1], end), file=sys.stderr)
            off = end
        elif start is not None and off < start:
            print("New offset (%d) is lower than earliest offset for topic partition %s-%d. Value will be set to %d"
                  % (off, tp[0], tp[1], start), file=sys.stderr)
            off = start
        out[tp] = off
    return out


def log_offsets_or_die(cl, tps, ts, what):
    got = cl.list_offsets(tps, ts)
    for tp in tps:
        if got.get(tp) is None:
            raise UsageError("Error getting %s offset of topic partition: %s-%d" % (what, tp[0], tp[1]))
    return got


def partitions_to_reset(cl, a, group, committed):
    if a["all_topics"] == "1":
        return sorted(committed)
    tps = []
    for arg in a["topic"]:
        if ":" in arg:
            t, ps = arg.split(":", 1)
            tps += [(t, int(p)) for p in ps.split(",")]
        else:
            tps += cl.partitions_of(arg)
    return sorted(set(tps))


def prepare(cl, a, group, plan):
    scen, val = a["scenario"], a["value"]
    committed = {tp: o for tp, (o, _) in cl.committed(group).items()}
    if scen == "from-file":
        if group not in plan:
            raise CgError("No reset plan for group %s found" % group)
        return clamp(cl, plan[group])
    tps = partitions_to_reset(cl, a, group, committed)
    if scen == "to-offset":
        return clamp(cl, {tp: int(val) for tp in tps})
    if scen == "to-earliest":
        return log_offsets_or_die(cl, tps, -2, "starting")
    if scen == "to-latest":
        return log_offsets_or_die(cl, tps, -1, "ending")
    if scen == "shift-by":
        req = {}
        for tp in tps:
            if tp not in committed:
                raise UsageError("Cannot shift offset for partition %s-%d since there is no current committed offset"
                                 % tp)
            req[tp] = committed[tp] + int(val)
        return clamp(cl, req)
    if scen in ("to-datetime", "by-duration"):
        if scen == "to-datetime":
            ts = parse_datetime_ms(val)
        else:
            ts = int(time.time() * 1000) - parse_duration_ms(val)
        got = cl.list_offsets(tps, ts)
        missing = [tp for tp in tps if got.get(tp) is None]
        for t, p in missing:
            print("\nWarn: Partition %d from topic %s is empty. Falling back to latest known offset." % (p, t))
        if missing:
            got.update(log_offsets_or_die(cl, missing, -1, "ending"))
        return got
    if scen == "to-current":
        out = {tp: committed[tp] for tp in tps if tp in committed}
        rest = [tp for tp in tps if tp not in committed]
        if rest:
            out.update(log_offsets_or_die(cl, rest, -1, "ending"))
        return out
    raise UsageError("unknown reset scenario '%s'" % scen)


def reset_offsets(cl, out, a, groups):
    plan = read_plan(a["value"], groups) if a["scenario"] == "from-file" else {}
    result = {}
    for g in groups:
        state = cl.describe(g)["state"]
        if state not in ("Empty", "Dead"):
            out.error("Assignments can only be reset if the group '%s' is inactive, but the current state is %s."
                      % (g, state))
            result[g] = {}
            continue
        offsets = prepare(cl, a, g, plan)
        if a["mode"] == "execute" and offsets:
            cl.commit(g, offsets)
        result[g] = offsets
    if a["export"] == "1":
        lines = []
        for g, offs in result.items():
            for (t, p), o in sorted(offs.items()):
                lines.append(("%s,%d,%d" % (t, p, o)) if len(groups) == 1 else ("%s,%s,%d,%d" % (g, t, p, o)))
        print("".join(ln + "\n" for ln in lines))
        return
    if result:
        fmt = [30, 30, 10, 15]
        print("\n" + row(fmt, ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]))
        for g, offs in result.items():
            for (t, p), o in sorted(offs.items()):
                print(row(fmt, [g, t, p, o]))


# ---- --delete, --delete-offsets -----------------------------------------------------------

def delete_groups(cl, out, groups):
    res = cl.delete_groups(groups)
    ok = [g for g, c in res if c == 0]
    failed = [(g, c) for g, c in res if c != 0]
    quoted = lambda gs: "'" + "', '".join(gs) + "'"
    if not failed:
        print("Deletion of requested consumer groups (%s) was successful." % quoted(ok))
        return
    out.error("Deletion of some consumer groups failed:")
    for g, c in failed:
        print("* Group '%s' could not be deleted due to: %s" % (g, java_error(c)))
    if ok:
        print("\nThese consumer groups were deleted successfully: %s" % quoted(ok))


def delete_offsets(cl, out, group, topic_args):
    tps, results = [], {}
    for arg in topic_args:
        if ":" in arg:
            t, ps = arg.split(":", 1)
            tps += [(t, int(p)) for p in ps.split(",")]
        else:
            err, parts = cl.topics([arg]).get(arg, (3, {}))
            if err != 0 or not parts:
                results[(arg, -1)] = "Error: " + error_message(err or 3)
            else:
                tps += [(arg, p) for p in sorted(parts)]
    top, per = cl.delete_offsets(group, tps) if tps else (0, {})
    for tp in tps:
        c = per.get(tp, top)
        results[tp] = "Successful" if c == 0 else "Error: " + error_message(c)
    topics = ", ".join(topic_args)
    msgs = {24: "'%s' is not valid." % group, 69: "'%s' does not exist." % group,
            30: "Access to '%s' is not authorized." % group,
            68: "Deleting offsets of a consumer group '%s' is forbidden if the group is not empty." % group}
    if top == 0 and all(v == "Successful" for v in results.values()):
        print("Request succeed for deleting offsets with topic %s group %s" % (topics, group))
    elif top in msgs:
        out.error(msgs[top])
    elif top in (0, 86, 29, 3):
        out.error("Encounter some partition level error, see the follow-up details:")
    else:
        out.error("Encounter some unknown error: %s" % kerrors.for_code(top).__name__)
    fmt = [30, 15, 15]
    print("\n" + row(fmt, ["TOPIC", "PARTITION", "STATUS"]))
    for (t, p), status in sorted(results.items(), key=lambda kv: kv[0][0] + str(kv[0][1])):
        print(row(fmt, [t, p if p >= 0 else "Not Provided", status]))


# ---- main ---------------------------------------------------------------------------------

def parse_args(argv):
    a = {"group": [], "topic": []}
    for w in argv:
        k, _, v = w.partition("=")
        if k in ("group", "topic"):
            a[k].append(v)
        else:
            a[k] = v
    return a


def run(a):
    out = Out()
    cl = Cluster(a["bootstrap"], int(a["timeout"]))
    try:
        action = a["action"]
        if action == "list":
            list_groups(cl, a["state"] == "1", a["states"])
            return out.errors
        groups = a["group"]
        if a.get("all_groups") == "1":
            groups = cl.consumer_groups()
        if action == "describe":
            if a["sub"] == "members":
                describe_members(cl, out, groups, a["verbose"] == "1")
            elif a["sub"] == "state":
                describe_state(cl, out, groups)
            else:
                describe_offsets(cl, out, groups)
        elif action == "reset-offsets":
            reset_offsets(cl, out, a, groups)
        elif action == "delete":
            if groups:
                delete_groups(cl, out, groups)
        elif action == "delete-offsets":
            delete_offsets(cl, out, groups[0], a["topic"])
        return out.errors
    finally:
        cl.close()


def main():
    a = parse_args(sys.argv[1:])
    try:
        rc = run(a)
    except UsageError as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        print("Try '%s --help'." % PROG, file=sys.stderr)
        return 2
    except CgError as e:
        print("\nError: %s" % e)
        return 1
    except KeyboardInterrupt:
        return 130
    sys.stdout.flush()
    return 1 if rc else 0


if __name__ == "__main__":
    sys.exit(main())
