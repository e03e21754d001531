# SPDX-License-Identifier: MIT
"""Blocking polls: other threads, closing under a poller, and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import unittest

import hsipc

from .support import RegionTest, child_env, unique_name

WAIT = 10.0


class PollerThread(threading.Thread):
    def __init__(self, ep: hsipc.Endpoint, timeout=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(daemon=True)
        self.ep = ep
        self.timeout = timeout
        self.result: object = None
        self.started_polling = threading.Event()

    def run(self) -> None:
        self.started_polling.set()
        try:
            self.result = self.ep.poll(self.timeout)
        except BaseException as e:  # handed to the test
            self.result = e


class ThreadTest(RegionTest):
    def setUp(self) -> None:
        super().setUp()
        self.region = self.attach()
        self.ep = self.region.open("ep")

    def start(self, timeout=None) -> PollerThread:  # type: ignore[no-untyped-def]
        t = PollerThread(self.ep, timeout)
        t.start()
        self.assertTrue(t.started_polling.wait(WAIT))
        self.addCleanup(t.join, WAIT)
        return t

    def wait_blocked(self, t: PollerThread) -> None:
        # Inside its poll once it holds the endpoint's lock.
        for _ in range(int(WAIT / 0.001)):
            if self.ep._lock.locked() or not t.is_alive():
                return
            threading.Event().wait(0.001)

    def test_message_from_another_thread_wakes_poller(self) -> None:
        t = self.start()
        self.wait_blocked(t)
        buf = self.region.alloc(4)
        buf.data[:4] = b"wake"
        self.ep.send(self.ep.id, buf, 4)
        t.join(WAIT)
        self.assertIsInstance(t.result, hsipc.Message)
        self.assertEqual(bytes(t.result.data), b"wake")  # type: ignore[union-attr]

    def test_close_waits_for_and_stops_a_poller(self) -> None:
        t = self.start()
        self.wait_blocked(t)
        self.ep.close()
        t.join(WAIT)
        self.assertFalse(t.is_alive())
        self.assertIsInstance(t.result, hsipc.Closed)

    def test_detach_stops_a_poller(self) -> None:
        t = self.start()
        self.wait_blocked(t)
        self.region.detach()
        t.join(WAIT)
        self.assertIsInstance(t.result, hsipc.Closed)

    def test_second_poller_is_refused(self) -> None:
        t = self.start(timeout=WAIT)
        self.wait_blocked(t)
        for timeout in (0, 0.01, None):
            with self.subTest(timeout=timeout), self.assertRaises(hsipc.InvalidArgument):
                self.ep.poll(timeout)
        self.ep.send(self.ep.id, self.region.alloc(1), 1)
        t.join(WAIT)
        self.assertIsInstance(t.result, hsipc.Message)

    def test_detach_while_other_threads_call(self) -> None:
        errors: list = []
        calls = [0]

        def worker(polls: bool) -> None:
            region, ep = self.region, self.ep
            while True:
                try:
                    region.lookup("ep")
                    buf = region.alloc(8)
                    if polls:  # one thread polls an endpoint at a time
                        ep.send(ep.id, buf, 8)
                        msg = ep.poll(0.001)
                        if msg is not None:
                            msg.data[0] = 1
                            msg.release()
                    else:
                        buf.data[0] = 1
                        buf.release()
                    calls[0] += 1
                except hsipc.Closed:
                    return
                except BaseException as e:
                    errors.append(e)
                    return

        workers = [threading.Thread(target=worker, args=(i == 0,), daemon=True) for i in range(3)]
        for w in workers:
            w.start()
        while calls[0] < 200 and not errors:
            threading.Event().wait(0.001)
        self.region.detach()
        for w in workers:
            w.join(WAIT)
            self.assertFalse(w.is_alive())
        self.assertEqual(errors, [])

    def test_close_stops_a_batch_poller(self) -> None:
        result: list = []

        def batch_poller() -> None:
            try:
                result.append(self.ep.poll_many(8))
            except BaseException as e:
                result.append(e)

        t = threading.Thread(target=batch_poller, daemon=True)
        t.start()
        self.wait_blocked(t)  # type: ignore[arg-type]
        with self.assertRaises(hsipc.InvalidArgument):
            self.ep.poll_many(8, 0)  # one poller at a time
        self.ep.close()
        t.join(WAIT)
        self.assertIsInstance(result[0], hsipc.Closed)

    def test_timed_poll_in_thread_returns_none(self) -> None:
        t = self.start(timeout=0.05)
        t.join(WAIT)
        self.assertIsNone(t.result)


class InterruptTest(unittest.TestCase):
    def test_ctrl_c_interrupts_a_blocking_poll(self) -> None:
        name = unique_name("sigint")
        script = textwrap.dedent(f"""
            import sys, hsipc
            region = hsipc.attach({name!r})
            ep = region.open("waiting")
            print("ready", flush=True)
            try:
                ep.poll()  # forever
                print("returned", flush=True)
            except KeyboardInterrupt:
                print("interrupted", flush=True)
            region.detach()
            hsipc.unlink({name!r})
        """)
        proc = subprocess.Popen([sys.executable, "-c", script], env=child_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertEqual(proc.stdout.readline().strip(), "ready")  # type: ignore[union-attr]
            threading.Event().wait(0.3)  # let it get into the wait
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=WAIT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
                try:
                    hsipc.unlink(name)
                except hsipc.NotFound:
                    pass
        self.assertEqual(out.strip(), "interrupted", err)
        self.assertEqual(proc.returncode, 0, err)
        self.assertFalse(os.path.exists(f"/dev/shm/hsipc.{name}"))


if __name__ == "__main__":
    unittest.main()
