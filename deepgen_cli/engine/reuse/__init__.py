"""`reuse`: do dense layers reuse early features? Train a small DenseNet and read Huang et al.'s Figure 5 off
its weights, each seed's trained network against the same seed's initial weights (findings.py).

One row per (network, seed, block, target layer, source layer): the target's mean |w| on that source's maps.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch

from deepgen_cli.engine import data as data_mod, models, train
from deepgen_cli.engine.config import (BATCH_SIZE, EPOCHS, LR, MODEL, MOMENTUM, REPEATS, UNTRAINED, WEIGHT_DECAY,
                                       WEIGHTS, DataConfig, RunOptions, TrainOptions)
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.models.densenet import DenseNet
from deepgen_cli.engine.models.loading import load_weights
from deepgen_cli.engine.modes import torch_threads
from deepgen_cli.engine.sweep import plan_rows, row_key
from deepgen_cli.engine.outcome import Outcome
from deepgen_cli.engine.reuse import findings as verdicts
from deepgen_cli.engine.reuse.weights import BlockWeights, block_weights


@dataclass(frozen=True, kw_only=True)
class ReuseConfig(RunOptions, DataConfig, TrainOptions):
    model: str = MODEL("densenet-small")  # a registry model tagged "dense-sources"
    # densenet-small on digits: about 97% test accuracy at 7 epochs (98% at 15); 3 seeds of 7 epochs take about
    # as long as the one seed of 15 this default used to be
    epochs: int = EPOCHS(7)
    batch_size: int = BATCH_SIZE(64)  # the paper's batch size
    lr: float = LR(0.1)  # SGD, the paper's initial rate
    momentum: float = MOMENTUM(0.9)  # the paper's (Nesterov there, plain here)
    weight_decay: float = WEIGHT_DECAY(1e-4)  # the paper's
    # seeds seed, seed+1, ...: the verdicts are over seeds, and 3 is the fewest at which observation 4's test can
    # pass (findings.ARGMAX_SEEDS) and one seed cannot flip an interval verdict alone; 1 with --weights
    repeats: int = REPEATS(3)
    untrained: bool = UNTRAINED(False)  # measure only the network at its initial weights: no training
    weights: str | None = WEIGHTS(None)  # a state_dict of --model to measure instead of training one

    def resolved(self) -> ReuseConfig:
        config = super().resolved()
        if config.weights and config.repeats > 1:  # --repeats given with --weights is refused first (ignored())
            return dataclasses.replace(config, repeats=1)
        return config

    def check(self) -> None:
        super().check()
        models.entry(self.model, "--model", tag="dense-sources", why="a dense network whose layers reuse")
        if self.weights and self.untrained:
            raise UsageError("--weights: loads a trained network; --untrained measures initial weights; give one")
        if self.weights and self.repeats > 1:
            raise UsageError("--repeats: one --weights file is one network; drop --repeats")
        train_config(self, self.seed).check()
        data_mod.check(data_mod.config_for(self))

    def ignored(self) -> dict[str, str]:
        out = {"eval_every": "reuse reads the trained weights, it records no learning curve"}
        if self.untrained or self.weights:
            out.update({name: "--untrained and --weights train nothing" for name in
                        ("epochs", "batch_size", "lr", "momentum", "weight_decay", "lr_schedule")})
        if self.weights:
            out["repeats"] = "one --weights file is one network"
        return out


@dataclass
class ReuseRow:
    KEY: ClassVar[tuple[str, ...]] = ("network", "seed", "block", "target", "source")  # --resume's and report's

    network: str  # "trained" (or loaded from --weights) or "untrained" (initial weights)
    seed: int  # initial weights and batch order
    block: int  # 1-based
    target: str  # conv layer "1".."L" of the block, or the "transition" / "classifier" after it
    source: int  # 0: the block input (stem or transition output); l: conv layer l of the block
    weight: float  # the target's mean |w| on the source's input maps
    normalized_weight: float  # weight / the target's largest over its sources (1: its most weighted source)
    test_accuracy: float  # the network's, 0..1: the verdicts' floor (findings.trained_floor), kept for --resume


def train_config(config: ReuseConfig, seed: int) -> train.TrainConfig:
    return train.TrainConfig.of(config, seed=seed)


def build(config: ReuseConfig, data: data_mod.Dataset, seed: int) -> DenseNet:
    torch.manual_seed(seed)  # initial weights
    model = models.create(config.model, num_classes=data.num_classes, in_channels=data.in_channels,
                          image_size=data.image_size)
    try:
        with torch.no_grad():
            model.eval()(data.x_train[:2])
    except RuntimeError as err:
        raise RunError(f"--model {config.model}: a forward pass on {data.image_size}x{data.image_size} images "
                       f"failed ({type(err).__name__}); try --image-size {models.entry(config.model).resolution}") from None
    return model.train()


def rows_of(blocks: list[BlockWeights], network: str, seed: int, accuracy: float = float("nan")) -> list[ReuseRow]:
    return [ReuseRow(network, seed, b.block, b.targets[t], s, w, n, accuracy)
            for b in blocks for t, (col, ncol) in enumerate(zip(b.columns, b.normalized()))
            for s, (w, n) in enumerate(zip(col, ncol))]


def mean_normalized(per_seed: list[list[BlockWeights]]) -> list[list[list[float]]]:
    """The normalized columns of every block, averaged cell by cell over seeds."""
    norms = [[b.normalized() for b in blocks] for blocks in per_seed]
    return [[[sum(n[b][t][s] for n in norms) / len(norms) for s in range(len(col))]
             for t, col in enumerate(block)] for b, block in enumerate(norms[0])]


def _analysis_blocks(per_seed: list[list[BlockWeights]]) -> list[dict]:
    mean = mean_normalized(per_seed)
    return [{"block": b.block, "targets": b.targets, "normalized": mean[i],
             "weight_by_seed": [blocks[i].columns for blocks in per_seed]} for i, b in enumerate(per_seed[0])]


def _accuracies(r: dict) -> str:
    text = f"seed {r['seed']}: {r['untrained_test_accuracy']:.1%} untrained"
    if r.get("resumed"):
        text += ", trained network's cells from the earlier run (--resume)"
    if r.get("test_accuracy") is not None:
        text += f", {r['test_accuracy']:.1%} trained" + (f" ({r['train_time_s']:.1f} s)" if "train_time_s" in r else "")
    return text


def resumed_blocks(session, like: list[BlockWeights], seed: int) -> tuple[list[BlockWeights], float | None] | None:
    """The trained network's cells of `seed` from the run --resume continues, shaped like `like`, and its test
    accuracy (None in a record without it); None unless every cell is there (a run writes a network's cells at
    once, so a record holds all of them or none)."""
    blocks = []
    for b in like:
        columns = []
        for t, column in enumerate(b.columns):
            cells = [session.resumed(**row_key(ReuseRow, ("trained", seed, b.block, b.targets[t], s)))
                     for s in range(len(column))]
            if not all(cells):
                return None
            columns.append([float(c["weight"]) for c in cells])
        blocks.append(BlockWeights(b.block, b.targets, columns))
    accuracy = cells[0].get("test_accuracy")
    return blocks, None if accuracy is None else float(accuracy)


def one_seed(config: ReuseConfig, data: data_mod.Dataset, seed: int, device: torch.device, session, label: str):
    """(untrained blocks, trained blocks or None, accuracies and times) of one seed's network. The network at its
    initial weights is measured again (seconds); with --resume a trained network the earlier run has is not."""
    model = build(config, data, seed).to(device)
    untrained = block_weights(model)
    info = {"seed": seed, "untrained_test_accuracy": train.evaluate(model, data.x_test, data.y_test, device).accuracy}
    if config.untrained:
        return untrained, None, info
    earlier = None if config.weights else resumed_blocks(session, untrained, seed)
    if earlier is not None:
        return untrained, earlier[0], {**info, "resumed": True, "test_accuracy": earlier[1]}
    if config.weights:
        load_weights(model.cpu(), config.weights)
        model.to(device)
    else:
        def on_epoch(s: train.EpochStats) -> None:
            session.progress(f"{label}: epoch {s.epoch}/{config.epochs}, train accuracy {s.train_accuracy:.1%}")

        result = train.train(model, data, train_config(config, seed), device, on_epoch=on_epoch)
        info.update(train_time_s=result.seconds, final_train_loss=result.epochs[-1].train_loss)
    info["test_accuracy"] = train.evaluate(model, data.x_test, data.y_test, device).accuracy
    return untrained, block_weights(model), info


def run(config: ReuseConfig, device: torch.device, session) -> Outcome:
    """Per seed: the network's per-source weights at initialization, then trained (or loaded); verdicts on the
    trained networks against the initial ones, seed by seed (findings.py)."""
    config = config.resolved()
    config.check()
    nets: dict[str, list[list[BlockWeights]]] = {"trained": [], "untrained": []}
    runs = []
    with torch_threads(config.threads):
        session.progress(f"loading {config.dataset}")
        data = data_mod.load(data_mod.config_for(config))
        # The rows to come, for rows done of total: one per cell of a network's blocks (fixed by the architecture;
        # a throwaway copy, since build() reseeds), for each network and seed
        cells = len(rows_of(block_weights(build(config, data, config.seed)), "untrained", config.seed))
        plan_rows(session, config.repeats * cells * (1 if config.untrained else 2))
        for i in range(config.repeats):
            seed = config.seed + i
            untrained, trained, info = one_seed(config, data, seed, device, session, f"[{i + 1}/{config.repeats}] seed {seed}")
            runs.append(info)
            for network, blocks in (("trained", trained), ("untrained", untrained)):
                if blocks is not None:
                    nets[network].append(blocks)
                    reused = network == "trained" and info.get("resumed", False)
                    accuracy = info["test_accuracy" if network == "trained" else "untrained_test_accuracy"]
                    session.add_rows(rows_of(blocks, network, seed, accuracy), reused)  # a network's cells, known at once
    notes = [f"{config.model} on {config.dataset}, test accuracy: " + "; ".join(_accuracies(r) for r in runs)]
    if config.weights:
        notes.append(f"trained weights loaded from {config.weights}; the baseline is seed {config.seed}'s initialization")
    normalized = {k: [[b.normalized() for b in blocks] for blocks in v] for k, v in nets.items()}
    found = verdicts.findings(normalized["trained"], normalized["untrained"],
                              [r.get("test_accuracy") for r in runs if not config.untrained], data.num_classes)
    analysis = {"cell": "mean |w| of the target on the source's input maps; normalized: / the target's largest",
                "runs": runs, "networks": {k: _analysis_blocks(v) for k, v in nets.items() if v}}
    return Outcome(found, notes, analysis)
