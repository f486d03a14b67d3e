"""Zhang et al.'s and Pereyra et al.'s claims checked against the rows of a `memorize` run; claims the run did
not test get no verdict.

Rows fall into groups by corruption and regularizer. Per corruption, the level claims (levels.py) are checked on
its unregularized rows (or its first regularizer's); comparisons across regularizers and across corruptions are
in regularized.py and corruptions.py."""

from __future__ import annotations

from deepgen_cli.engine.memorize.corruptions import corruption_findings
from deepgen_cli.engine.memorize.levels import baselines, grouped, level_findings
from deepgen_cli.engine.memorize.regularized import regularizer_findings
from deepgen_cli.engine.outcome import Outcome


def findings(rows: list, config) -> Outcome:
    if not rows:  # every level failed: nothing was measured, so nothing is claimed
        return Outcome([], ["no level finished; see the error column"], {})
    groups = grouped(rows)
    base = baselines(groups)
    several_kinds = len(base) > 1
    out, notes, analysis = [], [], {"groups": {}}
    for (kind, reg), group in groups.items():
        f, n, a = level_findings(group, config, kind, reg, f"{kind}: " if several_kinds else "")
        analysis["groups"][f"{kind}/{reg}"] = a
        if base[kind] == reg:  # the other regularizers' rows are compared in regularized.py
            out += f
            notes += n
            if "by_noise" not in analysis:
                analysis.update(a)  # the first group's series at the top level, as a one-group run has them
    for more in (regularizer_findings(rows, config), corruption_findings(rows, config, base)):
        out += more.findings
        notes += more.notes
        analysis.update(more.analysis)
    return Outcome(out, notes, analysis)
