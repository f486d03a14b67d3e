"""`deepgen reproduce`'s table: every finding of every record as a row of paper, claim, basis, measured and
verdict, the paper being the one the claim's text cites, else the command's."""

from __future__ import annotations

import re

from deepgen_cli.report.record import Report
from deepgen_cli.report.table import Column, text, verdict_word

_CITED = re.compile(r"\(([A-Z][\w&.\s-]*?\d{4})[,)]")

COLUMNS = [Column("paper", "paper", text, numeric=False), Column("claim", "claim", text, numeric=False),
           Column("basis", "basis", text, numeric=False), Column("measured", "measured", text, numeric=False),
           Column("verdict", "verdict", text, numeric=False)]


def paper_of(papers: str, claim: str) -> str:
    """The paper `claim` cites, else `papers`: its command's (the experiment spec's)."""
    cited = _CITED.search(claim)
    return cited.group(1) if cited else papers


def claim_rows(command: str, report: Report, papers: str = "") -> list[dict]:
    from deepgen_cli.report.html import finding_value

    return [{"command": command, "paper": paper_of(papers or command, finding_value(f, "claim", "")),
             "claim": finding_value(f, "claim", ""), "basis": finding_value(f, "basis") or "",
             "measured": finding_value(f, "measured", ""),
             "verdict": verdict_word(finding_value(f, "reproduced"))} for f in report.findings]
