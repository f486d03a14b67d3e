"""Negative controls of norm-compare's measured claims: settings of the same command in which a claim's
phenomenon is absent, so its verdict there must be no or cannot tell, never yes. Each trains batch norm and renorm
only (no group norm, no norm) and times nothing (timing_blocks 0) unless the control is about the timing."""

from deepgen_cli.engine.outcome import Control

CONTROLS = (
    Control(
        label="renorm that is batch norm (rmax 1, dmax 0), microbatches of 2 and 32",
        overrides=dict(rmax=1.0, dmax=0.0, norms=("batch", "renorm"), microbatch=(2, 32), non_iid=0,
                       timing_blocks=0),
        claims=("Batch renorm recovers", "Training with batch renorm sees the inference function"),
        why="with r clipped to 1 and d to 0 in every step, renorm normalizes each microbatch by its own statistics, "
            "batch norm's training computation exactly: what batch norm loses at microbatch 2 renorm loses too, and "
            "its train/eval gap is batch norm's"),
    Control(
        label="large i.i.d. microbatches only (16 and 32), 3 epochs of 600 examples",
        overrides=dict(norms=("batch", "renorm"), microbatch=(16, 32), non_iid=0, epochs=3, subset=600,
                       timing_blocks=0),
        claims=("Batch norm loses accuracy", "Batch renorm recovers"),
        why="statistics over 16 i.i.d. examples are nearly those over 32 (their standard error 1.4x larger, against "
            "the 4x of microbatch 2): batch norm has no small or non-i.i.d. microbatch to lose accuracy at, so "
            "there is nothing for renorm to recover"),
    Control(
        label="a timing too short to show equal speed (2 interleaved blocks of 1 step), 1 epoch of 200 examples",
        overrides=dict(norms=("batch", "renorm"), microbatch=(32,), non_iid=0, epochs=1, subset=200,
                       timing_blocks=2, timing_steps=1),
        claims=("Batch renorm trains at the speed of batch norm",),
        why="one step of this network takes about a millisecond, so one-step blocks carry the timer's and the "
            "scheduler's jitter, and two blocks leave one degree of freedom (t = 6.31 for the 90% interval): the "
            "run has no evidence that the two step times are within 10% of each other, so it must not say they "
            "are; a noisier timing makes yes harder, never easier (issue 24: 1.48x slower once passed as the same "
            "speed)"),
    Control(
        label="a network that does not learn (--lr 1e-6, 1 epoch), microbatches of 2 and 32",
        overrides=dict(lr=1e-6, epochs=1, norms=("batch", "renorm"), microbatch=(2, 32), non_iid=0,
                       timing_blocks=0),
        claims=("Batch norm loses accuracy", "Batch renorm recovers", "Training with batch renorm sees the inference"),
        why="one epoch at a peak learning rate of 1e-6 leaves the weights at their initial values and the moving "
            "statistics (momentum 0.01) near theirs: every setting is near chance, so there is no accuracy to lose or "
            "recover, and a train/eval gap between batch statistics and barely moved moving statistics says nothing "
            "about what training sees; the trained floor (55% on 10 classes) must make all three cannot tell"),
)

