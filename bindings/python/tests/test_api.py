# SPDX-License-Identifier: MIT
"""Everything public has a docstring, and every public function and method
type hints for its parameters and result."""

from __future__ import annotations

import inspect
import unittest

import hsipc


def public_members(cls: type):  # type: ignore[no-untyped-def]
    for name, member in vars(cls).items():
        if name.startswith("_") and name not in ("__init__", "__enter__", "__exit__", "__len__"):
            continue
        yield name, member


class ApiTest(unittest.TestCase):
    def check_function(self, where: str, fn) -> None:  # type: ignore[no-untyped-def]
        sig = inspect.signature(fn)
        for pname, param in sig.parameters.items():
            if pname in ("self", "cls") or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            self.assertIsNot(param.annotation, inspect.Parameter.empty, f"{where}: parameter {pname}")
        self.assertIsNot(sig.return_annotation, inspect.Signature.empty, f"{where}: return")

    def test_docstrings_and_hints(self) -> None:
        for name in hsipc.__all__:
            obj = getattr(hsipc, name)
            if inspect.isfunction(obj):
                self.assertTrue(obj.__doc__, name)
                self.check_function(name, obj)
            elif inspect.isclass(obj):
                self.assertTrue(obj.__doc__, name)
                for mname, member in public_members(obj):
                    where = f"{name}.{mname}"
                    if isinstance(member, property):
                        self.assertTrue(member.__doc__, where)
                        if member.fget.__class__.__name__ == "function":
                            self.check_function(where, member.fget)
                    elif isinstance(member, classmethod):
                        self.assertTrue(member.__func__.__doc__, where)
                        self.check_function(where, member.__func__)
                    elif inspect.isfunction(member):
                        if not mname.startswith("__"):
                            self.assertTrue(member.__doc__, where)
                        self.check_function(where, member)

    def test_data_is_documented_and_typed(self) -> None:
        self.assertIn("memoryview", hsipc.Buffer.data.__doc__)
        self.assertIn("BufferError", hsipc.Buffer.data.__doc__)


if __name__ == "__main__":
    unittest.main()
