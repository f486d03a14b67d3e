"""One norm-compare row: train a model with one norm at one setting and seed, then measure it."""

from __future__ import annotations

import torch

from deepgen_cli.engine import measure, train
from deepgen_cli.engine.norm_compare.config import NormCompareRow, Setting  # noqa: F401  (torch-free: report reads them)
from deepgen_cli.engine.data.sampling import iid_batches, non_iid_batches
from deepgen_cli.engine.layers import norms
from deepgen_cli.engine.layers.batch_renorm import RenormSchedule


def minibatches(non_iid: int, batch_size: int, labels: torch.Tensor, generator: torch.Generator, *,
                training: bool) -> list[torch.Tensor]:
    """Training: whole minibatches only (each is whole microbatches); test: every example, the leftovers too."""
    if non_iid:
        return non_iid_batches(labels, batch_size, non_iid, generator, keep_leftovers=not training)
    return iid_batches(len(labels), batch_size, generator, drop_last=training)


def train_one(config, data, kind: str, setting: Setting, seed: int, device, session, label: str) -> NormCompareRow:
    """Same initial weights (torch seed), minibatch order (generator seed) and lr schedule for every norm."""
    gen = torch.Generator().manual_seed(seed)
    labels = data.y_train.cpu()
    orders = [minibatches(setting.non_iid, config.batch_size, labels, gen, training=True)
              for _ in range(config.epochs)]
    total = sum(len(o) for o in orders)
    schedule = RenormSchedule.fractions(total, config.warmup_fraction, config.dmax_fraction, config.rmax_fraction,
                                        config.rmax, config.dmax)
    torch.manual_seed(seed)  # norm layers draw no random numbers: the same weights for every norm and microbatch
    model = norms.build(config.model, kind, in_channels=data.in_channels, image_size=data.image_size,
                        num_classes=data.num_classes, bn_momentum=config.bn_momentum,
                        renorm_momentum=config.renorm_momentum, schedule=schedule, groups=config.groups,
                        microbatch=setting.microbatch).to(device)
    tcfg = train.TrainConfig.of(config, seed=seed)
    result = train.train(model, data, tcfg, device, batch_order=lambda epoch, _gen: orders[epoch - 1],
                         on_epoch=lambda s: session.progress(f"{label}: epoch {s.epoch}/{config.epochs}, "
                                                             f"train accuracy {s.train_accuracy:.1%}"))
    session.progress(f"{label}: evaluating")
    test = train.evaluate(model, data.x_test, data.y_test, device)
    test_batches = minibatches(setting.non_iid, config.batch_size, data.y_test.cpu(),
                               torch.Generator().manual_seed(seed), training=False)
    acc_b, gap, n = norms.batch_statistics_eval(model, data.x_test, data.y_test, test_batches, device)
    example = data.x_test[:config.latency_batch].to(device)
    latency = measure.measure_latency(model.eval(), example, config.latency_min_time_s)
    clips = norms.clip_summary(model)
    last = result.epochs[-1]
    renorm = kind == "renorm"
    return NormCompareRow(
        norm=kind, microbatch=setting.microbatch, batch_size=config.batch_size, sampling=setting.sampling,
        classes_per_batch=setting.non_iid or None, seed=seed, test_accuracy=test.accuracy,
        test_accuracy_batch_stats=acc_b, output_gap_tv=gap, batch_stats_examples=n,
        train_accuracy=last.train_accuracy, train_loss=last.train_loss, steps=result.steps,
        train_time_s=result.seconds, train_step_ms=1e3 * result.seconds / max(result.steps, 1),
        latency_ms_median=latency.median_ms, lr=config.lr,
        warmup_steps=schedule.warmup_steps if renorm else None, dmax_steps=schedule.dmax_steps if renorm else None,
        rmax_steps=schedule.rmax_steps if renorm else None,
        renorm_active_steps=clips[0] if clips else None, r_clipped_fraction=clips[1] if clips else None,
        d_clipped_fraction=clips[2] if clips else None,
        epochs=[{"epoch": s.epoch, "train_loss": s.train_loss, "train_accuracy": s.train_accuracy,
                 "seconds": s.seconds, "steps": s.steps} for s in result.epochs],
    )
