"""deepgen: benchmarks for the classic findings on how deep networks generalize and run."""

__version__ = "0.1.0"
