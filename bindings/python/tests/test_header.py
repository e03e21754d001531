# SPDX-License-Identifier: MIT
"""The binding against include/hsipc.h, parsed: status codes, exception
classes, function prototypes, struct layouts and constants cannot drift."""

from __future__ import annotations

import ctypes
import re
import unittest
from ctypes import POINTER, c_char_p, c_int, c_int32, c_int64, c_size_t, c_uint32, c_uint64, c_void_p
from typing import Dict, List, Tuple

import hsipc
from hsipc import _errors, _lib

from .support import HEADER


def read_header() -> str:
    with open(HEADER, encoding="utf-8") as f:
        return f.read()


def strip_comments(text: str) -> str:
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def status_map(text: str) -> List[Tuple[str, int, str]]:
    """The X(name, value, sentence) entries of HSIPC_STATUS_MAP, in order."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#define HSIPC_STATUS_MAP(X)"))
    body = []
    for line in lines[start:]:
        body.append(line)
        if not line.rstrip().endswith("\\"):
            break
    entries = re.findall(r'X\(\s*(HSIPC_\w+)\s*,\s*(-?\d+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)', "\n".join(body))
    return [(name, int(value), sentence) for name, value, sentence in entries]


def declarations(text: str) -> Dict[str, Tuple[str, List[str]]]:
    """name -> (return type, [parameter types]) of every HSIPC_API function."""
    out = {}
    for ret, name, params in re.findall(r"HSIPC_API\s+([^;()]*?)\s*\b(hsipc_\w+)\s*\(([^)]*)\)\s*HSIPC_NOEXCEPT\s*;",
                                        strip_comments(text)):
        types = []
        for param in params.split(","):
            param = " ".join(param.split())
            if param in ("void", ""):
                continue
            # Drop the parameter's name; keep the stars with the type.
            m = re.fullmatch(r"(.*?)\s*(\**)\s*\w+", param)
            assert m, param
            types.append(normalize(m.group(1) + " " + m.group(2)))
        out[name] = (normalize(ret), types)
    return out


def normalize(ctype: str) -> str:
    ctype = " ".join(ctype.replace("*", " * ").split())
    return ctype.replace("* *", "**")


def structs(text: str) -> Dict[str, List[Tuple[str, str, str]]]:
    """name -> [(type, field, array length expression or "")] of every typedef struct with a body."""
    out = {}
    for name, body in re.findall(r"typedef struct (\w+) \{(.*?)\} \1;", strip_comments(text), flags=re.S):
        fields = []
        for decl in body.split(";"):
            decl = " ".join(decl.split())
            if not decl:
                continue
            m = re.fullmatch(r"(.*?)\s*(\*?)\s*(\w+)\s*(?:\[(.*)\])?", decl)
            assert m, decl
            fields.append((normalize(m.group(1) + " " + m.group(2)), m.group(3), m.group(4) or ""))
        out[name] = fields
    return out


def defines(text: str) -> Dict[str, str]:
    return dict(re.findall(r"^#define (HSIPC_\w+) (.+?)\s*(?:/\*.*)?$", text, flags=re.M))


# C type (as normalized above) -> the ctypes type the binding must use.
C_TO_CTYPES = {
    "void": None,
    "int": c_int,
    "int32_t": c_int32,
    "int64_t": c_int64,
    "uint32_t": c_uint32,
    "uint64_t": c_uint64,
    "size_t": c_size_t,
    "hsipc_id": c_uint32,
    "hsipc_off": c_uint64,
    "char": ctypes.c_char,
    "const char *": c_char_p,
    "void *": c_void_p,
    "hsipc_region *": c_void_p,
    "hsipc_endpoint *": c_void_p,
    "const hsipc_endpoint *": c_void_p,
    "hsipc_region **": POINTER(c_void_p),
    "hsipc_endpoint **": POINTER(c_void_p),
    "hsipc_id *": POINTER(c_uint32),
    "hsipc_off *": POINTER(c_uint64),
    "size_t *": POINTER(c_size_t),
    "int *": POINTER(c_int),
    "uint32_t *": POINTER(c_uint32),
    "hsipc_config *": POINTER(_lib.hsipc_config),
    "const hsipc_config *": POINTER(_lib.hsipc_config),
    "hsipc_msg *": POINTER(_lib.hsipc_msg),
    "hsipc_pool_stats *": POINTER(_lib.hsipc_pool_stats),
    "hsipc_endpoint_info *": POINTER(_lib.hsipc_endpoint_info),
    "hsipc_topic_info *": POINTER(_lib.hsipc_topic_info),
    "hsipc_pool_config": _lib.hsipc_pool_config,
}


class StatusCodes(unittest.TestCase):
    def setUp(self) -> None:
        self.header = status_map(read_header())
        self.assertGreater(len(self.header), 10, "HSIPC_STATUS_MAP not found in " + HEADER)

    def test_python_table_equals_header(self) -> None:
        self.assertEqual(list(_errors.STATUS_TABLE), self.header)

    def test_status_enum_follows_table(self) -> None:
        self.assertEqual([("HSIPC_" + s.name, int(s)) for s in hsipc.Status],
                         [(name, value) for name, value, _ in self.header])

    def test_strerror_of_loaded_library_matches(self) -> None:
        for name, value, sentence in self.header:
            self.assertEqual(hsipc.strerror(value), sentence, name)
        self.assertEqual(hsipc.strerror(-1000), "unknown hsipc status code")

    def test_one_exception_class_per_code(self) -> None:
        classes = set()
        for name, value, _ in self.header:
            if value == 0:
                continue
            cls = _errors.CLASSES.get(value)
            self.assertIsNotNone(cls, f"no exception class for {name}")
            self.assertTrue(issubclass(cls, hsipc.Error))
            self.assertEqual(cls.status, value)
            self.assertIn(cls.__name__, hsipc.__all__)
            self.assertIs(getattr(hsipc, cls.__name__), cls)
            classes.add(cls)
            err = _errors.error(value, "context")
            self.assertIs(type(err), cls)
            self.assertEqual(err.code, value)
            self.assertIn(name, str(err))
        self.assertEqual(len(classes), len(self.header) - 1, "two codes share a class")

    def test_unknown_code_is_base_error(self) -> None:
        err = _errors.error(-99)
        self.assertIs(type(err), hsipc.Error)
        self.assertEqual(err.code, -99)
        self.assertEqual(err.message, "unknown hsipc status code")


class Prototypes(unittest.TestCase):
    def test_every_function_declared_with_header_types(self) -> None:
        decls = declarations(read_header())
        self.assertGreater(len(decls), 15)
        self.assertEqual(sorted(_lib.PROTOTYPES), sorted(decls), "functions of the header vs PROTOTYPES")
        for name, (ret, params) in decls.items():
            restype, argtypes = _lib.PROTOTYPES[name]
            self.assertIs(restype, C_TO_CTYPES[ret], f"{name} returns {ret}")
            self.assertEqual(len(argtypes), len(params), name)
            for i, (param, argtype) in enumerate(zip(params, argtypes)):
                self.assertIs(argtype, C_TO_CTYPES[param], f"{name} parameter {i}: {param}")

    def test_every_handle_has_every_prototype(self) -> None:
        for lib in (_lib.lib, _lib.fast, _lib.fast_errno):
            for name, (restype, argtypes) in _lib.PROTOTYPES.items():
                fn = getattr(lib, name)
                self.assertIs(fn.restype, restype, name)
                self.assertEqual(fn.argtypes, argtypes, name)

    def test_fast_functions_never_return_esys(self) -> None:
        # The GIL-holding handle does not capture errno (see _lib.py).
        text = read_header()
        for name in _lib.FAST_FUNCTIONS:
            m = re.search(r"/\*((?:(?!\*/).)*)\*/\s*HSIPC_API[^;]*\b" + name + r"\s*\(", text, flags=re.S)
            self.assertIsNotNone(m, name)
            comment = m.group(1)
            if name == "hsipc_poll":
                # Called through the fast handle with timeout 0 only.
                self.assertIn("0 checks once and never makes a system call", " ".join(comment.split()))
            elif name == "hsipc_poll_many":
                self.assertIn("waits (as hsipc_poll does with timeout_ns)", " ".join(comment.split()))
            else:
                self.assertNotIn("HSIPC_ESYS", comment, name)


class Layouts(unittest.TestCase):
    def test_structs_match_header(self) -> None:
        text = read_header()
        consts = {k: v for k, v in defines(text).items() if re.fullmatch(r"[\w +()-]+", v)}
        found = structs(text)
        for cname in ("hsipc_pool_config", "hsipc_config", "hsipc_msg", "hsipc_pool_stats", "hsipc_endpoint_info",
                      "hsipc_topic_info"):
            self.assertIn(cname, found)
            ours = getattr(_lib, cname)._fields_
            theirs = found[cname]
            self.assertEqual([n.rstrip("_") for n, _ in ours], [f for _, f, _ in theirs], cname)
            for (fname, ftype), (ctype, cfield, length) in zip(ours, theirs):
                expected = C_TO_CTYPES[ctype]
                if length:
                    n = eval(length, {}, {k: eval(v, {}, {}) for k, v in consts.items()
                                          if re.fullmatch(r"[\d ()+-]+", v)})
                    self.assertEqual(ftype._length_, n, f"{cname}.{cfield}")
                    self.assertIs(ftype._type_, expected, f"{cname}.{cfield}")
                else:
                    self.assertIs(ftype, expected, f"{cname}.{cfield}")

    def test_config_size_is_what_the_library_says(self) -> None:
        c = _lib.hsipc_config()
        _lib.lib.hsipc_config_init(ctypes.byref(c))
        self.assertEqual(c.struct_size, ctypes.sizeof(_lib.hsipc_config))

    def test_msg_layout(self) -> None:
        self.assertEqual(ctypes.sizeof(_lib.hsipc_msg), 32)
        self.assertEqual([getattr(_lib.hsipc_msg, f).offset for f in ("off", "length", "from_", "flags", "data")],
                         [0, 8, 16, 20, 24])

    def test_constants(self) -> None:
        d = defines(read_header())
        self.assertEqual(int(d["HSIPC_FOREVER"].strip("()")), hsipc.HSIPC_FOREVER)
        self.assertEqual(int(d["HSIPC_MAX_POOLS"]), hsipc.MAX_POOLS)
        self.assertEqual(int(d["HSIPC_NAME_MAX"]), hsipc.NAME_MAX)
        self.assertEqual(int(d["HSIPC_MAX_SUBSCRIBERS"]), hsipc.MAX_SUBSCRIBERS)
        self.assertEqual(int(d["HSIPC_MSG_SHARED"].rstrip("uU")), hsipc.MSG_SHARED)
        header_version = tuple(int(d[f"HSIPC_VERSION_{p}"]) for p in ("MAJOR", "MINOR", "PATCH"))
        self.assertEqual(header_version, _lib.HEADER_VERSION)
        self.assertEqual(hsipc.version()[0], header_version[0])
        self.assertGreaterEqual(hsipc.version(), header_version)


if __name__ == "__main__":
    unittest.main()
