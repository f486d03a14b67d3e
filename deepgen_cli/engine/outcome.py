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
    # The verdict, computed from `measured`: True (yes), False (no) or None ("cannot tell": the interval is wider
    # than the claim's margin, a premise failed, the timing was too noisy, or the network did not train).
    reproduced: bool | None
    basis: str  # one of BASES
    reason: str = ""  # why the verdict is None; empty otherwise
    fragile: bool = False  # the statistic lies near its threshold by the claim's stated rule: another seed may flip it

    def __post_init__(self):
        if self.basis not in BASES:
            raise ValueError(f"Finding basis must be one of {', '.join(BASES)}, got {self.basis!r}")
        if self.reproduced is None and not self.reason:
            raise ValueError("a Finding that cannot tell (reproduced=None) must say why (reason)")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True, kw_only=True)
class Control:
    """A negative control: a small setting of an experiment in which a claim's phenomenon is absent, so the claim's
    verdict there must not be yes (`deepgen reproduce --controls` fails when it is). Each engine package lists its
    own in `CONTROLS` (its controls.py)."""

    label: str  # the setting, e.g. "untrained network (0 epochs)"
    overrides: dict  # config fields over the command's reproduce defaults
    claims: tuple[str, ...]  # the claims it controls, by the start of their text; a yes on any fails the run
    why: str  # why the phenomenon is absent in this setting


@dataclass
class Outcome:
    """What an engine returns besides its rows."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    analysis: dict = field(default_factory=dict)  # fits and derived series, kept in the JSON
