"""Negative controls of norm-depth's claims: settings of the same command in which a claim's phenomenon is
absent, so its verdict there must be no or cannot tell, never yes."""

from deepgen_cli.engine.outcome import Control

CONTROLS = (
    Control(
        label="large microbatches only (16 against 32)",
        overrides=dict(microbatch=(16, 32)),
        claims=("Batch norm's small-microbatch loss grows", "Batch renorm recovers"),
        why="statistics over 16 i.i.d. examples are nearly those over 32 (their standard error 1.4x larger, against "
            "the 4x of microbatch 2) at every depth: there is no small-batch loss to compound with depth, and "
            "nothing for renorm to recover"),
    Control(
        label="renorm that is batch norm (rmax 1, dmax 0)",
        overrides=dict(rmax=1.0, dmax=0.0),
        claims=("Batch renorm recovers",),
        why="with r clipped to 1 and d to 0 in every step, renorm normalizes each microbatch by its own statistics, "
            "batch norm's training computation exactly: whatever batch norm loses at any depth renorm loses too"),
)
