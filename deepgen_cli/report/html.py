"""One self-contained HTML page: tables, verdicts with what they rest on, plots embedded as base64 PNG.
No scripts, no external files: it opens offline and survives being attached to an email."""

from __future__ import annotations

import base64
import json
from html import escape

from deepgen_cli.report import findings as verdicts

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.yes { color: #176f2c; } .no { color: #b3261e; } .unsure { color: #8a6d00; }
.basis { font-size: 0.8em; border: 1px solid #999; border-radius: 0.8em; padding: 0 0.5em; color: #555; }
.meta, .note, .legend { color: #666; font-size: 0.85em; }
img { max-width: 100%; }
code { font-size: 0.95em; background: #f6f6f6; padding: 0.1em 0.3em; }
details summary { cursor: pointer; }
"""


def table(headers: list[str], rows: list[list[str]], numeric: list[bool], caption: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="num">{escape(c)}</td>' if n else f"<td>{escape(c)}</td>"
                                    for c, n in zip(cells, numeric)) + "</tr>\n" for cells in rows)
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>\n"


def verdict_list(findings: list[dict]) -> str:
    """The findings as a list: each with its mark (✓ ✗ = § ?), verdict, reason and basis (shown where the record
    names one)."""
    items = []
    for f in findings:
        cls = verdicts.outcome(f)
        badge = f' <span class="basis">basis: {escape(str(f["basis"]))}</span>' if f.get("basis") else ""
        items.append(f'<li><span class="{cls}">{escape(verdicts.mark(f))}</span> '
                     f"{escape(str(f.get('claim', '')))}: {escape(str(f.get('measured', '')))} "
                     f'(<b class="{cls}">{escape(verdicts.verdict(f))}</b>){badge}</li>')
    return f"<ul>\n{''.join(items)}\n</ul>\n" if items else ""


def command(line: str) -> str:
    """The command line that wrote the record, to copy and run again."""
    return f'<p class="meta">command: <code>{escape(line)}</code></p>\n'


def config(options: dict) -> str:
    """The record's config, an option a row, open: every value the run used, defaults included."""
    rows = [[str(k), v if isinstance(v, str) else json.dumps(v, default=str)] for k, v in options.items()]  # lists as JSON
    return (f"<details open><summary>config ({len(rows)} options)</summary>\n"
            + table(["option", "value"], rows, [False, False]) + "</details>\n")


def image(png: bytes, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">\n'


def page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{escape(title)}</h1>\n" + "".join(body) + "</body>\n</html>\n")
