"""Normalization layers: batch renorm, and swapping or folding a network's norm layers."""
