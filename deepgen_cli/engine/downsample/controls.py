"""downsample's negative controls: settings where where-to-downsample cannot matter."""

from __future__ import annotations

from deepgen_cli.engine.downsample.findings import CLAIM
from deepgen_cli.engine.outcome import Control

CONTROLS = (
    Control(label="equal placement (early vs early)", overrides={"late_model": "cnn-early"}, claims=(CLAIM,),
            why="both networks downsample at the same layers and train from the same seeds: they are the same "
                "network, the gain is 0 in every seed, so late downsampling cannot be shown to raise accuracy"),
    Control(label="untrained networks (--untrained)", overrides={"untrained": True}, claims=(CLAIM,),
            why="at their initial weights both networks are near chance: nothing learned, nothing for the "
                "placement of the strides to improve"),
)
