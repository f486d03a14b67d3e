"""Options shared by every subcommand, with the same names and defaults everywhere."""

from __future__ import annotations

from enum import Enum

import typer


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class DeviceChoice(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


FORMAT = typer.Option(Format.table, "--format", "-f", help="What goes to stdout: table, json, csv or markdown.")
OUTPUT = typer.Option(None, "--output", "-o", help="Write the JSON record here, rewritten after each row.")
DEVICE = typer.Option(DeviceChoice.auto, "--device", help="auto picks cuda when a GPU is visible.")
SEED = typer.Option(0, "--seed", help="Seed for torch, data splits and corruptions.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress or logs on stderr.")
RESUME = typer.Option(False, "--resume", help="Skip rows already in --output that were measured with the same config.")
PLOT = typer.Option(None, "--plot", help="Also save a PNG plot to this path.")


# Synthetic data (`--dataset synthetic`): seeded Gaussian images, each class its own mean image.
def synthetic_shape_option(default: tuple[int, int, int]):
    return typer.Option("x".join(map(str, default)), "--synthetic-shape",
                        help="--dataset synthetic: CHANNELSxHEIGHTxWIDTH, e.g. 3x32x32.")


def synthetic_classes_option(default: int):
    return typer.Option(default, "--synthetic-classes", help="--dataset synthetic: number of classes.")


def synthetic_examples_option(default: tuple[int, int]):
    return typer.Option(",".join(map(str, default)), "--synthetic-examples",
                        help="--dataset synthetic: TRAIN,TEST example counts.")
