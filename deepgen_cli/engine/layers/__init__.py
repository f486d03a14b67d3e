"""Normalization layers: batch renorm, and swapping or folding a network's norm layers."""

NORMS = ("batch", "renorm", "group", "none")  # norm-compare's --norms (layers/norms.py builds them)
