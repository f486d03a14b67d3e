"""Trains the model of test_ddp.py under torchrun (or in one process when run without it) and saves rank 0's
weights: `torchrun --standalone --nproc-per-node 2 tests/ddp_train.py OUT.pt`."""

from __future__ import annotations

import sys

import torch

from deepgen_cli.engine import data as data_mod, distributed, models, train

SUBSET = 256  # digits examples
# 63 per global batch: ranks take 32 and 31 (unequal shares, weighted to the global mean), the last batch of 4
# takes 2 and 2; two epochs are 10 SGD steps with momentum and weight decay.
CONFIG = train.TrainConfig(epochs=2, batch_size=63, lr=0.05, momentum=0.9, weight_decay=5e-4, seed=3)


def trained() -> tuple[torch.nn.Module, dict]:
    """(the trained model, its initial weights)."""
    torch.set_num_threads(1)
    data = data_mod.load(data_mod.DataConfig(subset=SUBSET))
    torch.manual_seed(0)
    model = models.create("mlp1x512", in_channels=1, image_size=8, num_classes=10)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    train.train(model, data, CONFIG, "cpu")
    return model, initial


if __name__ == "__main__":
    world = distributed.start(torch.device("cpu")) if distributed.launched() else None
    model, _ = trained()
    if world is None or world.lead:
        torch.save({"state": model.state_dict(), "world_size": world.size if world else 1}, sys.argv[1])
    distributed.stop()
