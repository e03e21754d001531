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
