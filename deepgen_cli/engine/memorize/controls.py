"""memorize's negative controls: small settings of the command in which a claim's phenomenon is absent, so its
verdict there must be no or cannot tell, never yes (`deepgen reproduce --controls`; docs/memorize.md)."""

from __future__ import annotations

from deepgen_cli.engine.outcome import Control

CONTROLS = (
    Control(label="too few epochs (3)", overrides={"epochs": 3},
            claims=("mlp1x512 fits random labels", "Test accuracy falls to chance at p=1",
                    "Random labels take longer to fit than true data"),
            why="random labels fit in about 67 epochs on digits: after 3 the model has not memorized them (about 20% "
                "train accuracy), so nothing was fit, no slowdown can be counted, and chance test accuracy is not the "
                "cost of memorizing"),
    Control(label="a model too small to memorize (mlp1x8)", overrides={"model": "mlp1x8"},
            claims=("mlp1x8 fits random labels", "Test accuracy falls to chance at p=1",
                    "Random labels take longer to fit than true data"),
            why="8 hidden units (610 weights) learn the true digits (95% test accuracy) but reach only about 17% "
                "train accuracy on 1,347 random labels in 300 epochs: the capacity to memorize is absent"),
    Control(label="an untrained network (1 epoch at lr 1e-5)", overrides={"epochs": 1, "lr": 1e-5},
            claims=("Test accuracy falls to chance at p=1", "Test error rises with the noise level p"),
            why="one step of 1e-5 leaves the initial weights: test accuracy is at chance at every level because "
                "nothing was learned, not because random labels were memorized, and error cannot rise from chance"),
    Control(label="a destructive confidence penalty (beta 30)",
            overrides={"regularizer": ("none", "label-smoothing", "confidence-penalty"), "confidence_penalty": 30.0,
                       "noise": (0.0,), "epochs": 30},
            claims=("The confidence penalty does not hurt test error", "The confidence penalty lowers test error",
                    "The confidence penalty lowers over-confidence"),
            why="beta 30 weighs the output entropy thirty times Pereyra's 1.0: the outputs are pushed toward uniform, "
                "test error rises from about 2% to tens of percent and the model becomes badly under-confident"),
    Control(label="10 training images", overrides={"subset": 10},
            claims=("Random labels take longer to fit than true data",),
            why="10 images fit in about 4 steps with true or random labels alike: there is nothing to memorize that "
                "takes longer, and one step of the epoch-end count is a quarter of the total"),
    Control(label="no regularizer on an untrained network (1 epoch at lr 1e-5; none, wd, dropout at p=0)",
            overrides={"epochs": 1, "lr": 1e-5, "regularizer": ("none", "wd", "dropout"), "noise": (0.0,)},
            claims=("Explicit regularization is not necessary for generalization",),
            why="one step of 1e-5 leaves every model at its initial weights, near chance on the test set with and "
                "without regularization: the unregularized model is within 5.15 points of the best regularized one "
                "only because none of them generalizes, which is not generalization without regularization; the "
                "trained floor (32.5% on 10 classes) must make it cannot tell"),
    Control(label="too few epochs (3) with weight decay and dropout",
            overrides={"epochs": 3, "regularizer": ("none", "wd", "dropout"), "noise": (0.0, 1.0)},
            claims=("Regularization does not prevent memorization",),
            why="3 epochs fit no model to random labels, regularized or not (about 20% train accuracy without "
                "regularization): nothing was memorized, so nothing shows that regularization fails to prevent it"),
    Control(label="10 training images, none vs dropout", overrides={"subset": 10, "regularizer": ("none", "dropout"),
                                                                     "noise": (0.0, 1.0)},
            claims=("Dropout hinders fitting noise more than learning real data",),
            why="10 images leave no pattern shared between examples for true labels to follow: fitting them is "
                "memorizing 10 points, as fitting 10 random labels is, so dropout slows both alike (each fits in a "
                "few one-step epochs), and a test accuracy learned from 10 images is too spread over seeds for the "
                "1-point no-harm bound"),
    Control(label="a model too small to memorize random labels, pixels or images (mlp1x8, 50 epochs)",
            overrides={"model": "mlp1x8", "epochs": 50, "corruption": ("labels", "random-pixels", "gaussian"),
                       "noise": (0.0, 1.0)},
            claims=("Random pixels and Gaussian images start converging faster than random labels",),
            why="8 hidden units learn the true digits but memorize no noise: at p=1 neither random labels nor random "
                "pixels nor Gaussian images bring the training loss under ln(10)/2 in 50 epochs (the true labels do by epoch 3), so no corruption "
                "starts converging at all, let alone one before another"),
)
