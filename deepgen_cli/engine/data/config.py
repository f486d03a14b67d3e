"""What data a run loads: the dataset, where its files are, its size and subset, and how it is held."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    dataset: str = "digits"
    data_dir: str | None = None  # where cifar10 / mnist / fashion-mnist files live
    download: bool = False  # fetch them through torchvision when missing (only when asked)
    image_size: int | None = None  # resize side in pixels; None keeps native (digits: 8)
    subset: int | None = None  # train on N examples (seeded choice)
    synthetic_shape: tuple[int, int, int] = (1, 8, 8)  # channels, height, width
    synthetic_classes: int = 10
    synthetic_train: int = 1000
    synthetic_test: int = 500
    seed: int = 0
    in_memory: str = "auto"  # yes | no | auto (in memory when it fits at its final size: data/memory.py)
    workers: int | None = None  # DataLoader workers per rank on the streamed path; None: min(8, CPUs per rank)
