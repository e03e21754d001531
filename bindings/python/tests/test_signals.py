# SPDX-License-Identifier: MIT
"""Waits and signals, as PEP 475 asks: a handler runs while a poll waits; if
it raises, the poll raises that; otherwise the poll waits on."""

import signal
import threading
import time
import unittest

import hsipc

from .support import RegionTest


class Stop(Exception):
    pass


@unittest.skipUnless(threading.current_thread() is threading.main_thread(), "signals reach the main thread only")
class SignalsTest(RegionTest):
    def setUp(self) -> None:
        super().setUp()
        self.region = self.attach()
        self.ep = self.region.open("rx")
        old = signal.getsignal(signal.SIGALRM)
        self.addCleanup(signal.signal, signal.SIGALRM, old)
        self.addCleanup(signal.setitimer, signal.ITIMER_REAL, 0)

    def test_a_handler_that_raises_ends_the_wait(self) -> None:
        def stop(signum, frame):  # type: ignore[no-untyped-def]
            raise Stop()

        signal.signal(signal.SIGALRM, stop)
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        start = time.monotonic()
        with self.assertRaises(Stop):
            self.ep.poll(timeout=None)
        self.assertLess(time.monotonic() - start, 5.0)

    def test_a_handler_that_returns_lets_the_wait_go_on(self) -> None:
        ran = []
        signal.signal(signal.SIGALRM, lambda signum, frame: ran.append(signum))
        signal.setitimer(signal.ITIMER_REAL, 0.05)

        def send_later() -> None:
            time.sleep(0.3)
            buf = self.region.alloc(8)
            buf.data[:2] = b"ok"
            self.ep.send(self.ep.id, buf, 2)

        sender = threading.Thread(target=send_later)
        sender.start()
        try:
            with self.ep.recv(timeout=10.0) as msg:
                self.assertEqual(b"ok", bytes(msg.data))
        finally:
            sender.join()
        self.assertEqual([signal.SIGALRM], ran)

    def test_interrupted_is_an_interrupted_error(self) -> None:
        self.assertTrue(issubclass(hsipc.Interrupted, InterruptedError))
        self.assertEqual(hsipc.Status.EINTR, -14)


if __name__ == "__main__":
    unittest.main()


class WaitingForANameTest(RegionTest):
    def test_lookup_waits_until_the_name_is_opened(self) -> None:
        region = self.attach()
        with self.assertRaises(hsipc.NotFound):
            region.lookup("later")
        with self.assertRaises(hsipc.NotFound):
            region.lookup("later", timeout=0.02)
        with self.assertRaises(hsipc.InvalidArgument):
            region.lookup("later", timeout=-1)
        opened = []

        def open_later() -> None:
            time.sleep(0.05)
            opened.append(region.open("later"))

        opener = threading.Thread(target=open_later)
        opener.start()
        try:
            found = region.lookup("later", timeout=None)
        finally:
            opener.join()
        self.assertEqual(opened[0].id, found)
        opened[0].close()

    def test_spin_is_a_setting(self) -> None:
        region = self.attach()
        ep = region.open("rx")
        with self.assertRaises(hsipc.InvalidArgument):
            ep.set_spin(-1)
        with self.assertRaises(TypeError):
            ep.set_spin("fast")  # type: ignore[arg-type]
        ep.set_spin(0)
        buf = region.alloc(8)
        ep.send(ep.id, buf, 1)
        with ep.recv(timeout=1.0) as msg:
            self.assertEqual(1, len(msg.data))
        ep.close()
        with self.assertRaises(hsipc.Closed):
            ep.set_spin(0)
