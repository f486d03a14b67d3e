"""compress's negative controls: a compression that destroys the network (where "no loss" must not be yes), and
none at all (where the 510x must not be yes)."""

from __future__ import annotations

from deepgen_cli.engine.compress.findings import CLAIMS
from deepgen_cli.engine.outcome import Control

CONTROLS = (
    Control(label="destructive compression (1% of weights, 1 bit, no retraining)",
            overrides={"density": 0.01, "bits": 1, "finetune_epochs": 0}, claims=(CLAIMS[1],),
            why="one weight in a hundred kept, each set to its layer's single centroid (1 bit: a zero and one value), "
                "and no retraining: the network loses most of what it learned, so 'no loss' must not hold"),
    Control(label="no pruning, 8 bits (density 1)", overrides={"density": 1.0, "bits": 8}, claims=(CLAIMS[0],),
            why="every weight kept at 8 bits plus its index field: SqueezeNet stays above 1.2 MB, far from the "
                "0.47 MB that 510x needs (the pruning carries most of the paper's ratio)"),
)
