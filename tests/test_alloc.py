"""Training keeps freed host memory for reuse (engine/alloc.py) instead of faulting it in again each step."""

import subprocess
import sys

import pytest

from deepgen_cli.engine import alloc

# Two 12 MiB blocks allocated, written and freed, ten times, in a fresh process: first as glibc comes, then after
# keep_freed_memory(). As glibc comes, freeing both leaves 24 MiB free at the heap's top, which it hands back to
# the system, and the next pair faults its pages in again (6,144 pages a pair).
PROGRAM = """
import resource, torch
from deepgen_cli.engine import alloc

def faults():
    def pair():
        a, b = torch.ones(3 << 20), torch.ones(3 << 20)
        del a, b
    pair(); pair()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        pair()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

default = faults()
print(default, alloc.keep_freed_memory(), faults())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's, on Linux")
def test_kept_memory_is_reused_without_page_faults():
    out = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=True).stdout.split()
    default, applied, kept = int(out[0]), out[1] == "True", int(out[2])
    if not applied:
        pytest.skip("not glibc: keep_freed_memory leaves the allocator as it is")
    if default < 3072:  # the premise: as it comes, the allocator faulted at least one block of the ten pairs in again
        pytest.skip(f"this glibc reused the blocks by itself ({default} faults)")
    assert kept <= 256, (default, kept)  # a few pages at most: every block reused


def test_keep_freed_memory_sets_once_and_only_on_glibc_linux(monkeypatch):
    calls = []
    monkeypatch.setattr(alloc, "_set", [])
    monkeypatch.setattr(alloc, "_mallopt", lambda: calls.append(1) or True)
    assert alloc.keep_freed_memory() and alloc.keep_freed_memory()
    assert calls == [1]  # once per process
    monkeypatch.undo()
    monkeypatch.setattr(alloc, "_set", [])
    monkeypatch.setattr(sys, "platform", "darwin")
    assert alloc._mallopt() is False and alloc.keep_freed_memory() is False
