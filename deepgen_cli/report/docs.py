"""The measured tables in docs/: each sits between two markers in a page and is exactly what `deepgen report`
renders from the committed record the marker names, under a line saying where and with what it was measured.

    python -m deepgen_cli.report.docs            # render every page's tables again from docs/records/
    python -m deepgen_cli.report.docs --check    # exit 1 naming the pages whose tables differ (tests/test_docs.py)

A marker is `<!-- deepgen report ARGS -->` ... `<!-- end deepgen report -->`; ARGS are report's own arguments,
paths relative to the page's folder (`records/memorize.json -f markdown`); a table in the terminal's format
(`-f table`) is put in a code block. The README's quick start is rendered the same way. Nothing here imports
torch.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"(<!-- deepgen report (?P<args>[^>]*?) -->\n)(?P<body>.*?)(<!-- end deepgen report -->)",
                   re.DOTALL)


def provenance(record: dict, name: str) -> str:
    """One line naming the machine, thread count and versions a record was measured with."""
    env = record.get("environment") or {}
    where = env.get("device_name") or env.get("device") or "an unknown machine"
    parts = [f"{env.get('threads')} threads" if env.get("threads") else None,
             f"torch {env['torch']}" if env.get("torch") else None,
             f"deepgen {record.get('deepgen_version')}" if record.get("deepgen_version") else None,
             record.get("time_utc")]
    return (f"*Measured on {where} ({env.get('device', 'cpu')}; {', '.join(p for p in parts if p)}); "
            f"record `{name}`.*")


def render_block(args: str, folder: Path) -> str:
    """What the marker's `deepgen report ARGS` prints, run in-process from `folder`, with its provenance line."""
    from typer.testing import CliRunner

    from deepgen_cli.cli.app import app

    words = shlex.split(args)
    records = [w for w in words if w.endswith(".json")]
    resolved = [str(folder / w) if w in records else w for w in words]
    result = CliRunner().invoke(app, ["report", *resolved], catch_exceptions=False)
    if result.exit_code != 0:
        raise SystemExit(f"docs: 'deepgen report {args}' failed in {folder}: {result.output.strip()}")
    lines = [provenance(json.loads((folder / r).read_text()), r) for r in records]
    body = result.stdout.rstrip("\n")
    if "markdown" not in words and "html" not in words:  # a terminal table, shown as the terminal shows it
        body = f"```\n{body}\n```"
    return "\n".join(lines) + "\n\n" + body + "\n"


def render_page(text: str, folder: Path) -> str:
    return BLOCK.sub(lambda m: m.group(1) + render_block(m.group("args"), folder) + m.group(4), text)


def pages(docs: Path = DOCS) -> list[Path]:
    """The pages holding a marker: docs/*.md and the README beside docs/."""
    found = [*sorted(docs.glob("*.md")), docs.parent / "README.md"]
    return [p for p in found if p.is_file() and BLOCK.search(p.read_text())]


def stale(docs: Path = DOCS) -> list[str]:
    """The pages whose tables differ from their records' rendering."""
    return [p.name for p in pages(docs) if render_page(p.read_text(), p.parent) != p.read_text()]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        bad = stale()
        if bad:
            sys.stderr.write(f"docs: tables differ from their records in {', '.join(bad)}; "
                             f"run python -m deepgen_cli.report.docs\n")
            return 1
        return 0
    for page in pages():
        text = page.read_text()
        new = render_page(text, page.parent)
        if new != text:
            page.write_text(new)
            sys.stderr.write(f"docs: rendered {page.name}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
