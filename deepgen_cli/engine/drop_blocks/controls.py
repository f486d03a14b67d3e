"""drop-blocks' negative controls: networks in which deleting a block is not cheap, or costs nothing learned."""

from __future__ import annotations

from deepgen_cli.engine.drop_blocks.findings import CLAIM
from deepgen_cli.engine.outcome import Control

CONTROLS = (
    Control(label="plain network (--networks plain)", overrides={"networks": ("plain",)}, claims=(CLAIM,),
            why="without skip connections each block's output is the next block's only input: deleting one feeds "
                "the rest features they never saw, so the accuracy collapses (Veit et al.'s VGG)"),
    Control(label="untrained networks (--untrained)", overrides={"untrained": True}, claims=(CLAIM,),
            why="at initial weights the network is near chance: it has learned nothing a deletion could cost, so "
                "'little cost' says nothing (the floor makes it cannot tell)"),
)
