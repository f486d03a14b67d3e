"""Negative controls of width-reg's claims: settings of the same command in which a claim's phenomenon is absent,
so its verdict there must be no or cannot tell, never yes."""

from deepgen_cli.engine.outcome import Control

CONTROLS = (
    Control(
        label="a regularized arm with no regularizer (weight decay 0, no augmentation)",
        overrides=dict(weight_decay=0.0, augment=False),
        claims=("Small models need less regularization",),
        why="both arms then train the same network on the same batches from the same weights: the regularizers buy "
            "nothing at either width, so the wide member cannot be bought more"),
    Control(
        label="two members of one width (32 and 33 channels)",
        overrides=dict(widths=(32, 33)),
        claims=("Small models overfit less", "Small models need less regularization"),
        why="a network one channel wider is the same size: whatever it overfits or is bought by the regularizers, "
            "the other one is too; no difference of width to show"),
)
