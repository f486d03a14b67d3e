"""`reuse`'s negative controls: settings of the same command in which no reuse pattern is learned, so none of the
four Figure 5 verdicts may say yes there (`deepgen reproduce --controls`)."""

from __future__ import annotations

from deepgen_cli.engine.outcome import Control
from deepgen_cli.engine.reuse.findings import CLAIMS

CONTROLS = (
    Control(label="untrained network (--untrained)", overrides={"untrained": True}, claims=CLAIMS,
            why="no training at all: every input map of a layer has the same expected |w| at initialization, so any "
                "pattern in the weights is chance, not learned reuse"),
    Control(label="a network that learned nothing (--lr 1e-6, 1 epoch)", overrides={"lr": 1e-6, "epochs": 1},
            claims=CLAIMS,
            why="steps of 1e-6 leave the weights at their initial values (test accuracy stays near chance, as the "
                "9.3% network of issue 24): trained in name only, it has learned neither the task nor reuse"),
    Control(label="too few steps (1 epoch on 128 examples)", overrides={"epochs": 1, "subset": 128, "batch_size": 32},
            claims=CLAIMS,
            why="4 SGD steps move the weights a few per cent from initialization and leave the test accuracy near "
                "chance: there has been no training in which a reuse pattern could form"),
)
