"""Negative controls of probe-transfer's claim: networks whose last layers have no classes of their own to be
specific to, so the verdict there must be no or cannot tell, never yes."""

from deepgen_cli.engine.outcome import Control

CLAIM = ("The first layers are general, the last specific",)
CONTROLS = (
    Control(label="a network trained on all the classes (--trained-on all)", overrides=dict(trained_on="all"),
            claims=CLAIM,
            why="both halves of the classes are the network's own: its last layers are specific to both, so the "
                "second half's probe has nothing to fall off from"),
    Control(label="an untrained network (--trained-on none)", overrides=dict(trained_on="none"), claims=CLAIM,
            why="at its initial weights no layer has learned any class: random features are as general in the last "
                "layer as in the first"),
)
