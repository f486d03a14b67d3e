"""Training mode: the shared training engine trains the model while the probes take an SGD step of their own
on every model step's batch, reading each layer's (detached, reduced) output in a forward hook: narrow layers'
features are copied into the buffer of a shared bank (one whose products cover all its layers at once, and one
for the few wider layers) that steps after the model's step, wide layers' banks step inside the hook on the
activations themselves. At each snapshot the control-task probes are fit to
convergence on the model frozen at that epoch (control.py): one or two eval passes over the training set.
"""

from __future__ import annotations

import dataclasses

import torch

from deepgen_cli.engine.errors import RunError
from deepgen_cli.engine.modes import eval_mode
from deepgen_cli.engine.probe.control import fit_controls
from deepgen_cli.engine.probe.heads import ProbeBank, Tally
from deepgen_cli.engine.probe.inputs import Fed
from deepgen_cli.engine.probe.layers import INPUT, tap
from deepgen_cli.engine.probe.passes import Probed, batches, cka_series, forward_layers
from deepgen_cli.engine.probe.reduce import MB, write
from deepgen_cli.engine.probe.rows import resumed_row

# A layer with at least this many floats of features per batch (2 MiB) gets a bank of its own that steps inside
# its forward hook, on the activations themselves; narrower layers are copied into one buffer for a shared bank.
# Measured on CPU (1 thread): a bank's step has ~150 us of fixed cost, a layer more in a shared bank ~20 us, and
# copying 64 x 8192 floats ~80 us. Measured in a probed alexnet-small epoch (1 thread): its three 12544-wide
# layers (800k floats) cost 0.14 s copied into a shared bank and 0.10 s in banks of their own, whose features
# are still in cache in the hook; copied, the 9.6 MB buffer is read from memory several times a step.
WIDE = 1 << 19
# Layers up to FUSED columns wide share a bank that takes all their logits in one batched product over
# CHUNK-wide pieces (heads.ProbeBank's chunk); wider ones (still narrow) share a bank
# of per-layer products. Measured on CPU (1 thread, batch 64, 10 classes): over the cnn's 8 layers (10 to 2048
# columns) the batched products cost what one product over all columns does (250 vs 230 us) and save the ~6
# small ops per layer; over 177 pieces of three 12544-wide layers they cost 15-40% more than per-layer products.
FUSED = 4096
CHUNK = 256
# The probes' standardizing statistics move every this many steps (momentum 0.1 a move: a horizon of about 40
# steps), the shared banks' from the features as the hooks wrote them standardized (heads.ProbeBank.step).
STATS_EVERY = 4


def train_config(config, epochs: int | None = None):
    """The model's training as the config sets it, stopped after `epochs` (a --resume that needs fewer epochs
    trains them exactly as the full run did, as long as the schedule does not depend on the run's length)."""
    from deepgen_cli.engine import train

    schedule_epochs = {"epochs": config.epochs} if config.lr_schedule == "cosine" else {}
    cfg = train.TrainConfig.of(config, **schedule_epochs)
    return cfg if cfg.lr_schedule == "cosine" or not epochs else dataclasses.replace(cfg, epochs=epochs)


def train_with_probes(fed: Fed, data, probed: list[Probed], config, device, session, make_row) -> list[dict]:
    """Train the model with train.train; probes learn alongside and are scored at the snapshot epochs.

    With --resume, snapshots whose rows all exist are taken from the earlier run and training stops after
    the last snapshot that still needs scoring (training is deterministic for a seed and device).
    """
    from deepgen_cli.engine import train

    classes = data.num_classes
    snapshots = config.snapshot_epochs()
    kept = {}  # snapshot epoch -> the earlier run's rows, for snapshots complete there
    for s in snapshots:
        old = [resumed_row(session, f"epoch {s}", p.layer.name, config.seed) for p in probed]
        if all(old):
            kept[s] = old
    rows: list[dict] = []

    def emit(row) -> None:
        session.row(row)
        rows.append(dataclasses.asdict(row))

    missing = [s for s in snapshots if s not in kept]
    if snapshots and not missing:
        for s in snapshots:
            for row in kept[s]:
                emit(row)
        return rows
    last = max(missing, default=config.epochs)  # no snapshots at all (a benchmark): every epoch
    # Every probe at once, and one batch's reduced features of every layer (fp32) for their step.
    probes = sum(p.bytes(classes) for p in probed)
    features = config.batch_size * sum(p.reduction.out_features for p in probed) * 4
    if probes + features > config.max_total_probe_mb * MB:
        raise RunError(f"--max-total-probe-mb: probes alongside training need {(probes + features) / MB:.0f} MiB "
                       f"together ({probes / MB:.0f} MiB of probes, {features / MB:.0f} MiB of one batch's "
                       f"features); raise it, lower --max-probe-mb or --batch-size, or choose fewer --layers")
    shared, slots = _banks(probed, classes, config, device)
    # The narrow layers' features of one step, reused every step (+ 1: a last batch of one joins the one before).
    # Zeros: the columns between chunked layers are never written and must read as 0.
    buffers = [torch.zeros(config.batch_size + 1, b.width, device=device) for b in shared]
    by_name = {p.layer.name: p for p in probed}
    hooked = [n for n in by_name if n != INPUT]
    # This step's labels (None outside a training step: the forwards of an evaluation between steps) and the
    # layers its forward has yet to reach.
    current = {"y": None, "left": set()}
    # (layer, batch size) -> (its columns of its bank's buffer, and of the bank's scale and shift)
    into: dict[tuple[str, int], tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]] = {}
    firsts: dict[tuple[int, int], torch.Tensor] = {}  # (bank, batch size) -> the first rows of its buffer

    def fold(name: str, out: torch.Tensor) -> None:
        # Inside the forward, before an in-place op after the layer (a ReLU) can overwrite `out`; nothing
        # here writes to it, so the model computes exactly what it would without probes.
        y = current["y"]
        if y is None:
            return
        if name not in current["left"] or out.shape[0] != y.shape[0]:
            raise RunError(f"probe: layer {name} ran twice, or on another batch, in the training forward of one "
                           f"step; leave it out of --layers")
        current["left"].discard(name)
        p = by_name[name]
        if name in slots:  # copied into the bank's buffer standardized, as the bank's step takes them
            n = y.shape[0]
            dest = into.get((name, n))
            if dest is None:  # made once per batch size: four slices a layer and step cost about 8 us
                k, columns = slots[name]
                bank = shared[k]
                dest = into[name, n] = _destination(p, out, buffers[k][:n, columns],
                                                    (bank.scale[columns], bank.shift[columns]))
            if dest[2]:  # the output as it lies: one op, no reshape (as the reducer's copy, features * scale + shift)
                write(dest[0], out.detach(), dest[1])
            else:
                p.reducer(out, dest[0], dest[1])
        else:  # a wide layer: its own bank steps now, on the activations themselves
            p.probe.step(p.reducer.features(out), y)

    def before_step(step: int, epoch: int, xb: torch.Tensor, yb: torch.Tensor) -> None:
        current["y"], current["left"] = yb, set(by_name)
        if INPUT in by_name:
            fold(INPUT, fed.inputs(xb))

    def on_step(step: int, epoch: int, xb: torch.Tensor, yb: torch.Tensor) -> None:
        if current["left"]:
            raise RunError(f"probe: the training forward of step {step} did not reach every probed layer")
        current["y"] = None
        n = yb.shape[0]
        for k, (bank, buffer) in enumerate(zip(shared, buffers)):
            z = firsts.get((k, n))
            if z is None:  # the same view each step of a batch size: the bank keeps its own views of it
                z = firsts[k, n] = buffer[:n]
            bank.step(z, yb, standardized=True)

    def on_epoch(stats) -> None:
        session.progress(f"epoch {stats.epoch}/{config.epochs}: train accuracy {stats.train_accuracy:.1%}")
        if stats.epoch in kept:
            for row in kept[stats.epoch]:
                emit(row)
            return
        if stats.epoch not in snapshots:
            return
        session.progress(f"epoch {stats.epoch}: scoring probes")
        on_train = score_banks(fed, probed, data.x_train, data.y_train, config, device)
        on_test = score_banks(fed, probed, data.x_test, data.y_test, config, device)
        cka = cka_series(fed, probed, data.x_test[:config.cka_examples], device) if config.cka_examples else {}
        fits = converged_fits(fed, probed, data, config, device, session.progress, control=config.control)
        accuracy = model_accuracy(fed, data, device)
        for depth, p in enumerate(probed):
            emit(make_row(p, depth, f"epoch {stats.epoch}", stats.epoch, classes, on_train[depth], on_test[depth],
                          cka.get(p.layer.name), fits[p.layer.name], seed=config.seed, model_accuracy=accuracy))

    with tap(fed.model, hooked, fold):  # fold acts between before_step and on_step only
        train.train(fed, data, train_config(config, last), device, on_epoch=on_epoch, on_step=on_step,
                    before_step=before_step)
    for s in snapshots:
        if s > last:
            for row in kept[s]:
                emit(row)
    return rows


def _destination(p: Probed, out: torch.Tensor, columns: torch.Tensor, affine: tuple) -> tuple:
    """(where a layer's features go, their scale and shift, whether they are the output itself): a layer whose
    features are its fp32 output, unreduced, gets its bank's columns and their scale and shift viewed in the
    output's shape, so its hook writes them in one op."""
    if p.reducer.r.kind == "none" and out.dtype == torch.float32:
        shape = out.shape
        return columns.view(shape), (affine[0].view(shape[1:]), affine[1].view(shape[1:])), True
    return columns, affine, False


def converged_fits(fed: Fed, probed: list[Probed], data, config, device, progress, control: bool) -> dict:
    """Every layer's probe at its optimum (control.py), scored on the training and the test set."""
    return fit_controls(fed, probed, data.x_train, data.y_train, classes=data.num_classes, seed=config.seed,
                        batch_size=config.batch_size, budget_mb=config.max_probe_mb,
                        total_mb=config.max_total_probe_mb, device=device, progress=progress, control=control,
                        x_test=data.x_test, y_test=data.y_test)


def model_accuracy(fed: Fed, data, device) -> float:
    """The network's own test accuracy (eval mode): the floor a claim about a trained network checks."""
    from deepgen_cli.engine.train import evaluate

    return evaluate(fed, data.x_test, data.y_test, device).accuracy


def _banks(probed: list[Probed], classes: int, config, device) -> tuple[list[ProbeBank], dict[str, tuple[int, slice]]]:
    """Give each layer its probe: narrow layers share a bank or two (returned, with each layer's bank index and
    columns in that bank's features), each wide layer gets a bank of its own."""
    def bank(widths: list[int], chunk: int = 1) -> ProbeBank:
        return ProbeBank(widths, classes, config.probe_lr, device, chunk=chunk, stats_every=STATS_EVERY)

    narrow = [p for p in probed if config.batch_size * p.reduction.out_features < WIDE]
    fused = [p for p in narrow if p.reduction.out_features <= FUSED]
    rest = [p for p in narrow if p.reduction.out_features > FUSED]
    shared = [bank([p.reduction.out_features for p in fused], CHUNK)] if fused else []
    shared += [bank([p.reduction.out_features for p in rest])] if rest else []
    slots = {}
    for k, (b, members) in enumerate(zip(shared, [m for m in (fused, rest) if m])):
        for p, o, d in zip(members, b.offsets, b.dims):
            slots[p.layer.name] = (k, slice(o, o + d))
            p.probe = b
    for p in probed:
        if p.layer.name not in slots:
            p.probe = bank([p.reduction.out_features])
    return shared, slots


def score_banks(fed: Fed, probed: list[Probed], x, y, config, device) -> list[Tally]:
    """Which examples of (x, y) each probe gets right, the model in eval mode, batch by batch."""
    tallies = [Tally() for _ in probed]
    banks: dict[int, tuple] = {}  # id -> (bank, indices of its layers in `probed`)
    for i, p in enumerate(probed):
        banks.setdefault(id(p.probe), (p.probe, []))[1].append(i)
    # Every bank's features side by side, each laid out as its bank takes them (zeros between chunked layers).
    feats = torch.zeros(config.batch_size, sum(bank.width for bank, _ in banks.values()), device=device)
    slots, start = {}, 0
    for bank, members in banks.values():
        for i, offset in zip(members, bank.offsets):
            slots[probed[i].layer.name] = (start + offset, probed[i].reduction.out_features)
        start += bank.width
    with eval_mode(fed), torch.no_grad():
        for idx in batches(len(x), config.batch_size, None):
            n = len(idx)
            into = {name: feats[:n, o:o + d] for name, (o, d) in slots.items()}
            forward_layers(fed, probed, x[idx].to(device), lambda p, f: None, into=into)
            yb = y[idx].to(device)
            start = 0
            for bank, members in banks.values():
                # correct() standardizes in place; columns between layers stay 0 (their mean is 0)
                for i, hits in zip(members, bank.correct(feats[:n, start:start + bank.width], yb)):
                    tallies[i].add(hits)
                start += bank.width
    return tallies
