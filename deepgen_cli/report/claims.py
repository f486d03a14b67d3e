"""`deepgen reproduce`'s page: every finding of every record as a row of paper, claim, basis, measured and
verdict, the paper being the one the claim's text cites, else the command's; a count of the verdicts under it."""

from __future__ import annotations

import re

from deepgen_cli.report import findings as verdicts
from deepgen_cli.report.page import Page, Section, scalar_fields
from deepgen_cli.report.record import Report
from deepgen_cli.report.table import Column, text

_CITED = re.compile(r"\(([A-Z][\w&.\s-]*?\d{4})[,)]")

COLUMNS = [Column("paper", "paper", text, numeric=False), Column("claim", "claim", text, numeric=False),
           Column("basis", "basis", text, numeric=False), Column("measured", "measured", text, numeric=False),
           Column("verdict", "verdict", text, numeric=False)]


def paper_of(papers: str, claim: str) -> str:
    """The paper `claim` cites, else `papers`: its command's (the experiment spec's)."""
    cited = _CITED.search(claim)
    return cited.group(1) if cited else papers


def claim_rows(command: str, report: Report, papers: str = "") -> list[dict]:
    """One row a finding: what JSON and CSV write (verdict yes, no or ?; the record's reproduced, reason and
    fragile beside it); `papers` is the command's (its spec's), named where a claim cites none."""
    return [{"command": command, "paper": paper_of(papers or command, f.get("claim", "")), "claim": f.get("claim", ""),
             "basis": f.get("basis") or "", "measured": f.get("measured", ""),
             "verdict": verdicts.word(f),
             "reproduced": f.get("reproduced"), "reason": f.get("reason") or "", "fragile": bool(f.get("fragile"))}
            for f in report.findings]


def claims_page(done: list[tuple], title: str, details: list[Section] = ()) -> Page:
    """The claims of (command, report) or (command, report, papers) as one table with the count of their
    verdicts; `details` (each record's own section) follow on the full page."""
    done = [(item[0], item[1], item[2] if len(item) > 2 else "") for item in done]
    found = [f for _, report, _ in done for f in report.findings]
    rows = [r for command, report, papers in done for r in claim_rows(command, report, papers)]
    shown = [{**r, "verdict": verdicts.short(f)} for r, f in zip(rows, found)]  # '? (why)', 'yes (fragile)'
    claims = Section(title, COLUMNS, shown, caption=verdicts.count_line(found), wrap=True,
                     legend=verdicts.legends(found, bases=False))
    return Page(title, [claims, *details], rows, scalar_fields(rows) or [c.key for c in COLUMNS], rows)
