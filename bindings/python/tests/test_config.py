# SPDX-License-Identifier: MIT
"""Config: defaults, overrides, files, HSIPC_CONFIG, and what a region reports."""

from __future__ import annotations

import os
import shutil
import tempfile
import unittest

import hsipc

from .support import RegionTest


class ConfigTest(RegionTest):
    def setUp(self) -> None:
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="hsipc-py-")
        self.addCleanup(shutil.rmtree, self.dir)

    def write(self, text: str) -> str:
        path = os.path.join(self.dir, "hsipc.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_defaults_are_the_libraries(self) -> None:
        cfg = hsipc.Config()
        self.assertEqual(cfg.max_endpoints, 64)
        self.assertEqual(cfg.inbox_capacity, 1024)
        self.assertEqual(cfg.pools, [(256, 4096), (65536, 256), (4 << 20, 8)])
        self.assertEqual(cfg.mode, 0o600)
        self.assertEqual(cfg.max_buffers_per_process, 0)
        self.assertEqual(cfg.spin_ns, 50000)
        self.assertEqual((cfg.max_topics, cfg.max_subscribers), (64, 16))

    def test_omitted_fields_keep_defaults(self) -> None:
        cfg = hsipc.Config(pools=[[256, 64]], inbox_capacity=64)  # lists are fine
        self.assertEqual(cfg.pools, [(256, 64)])
        self.assertEqual(cfg.inbox_capacity, 64)
        self.assertEqual(cfg.max_endpoints, 64)
        self.assertEqual(cfg, hsipc.Config(inbox_capacity=64, pools=[(256, 64)]))
        self.assertNotEqual(cfg, hsipc.Config())
        self.assertIn("inbox_capacity=64", repr(cfg))

    def test_region_size_is_the_librarys(self) -> None:
        # hsipc._core._region_size says how big a region /dev/shm could not
        # hold; it must be exact, so it is checked against the real objects.
        self.assertEqual(hsipc._core._region_size(hsipc.Config()), 52781056)  # docs/region-format.md
        configs = [hsipc.Config(pools=[(256, 64)], inbox_capacity=64),
                   hsipc.Config(pools=[(1, 1)], inbox_capacity=1, max_endpoints=1),
                   hsipc.Config(pools=[(100, 33), (4097, 3), (70000, 2)], inbox_capacity=1000, max_endpoints=65),
                   hsipc.Config(pools=[(64, 1000), (65, 7)], inbox_capacity=3, max_endpoints=200),
                   hsipc.Config(pools=[(64, 100)], max_topics=0),
                   hsipc.Config(pools=[(64, 100)], max_topics=3, max_subscribers=64)]
        for i, cfg in enumerate(configs):
            name = f"{self.name}-{i}"
            self.addCleanup(self._remove, name)
            with self.subTest(config=cfg):
                self.attach(cfg, name=name).detach()
                self.assertEqual(hsipc._core._region_size(cfg), os.stat(f"/dev/shm/hsipc.{name}").st_size)
        self.assertIsNone(hsipc._core._region_size(hsipc.Config(pools=[(0, 1)])))

    def test_region_reports_effective_config(self) -> None:
        asked = hsipc.Config(pools=[(100, 3), (5000, 2)], inbox_capacity=100, max_endpoints=5,
                             mode=0o640, max_buffers_per_process=4)
        got = self.attach(asked).config
        self.assertEqual(got.inbox_capacity, 128)  # rounded up to a power of two
        self.assertEqual(got.pools, [(100, 3), (5000, 2)])
        self.assertEqual((got.max_endpoints, got.mode, got.max_buffers_per_process), (5, 0o640, 4))

    def test_spin_ns_round_trips(self) -> None:
        # The struct grew spin_ns after max_buffers_per_process: the binding's
        # ctypes struct must be the library's size, or init writes past it.
        self.assertEqual(self.attach(hsipc.Config(spin_ns=0, pools=[(64, 4)])).config.spin_ns, 0)
        cfg = hsipc.Config.load(self.write("spin_ns = 10us\n"))
        self.assertEqual(cfg.spin_ns, 10000)
        with self.assertRaises(hsipc.InvalidArgument):  # checked on creation only
            hsipc.attach(f"{self.name}-slow", hsipc.Config(spin_ns=2_000_000_000))
        with self.assertRaises(hsipc.InvalidArgument):
            hsipc.Config(spin_ns=-1)._to_c()

    def test_topic_limits_round_trip(self) -> None:
        region = self.attach(hsipc.Config(pools=[(64, 4)], max_topics=2, max_subscribers=1))
        self.assertEqual((region.config.max_topics, region.config.max_subscribers), (2, 1))
        region.topic("a")
        region.topic("b")
        with self.assertRaises(hsipc.NoMemory):
            region.topic("c")
        cfg = hsipc.Config.load(self.write("max_topics = 0\nmax_subscribers = 64\n"))
        self.assertEqual((cfg.max_topics, cfg.max_subscribers), (0, 64))
        with self.assertRaises(hsipc.InvalidArgument):
            hsipc.Config.load(self.write("max_subscribers = 65\n"))

    def test_existing_region_ignores_config(self) -> None:
        first = self.attach(hsipc.Config(pools=[(64, 2)]))
        second = self.attach(hsipc.Config(pools=[(128, 4)]))
        self.assertEqual(second.config.pools, [(64, 2)])
        self.assertEqual(second.config, first.config)

    def test_load_overlays_file_on_base(self) -> None:
        path = self.write("# a comment\nmax_endpoints = 12\ninbox_capacity = 32  # trailing\n"
                          "mode = 0660\nmax_buffers_per_process = 3\n")
        cfg = hsipc.Config.load(path, hsipc.Config(pools=[(64, 16)]))
        self.assertEqual((cfg.max_endpoints, cfg.inbox_capacity, cfg.mode, cfg.max_buffers_per_process),
                         (12, 32, 0o660, 3))
        self.assertEqual(cfg.pools, [(64, 16)])  # not in the file: kept
        cfg = hsipc.Config.load(path)
        self.assertEqual(cfg.pools, hsipc.Config().pools)

    def test_pool_lines_replace_the_list(self) -> None:
        from pathlib import Path
        path = Path(self.write("pool = 512 x 10\npool = 2K x 4\npool = 1M x 2\n"))
        cfg = hsipc.Config.load(path)  # any path-like
        self.assertEqual(cfg.pools, [(512, 10), (2048, 4), (1 << 20, 2)])
        self.assertEqual(self.attach(cfg).config.pools, cfg.pools)

    def test_failed_load_changes_nothing(self) -> None:
        base = hsipc.Config(max_endpoints=7)
        with self.assertRaises(hsipc.InvalidArgument):
            hsipc.Config.load(self.write("max_endpoints = 9\nbogus = 1\n"), base)
        self.assertEqual(base.max_endpoints, 7)

    def test_hsipc_config_environment_applies_without_config(self) -> None:
        path = self.write("inbox_capacity = 16\npool = 128 x 5\n")
        old = os.environ.get("HSIPC_CONFIG")
        os.environ["HSIPC_CONFIG"] = path
        try:
            region = hsipc.attach(self.name)  # config None: defaults + HSIPC_CONFIG
            self.addCleanup(region.detach)
            self.assertEqual(region.config.inbox_capacity, 16)
            self.assertEqual(region.config.pools, [(128, 5)])
            os.environ["HSIPC_CONFIG"] = os.path.join(self.dir, "missing.conf")
            with self.assertRaises(hsipc.NotFound):
                hsipc.attach(self.name + "-b")
        finally:
            if old is None:
                del os.environ["HSIPC_CONFIG"]
            else:
                os.environ["HSIPC_CONFIG"] = old


if __name__ == "__main__":
    unittest.main()
