#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Simulated hosts on one machine, for netns_test.py.

A host is a network namespace and a mount namespace with a fresh tmpfs on
/dev/shm, so two hosts' regions are as separate as on two machines. Each is
held by a shell started as docs/bridge.md's walk-through starts one (`ip
netns exec NS unshare --mount sh -c 'mount -t tmpfs ... && exec bash'`);
everything else on the host runs in that shell's namespaces through
nsenter: its hsipc-bridge (Bridge) and application processes (netns_peer.py
roles), each a Proc whose output is read line by line with timeouts.

Every process started here dies with the harness (PR_SET_PDEATHSIG), and
namespaces left by a harness that was killed are removed by the next run
(remove_stale_netns): their names carry the harness's pid.
"""

import ctypes
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))

TIMEOUT = 15.0         # seconds any awaited event may take before the case fails
PREFIX = "hsipc-netns"  # namespace names: PREFIX-PID-N, PID the harness's
REGION = "net"         # every host's region: a name each host has to itself

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_harness():
    """In a child before exec: killed if the harness dies, so that a harness
    killed by CTest's timeout leaves no bridge behind. Kept across the execs
    of ip netns exec, unshare and nsenter, which do not fork."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def command(*argv, check=True, **kwargs):
    result = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            timeout=TIMEOUT, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {result.returncode}: {result.stderr.strip()}")
    return result


def wait_for(predicate, what, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.01)


# ---- Namespaces -----------------------------------------------------------------

_serial = 0


def unique_netns_names(count):
    """Names no other run uses: this harness's pid in each."""
    global _serial
    _serial += 1
    return [f"{PREFIX}-{os.getpid()}-{_serial}-{chr(ord('a') + i)}" for i in range(count)]


def remove_netns(name):
    """Kills whatever still runs in netns `name` and removes it."""
    pids = command("ip", "netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    command("ip", "netns", "del", name, check=False)


def remove_stale_netns():
    """Namespaces of earlier runs that were killed before cleaning up."""
    listing = command("ip", "netns", "list", check=False).stdout
    for name in re.findall(rf"^({PREFIX}-(\d+)-\S+)", listing, flags=re.M):
        if not os.path.exists(f"/proc/{name[1]}"):
            remove_netns(name[0])


def veth_pair(ns_a, ns_b, addr_a, addr_b):
    """veth0 in each namespace, joined; the commands of docs/bridge.md."""
    command("ip", "-n", ns_a, "link", "add", "veth0", "type", "veth", "peer", "name", "veth0", "netns", ns_b)
    for ns, addr in ((ns_a, addr_a), (ns_b, addr_b)):
        command("ip", "-n", ns, "addr", "add", addr + "/24", "dev", "veth0")
        command("ip", "-n", ns, "link", "set", "veth0", "up")


def skip_reason():
    """Why this machine cannot run the test, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, veth pairs and tmpfs mounts)"
    for tool in ("ip", "unshare", "nsenter"):
        if not shutil.which(tool):
            return None  # not a kernel refusal: the test fails and says what is missing
    # What a host's shell does first: a network namespace, and a tmpfs on
    # /dev/shm in a mount namespace of its own.
    probe = command("unshare", "--net", "--mount", "mount", "-t", "tmpfs", "tmpfs", "/dev/shm", check=False)
    if probe.returncode != 0:
        return f"network or mount namespaces (or a tmpfs mount in one) are refused here: {probe.stderr.strip()}"
    ns = unique_netns_names(1)[0]
    try:
        add = command("ip", "netns", "add", ns, check=False)
        if add.returncode != 0:
            return f"ip netns add refused: {add.stderr.strip()}"
        veth = command("ip", "-n", ns, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", check=False)
        if veth.returncode != 0:
            return f"the kernel refuses veth pairs: {veth.stderr.strip()}"
    finally:
        remove_netns(ns)
    return None


# ---- Processes --------------------------------------------------------------------

class Proc:
    """A process on a host. Its standard output is read line by line as it
    comes (expect(), read_lines()); its standard error is kept for the log
    (and, for a bridge, its counters)."""

    def __init__(self, label, argv, env=None, stdin=subprocess.DEVNULL, cwd=None):
        self.label = label
        self.popen = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=env, cwd=cwd, preexec_fn=_die_with_harness)
        self.pid = self.popen.pid
        self.lines = queue.Queue()
        self.errors = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, args=(self.popen.stdout, self.lines.put), daemon=True).start()
        threading.Thread(target=self._read, args=(self.popen.stderr, self._keep_error), daemon=True).start()

    @staticmethod
    def _read(stream, sink):
        with stream:
            for line in stream:
                sink(line.rstrip("\n"))

    def _keep_error(self, line):
        with self._lock:
            self.errors.append(line)

    def error_lines(self):
        with self._lock:
            return list(self.errors)

    def next_line(self, timeout=TIMEOUT):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{self.label}: nothing printed within {timeout:.0f} s "
                                 f"(exit status {self.popen.poll()})") from None

    def expect(self, prefix, timeout=TIMEOUT):
        """The next line, which must start with prefix."""
        line = self.next_line(timeout)
        if not line.startswith(prefix):
            raise AssertionError(f"{self.label}: expected '{prefix}...', got {line!r}")
        return line

    def read_lines(self, count, timeout=TIMEOUT):
        """The next count lines, all within timeout."""
        deadline = time.monotonic() + timeout
        return [self.next_line(max(0.0, deadline - time.monotonic())) for _ in range(count)]

    def send_signal(self, sig):
        if self.popen.poll() is None:
            self.popen.send_signal(sig)

    def wait(self, timeout=TIMEOUT):
        status = self.popen.wait(timeout=timeout)
        if self.popen.stdin:
            self.popen.stdin.close()
        return status

    def stop(self, sig=signal.SIGTERM):
        """Stops it with sig; its exit status (negative: killed by a signal)."""
        self.send_signal(sig)
        return self.wait()

    def kill(self):
        if self.popen.poll() is None:
            self.popen.kill()
        try:
            self.wait()
        except subprocess.TimeoutExpired:
            pass


class Bridge(Proc):
    STATS = re.compile(r"^hsipc-bridge\[[^\]]+\]: stats (.*)$")

    def __init__(self, host, args):
        self.args = args
        super().__init__(f"bridge on {host.label}", host.enter([os.environ["HSIPC_BRIDGE"], *args]))

    def stats_lines(self):
        return [m.group(1) for m in map(self.STATS.match, self.error_lines()) if m]

    def stats(self):
        """Its counters now (SIGUSR1 makes it print them)."""
        before = len(self.stats_lines())
        self.send_signal(signal.SIGUSR1)
        wait_for(lambda: len(self.stats_lines()) > before, f"{self.label}'s counters")
        return {k: int(v) for k, v in (kv.split("=") for kv in self.stats_lines()[-1].split())}


class Host:
    """One simulated host: a network namespace and a shell in a mount
    namespace of its own, with a fresh tmpfs on /dev/shm."""

    def __init__(self, label, netns, address):
        self.label, self.netns, self.address = label, netns, address
        self.procs = []
        self.shell = Proc(f"shell of {label}", ["ip", "netns", "exec", netns, "unshare", "--mount", "sh", "-c",
                                                "mount -t tmpfs tmpfs /dev/shm && echo ready && exec bash"],
                          stdin=subprocess.PIPE)
        self.shell.expect("ready")

    def enter(self, argv):
        """argv, to run in this host's namespaces."""
        return ["nsenter", "--target", str(self.shell.pid), "--net", "--mount", "--", *argv]

    def run(self, *argv):
        return command(*self.enter(list(argv)))

    def bridge(self, *args):
        b = Bridge(self, list(args))
        self.procs.append(b)
        return b

    def peer(self, role, *args):
        """A netns_peer.py process (see there for the roles)."""
        p = Proc(f"{role} on {self.label}",
                 self.enter([sys.executable, os.path.join(HERE, "netns_peer.py"), role, REGION, *args]))
        self.procs.append(p)
        return p

    def reap(self):
        return self.run(os.environ["HSIPC_CLI"], "reap", REGION).stdout

    def stat(self):
        return json.loads(self.run(os.environ["HSIPC_CLI"], "stat", REGION, "--json").stdout)

    def endpoint_names(self):
        """The open endpoints' names; none while the region does not exist yet."""
        try:
            return {e["name"] for e in self.stat()["endpoints"]}
        except RuntimeError:
            return set()

    def close(self):
        for p in self.procs:
            p.kill()
        self.shell.kill()
        remove_netns(self.netns)
