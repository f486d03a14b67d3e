"""Whether a dataset fits in memory at its final size: the rule behind `--data-in-memory auto`."""

from __future__ import annotations

import os

import torch

# A dataset may take at most this fraction of the RAM available (and of the free GPU memory when it trains on a
# GPU): the rest is for the model, its activations, optimizer state and everything else on the machine.
MEMORY_FRACTION = 0.5
# Peak RAM while an in-memory dataset is built, in copies of its final float32 tensor: the resized images, the
# standardized result and one temporary of the standardization (data.finish); a corrupted copy replaces one.
LOAD_COPIES = 3
FLOAT_BYTES = 4  # images are float32 at their final size


def final_bytes(examples: int, channels: int, side: int) -> int:
    """Bytes of `examples` float32 images of channels x side x side."""
    return examples * channels * side * side * FLOAT_BYTES


def available_ram() -> int:
    """Bytes of RAM available to new allocations (Linux's MemAvailable; else the physical total)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def processes_per_machine() -> int:
    """Processes on this machine that each hold their own copy: torchrun's LOCAL_WORLD_SIZE, else 1."""
    try:
        return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        return 1


def fits(nbytes: int, device: torch.device | None, ram: int | None = None,
         gpu_free: int | None = None) -> tuple[bool, str]:
    """(fits, why): `nbytes` of images fit when LOAD_COPIES of them take at most MEMORY_FRACTION of this process's
    share of the available RAM and, on a GPU, one copy at most MEMORY_FRACTION of its free memory.

    `ram` and `gpu_free` (bytes) replace the machine's own figures (tests).
    """
    gib = 2 ** 30
    share = (available_ram() if ram is None else ram) // processes_per_machine()
    need = LOAD_COPIES * nbytes
    if need > MEMORY_FRACTION * share:
        return False, (f"at its final size it takes {nbytes / gib:.2f} GiB, {LOAD_COPIES}x that while loading, more "
                       f"than {MEMORY_FRACTION:.0%} of the {share / gib:.1f} GiB of RAM available to this process")
    if device is not None and device.type == "cuda":
        free = torch.cuda.mem_get_info(device)[0] if gpu_free is None else gpu_free
        if nbytes > MEMORY_FRACTION * free:
            return False, (f"at its final size it takes {nbytes / gib:.2f} GiB, more than {MEMORY_FRACTION:.0%} of "
                           f"the {free / gib:.1f} GiB free on {device}")
    return True, f"{nbytes / gib:.2f} GiB at its final size fits"
