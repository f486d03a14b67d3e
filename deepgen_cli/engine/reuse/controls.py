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
    Control(label="too few epochs (1)", overrides={"epochs": 1}, claims=CLAIMS,
            why="22 SGD steps (measured: 27-72% test accuracy over seeds 0-2) move the cells by at most a few "
                "hundredths from initialization's (0.02 on observation 1's statistic): too little training for a "
                "reuse pattern to form, and the networks under the accuracy floor say so"),
)
