#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""hsipc from Python against multiprocessing, between two Python processes.

    python3 bindings/python/bench.py            # full run, best of 3
    python3 bindings/python/bench.py --quick    # a few seconds

Two workloads, each through four mechanisms:

* 1 MiB frames, one way: the producer writes every byte of each frame into
  the channel (a copy of one of four random frames), the consumer reads every
  byte and checks it, twice over: once with zlib.crc32 against the frame's
  CRC (about 2.5 GB/s here, so it caps every mechanism), once by comparing
  it with the expected frame (bytes.startswith on equal lengths: a memcmp,
  about 40 GB/s), which leaves the cost of moving the frame. Throughput.
* 64 B round trips: ping sends a sequence number, pong sends the message
  back, ping checks it. Mean time per round trip.

Mechanisms: hsipc (frames: the producer allocates, the consumer releases,
both lock-free and without a wake-up, and the producer sleeps 50 us while all
8 frame buffers are in flight; round trips: one message forwarded both ways
with blocking polls),
multiprocessing.Queue, multiprocessing.Pipe, and a
multiprocessing.shared_memory ring whose slot numbers travel through
multiprocessing queues. Children are started with 'spawn' and attach anew.
The two processes of every measurement run on CPUs of their own (as in
examples/demo.c); --no-pin leaves their placement to the kernel. Round trips
report mean and median: on a shared machine the mean carries the moments
another process took the CPU.

It also measures what a ctypes call costs, since in Python that, not the
library, bounds small messages.
"""

from __future__ import annotations

import argparse
import ctypes
import multiprocessing
import os
import random
import struct
import sys
import time
import zlib
from multiprocessing import shared_memory
from typing import Callable, Dict, List, Optional, Tuple

import hsipc

FRAME = 1 << 20
FRAME_KINDS = 4  # distinct random frames, used in turn
SLOTS = 8  # frames in flight: hsipc buffers, ring slots, Queue maxsize
SMALL = 64
BACKOFF = 0.00005  # seconds the hsipc producer sleeps while every frame buffer is in flight
WAIT = 30.0  # seconds a child waits for anything before giving up
SEQ = struct.Struct("<Q")


def frames() -> List[bytes]:
    rng = random.Random(1)
    return [rng.randbytes(FRAME) for _ in range(FRAME_KINDS)]


# ---- children (module level: 'spawn' imports this file) ---------------------


def pin(cpu: Optional[int]) -> None:
    """Keeps this process on `cpu` (None: anywhere). Both workloads run their
    two processes on CPUs of their own, as examples/demo.c does: two
    processes that share one CPU take turns instead of running side by side,
    whatever carries their messages."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def child(kind: str, workload: str, args: dict, control) -> None:  # type: ignore[no-untyped-def]
    """Runs the other end of `kind`/`workload`; reports through `control`."""
    pin(args.get("cpu"))
    try:
        CHILDREN[(kind, workload)](args, control)
    except BaseException as e:
        control.send(("error", f"{type(e).__name__}: {e}"))
        raise


def check_frames(count: int, check: str, get: Callable[[int], object], done: Callable[[object], None],
                 control) -> None:  # type: ignore[no-untyped-def]
    """The consumer of every frame workload: get(i) gives frame i's bytes,
    done(item) gives the channel its slot back. `check` is "crc" or "cmp"."""
    bad = 0
    expected = frames() if check == "cmp" else None
    crcs = [zlib.crc32(f) for f in (expected or frames())]
    for i in range(count):
        item = get(i)
        view = item.data if isinstance(item, hsipc.Message) else item
        k = i % FRAME_KINDS
        if expected is not None:
            ok = len(view) == FRAME and expected[k].startswith(view)  # type: ignore[arg-type]
        else:
            ok = zlib.crc32(view) == crcs[k]
        if not ok:
            bad += 1
        done(item)
        if i + 1 == args_warm(count):
            control.send(("warm", bad))
            cpu_start = time.process_time()
    control.send(("done", bad, (time.process_time() - cpu_start) / (count - args_warm(count))))


def args_warm(count: int) -> int:
    return min(SLOTS * 2, count // 4)


def hsipc_frames_child(args: dict, control) -> None:  # type: ignore[no-untyped-def]
    with hsipc.attach(args["region"]) as region, region.open("consumer") as ep:
        control.send(("ready",))

        def get(i: int) -> hsipc.Message:
            msg = ep.poll(WAIT)
            if msg is None:
                raise TimeoutError("no frame")
            return msg

        if args["flow"] == "return":
            producer = region.lookup("producer")
            done: Callable[[object], None] = lambda msg: ep.send(producer, msg)  # noqa: E731
        else:
            done = hsipc.Message.release  # type: ignore[assignment]
        check_frames(args["count"], args["check"], get, done, control)


def queue_frames_child(args: dict, control) -> None:  # type: ignore[no-untyped-def]
    q = args["queue"]
    control.send(("ready",))
    check_frames(args["count"], args["check"], lambda i: q.get(timeout=WAIT), lambda item: None, control)


def pipe_frames_child(args: dict, control) -> None:  # type: ignore[no-untyped-def]
    conn = args["conn"]
    control.send(("ready",))

    def get(i: int) -> bytes:
        if not conn.poll(WAIT):
            raise TimeoutError("no frame")
        return conn.recv_bytes()

    check_frames(args["count"], args["check"], get, lambda item: None, control)


def attach_shm(name: str) -> shared_memory.SharedMemory:
    # Attaching registers the object with the resource tracker as if we had
    # made it (Python < 3.13); a 'spawn' child shares its parent's tracker,
    # so that is harmless, and the parent unlinks it.
    return shared_memory.SharedMemory(name=name)


def ring_frames_child(args: dict, control) -> None:  # type: ignore[no-untyped-def]
    shm = attach_shm(args["shm"])
    full, free = args["full"], args["free"]
    control.send(("ready",))
    slots = [shm.buf[s * FRAME:(s + 1) * FRAME] for s in range(SLOTS)]
    current = [0]

    def get(i: int) -> memoryview:
        current[0] = full.get(timeout=WAIT)
        return slots[current[0]]

    try:
        check_frames(args["count"], args["check"], get, lambda item: free.put(current[0]), control)
    finally:
        for view in slots:
            view.release()
        shm.close()


def hsipc_rt_child(args: dict, control) -> None:  # type: ignore[no-untyped-def]
    with hsipc.attach(args["region"]) as region, region.open("pong") as ep:
        control.send(("ready",))
        poll, send = ep.poll, ep.send
        while True:
            msg = poll(None)
            if msg.length == 0:
                msg.release()
                break
            send(msg.sender, msg)
    control.send(("done", 0))


def queue_rt_child(args: dict, control) -> None:  # type: ignore[no-untyped-def]
    ping, pong = args["ping"], args["pong"]
    control.send(("ready",))
    while True:
        item = ping.get(timeout=WAIT)
        if not item:
            break
        pong.put(item)
    control.send(("done", 0))


def pipe_rt_child(args: dict, control) -> None:  # type: ignore[no-untyped-def]
    conn = args["conn"]
    control.send(("ready",))
    while True:
        if not conn.poll(WAIT):
            raise TimeoutError("no ping")
        item = conn.recv_bytes()
        if not item:
            break
        conn.send_bytes(item)
    control.send(("done", 0))


def ring_rt_child(args: dict, control) -> None:  # type: ignore[no-untyped-def]
    shm = attach_shm(args["shm"])
    ping, pong = args["ping"], args["pong"]
    control.send(("ready",))
    buf = shm.buf
    try:
        while True:
            slot = ping.get(timeout=WAIT)
            if slot < 0:
                break
            SEQ.unpack_from(buf, slot * SMALL)  # read it, as the others do
            pong.put(slot)
    finally:
        del buf
        shm.close()
    control.send(("done", 0))


CHILDREN: Dict[Tuple[str, str], Callable] = {
    ("hsipc", "frames"): hsipc_frames_child,
    ("queue", "frames"): queue_frames_child,
    ("pipe", "frames"): pipe_frames_child,
    ("ring", "frames"): ring_frames_child,
    ("hsipc", "rt"): hsipc_rt_child,
    ("queue", "rt"): queue_rt_child,
    ("pipe", "rt"): pipe_rt_child,
    ("ring", "rt"): ring_rt_child,
}


# ---- the parent's side --------------------------------------------------------


class Child:
    """A spawned child and the control pipe it reports through."""

    def __init__(self, ctx, kind: str, workload: str, args: dict) -> None:  # type: ignore[no-untyped-def]
        self.control, their_end = ctx.Pipe()
        self.proc = ctx.Process(target=child, args=(kind, workload, args, their_end), daemon=True)
        self.proc.start()
        their_end.close()

    def expect(self, what: str) -> tuple:
        if not self.control.poll(WAIT):
            raise RuntimeError(f"child sent no {what!r} within {WAIT} s")
        msg = self.control.recv()
        if msg[0] != what:
            raise RuntimeError(f"child: {msg}")
        return msg

    def finish(self) -> None:
        self.proc.join(WAIT)
        if self.proc.exitcode != 0:
            raise RuntimeError(f"child exited with {self.proc.exitcode}")

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


def run_frames(ctx, kind: str, check: str, count: int, data: List[bytes], region: str) -> Tuple[float, float]:  # type: ignore[no-untyped-def]
    """(bytes per second, CPU seconds per frame of both processes together)
    of `count` frames checked by `check`, after a warm-up."""
    warm = args_warm(count)
    mine, theirs = cpu_pair()
    args: dict = {"count": count, "check": check, "cpu": theirs}
    cleanup: List[Callable[[], None]] = []
    allowed = os.sched_getaffinity(0)
    cleanup.append(lambda: os.sched_setaffinity(0, allowed))
    pin(mine)
    try:
        if kind == "hsipc":
            cfg = hsipc.Config(pools=[(256, 16), (FRAME, SLOTS)], inbox_capacity=2 * SLOTS)
            reg = hsipc.attach(region, cfg)
            cleanup.append(lambda: hsipc.unlink(region))
            cleanup.append(reg.detach)
            ep = reg.open("producer")
            args.update(region=region, flow=FLOW)
            c = Child(ctx, kind, "frames", args)
            c.expect("ready")
            consumer = reg.lookup("consumer")
            send, alloc, poll = ep.send, reg.alloc, ep.poll

            def produce(i: int) -> None:
                if FLOW == "return":
                    # SLOTS buffers circulate: new ones first, then each as
                    # the consumer sends it back.
                    buf = alloc(FRAME) if i < SLOTS else poll(WAIT)
                else:
                    while True:
                        try:
                            buf = alloc(FRAME)
                            break
                        except hsipc.NoMemory:
                            # All SLOTS frames are in flight. The consumer
                            # frees them with a release, which wakes no one:
                            # look again shortly.
                            time.sleep(BACKOFF)
                buf.data[:] = data[i % FRAME_KINDS]
                send(consumer, buf, FRAME)

            def drain() -> None:
                if FLOW == "return":
                    for _ in range(min(SLOTS, count)):
                        poll(WAIT).release()
        elif kind == "queue":
            q = ctx.Queue(maxsize=SLOTS)
            args["queue"] = q
            c = Child(ctx, kind, "frames", args)
            c.expect("ready")

            def produce(i: int) -> None:
                q.put(data[i % FRAME_KINDS])

            def drain() -> None:
                pass
        elif kind == "pipe":
            ours, theirs = ctx.Pipe(duplex=False)
            args["conn"] = ours
            c = Child(ctx, kind, "frames", args)
            ours.close()
            c.expect("ready")

            def produce(i: int) -> None:
                theirs.send_bytes(data[i % FRAME_KINDS])

            def drain() -> None:
                pass
        else:
            shm = shared_memory.SharedMemory(create=True, size=SLOTS * FRAME)
            cleanup.append(shm.unlink)
            cleanup.append(shm.close)
            full, free = ctx.Queue(), ctx.Queue()
            args.update(shm=shm.name, full=full, free=free)
            c = Child(ctx, kind, "frames", args)
            c.expect("ready")
            buf = shm.buf
            cleanup.append(buf.release)
            for s in range(SLOTS):
                free.put(s)

            def produce(i: int) -> None:
                s = free.get(timeout=WAIT)
                buf[s * FRAME:(s + 1) * FRAME] = data[i % FRAME_KINDS]
                full.put(s)

            def drain() -> None:
                pass
        cleanup.append(c.kill)
        for i in range(warm):
            produce(i)
        if c.expect("warm")[1]:
            raise RuntimeError(f"{kind}: corrupted frames")
        start = time.perf_counter()
        cpu_start = time.process_time()
        for i in range(warm, count):
            produce(i)
        _, bad, consumer_cpu = c.expect("done")
        elapsed = time.perf_counter() - start
        producer_cpu = (time.process_time() - cpu_start) / (count - warm)
        if bad:
            raise RuntimeError(f"{kind}: {bad} corrupted frames")
        drain()
        c.finish()
        return (count - warm) * FRAME / elapsed, producer_cpu + consumer_cpu
    finally:
        for step in reversed(cleanup):
            try:
                step()
            except Exception:
                pass


PIN = True  # --no-pin clears it
FLOW = "release"  # hsipc frames (--flow): the consumer releases each buffer, or "return"s it to the producer


def cpu_pair() -> Tuple[Optional[int], Optional[int]]:
    cpus = sorted(os.sched_getaffinity(0))
    return (cpus[0], cpus[1]) if PIN and len(cpus) >= 2 else (None, None)


def run_round_trips(ctx, kind: str, count: int, region: str) -> Tuple[float, float]:  # type: ignore[no-untyped-def]
    """(mean, median) seconds per 64 B round trip, after a warm-up."""
    warm = min(1000, count)
    cleanup: List[Callable[[], None]] = []
    mine, theirs = cpu_pair()
    args: dict = {"cpu": theirs}
    allowed = os.sched_getaffinity(0)
    cleanup.append(lambda: os.sched_setaffinity(0, allowed))
    pin(mine)
    samples: List[int] = []
    clock = time.perf_counter_ns
    try:
        if kind == "hsipc":
            reg = hsipc.attach(region, hsipc.Config(pools=[(SMALL, 16)], inbox_capacity=16))
            cleanup.append(lambda: hsipc.unlink(region))
            cleanup.append(reg.detach)
            ep = reg.open("ping")
            args["region"] = region
            c = Child(ctx, kind, "rt", args)
            c.expect("ready")
            pong = reg.lookup("pong")
            poll, send = ep.poll, ep.send
            msg = reg.alloc(SMALL)
            pack, unpack = SEQ.pack_into, SEQ.unpack_from

            def loop(first: int, n: int) -> None:
                nonlocal msg
                for seq in range(first, first + n):
                    t = clock()
                    pack(msg.data, 0, seq)
                    send(pong, msg, SMALL)
                    msg = poll(None)
                    if unpack(msg.data)[0] != seq:
                        raise RuntimeError("hsipc: wrong reply")
                    samples.append(clock() - t)

            def stop() -> None:
                send(pong, msg, 0)
        elif kind == "queue":
            ping_q, pong_q = ctx.Queue(), ctx.Queue()
            args.update(ping=ping_q, pong=pong_q)
            c = Child(ctx, kind, "rt", args)
            c.expect("ready")
            payload = bytearray(SMALL)

            def loop(first: int, n: int) -> None:
                for seq in range(first, first + n):
                    t = clock()
                    SEQ.pack_into(payload, 0, seq)
                    ping_q.put(bytes(payload))
                    if SEQ.unpack_from(pong_q.get(timeout=WAIT))[0] != seq:
                        raise RuntimeError("queue: wrong reply")
                    samples.append(clock() - t)

            def stop() -> None:
                ping_q.put(b"")
        elif kind == "pipe":
            ours, theirs = ctx.Pipe()
            args["conn"] = theirs
            c = Child(ctx, kind, "rt", args)
            theirs.close()
            c.expect("ready")
            payload = bytearray(SMALL)

            def loop(first: int, n: int) -> None:
                for seq in range(first, first + n):
                    t = clock()
                    SEQ.pack_into(payload, 0, seq)
                    ours.send_bytes(payload)
                    if SEQ.unpack_from(ours.recv_bytes())[0] != seq:
                        raise RuntimeError("pipe: wrong reply")
                    samples.append(clock() - t)

            def stop() -> None:
                ours.send_bytes(b"")
        else:
            shm = shared_memory.SharedMemory(create=True, size=SLOTS * SMALL)
            cleanup.append(shm.unlink)
            cleanup.append(shm.close)
            ping_q, pong_q = ctx.Queue(), ctx.Queue()
            args.update(shm=shm.name, ping=ping_q, pong=pong_q)
            c = Child(ctx, kind, "rt", args)
            c.expect("ready")
            buf = shm.buf
            cleanup.append(buf.release)

            def loop(first: int, n: int) -> None:
                for seq in range(first, first + n):
                    t = clock()
                    slot = seq % SLOTS
                    SEQ.pack_into(buf, slot * SMALL, seq)
                    ping_q.put(slot)
                    back = pong_q.get(timeout=WAIT)
                    if SEQ.unpack_from(buf, back * SMALL)[0] != seq:
                        raise RuntimeError("ring: wrong reply")
                    samples.append(clock() - t)

            def stop() -> None:
                ping_q.put(-1)
        cleanup.append(c.kill)
        loop(0, warm)
        del samples[:]
        loop(warm, count)
        stop()
        c.expect("done")
        c.finish()
        samples.sort()
        return sum(samples) / len(samples) / 1e9, samples[len(samples) // 2] / 1e9
    finally:
        for step in reversed(cleanup):
            try:
                step()
            except Exception:
                pass


# ---- what ctypes costs ------------------------------------------------------------


def ctypes_costs(calls: int, region_name: str) -> List[Tuple[str, float]]:
    """Nanoseconds per operation, best of 5 batches of `calls`."""
    from hsipc import _lib

    def best(fn: Callable[[int], None], n: int = calls) -> float:
        times = []
        for _ in range(5):
            t = time.perf_counter()
            fn(n)
            times.append((time.perf_counter() - t) / n * 1e9)
        return min(times)

    rows = []
    with hsipc.attach(region_name, hsipc.Config(pools=[(SMALL, 64)], inbox_capacity=64)) as region, \
            region.open("me") as ep:
        try:
            handle, msg, zero = ep._handle, ep._msg, ctypes.c_int64(0)

            # What ctypes gives without care: a GIL-releasing CDLL with errno
            # capture, a typed pointer for the opaque handle, a Python int
            # timeout and a byref() per call.
            class Opaque(ctypes.Structure):
                pass

            naive = ctypes.CDLL(_lib.path, use_errno=True).hsipc_poll
            naive.argtypes = [ctypes.POINTER(Opaque), ctypes.POINTER(_lib.hsipc_msg), ctypes.c_int64]
            typed = ctypes.cast(handle, ctypes.POINTER(Opaque))
            byref = ctypes.byref

            def naive_poll(n: int) -> None:
                for _ in range(n):
                    naive(typed, byref(msg), 0)

            fast = _lib.fast.hsipc_poll

            def fast_poll(n: int) -> None:
                for _ in range(n):
                    fast(handle, msg, zero)

            def binding_poll(n: int) -> None:
                poll = ep.poll
                for _ in range(n):
                    poll(0)

            def empty(n: int) -> None:
                for _ in range(n):
                    pass

            raw_alloc, raw_release = _lib.fast.hsipc_alloc, _lib.fast.hsipc_release
            rhandle = region._handle

            def raw_alloc_release(n: int) -> None:
                for _ in range(n):
                    out = _lib.hsipc_off()
                    raw_alloc(rhandle, SMALL, out)
                    raw_release(rhandle, out.value)

            def binding_alloc_release(n: int) -> None:
                alloc = region.alloc
                for _ in range(n):
                    alloc(SMALL).release()

            me = ep.id

            def binding_forward(n: int) -> None:
                poll, send = ep.poll, ep.send
                send(me, region.alloc(SMALL), SMALL)
                for _ in range(n):
                    send(me, poll(0), SMALL)
                poll(0).release()

            def binding_batch(n: int) -> None:
                poll_many, send = ep.poll_many, ep.send
                for _ in range(SMALL):
                    send(me, region.alloc(SMALL), SMALL)
                for _ in range(0, n, SMALL):
                    for m in poll_many(SMALL, 0):
                        send(me, m, SMALL)
                for m in poll_many(SMALL, 0):
                    m.release()

            loop = best(empty)
            rows.append(("hsipc_poll(timeout 0), naive ctypes: CDLL, typed handle, byref per call",
                         best(naive_poll) - loop))
            rows.append(("hsipc_poll(timeout 0), as the binding calls it: PyDLL, void*, prebuilt args",
                         best(fast_poll) - loop))
            rows.append(("Endpoint.poll(0), nothing there", best(binding_poll) - loop))
            rows.append(("hsipc_alloc + hsipc_release, raw ctypes", best(raw_alloc_release) - loop))
            rows.append(("Region.alloc(64) + Buffer.release()", best(binding_alloc_release) - loop))
            rows.append(("Endpoint.send(forward) + Endpoint.poll(0), one message to itself",
                         best(binding_forward) - loop))
            rows.append(("Endpoint.send(forward) + a 64th of Endpoint.poll_many(64, 0), per message",
                         best(binding_batch) - loop))
        finally:
            hsipc.unlink(region_name)
    return rows


# ---- main --------------------------------------------------------------------------


def fast_factor(kind: str) -> int:
    """More frames for the shared-memory mechanisms under the memcmp check:
    at 10 GB/s and more, the base count would be over in milliseconds."""
    return 8 if kind in ("hsipc", "ring") else 1


KINDS = [("hsipc", "hsipc"), ("queue", "multiprocessing.Queue"), ("pipe", "multiprocessing.Pipe"),
         ("ring", "shared_memory ring + Queue")]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames and round trips, one run")
    parser.add_argument("--frames", type=int, help="1 MiB frames per run (default 400, quick 100; 8 times "
                                                   "that for hsipc and the ring with the memcmp check)")
    parser.add_argument("--roundtrips", type=int, help="64 B round trips per run (default 20000, quick 3000)")
    parser.add_argument("--runs", type=int, help="runs of each measurement; the best counts (default 3, quick 1)")
    parser.add_argument("--calls", type=int, help="calls per ctypes cost batch (default 200000, quick 20000)")
    parser.add_argument("--flow", choices=("release", "return"), default="release",
                        help="hsipc frames: the consumer releases each buffer and the producer allocates "
                             "(default), or the consumer sends each back to the producer")
    parser.add_argument("--no-pin", action="store_true",
                        help="let the kernel place ping and pong (default: one CPU each, as examples/demo.c)")
    opts = parser.parse_args(argv)
    global PIN, FLOW
    PIN = not opts.no_pin
    FLOW = opts.flow
    nframes = opts.frames or (100 if opts.quick else 400)
    nrt = opts.roundtrips or (3000 if opts.quick else 20000)
    runs = opts.runs or (1 if opts.quick else 3)
    calls = opts.calls or (20000 if opts.quick else 200000)
    if nframes < 8 or nrt < 1 or runs < 1 or calls < 1:
        parser.error("--frames >= 8, --roundtrips, --runs and --calls >= 1")

    ctx = multiprocessing.get_context("spawn")
    region = f"bench-py-{os.getpid()}"
    data = frames()

    t = time.perf_counter()
    for f in data * 4:
        zlib.crc32(f)
    crc_speed = 16 * FRAME / (time.perf_counter() - t)

    print(f"hsipc {'.'.join(map(str, hsipc.version()))} ({hsipc.library_path()}), "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}; {'quick' if opts.quick else 'full'} run, best of {runs}", flush=True)
    # Best of the runs: frames by throughput (with that run's CPU time),
    # round trips by mean.
    crc: Dict[str, Tuple[float, float]] = {kind: (0.0, 0.0) for kind, _ in KINDS}
    cmp: Dict[str, Tuple[float, float]] = dict(crc)
    latency: Dict[str, Tuple[float, float]] = {kind: (float("inf"), 0.0) for kind, _ in KINDS}
    # Runs interleave the mechanisms, so that a burst of load elsewhere on
    # the machine does not land on one of them only.
    for run in range(runs):
        for kind, _ in KINDS:
            crc[kind] = max(crc[kind], run_frames(ctx, kind, "crc", nframes, data, region))
            cmp[kind] = max(cmp[kind], run_frames(ctx, kind, "cmp", nframes * fast_factor(kind), data, region))
            latency[kind] = min(latency[kind], run_round_trips(ctx, kind, nrt, region))
        print(f"  run {run + 1} of {runs} done", flush=True)

    mine, theirs = cpu_pair()
    placement = (f"producer/ping on CPU {mine}, consumer/pong on CPU {theirs}" if mine is not None
                 else "placed by the kernel")
    print()
    print(f"Processes: {placement}. 'hsipc is': how many times faster hsipc is.")
    for title, results in ((f"1 MiB frames, CRC-32 check (CRC-32 alone: {crc_speed / 1e6:.0f} MB/s)", crc),
                           ("1 MiB frames, memcmp check", cmp)):
        print()
        print(f"{title:<56}{'MB/s':>8}{'hsipc is':>10}{'CPU us/frame':>14}")
        h_tp = results["hsipc"][0]
        for kind, label in KINDS:
            tp, cpu = results[kind]
            print(f"  {label:<54}{tp / 1e6:>8.0f}{h_tp / tp:>9.2f}x{cpu * 1e6:>14.0f}")
    print()
    h_rt, h_med = latency["hsipc"]
    print(f"{'64 B round trip':<56}{'mean us':>8}{'hsipc is':>10}{'median us':>14}{'hsipc is':>10}")
    for kind, label in KINDS:
        mean, median = latency[kind]
        print(f"  {label:<54}{mean * 1e6:>8.2f}{mean / h_rt:>9.2f}x{median * 1e6:>14.2f}{median / h_med:>9.2f}x")
    print()
    print(f"1 MiB frames: {nframes} per run ({nframes * fast_factor('hsipc')} for hsipc and the ring with memcmp).")
    print("The producer writes every byte; the consumer reads and checks every byte, by CRC-32 against the")
    print("frame's or by comparing with the expected frame. CPU: both processes together, per frame.")
    print(f"hsipc frames: the consumer {'releases' if FLOW == 'release' else 'returns'} each buffer. "
          f"64 B round trips: {nrt} per run.")
    print()
    targets = [
        ("1 MiB frames (CRC-32), hsipc vs multiprocessing.Queue", crc["hsipc"][0] / crc["queue"][0], 10.0),
        ("1 MiB frames (memcmp), hsipc vs multiprocessing.Queue", cmp["hsipc"][0] / cmp["queue"][0], 10.0),
        ("1 MiB frames (CRC-32), hsipc vs shared_memory ring", crc["hsipc"][0] / crc["ring"][0], 1.0),
        ("1 MiB frames (memcmp), hsipc vs shared_memory ring", cmp["hsipc"][0] / cmp["ring"][0], 1.0),
        ("64 B round trip (mean), hsipc vs multiprocessing.Pipe", latency["pipe"][0] / h_rt, 10.0),
        ("64 B round trip (median), hsipc vs multiprocessing.Pipe", latency["pipe"][1] / h_med, 10.0),
    ]
    print("targets (hsipc is N times faster):")
    for what, ratio, target in targets:
        verdict = "met" if ratio >= target else "NOT met"
        print(f"  {what:<57} {ratio:>6.2f}x  target >= {target:g}x: {verdict}")
    print()
    print("ctypes, per operation (best of 5 batches, loop overhead subtracted):")
    for what, ns in ctypes_costs(calls, region + "-calls"):
        print(f"  {what:<80} {ns:>7.0f} ns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
