"""One self-contained HTML page: tables, verdicts with what they rest on, plots embedded as base64 PNG.
No scripts, no external files: it opens offline and survives being attached to an email."""

from __future__ import annotations

import base64
from html import escape

from deepgen_cli.report.record import Report
from deepgen_cli.report.saved import SavedFinding
from deepgen_cli.report.table import MARKS, VERDICTS, Column, _cells, _with_errors, verdict_word

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.yes { color: #176f2c; } .no { color: #b3261e; } .unsure { color: #8a6d00; }
.basis { font-size: 0.8em; border: 1px solid #999; border-radius: 0.8em; padding: 0 0.5em; color: #555; }
.meta, .note { color: #666; font-size: 0.85em; }
img { max-width: 100%; }
"""


def finding_value(f, name: str, default=None):
    """A finding's field as the record or the engine gave it, whether it is a Finding, a SavedFinding or a dict
    (`basis` is absent in older ones, and then shown as absent)."""
    if isinstance(f, SavedFinding):
        return f.fields.get(name, default)
    if isinstance(f, dict):
        return f.get(name, default)
    return getattr(f, name, default)


def table(headers: list[str], rows: list[list[str]], numeric: list[bool], caption: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="num">{escape(c)}</td>' if n else f"<td>{escape(c)}</td>"
                                    for c, n in zip(cells, numeric)) + "</tr>\n" for cells in rows)
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>\n"


def verdicts(findings) -> str:
    items = []
    for f in findings:
        ok = finding_value(f, "reproduced")
        basis = finding_value(f, "basis")
        word = verdict_word(ok)
        verdict = f"{VERDICTS.get(basis or 'measured', 'claim reproduced')}: {word}"
        if ok is None and finding_value(f, "reason"):
            verdict += f" ({finding_value(f, 'reason')})"
        badge = f' <span class="basis">basis: {escape(str(basis))}</span>' if basis else ""
        cls = "unsure" if ok is None else ("yes" if ok else "no")
        sign = "?" if ok is None else MARKS.get(basis, "✓" if ok else "✗")
        items.append(f'<li><span class="{cls}">{sign}</span> '
                     f"{escape(str(finding_value(f, 'claim', '')))}: {escape(str(finding_value(f, 'measured', '')))} "
                     f'(<b class="{cls}">{escape(verdict)}</b>){badge}</li>')
    return f"<ul>\n{''.join(items)}\n</ul>\n" if items else ""


def image(png: bytes, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">\n'


def section(report: Report, columns: list[Column], title: str, plot_png: bytes | None = None) -> str:
    """A record's table, its verdicts and notes, and its plot."""
    columns = _with_errors(report, columns)
    env = report.environment or {}
    meta = (f"deepgen {report.command}, deepgen {report.deepgen_version}, {report.time_utc}, status {report.status}, "
            f"seed {report.seed}, device {env.get('device', '?')}, torch {env.get('torch', '?')}")
    parts = [f"<h2>{escape(title)}</h2>\n", f'<p class="meta">{escape(meta)}</p>\n',
             table([c.header for c in columns], _cells(report, columns), [c.numeric for c in columns]),
             verdicts(report.findings)]
    parts += [f'<p class="note">note: {escape(n)}</p>\n' for n in report.notes]
    if plot_png:
        parts.append(image(plot_png, f"{report.command} plot"))
    return "<section>\n" + "".join(parts) + "</section>\n"


def page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{escape(title)}</h1>\n" + "".join(body) + "</body>\n</html>\n")
