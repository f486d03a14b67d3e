"""The machine a run measured on: device choice, versions, thread count."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

import torch

from deepgen_cli.engine.errors import UsageError

DEVICES = ("auto", "cpu", "cuda", "cuda:N")


def resolve_device(name: str) -> torch.device:
    """auto, cpu, cuda or cuda:N as the torch device a run uses; auto is cuda when a GPU is visible. Under
    torchrun, auto and cuda are this rank's GPU, cuda:LOCAL_RANK."""
    from deepgen_cli.engine import distributed

    index = name[5:] if name.startswith("cuda:") else None
    if name not in DEVICES[:3] and not (index is not None and index.isdigit()):
        raise UsageError(f"--device: unknown device '{name}'; valid: {', '.join(DEVICES)}")
    if distributed.launched() and name in ("auto", "cuda") and torch.cuda.is_available():
        name, index = f"cuda:{distributed.local_rank()}", str(distributed.local_rank())
    elif distributed.launched() and index is not None and distributed.local_size() > 1:
        raise UsageError(f"--device {name}: under torchrun each rank takes the GPU of its LOCAL_RANK; give "
                         f"--device cuda (or auto)")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: no CUDA GPU is visible to torch; valid here: auto, cpu")
        if index is not None and int(index) >= torch.cuda.device_count():
            raise UsageError(f"--device {name}: torch sees {torch.cuda.device_count()} GPUs; valid: cuda:0 to "
                             f"cuda:{torch.cuda.device_count() - 1}")
    return torch.device(name)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(device: torch.device) -> dict:
    """Versions and hardware, recorded in every result so a run can be repeated."""
    from deepgen_cli import __version__

    return {
        "deepgen": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": _version("torchvision"),
        "fvcore": _version("fvcore"),
        "platform": platform.platform(),
        "device": device.type,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_name(),
        "threads": torch.get_num_threads(),
        "argv": sys.argv[1:],
    }
