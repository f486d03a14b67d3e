"""norm-compare's engine: every (setting, seed, norm) trained, batch norm timed against renorm."""

from __future__ import annotations

from deepgen_cli.engine import data as data_mod
from deepgen_cli.engine import distributed
from deepgen_cli.engine.config import show_list
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.modes import torch_threads
from deepgen_cli.engine.norm_compare.config import NormCompareConfig, Setting
from deepgen_cli.engine.norm_compare.findings import findings
from deepgen_cli.engine.norm_compare.rows import NormCompareRow, train_one
from deepgen_cli.engine.norm_compare.timing import time_steps
from deepgen_cli.engine.sweep import measure_rows


def check_ranks(config: NormCompareConfig, ranks: int) -> None:
    """Under torchrun each of N ranks trains on its contiguous B/N slice of every --batch-size B minibatch and
    normalizes only over it (DDP does not share batch statistics): the paper's multi-worker setup. A row's
    microbatch must then be a whole part of that slice, or its statistics would pool fewer examples than the
    row says; with microbatch = B/N each rank's batch-norm statistics are its own slice, as Ioffe's workers'."""
    part = config.batch_size // ranks
    wrong = [m for m in config.microbatch if part % m] if config.batch_size % ranks == 0 else list(config.microbatch)
    if wrong:
        raise UsageError(f"--microbatch: under torchrun with {ranks} ranks each rank normalizes its own "
                         f"{config.batch_size}/{ranks} examples of every --batch-size {config.batch_size} minibatch; "
                         f"each microbatch must divide {config.batch_size / ranks:g} (e.g. "
                         f"{show_list(sorted({m for m in (2, 4, part) if m >= 2 and part % m == 0}))}); "
                         f"got {show_list(config.microbatch)}")


def settings(config: NormCompareConfig) -> list[Setting]:
    """Every microbatch i.i.d., then non-i.i.d. at the microbatches of 2K or more (a smaller one cannot hold 2
    images of each of the K classes); after each sampling, the per-example norms' setting (microbatch None)."""
    micro = sorted(set(config.microbatch))
    out = [Setting(m, 0) for m in micro] + [Setting(None, 0)]
    if config.non_iid:
        out += [Setting(m, config.non_iid) for m in micro if m >= 2 * config.non_iid] + [Setting(None, config.non_iid)]
    return out


def plan(config: NormCompareConfig) -> list[tuple[Setting, int, str]]:
    """(setting, seed, norm): batch norm and renorm at each microbatch; group norm and no norm once per sampling."""
    out = []
    for s in settings(config):
        kinds = [k for k in config.norms if (k in ("batch", "renorm")) == (s.microbatch is not None)]
        out += [(s, config.seed + i, k) for i in range(config.repeats) for k in kinds]
    return out


def run(config: NormCompareConfig, device, session):
    """Train every (setting, seed, norm), time batch norm against renorm step by step, judge the claims."""
    config = config.resolved()
    config.check()
    world = distributed.current()
    if world is not None:
        check_ranks(config, world.size)
    with torch_threads(config.threads):
        session.progress(f"loading {config.dataset}")
        data = data_mod.load(data_mod.config_for(config))
        rows = measure_rows(
            session, plan(config), row_type=NormCompareRow,
            key=lambda item: (item[2], item[0].microbatch, item[0].sampling, item[1]),
            measure=lambda item, label: train_one(config, data, item[2], item[0], item[1], device, session, label),
            label=lambda item: f"{item[2]}, {item[0].describe()}" + (f", seed {item[1]}" if config.repeats > 1 else ""))
        timing, eager = {}, {}
        if {"batch", "renorm"} <= set(config.norms) and config.timing_blocks:  # 0: a run that times nothing
            for m in sorted(set(config.microbatch)):
                session.progress(f"timing training steps: batch norm, batch norm again, renorm at microbatch {m}"
                                 + ("" if config.eager_timing else " (compiling them first)"))
                timing[m], eager[m] = time_steps(config, data, m, device)
        session.progress("checking the published claims")
        return findings(rows, config, len(data.y_train), timing, eager, data.num_classes)
