#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The application processes of netns_test.py, run on a simulated host.

Each is an ordinary hsipc process written with the Python binding: it knows
nothing of the bridge beyond the names (a remote endpoint NAME of host PEER
is the local proxy PEER.NAME). Each reports on standard output, one line per
event, for the harness to check:

  sink REGION NAME [--from PROXY]
      "ready" once NAME is open; then per message "msg PREFIX SEQ LENGTH
      CRC32 FROM", FROM 1 when the sender is the local endpoint PROXY (the
      proxy that stands for the remote sender), else 0. SIGTERM: "done N".
  source REGION NAME DEST --prefix P [--count N] [--gap-us U]
      sends payload(P, 1), payload(P, 2), ... to DEST: N of them, or until
      SIGUSR1 where N is 0. Retries a full inbox (HSIPC_EFULL) and looks DEST
      up again when it is gone (HSIPC_EPEER, a restarted bridge). Then
      "sent N", N the last sequence number the library took, and it keeps
      NAME open until SIGTERM: a message whose sender closed before the
      bridge read it would come from the host proxy (docs/bridge.md).
  echo REGION NAME [--from PROXY]
      "ready"; replies to every message with its bytes upper-cased, sent to
      msg.sender, and prints "echoed PREFIX SEQ FROM". SIGTERM: "done N".
  request REGION NAME DEST --count N
      N requests payload("req", i), each awaited: "reply SEQ OK" where the
      reply is payload("req", i).upper() and comes from DEST, else "reply
      SEQ BAD". Then "replies N".
  subscriber REGION NAME TOPIC
      "ready" once NAME is open and subscribed to TOPIC; then per message
      "msg PREFIX SEQ LENGTH CRC32 SENDER SHARED", SENDER the name the
      publisher's id has in this region (a local publisher, or the bridge's
      proxy PEER.PUBLISHER for a remote one; "?" for an id first seen
      after its endpoint closed), SHARED 1 where msg.flags has MSG_SHARED.
      SIGTERM: "done N".
  publisher REGION NAME TOPIC --prefix P [--count N] [--gap-us U]
      publishes topic_payload(P, 1), topic_payload(P, 2), ... to TOPIC: N
      of them, or until SIGUSR1 where N is 0. Then "published N DELIVERED
      SKIPPED", the sums of what hsipc's publish returned, and it keeps NAME
      open until SIGTERM, as a source does (a publication whose publisher
      closed before the bridge read it would come from the host proxy).

Exit status 0 when the run went as described, 1 when a step timed out.
"""

import argparse
import signal
import sys
import time
import zlib

import hsipc

STEP_TIMEOUT = 10.0  # seconds any one send, lookup or reply may take
STOP = False          # SIGTERM: stop and leave
STOP_SENDING = False  # SIGUSR1 (or SIGTERM): a source stops sending


def payload(prefix: str, seq: int) -> bytes:
    """Message SEQ of a stream: "PREFIX SEQ " then filler. Most are under
    256 bytes and every 50th about 3 KB, so that a stream uses two of the
    default region's pools, yet a receiver that lags behind meets its
    inbox's capacity (1,024) long before the pools run out (4,096 buffers
    of 256 B, 256 of 64 KiB): what it then loses is counted, never a
    buffer shortage the test would have to allow for."""
    head = f"{prefix} {seq} ".encode()
    filler = bytes(range(32, 127)) * 32
    length = 2900 + seq % 100 if seq % 50 == 0 else (seq * 7919) % 200
    return head + filler[seq % 95:][:length]


def topic_payload(prefix: str, seq: int) -> bytes:
    """Publication SEQ of a topic stream: payload(), but every 100th fills a
    64 KiB buffer to its last byte and every 100th from the 50th is 1 MiB,
    so that a stream crosses in each of the default region's three pools
    (4,096 of 256 B, 256 of 64 KiB, 8 of 4 MiB). Two streams of 200 hold at
    most 4 of the 8 largest buffers of a host even if no one released any."""
    data = payload(prefix, seq)
    size = {0: 64 * 1024, 50: 1024 * 1024}.get(seq % 100)
    return (data * (size // len(data) + 1))[:size] if size else data


def parse(data: bytes):
    """(prefix, seq) of a payload() message."""
    prefix, seq, _ = data.split(b" ", 2)
    return prefix.decode(), int(seq)


def on_sigterm(*_):
    global STOP, STOP_SENDING
    STOP = STOP_SENDING = True


def on_sigusr1(*_):
    global STOP_SENDING
    STOP_SENDING = True


def say(line: str) -> None:
    print(line, flush=True)


class SenderCheck:
    """Whether a message came from local endpoint NAME: from any id NAME has
    had. Looked up again for an id not seen yet, as a restarted bridge opens
    its proxies under new ids (while messages from the old ones may still be
    queued); an id carries a generation, so an old one is no other endpoint's."""

    def __init__(self, region, name):
        self.region, self.name, self.ids = region, name, set()

    def __call__(self, sender: int) -> int:
        if self.name is None:
            return 1
        if sender not in self.ids:
            try:
                self.ids.add(self.region.lookup(self.name))
            except hsipc.NotFound:
                return 0
        return int(sender in self.ids)


class SenderNames:
    """The name of the endpoint an id stands for, as this region lists it.
    Looked up once per id: an id carries a generation, so no later endpoint
    has it, and the name a message's sender had stays right after the
    endpoint closed (a restarted bridge's new proxies have new ids)."""

    def __init__(self, region):
        self.region, self.names = region, {}

    def __call__(self, sender: int) -> str:
        if sender not in self.names:
            listed = {e.id: e.name for e in self.region.endpoints()}
            if sender not in listed:
                return "?"
            self.names[sender] = listed[sender]
        return self.names[sender]


class Stopped(Exception):
    """Told to stop sending while waiting for a name."""


def lookup(region, name: str) -> int:
    deadline = time.monotonic() + STEP_TIMEOUT
    while not STOP_SENDING:
        try:
            return region.lookup(name, timeout=0.05)
        except hsipc.NotFound:
            if time.monotonic() > deadline:
                raise
    raise Stopped()


def send(region, ep, dest_name: str, dest: int, data: bytes) -> int:
    """Sends data to dest_name (whose id was dest); the id it went to."""
    buf = region.alloc(len(data), timeout=STEP_TIMEOUT)
    buf.data[:len(data)] = data
    deadline = time.monotonic() + STEP_TIMEOUT
    try:
        while True:
            try:
                ep.send(dest, buf, len(data))
                return dest
            except hsipc.Full:
                time.sleep(0.001)
            except hsipc.PeerGone:
                dest = lookup(region, dest_name)
            if time.monotonic() > deadline:
                raise TimeoutError(f"no send to {dest_name} within {STEP_TIMEOUT} s")
    except BaseException:
        buf.release()  # still ours: the send never succeeded
        raise


def run_sink(region, args) -> int:
    check = SenderCheck(region, args.sender)
    with region.open(args.name) as ep:
        say("ready")
        count = 0
        while not STOP:
            msg = ep.poll(timeout=0.05)
            if msg is None:
                continue
            with msg:
                data = bytes(msg.data[:msg.length])
                prefix, seq = parse(data)
                say(f"msg {prefix} {seq} {len(data)} {zlib.crc32(data)} {check(msg.sender)}")
            count += 1
        say(f"done {count}")
    return 0


def run_source(region, args) -> int:
    with region.open(args.name) as ep:
        seq = 0
        try:
            dest = lookup(region, args.dest)
            while not STOP_SENDING and (args.count == 0 or seq < args.count):
                dest = send(region, ep, args.dest, dest, payload(args.prefix, seq + 1))
                seq += 1
                if args.gap_us:
                    time.sleep(args.gap_us / 1e6)
        except Stopped:
            pass
        say(f"sent {seq}")
        while not STOP:
            time.sleep(0.01)
    return 0


def run_echo(region, args) -> int:
    check = SenderCheck(region, args.sender)
    with region.open(args.name) as ep:
        say("ready")
        count = 0
        while not STOP:
            msg = ep.poll(timeout=0.05)
            if msg is None:
                continue
            data = bytes(msg.data[:msg.length])
            prefix, seq = parse(data)
            came_from = check(msg.sender)
            msg.data[:msg.length] = data.upper()
            deadline = time.monotonic() + STEP_TIMEOUT
            while True:
                try:
                    ep.send(msg.sender, msg, msg.length)
                    break
                except hsipc.Full:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.001)
            say(f"echoed {prefix} {seq} {came_from}")
            count += 1
        say(f"done {count}")
    return 0


def run_request(region, args) -> int:
    with region.open(args.name) as ep:
        dest = lookup(region, args.dest)
        for seq in range(1, args.count + 1):
            data = payload("req", seq)
            dest = send(region, ep, args.dest, dest, data)
            with ep.recv(timeout=STEP_TIMEOUT) as reply:
                good = bytes(reply.data[:reply.length]) == data.upper() and reply.sender == dest
            say(f"reply {seq} {'OK' if good else 'BAD'}")
        say(f"replies {args.count}")
    return 0


def run_subscriber(region, args) -> int:
    name_of = SenderNames(region)
    with region.open(args.name) as ep:
        ep.subscribe(region.topic(args.topic))
        say("ready")
        count = 0
        while not STOP:
            msg = ep.poll(timeout=0.05)
            if msg is None:
                continue
            with msg:
                data = bytes(msg.data[:msg.length])  # a read-only view: the other subscribers' bytes too
                prefix, seq = parse(data)
                shared = int(bool(msg.flags & hsipc.MSG_SHARED))
                say(f"msg {prefix} {seq} {len(data)} {zlib.crc32(data)} {name_of(msg.sender)} {shared}")
            count += 1
        say(f"done {count}")
    return 0


def run_publisher(region, args) -> int:
    with region.open(args.name) as ep:
        topic = region.topic(args.topic)
        seq = delivered = skipped = 0
        while not STOP_SENDING and (args.count == 0 or seq < args.count):
            data = topic_payload(args.prefix, seq + 1)
            buf = region.alloc(len(data), timeout=STEP_TIMEOUT)
            buf.data[:len(data)] = data
            try:
                result = ep.publish(topic, buf, len(data))
            except BaseException:
                buf.release()  # still ours: the publish never happened
                raise
            seq += 1
            delivered += result.delivered
            skipped += result.skipped
            if args.gap_us:
                time.sleep(args.gap_us / 1e6)
        say(f"published {seq} {delivered} {skipped}")
        while not STOP:
            time.sleep(0.01)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="role", required=True)
    for role in ("sink", "source", "echo", "request", "subscriber", "publisher"):
        p = sub.add_parser(role)
        p.add_argument("region")
        p.add_argument("name")
        if role in ("subscriber", "publisher"):
            p.add_argument("topic")
        if role in ("source", "request"):
            p.add_argument("dest")
        if role in ("source", "request", "publisher"):
            p.add_argument("--count", type=int, default=0)
        if role in ("sink", "echo"):
            p.add_argument("--from", dest="sender")
        if role in ("source", "publisher"):
            p.add_argument("--prefix", required=True)
            p.add_argument("--gap-us", type=int, default=0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGUSR1, on_sigusr1)
    run = {"sink": run_sink, "source": run_source, "echo": run_echo, "request": run_request,
           "subscriber": run_subscriber, "publisher": run_publisher}[args.role]
    try:
        with hsipc.attach(args.region) as region:
            return run(region, args)
    except (TimeoutError, hsipc.NotFound) as e:
        print(f"netns_peer {args.role}: {e}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
