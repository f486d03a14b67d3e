"""`--help` at 80 columns and piped: every option name whole, in every command."""

import pytest
from typer.testing import CliRunner

from deepgen_cli.cli import spec
from deepgen_cli.cli.options import SessionOptions
from deepgen_cli.engine.config import option_fields

COMMANDS = {s.name: s.config_cls for s in spec.every()}


def help_text(command: str, columns: str | None) -> str:
    from deepgen_cli.cli.app import app

    # CliRunner's stdout is not a terminal, as with `| less`; without COLUMNS rich then assumes 80 columns
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": columns, "LINES": None})
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("columns", ["80", None])
def test_every_option_name_is_whole_at_80_columns_and_piped(command, columns):
    text = help_text(command, columns)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    words = set(text.replace("│", " ").replace(",", " ").split())
    flags = [o.flag for cls in (COMMANDS[command], SessionOptions) for f, o in option_fields(cls)
             if f.name != "plot" or spec.get(command).plot]  # a command without a plot has no --plot
    missing = [flag for flag in flags if flag not in words]
    assert missing == [] and len(flags) > 10


@pytest.mark.parametrize("command", COMMANDS)
def test_help_text_keeps_a_readable_width_in_every_panel_at_80_columns(command):
    """A panel's help column starts where its continuation lines do; at least 30 characters must remain (a
    --x/--no-x flag in a long panel once left 21)."""
    widths, panel, starts = {}, None, []
    for line in help_text(command, "80").splitlines():
        if line.startswith("╭─"):
            panel, starts = line.strip("╭─╮ "), []
        elif line.startswith("╰") and panel:
            widths[panel] = 80 - 2 - min(starts) if starts else 78
            panel = None
        elif panel and line.startswith("│ ") and line[2:].startswith(" "):
            body = line[1:-1]
            starts.append(1 + len(body) - len(body.lstrip()))
    assert len(widths) >= 4 and min(widths.values()) >= 30, widths
