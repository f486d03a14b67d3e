"""`reuse`: do dense layers reuse early features? Train a small DenseNet and read Huang et al.'s Figure 5 off
its weights, with the same network at its initial weights as the baseline.

One row per (network, seed, block, target layer, source layer): the target's mean |w| on that source's maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from deepgen_cli.engine import data as data_mod, models, train
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.models.densenet import NAMES, DenseNet
from deepgen_cli.engine.models.loading import load_weights
from deepgen_cli.engine.outcome import Outcome
from deepgen_cli.engine.reuse import findings as verdicts
from deepgen_cli.engine.reuse.weights import BlockWeights, block_weights

MAX_THREADS = 256
MAX_REPEATS = 100


@dataclass(frozen=True, kw_only=True)
class ReuseConfig:
    model: str = "densenet-small"  # a dense network from models/densenet.py (NAMES)
    dataset: str = "digits"
    data_dir: str | None = None
    download: bool = False
    image_size: int | None = None  # pixels; None keeps the dataset's side
    subset: int | None = None  # train on N examples
    synthetic_shape: tuple[int, int, int] = data_mod.DataConfig.synthetic_shape  # --dataset synthetic only
    synthetic_classes: int = data_mod.DataConfig.synthetic_classes
    synthetic_examples: tuple[int, int] = (data_mod.DataConfig.synthetic_train, data_mod.DataConfig.synthetic_test)
    epochs: int = 15  # densenet-small on digits: about 97% test accuracy, under a minute on one thread
    batch_size: int = 64  # the paper's batch size
    lr: float = 0.1  # SGD, the paper's initial rate
    momentum: float = 0.9  # the paper's (Nesterov there, plain here)
    weight_decay: float = 1e-4  # the paper's
    threads: int | None = 1  # CPU threads; the 8x8 model is too small to split (see MemorizeConfig.threads)
    repeats: int = 1  # seeds seed, seed+1, ...; verdicts use the mean normalized weights over seeds
    seed: int = 0  # data split and subset; with the repeat index: initial weights and batch order
    untrained: bool = False  # measure only the network at its initial weights: no training
    weights: str | None = None  # a state_dict of --model to measure instead of training one


@dataclass
class ReuseRow:
    network: str  # "trained" (or loaded from --weights) or "untrained" (initial weights)
    seed: int  # initial weights and batch order
    block: int  # 1-based
    target: str  # conv layer "1".."L" of the block, or the "transition" / "classifier" after it
    source: int  # 0: the block input (stem or transition output); l: conv layer l of the block
    weight: float  # the target's mean |w| on the source's input maps
    normalized_weight: float  # weight / the target's largest over its sources (1: its most weighted source)


def check(config: ReuseConfig) -> None:
    if config.model not in NAMES:
        raise UsageError(f"--model: '{config.model}' is not a dense network whose layers reuse; valid: {', '.join(NAMES)}")
    if config.threads is not None and not 1 <= config.threads <= MAX_THREADS:
        raise UsageError(f"--threads: must be an integer from 1 to {MAX_THREADS}, got {config.threads}")
    if not 1 <= config.repeats <= MAX_REPEATS:
        raise UsageError(f"--repeats: must be an integer from 1 to {MAX_REPEATS}, got {config.repeats}")
    if config.weights and config.untrained:
        raise UsageError("--weights: loads a trained network; --untrained measures initial weights; give one")
    if config.weights and config.repeats > 1:
        raise UsageError("--repeats: one --weights file is one network; drop --repeats")
    train.check(train_config(config, config.seed))
    data_mod.check(data_mod.config_for(config))


def train_config(config: ReuseConfig, seed: int) -> train.TrainConfig:
    return train.TrainConfig(epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                             momentum=config.momentum, weight_decay=config.weight_decay, seed=seed)


def build(config: ReuseConfig, data: data_mod.Dataset, seed: int) -> DenseNet:
    torch.manual_seed(seed)  # initial weights
    model = models.get(config.model, num_classes=data.num_classes, in_channels=data.in_channels)
    try:
        with torch.no_grad():
            model.eval()(data.x_train[:2])
    except RuntimeError as err:
        raise RunError(f"--model {config.model}: a forward pass on {data.image_size}x{data.image_size} images "
                       f"failed ({type(err).__name__}); try --image-size {models.entry(config.model).resolution}") from None
    return model.train()


def rows_of(blocks: list[BlockWeights], network: str, seed: int) -> list[ReuseRow]:
    return [ReuseRow(network, seed, b.block, b.targets[t], s, w, n)
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
    if "test_accuracy" in r:
        text += f", {r['test_accuracy']:.1%} trained" + (f" ({r['train_time_s']:.1f} s)" if "train_time_s" in r else "")
    return text


def one_seed(config: ReuseConfig, data: data_mod.Dataset, seed: int, device: torch.device, session, label: str):
    """(untrained blocks, trained blocks or None, accuracies and times) of one seed's network."""
    model = build(config, data, seed).to(device)
    untrained = block_weights(model)
    info = {"seed": seed, "untrained_test_accuracy": train.evaluate(model, data.x_test, data.y_test, device).accuracy}
    if config.untrained:
        return untrained, None, info
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
    """Per seed: the network's per-source weights at initialization, then trained (or loaded); verdicts on
    the mean over seeds of each."""
    check(config)
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    nets: dict[str, list[list[BlockWeights]]] = {"trained": [], "untrained": []}
    runs = []
    try:
        session.progress(f"loading {config.dataset}")
        data = data_mod.load(data_mod.config_for(config))
        for i in range(config.repeats):
            seed = config.seed + i
            untrained, trained, info = one_seed(config, data, seed, device, session, f"[{i + 1}/{config.repeats}] seed {seed}")
            runs.append(info)
            for network, blocks in (("trained", trained), ("untrained", untrained)):
                if blocks is not None:
                    nets[network].append(blocks)
                    for row in rows_of(blocks, network, seed):
                        session.row(row)
    finally:
        torch.set_num_threads(threads)  # the caller's process keeps its own setting
    notes = [f"{config.model} on {config.dataset}, test accuracy: " + "; ".join(_accuracies(r) for r in runs)]
    if config.weights:
        notes.append(f"trained weights loaded from {config.weights}; the baseline is seed {config.seed}'s initialization")
    trained = mean_normalized(nets["trained"]) if nets["trained"] else None
    found = verdicts.findings(trained, mean_normalized(nets["untrained"]), notes)
    analysis = {"cell": "mean |w| of the target on the source's input maps; normalized: / the target's largest",
                "runs": runs, "networks": {k: _analysis_blocks(v) for k, v in nets.items() if v}}
    return Outcome(found, notes, analysis)
