"""Learning-rate schedules as the papers and their reference code use them, written as one option value:
`constant`, `exp:0.95` (times 0.95 each epoch: Zhang et al.), `step:150,225` (divided by 10 after each of
those epochs: the reference code of Zhang et al.), `cosine` (from the base rate to 0 over the run, per step)."""

from __future__ import annotations

import math

from deepgen_cli.engine.errors import UsageError

KINDS = ("constant", "exp:GAMMA", "step:E1,E2,...", "cosine")
STEP_FACTOR = 0.1  # each milestone divides the rate by 10


def parse_schedule(text: str, flag: str = "--lr-schedule") -> str:
    """The schedule in its normal written form; UsageError naming the forms for anything else."""
    kind, _, arg = str(text).strip().partition(":")
    try:
        if kind in ("constant", "cosine") and not arg:
            return kind
        if kind == "exp":
            gamma = float(arg)
            if 0 < gamma <= 1:
                return f"exp:{gamma:g}"
        if kind == "step":
            epochs = sorted({int(e) for e in arg.split(",") if e.strip()})
            if epochs and epochs[0] >= 1:
                return "step:" + ",".join(map(str, epochs))
    except ValueError:
        pass
    raise UsageError(f"{flag}: cannot read '{text}'; write one of {', '.join(KINDS)} (GAMMA in (0, 1], "
                     f"epochs 1 or more), e.g. exp:0.95")


def per_step(schedule: str) -> bool:
    """Whether the rate changes within an epoch (cosine) or only between epochs."""
    return schedule == "cosine"


def lr_factor(schedule: str, epoch: int, epochs: int, fraction: float = 0.0) -> float:
    """The base rate's multiplier during 1-based `epoch` of `epochs`, `fraction` (0 to 1) of the way through it."""
    kind, _, arg = schedule.partition(":")
    if kind == "exp":
        return float(arg) ** (epoch - 1)
    if kind == "step":
        return STEP_FACTOR ** sum(1 for milestone in arg.split(",") if epoch > int(milestone))
    if kind == "cosine":
        done = (epoch - 1 + fraction) / max(epochs, 1)
        return 0.5 * (1 + math.cos(math.pi * min(done, 1.0)))
    return 1.0
