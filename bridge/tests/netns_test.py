#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""hsipc-bridge between two simulated hosts on one machine (issue 14).

Two hosts (netns_hosts.py: each a network namespace and a private
/dev/shm), joined by a veth pair (A 10.77.0.1, B 10.77.0.2); both hosts'
regions are called "net". On each host one hsipc-bridge (B listens on its
veth address, A connects to it), and the application processes of
netns_peer.py.

Every case ends by stopping everything and checking, with `hsipc reap` and
`hsipc stat --json` on each host, that no buffer is left anywhere and no
endpoint is left open. WalkThroughTest runs docs/bridge.md's walk-through
itself (see its docstring).

Adding a case: a test method of TwoHostsTest, where setUp has made the
hosts self.a and self.b. self.start_bridges() starts both bridges (exports
per side; extra flags per side); host.peer(ROLE, ...)
starts a netns_peer.py role on a host (add a role there for a new kind of
application process); self.start_topic_bridges() and self.subscribers()
set up a topic shared by both hosts;
proc.expect() / proc.read_lines() read what it reports, with a timeout;
bridge.stats() reads a bridge's counters; end with self.finish(), which
stops every process and checks both hosts for leaks.

Environment (set by CTest, bridge/tests/CMakeLists.txt): HSIPC_BRIDGE and
HSIPC_CLI (the programs), HSIPC_LIBRARY and PYTHONPATH (the binding).
Needs root and a kernel that allows network namespaces and veth pairs;
exits 77 (CTest's SKIP_RETURN_CODE) with the reason where either is missing.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from netns_hosts import (REGION, TIMEOUT, Bridge, Host, Proc, command, remove_netns, remove_stale_netns,  # noqa: E402
                         skip_reason, unique_netns_names, veth_pair, wait_for)
from netns_peer import payload, topic_payload  # noqa: E402 (the peers' payloads, to check contents)

SKIP = 77
# Fast enough to keep the kill cases short, slow enough for a loaded machine.
BRIDGE_TIMING = ["--heartbeat", "100ms", "--peer-timeout", "1s"]


# ---- The cases ------------------------------------------------------------------------

class TwoHostsTest(unittest.TestCase):
    def setUp(self):
        ns_a, ns_b = unique_netns_names(2)
        self.addCleanup(remove_netns, ns_a)
        self.addCleanup(remove_netns, ns_b)
        command("ip", "netns", "add", ns_a)
        command("ip", "netns", "add", ns_b)
        veth_pair(ns_a, ns_b, "10.77.0.1", "10.77.0.2")
        self.a = Host("hostA", ns_a, "10.77.0.1")
        self.addCleanup(self.a.close)
        self.b = Host("hostB", ns_b, "10.77.0.2")
        self.addCleanup(self.b.close)
        self.addCleanup(self.print_logs_on_failure)

    def print_logs_on_failure(self):
        # The result holds this case's failure by now (unittest adds it
        # before the cleanups run).
        result = self._outcome.result
        failed = any(case is self for case, _ in result.failures + result.errors)
        if failed or os.environ.get("HSIPC_NETNS_TEST_LOGS"):
            for host in (self.a, self.b):
                for p in host.procs:
                    if isinstance(p, Bridge) and p.popen.poll() is None:
                        try:
                            p.stats()  # its counters join its log
                        except AssertionError:
                            pass
                for p in host.procs:
                    for line in p.error_lines():
                        print(f"  [{p.label}] {line}", file=sys.stderr)

    def start_bridges(self, a_exports=(), b_exports=(), a_flags=(), b_flags=()):
        """B listens on its veth address (not loopback: --allow-remote) and
        knows A by name; A connects to B. Returns when each side's host
        proxy for the other is open."""
        def exports(names):
            return [arg for name in names for arg in ("--export", name)]
        address = f"tcp://{self.b.address}:5552"
        self.b_args = ["--region", REGION, "--host", "hostB", "--listen", address, "--allow-remote",
                       "--peer", "hostA", *exports(b_exports), *BRIDGE_TIMING, *b_flags]
        self.a_args = ["--region", REGION, "--host", "hostA", "--peer", "hostB=" + address,
                       *exports(a_exports), *BRIDGE_TIMING, *a_flags]
        self.bridge_b = self.b.bridge(*self.b_args)
        self.bridge_a = self.a.bridge(*self.a_args)
        self.wait_for_proxy(self.a, "hostB")
        self.wait_for_proxy(self.b, "hostA")

    def wait_for_proxy(self, host, name):
        wait_for(lambda: name in host.endpoint_names(), f"{name} on {host.label}")

    def check_stream(self, lines, prefix, count):
        """lines are a sink's reports of exactly payload(prefix, 1..count), in
        order, each from the proxy that stands for the sender."""
        self.assertEqual(count, len(lines))
        for seq, line in enumerate(lines, 1):
            data = payload(prefix, seq)
            self.assertEqual(f"msg {prefix} {seq} {len(data)} {zlib.crc32(data)} 1", line)

    def finish(self):
        """Stops every process (bridges with SIGTERM: exit status 0), reaps
        each host and checks that every buffer is free and no endpoint open."""
        running = [p for host in (self.a, self.b) for p in host.procs if p.popen.poll() is None]
        for p in running:
            p.send_signal(signal.SIGTERM)
        for p in running:
            self.assertEqual(0, p.wait(), f"{p.label}: exit status after SIGTERM")
        for host in (self.a, self.b):
            host.reap()
            stat = host.stat()
            self.assertEqual([], [e["name"] for e in stat["endpoints"]], f"endpoints left on {host.label}")
            for pool in stat["pools"]:
                self.assertEqual((pool["buffers"], 0, 0, 0),
                                 (pool["free"], pool["held"], pool["queued"], pool["shared"]),
                                 f"{host.label}: pool of {pool['buffer_size']} B after a reap")

    def test_messages_both_ways(self):
        """200 messages each way at once, each arriving once, in order, with
        its exact bytes, from the proxy that stands for its sender; the
        bridges' counters agree exactly, with nothing refused, lost or
        dropped."""
        count = 200
        self.start_bridges(a_exports=["inA"], b_exports=["inB"])
        sink_a = self.a.peer("sink", "inA", "--from", "hostB.outB")
        sink_b = self.b.peer("sink", "inB", "--from", "hostA.outA")
        sink_a.expect("ready")
        sink_b.expect("ready")
        out_a = self.a.peer("source", "outA", "hostB.inB", "--prefix", "a2b", "--count", str(count))
        out_b = self.b.peer("source", "outB", "hostA.inA", "--prefix", "b2a", "--count", str(count))
        self.check_stream(sink_b.read_lines(count), "a2b", count)
        self.check_stream(sink_a.read_lines(count), "b2a", count)
        self.assertEqual(f"sent {count}", out_a.expect("sent"))
        self.assertEqual(f"sent {count}", out_b.expect("sent"))
        for bridge in (self.bridge_a, self.bridge_b):
            s = bridge.stats()
            self.assertEqual((count, count, 0, 0, 0, 1, 0),
                             (s["forwarded"], s["delivered"], s["refused"], s["lost"], s["dropped"], s["peers_up"],
                              s["queued"]), f"{bridge.label}: forwarded, delivered, refused, lost, dropped, "
                                            "peers_up, queued")
        self.assertEqual(f"done {count}", self.stop_sink(sink_a))
        self.assertEqual(f"done {count}", self.stop_sink(sink_b))
        self.finish()

    def stop_sink(self, sink):
        """Stops a sink or echo peer; its last line ("done N")."""
        sink.send_signal(signal.SIGTERM)
        done = sink.expect("done")
        self.assertEqual(0, sink.wait(), f"{sink.label}: exit status")
        return done

    def test_request_reply_across(self):
        """50 requests from an unexported client on A to a server on B, each
        answered through msg.sender: the reply has the request's bytes
        upper-cased and comes from hostB.server, the id the client looked
        up; the server sees every request come from hostA.client."""
        count = 50
        self.start_bridges(b_exports=["server"])
        server = self.b.peer("echo", "server", "--from", "hostA.client")
        server.expect("ready")
        client = self.a.peer("request", "client", "hostB.server", "--count", str(count))
        self.assertEqual([f"reply {seq} OK" for seq in range(1, count + 1)] + [f"replies {count}"],
                         client.read_lines(count + 1))
        self.assertEqual(0, client.wait())
        self.assertEqual([f"echoed req {seq} 1" for seq in range(1, count + 1)], server.read_lines(count))
        s_a, s_b = self.bridge_a.stats(), self.bridge_b.stats()
        self.assertEqual((count, count, 0), (s_a["forwarded"], s_a["delivered"], s_a["dropped"]))
        self.assertEqual((count, count, 0), (s_b["forwarded"], s_b["delivered"], s_b["dropped"]))
        self.assertEqual(f"done {count}", self.stop_sink(server))
        self.finish()

    def start_topic_bridges(self, topic):
        """Both bridges export topic. Once start_bridges returns, each has
        the other's HELLO, and with it the topics the other exports: a
        bridge brings a peer up (its host proxy) and records that HELLO's
        topics in one turn, before it looks at what local processes
        published again. Its own subscription is made before it connects:
        so from then on every publication on either host is forwarded."""
        flags = ["--export-topic", topic]
        self.start_bridges(a_flags=flags, b_flags=flags)

    def subscribers(self, topic, *where):
        """netns_peer.py subscribers to topic, one per (host, name), all
        started at once; returned once each has subscribed."""
        subs = [host.peer("subscriber", name, topic) for host, name in where]
        for sub in subs:
            sub.expect("ready")
        return subs

    def check_topic_stream(self, lines, publishers, count):
        """lines are one subscriber's reports of exactly topic_payload(prefix,
        1..count) from each prefix of publishers (prefix: the publisher's
        name where the subscriber is), each publisher's in order, shared,
        with its bytes. Different publishers' may interleave."""
        by_prefix = {prefix: [] for prefix in publishers}
        for line in lines:
            prefix = line.split()[1]
            self.assertIn(prefix, by_prefix, f"a message from no publisher of the case: {line}")
            by_prefix[prefix].append(line)
        for prefix, sender in publishers.items():
            expected = []
            for seq in range(1, count + 1):
                data = topic_payload(prefix, seq)
                expected.append(f"msg {prefix} {seq} {len(data)} {zlib.crc32(data)} {sender} 1")
            self.assertEqual(expected, by_prefix[prefix], f"from {sender}")

    def test_topic_with_subscribers_on_both_hosts(self):
        """Topic "frames", exported by both bridges: on A a publisher and two
        subscribers, on B a publisher and one. Every subscriber gets all 200
        publications of both publishers, the remote one's from the proxy
        that stands for it, each publisher's in order, shared, with their
        bytes (sizes in every pool: 64 KiB and 1 MiB among them), and
        nothing twice: no bridge forwards back what it published itself.
        The bridges' counters agree exactly.

        Exact delivery is what the rules give here, however loaded the
        machine (short of a bridge stalled for a whole peer_timeout): a
        subscriber's inbox (1,024) holds both streams (400) unread, so none
        is ever full; each link carries 200 TOPIC frames, under half the
        high-water mark (1,000), where ZeroMQ never refuses one (docs/
        bridge.md, Topics); and the pools hold both streams unreleased. The
        pause between publications only keeps both directions flowing at
        once."""
        count = 200
        self.start_topic_bridges("frames")
        *subs_a, sub_b = self.subscribers("frames", (self.a, "subA1"), (self.a, "subA2"), (self.b, "subB"))
        args = ["--count", str(count), "--gap-us", "500"]
        pub_a = self.a.peer("publisher", "pubA", "frames", "--prefix", "fa", *args)
        pub_b = self.b.peer("publisher", "pubB", "frames", "--prefix", "fb", *args)
        for sub in subs_a:
            self.check_topic_stream(sub.read_lines(2 * count), {"fa": "pubA", "fb": "hostB.pubB"}, count)
        self.check_topic_stream(sub_b.read_lines(2 * count), {"fa": "hostA.pubA", "fb": "pubB"}, count)
        # Delivered locally to every subscriber and the bridge's own
        # subscription, none skipped.
        self.assertEqual(f"published {count} {3 * count} 0", pub_a.expect("published"))
        self.assertEqual(f"published {count} {2 * count} 0", pub_b.expect("published"))
        # An echo would follow the publication it repeats within a bridge's
        # turn or two and one crossing of the link, milliseconds at most:
        # this pause leaves ample time for one to show, in the counters and
        # at the subscribers.
        time.sleep(0.3)
        for bridge in (self.bridge_a, self.bridge_b):
            s = bridge.stats()
            self.assertEqual((count, count, 0, 0, 0, 0, 0, 1),
                             (s["topic_forwarded"], s["topic_published"], s["topic_skipped"], s["topic_dropped"],
                              s["refused"], s["lost"], s["dropped"], s["peers_up"]),
                             f"{bridge.label}: topic_forwarded, topic_published, topic_skipped, topic_dropped, "
                             "refused, lost, dropped, peers_up")
        for sub in [*subs_a, sub_b]:
            self.assertEqual(f"done {2 * count}", self.stop_sink(sub))
        self.finish()

    def kill_bridge(self, side, gone):
        """Kills side's bridge with SIGKILL and reaps its host. Reaped, the
        dead bridge's endpoints (gone) are gone and its buffers are back:
        what is not free is what the live endpoints' inboxes hold, and at
        most the one buffer a peer process has in hand."""
        host, bridge = (self.a, self.bridge_a) if side == "A" else (self.b, self.bridge_b)
        self.assertEqual(-signal.SIGKILL, bridge.stop(signal.SIGKILL))
        host.reap()
        stat = host.stat()
        self.assertTrue(all(e["alive"] for e in stat["endpoints"]), stat["endpoints"])
        self.assertNotIn(bridge.pid, [e["owner_pid"] for e in stat["endpoints"]])
        self.assertFalse(set(gone) & {e["name"] for e in stat["endpoints"]}, stat["endpoints"])
        not_free = sum(p["buffers"] - p["free"] for p in stat["pools"])
        queued = sum(e["queued"] for e in stat["endpoints"])
        self.assertIn(not_free - queued, (0, 1), f"{host.label}: {not_free} buffers not free, {queued} queued")

    def restart_bridge(self, side):
        """side's bridge again, with the arguments it had."""
        if side == "A":
            self.bridge_a = self.a.bridge(*self.a_args)
            return self.bridge_a
        self.bridge_b = self.b.bridge(*self.b_args)
        return self.bridge_b

    def read_to_last(self, receiver, received, last):
        """received, the lines a sink or subscriber printed so far, followed
        up to the one of message number last. At most once, in order: no
        duplicate, no reordering, and what was lost is one run of
        consecutive messages, those a dead bridge held or missed. Returns
        the lines' sequence numbers and the gaps."""
        seqs = [int(line.split()[2]) for line in received]
        while seqs[-1] < last:
            line = receiver.next_line()
            received.append(line)
            seqs.append(int(line.split()[2]))
        self.assertEqual(last, seqs[-1])
        self.assertTrue(all(x < y for x, y in zip(seqs, seqs[1:])), "duplicate or out of order")
        gaps = [(x, y) for x, y in zip(seqs, seqs[1:]) if y != x + 1]
        self.assertLessEqual(len(gaps), 1, f"lost more than one run: {gaps}")
        return seqs, gaps

    def kill_mid_stream(self, victim_side):
        """A stream from A to B; the bridge on victim_side is killed with
        SIGKILL while it flows, its host reaped, then it is restarted with
        the same arguments while the applications keep running."""
        self.start_bridges(b_exports=["sink"])
        sink = self.b.peer("sink", "sink", "--from", "hostA.source")
        sink.expect("ready")
        source = self.a.peer("source", "source", "hostB.sink", "--prefix", "s", "--gap-us", "1000")
        before = sink.read_lines(100)
        self.check_stream(before, "s", 100)

        self.kill_bridge(victim_side, {"A": ("hostB", "hostB.sink"), "B": ("hostA", "hostA.source")}[victim_side])
        self.restart_bridge(victim_side)
        # Traffic resumes without restarting the applications: 100 messages more.
        received = before + sink.read_lines(100)
        source.send_signal(signal.SIGUSR1)  # stop sending; it stays open for its messages' sake
        last = int(source.expect("sent").split()[1])
        seqs, gaps = self.read_to_last(sink, received, last)
        for seq, line in zip(seqs, received):
            data = payload("s", seq)
            self.assertEqual(f"msg s {seq} {len(data)} {zlib.crc32(data)} 1", line)
        print(f"kill bridge {victim_side}: {last} sent, {len(seqs)} received, lost {last - len(seqs)} "
              f"(runs {gaps})", file=sys.stderr)
        self.assertEqual(f"done {len(seqs)}", self.stop_sink(sink))
        self.finish()

    def test_kill_listening_bridge_mid_stream(self):
        self.kill_mid_stream("B")

    def test_kill_connecting_bridge_mid_stream(self):
        self.kill_mid_stream("A")

    def kill_mid_topic_stream(self, victim_side):
        """Topic "frames", published on A (1 ms apart, until told to stop)
        and subscribed on B; the bridge on victim_side is killed with SIGKILL
        while it flows, its host reaped (the shared buffers its subscription
        and ZeroMQ held come back, checked by kill_bridge), then restarted
        with the same arguments while publisher and subscriber keep running.
        Publications reach the subscriber again; what was lost is one run.
        The bridge that lived accounts for every publication it saw, and
        every one the restarted bridge passed on arrived."""
        self.start_topic_bridges("frames")
        [sub] = self.subscribers("frames", (self.b, "subB"))
        pub = self.a.peer("publisher", "pubA", "frames", "--prefix", "k", "--gap-us", "1000")
        before = sub.read_lines(100)
        self.check_topic_stream(before, {"k": "hostA.pubA"}, 100)

        survivor = self.bridge_b if victim_side == "A" else self.bridge_a
        self.kill_bridge(victim_side, {"A": ("hostB", "hostA.frames"),
                                       "B": ("hostA", "hostA.pubA", "hostB.frames")}[victim_side])
        restarted = self.restart_bridge(victim_side)
        received = before + sub.read_lines(100)
        pub.send_signal(signal.SIGUSR1)  # stop publishing; it stays open for its publications' sake
        last, delivered, skipped = map(int, pub.expect("published").split()[1:])
        seqs, gaps = self.read_to_last(sub, received, last)
        for seq, line in zip(seqs, received):
            data = topic_payload("k", seq)
            self.assertEqual(f"msg k {seq} {len(data)} {zlib.crc32(data)} hostA.pubA 1", line)
        # Read once the last publication arrived, so each bridge has
        # counted every one it will.
        s_live, s_new = survivor.stats(), restarted.stats()
        self.assertEqual(0, skipped)
        if victim_side == "B":
            # A's bridge, pubA's one subscriber on A, saw every publication,
            # and sent each to B or counted it dropped (B dead or down).
            self.assertEqual(last, delivered)
            self.assertEqual(last, s_live["topic_forwarded"] + s_live["topic_dropped_link"]
                             + s_live["topic_dropped_peer_down"], s_live)
            passed_on = s_new["topic_published"]
        else:
            # B's bridge published on B every message the subscriber got.
            self.assertEqual(len(seqs), s_live["topic_published"])
            passed_on = s_new["topic_forwarded"]
        # The restarted bridge's publications are the stream's last, all there.
        self.assertGreater(passed_on, 0)
        self.assertEqual(list(range(last - passed_on + 1, last + 1)), seqs[-passed_on:])
        self.assertEqual((0, 0, 0, 0), (s_new["topic_skipped"], s_new["topic_dropped"], s_new["refused"],
                                        s_new["lost"]), "restarted: topic_skipped, topic_dropped, refused, lost")
        self.assertEqual((0, 0), (s_live["topic_skipped"], s_live["refused"]), "live: topic_skipped, refused")
        print(f"kill bridge {victim_side} mid topic: {last} published, {len(seqs)} received, "
              f"lost {last - len(seqs)} (runs {gaps})", file=sys.stderr)
        self.assertEqual(f"done {len(seqs)}", self.stop_sink(sub))
        self.finish()

    def test_kill_subscribers_bridge_mid_topic_stream(self):
        self.kill_mid_topic_stream("B")

    def test_kill_publishers_bridge_mid_topic_stream(self):
        self.kill_mid_topic_stream("A")


# ---- docs/bridge.md's walk-through ----------------------------------------------------------

class WalkThroughTest(unittest.TestCase):
    """docs/bridge.md's section "Walk-through: two hosts on one machine",
    run as an operator would type it. The section's conventions:
    - a ```sh block whose first line is "# As root..." runs with bash;
    - one whose first line is "# Host X's shell..." is one command that
      starts host X's shell; the harness keeps it, and feeds it
    - the blocks whose first line is "# On host X...", in order, waiting
      for each to end (its exit status must be 0);
    - a ```python block whose first line is "# NAME.py..." is written to
      NAME.py in the shells' working directory;
    - a ```text block right after a block is what that block prints, exactly
      (lines printed later by a command it started in the background
      count: they may come after the block ends).
    The namespace names demoA and demoB are replaced by unique ones; the
    commands find hsipc-bridge and hsipc on PATH and the binding through
    PYTHONPATH and HSIPC_LIBRARY, as the page says for a build tree."""

    SECTION = "## Walk-through: two hosts on one machine"

    def blocks(self):
        with open(os.path.join(SOURCE_DIR, "docs", "bridge.md"), encoding="utf-8") as f:
            text = f.read()
        start = text.index(self.SECTION)
        end = text.find("\n## ", start + 1)
        section = text[start:end if end > 0 else len(text)]
        return re.findall(r"^```(\w*)\n(.*?)^```\s*$", section, flags=re.S | re.M)

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="hsipc-netns-doc-")
        self.addCleanup(shutil.rmtree, self.work)
        bin_dir = os.path.join(self.work, "bin")
        os.mkdir(bin_dir)
        os.symlink(os.environ["HSIPC_BRIDGE"], os.path.join(bin_dir, "hsipc-bridge"))
        os.symlink(os.environ["HSIPC_CLI"], os.path.join(bin_dir, "hsipc"))
        self.env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ["PATH"])
        self.names = dict(zip(("demoA", "demoB"), unique_netns_names(2)))
        for name in self.names.values():
            self.addCleanup(remove_netns, name)
        self.shells = {}
        self.addCleanup(self.close_shells)

    def close_shells(self):
        for shell in self.shells.values():
            shell.kill()

    def rename(self, text):
        for old, new in self.names.items():
            text = re.sub(rf"\b{old}\b", new, text)
        return text

    def feed(self, host, body, expected):
        """Types body into host's shell; returns once it ended and printed
        expected (a list of lines, or None: anything)."""
        shell = self.shells[host]
        marker = f"@@block-done-{time.monotonic_ns()}"
        shell.popen.stdin.write(f"{body}\necho {marker} $?\n")
        shell.popen.stdin.flush()
        printed, status = [], None
        deadline = time.monotonic() + TIMEOUT
        while status is None or (expected is not None and len(printed) < len(expected)):
            line = shell.next_line(max(0.0, deadline - time.monotonic()))
            if line.startswith(marker):
                status = int(line.split()[1])
            else:
                printed.append(line)
        self.assertEqual(0, status, f"on host {host}: {body}\n{shell.error_lines()}")
        if expected is not None:
            self.assertEqual(expected, printed, f"output on host {host} of: {body}")

    def test_walk_through(self):
        blocks = self.blocks()
        ran = {"root": 0, "shell": 0, "host": 0, "file": 0, "checked": 0}
        for i, (lang, body) in enumerate(blocks):
            first = body.split("\n", 1)[0]
            expected = None
            if i + 1 < len(blocks) and blocks[i + 1][0] == "text":
                expected = blocks[i + 1][1].splitlines()
                ran["checked"] += 1
            if lang == "python":
                name = re.match(r"# (\w+\.py)\b", first)
                self.assertIsNotNone(name, f"a python block that is no file: {first}")
                with open(os.path.join(self.work, name.group(1)), "w") as f:
                    f.write(body)
                ran["file"] += 1
            elif lang == "sh" and first.startswith("# As root"):
                result = subprocess.run(["bash", "-e", "-c", self.rename(body)], cwd=self.work, env=self.env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
                self.assertEqual(0, result.returncode, f"{body}\n{result.stdout}")
                if expected is not None:
                    self.assertEqual(expected, result.stdout.splitlines())
                ran["root"] += 1
            elif lang == "sh" and re.match(r"# Host (\w)'s shell", first):
                host = re.match(r"# Host (\w)'s shell", first).group(1)
                lines = [line for line in body.splitlines() if line and not line.startswith("#")]
                self.assertEqual(1, len(lines), f"host {host}'s shell: one command, not {lines}")
                self.shells[host] = Proc(f"shell of host {host}", ["bash", "-c", "exec " + self.rename(lines[0])],
                                         env=self.env, stdin=subprocess.PIPE, cwd=self.work)
                ran["shell"] += 1
            elif lang == "sh" and re.match(r"# On host (\w)", first):
                host = re.match(r"# On host (\w)", first).group(1)
                self.feed(host, body, expected)
                ran["host"] += 1
                if "hsipc stat" in body:
                    self.check_proxies()
            elif lang == "sh":
                self.fail(f"a sh block of no known kind: {first}")
        self.assertEqual({"root": 2, "shell": 2, "host": 6, "file": 2, "checked": 2}, ran, "blocks run, by kind")
        # The teardown block stopped everything: the shells end.
        for shell in self.shells.values():
            shell.wait()

    def check_proxies(self):
        """What the page says `hsipc stat demo` lists on each host then."""
        for host, want in (("A", {"hostB", "hostB.server"}), ("B", {"server", "hostA", "hostA.client"})):
            out = command("nsenter", "--target", str(self.shells[host].pid), "--net", "--mount", "--",
                          os.environ["HSIPC_CLI"], "stat", "demo", "--json").stdout
            names = {e["name"] for e in json.loads(out)["endpoints"]}
            self.assertEqual(want, names, f"endpoints on host {host}")


def main():
    if sys.argv[1:] == ["--skip-check"]:  # for a human: would it run here?
        print(skip_reason() or "runs")
        return 0
    reason = skip_reason()
    if reason:
        print(f"bridge netns test: SKIPPED: {reason}")
        return SKIP
    remove_stale_netns()
    program = unittest.main(argv=[sys.argv[0], "-v", *sys.argv[1:]], exit=False)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
