# SPDX-License-Identifier: MIT
"""Tests of the hsipc Python binding: python3 -m unittest discover -s tests -t .  (from bindings/python)."""
