"""What an experiment concludes besides its rows: findings (a claim, what was measured, the verdict),
notes and derived analysis. Engine types; the report layer renders them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass
class Finding:
    """A published claim checked against this run's own measurements."""

    claim: str  # what the paper says
    measured: str  # what this run found, with the numbers
    reproduced: bool  # the verdict, computed from `measured`

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Outcome:
    """What an engine returns besides its rows."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    analysis: dict = field(default_factory=dict)  # fits and derived series, kept in the JSON
