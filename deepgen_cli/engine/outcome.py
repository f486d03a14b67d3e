"""What an experiment concludes besides its rows: findings (a claim, what was measured, the verdict),
notes and derived analysis. Engine types; the report layer renders them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


# What a verdict rests on. Only "measured" can reproduce a claim; the others check it on paper.
BASES = (
    "measured",  # this run's timings or trained numbers
    "architecture",  # exact arithmetic on the model code: counts and ratios of counts
    "published",  # numbers from the papers or torchvision's metadata
)


@dataclass
class Finding:
    """A published claim checked against this run's own numbers, and what the check rests on."""

    claim: str  # what the paper says
    measured: str  # what this run found, with the numbers
    reproduced: bool  # the verdict, computed from `measured`
    basis: str  # one of BASES

    def __post_init__(self):
        if self.basis not in BASES:
            raise ValueError(f"Finding basis must be one of {', '.join(BASES)}, got {self.basis!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Outcome:
    """What an engine returns besides its rows."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    analysis: dict = field(default_factory=dict)  # fits and derived series, kept in the JSON
