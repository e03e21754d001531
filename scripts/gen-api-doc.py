#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates docs/api.md from include/hsipc.h, the one API reference.

  scripts/gen-api-doc.py           rewrite docs/api.md
  scripts/gen-api-doc.py --check   fail if docs/api.md is not what the header gives

The header's comment before each declaration becomes its description; the
status codes come from HSIPC_STATUS_MAP.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(ROOT, "include", "hsipc.h")
OUTPUT = os.path.join(ROOT, "docs", "api.md")


def clean_comment(comment):
    lines = []
    for line in comment.splitlines():
        line = re.sub(r"^\s*/?\*+/?", "", line).rstrip()
        line = re.sub(r"\*/\s*$", "", line).rstrip()
        line = line[1:] if line.startswith(" ") else line
        lines.append("\\" + line if line.startswith(">") else line)  # not a Markdown quote
    return "\n".join(lines).strip()


def generate():
    text = open(HEADER).read()
    out = ["# hsipc API reference", "",
           "Generated from `include/hsipc.h` by `scripts/gen-api-doc.py`; a test fails when the two",
           "differ. Every function returns `HSIPC_OK` (0) or a negative status unless it says otherwise;",
           "on failure it leaves its out-parameters unchanged.", "", "## Status codes", "",
           "| code | value | meaning |", "|---|---|---|"]
    for name, value, sentence in re.findall(r'X\((HSIPC_\w+),\s*(-?\d+),\s*"([^"]*)"\)', text):
        out.append(f"| `{name}` | {value} | {sentence} |")
    out += ["", "## Types", ""]
    for m in re.finditer(r"typedef struct (\w+) \{.*?\} \1;", text, re.S):
        out += [f"### `{m.group(1)}`", "", "```c", m.group(0), "```", ""]
    out += ["## Functions", ""]
    pattern = re.compile(r"(/\*(?:(?!\*/).)*\*/)\s*\n\s*HSIPC_API ([^;]*?)\s*HSIPC_NOEXCEPT;", re.S)
    for m in pattern.finditer(text):
        declaration = " ".join(m.group(2).split())
        name = re.search(r"(hsipc_\w+)\(", declaration).group(1)
        out += [f"### `{name}`", "", "```c", declaration + ";", "```", "", clean_comment(m.group(1)), ""]
    return "\n".join(out).rstrip() + "\n"


def main():
    doc = generate()
    declared = set(re.findall(r"HSIPC_API [^;]*?(hsipc_\w+)\(", open(HEADER).read()))
    functions = doc[doc.index("## Functions"):]
    documented = set(re.findall(r"^### `(hsipc_\w+)`", functions, re.M))
    if declared != documented:
        print(f"functions without a comment in the header: {sorted(declared - documented)}")
        return 1
    if "--check" in sys.argv:
        current = open(OUTPUT).read() if os.path.exists(OUTPUT) else ""
        if current != doc:
            print("docs/api.md is out of date: run scripts/gen-api-doc.py")
            return 1
        print(f"docs/api.md matches include/hsipc.h ({len(documented)} functions)")
        return 0
    with open(OUTPUT, "w") as f:
        f.write(doc)
    print(f"wrote {OUTPUT} ({len(documented)} functions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
