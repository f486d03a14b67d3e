"""Negative controls of the probe claims: settings of `probe` in which a claim's phenomenon is absent, so its
verdict there must come out no or cannot tell, never yes (`deepgen reproduce --controls`). docs/probe.md lists
them with their reasons."""

from __future__ import annotations

from deepgen_cli.engine.outcome import Control

# The claims about trained networks, by the start of their text (findings.py).
TRAINED = ("Linear probe error decreases with depth in a trained network",
           "The last layer's probe beats the first's in a trained network",
           "Linear probe error never rises")
RANDOM_FEATURES = "An untrained network's random features are still more linearly separable than the input"

CONTROLS = (
    Control(label="a network that does not learn (--lr 1e-6, 1 epoch)", overrides={"lr": 1e-6, "epochs": 1},
            claims=TRAINED,
            why="one epoch at a learning rate of 1e-6 leaves the weights within about 1e-4 of their initial values: "
                "the network stays at chance, so nothing about what training does to its layers can show; its "
                "random layers may still grow more separable with depth, which a verdict must not read as training"),
    Control(label="a hidden layer that is a linear map of the input (--untrained --layers input,0.0)",
            overrides={"untrained": True, "layers": "input,0.0"}, claims=(RANDOM_FEATURES,),
            why="layer 0.0 is the first convolution before its ReLU: an affine map of the input, so a linear probe on "
                "it can separate nothing the input's probe cannot (the converged fits are the same); random features "
                "add separability only through a nonlinearity"),
)
