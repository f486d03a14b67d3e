"""reuse's engine: each seed's DenseNet trained (or loaded), its Figure 5 weights read against its initial ones."""

from __future__ import annotations

import torch

from deepgen_cli.engine import data as data_mod, models, train
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.models import user
from deepgen_cli.engine.models.densenet import DenseNet
from deepgen_cli.engine.models.loading import load_weights
from deepgen_cli.engine.modes import torch_threads
from deepgen_cli.engine.sweep import part_done, plan_rows, row_key
from deepgen_cli.engine.outcome import Outcome
from deepgen_cli.engine.reuse import findings as verdicts
from deepgen_cli.engine.reuse.config import ReuseConfig, ReuseRow
from deepgen_cli.engine.reuse.weights import BlockWeights, block_weights


def train_config(config: ReuseConfig, seed: int) -> train.TrainConfig:
    return train.TrainConfig.of(config, seed=seed)


def build(config: ReuseConfig, data: data_mod.Dataset, seed: int) -> DenseNet:
    torch.manual_seed(seed)  # initial weights
    if config.model_file:
        model = user.build(config.model_file, num_classes=data.num_classes, in_channels=data.in_channels,
                           image_size=data.image_size)
        if not isinstance(model, DenseNet):
            # the verdicts read each dense layer's weights on every earlier layer's feature maps: only a network
            # whose concatenation order is known (deepgen's DenseNet) has them
            raise UsageError(f"--model-file: reuse reads how a DenseNet's layers weigh each earlier layer's maps; "
                             f"{config.model_file} gave a {type(model).__name__}, not a "
                             f"deepgen_cli.engine.models.densenet.DenseNet")
    else:
        model = models.create(config.model, num_classes=data.num_classes, in_channels=data.in_channels,
                              image_size=data.image_size)
    try:
        with torch.no_grad():
            model.eval()(data.x_train[:2])
    except RuntimeError as err:
        if config.model_file:
            raise RunError(f"--model-file {config.model_file}: a forward pass on {data.image_size}x"
                           f"{data.image_size} images failed ({type(err).__name__}); check its sizes") from None
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


def one_seed(config: ReuseConfig, data: data_mod.Dataset, seed: int, device: torch.device, session, label: str,
             rows: int = 0):
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
            part_done(session, s.epoch / config.epochs, rows)  # the seed's `rows` cells come once it is trained

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
            untrained, trained, info = one_seed(config, data, seed, device, session,
                                                f"[{i + 1}/{config.repeats}] seed {seed}", 2 * cells)
            runs.append(info)
            for network, blocks in (("trained", trained), ("untrained", untrained)):
                if blocks is not None:
                    nets[network].append(blocks)
                    reused = network == "trained" and info.get("resumed", False)
                    accuracy = info["test_accuracy" if network == "trained" else "untrained_test_accuracy"]
                    session.add_rows(rows_of(blocks, network, seed, accuracy), reused)  # a network's cells, known at once
    notes = [f"{config.model_file or config.model} on {config.dataset}, test accuracy: " + "; ".join(_accuracies(r) for r in runs)]
    if config.weights:
        notes.append(f"trained weights loaded from {config.weights}; the baseline is seed {config.seed}'s initialization")
    normalized = {k: [[b.normalized() for b in blocks] for blocks in v] for k, v in nets.items()}
    found = verdicts.findings(normalized["trained"], normalized["untrained"],
                              [r.get("test_accuracy") for r in runs if not config.untrained], data.num_classes)
    analysis = {"cell": "mean |w| of the target on the source's input maps; normalized: / the target's largest",
                "runs": runs, "networks": {k: _analysis_blocks(v) for k, v in nets.items() if v}}
    return Outcome(found, notes, analysis)
