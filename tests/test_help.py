"""`--help` at 80 columns and piped: every option name whole, in every command."""

import pytest
from typer.testing import CliRunner

from deepgen_cli.cli.options import SessionOptions
from deepgen_cli.engine.config import option_fields
from deepgen_cli.engine.efficiency import EfficiencyConfig
from deepgen_cli.engine.memorize import MemorizeConfig
from deepgen_cli.engine.norm_compare import NormCompareConfig
from deepgen_cli.engine.probe import ProbeConfig
from deepgen_cli.engine.reuse import ReuseConfig

COMMANDS = {"efficiency": EfficiencyConfig, "memorize": MemorizeConfig, "probe": ProbeConfig,
            "norm-compare": NormCompareConfig, "reuse": ReuseConfig}


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
    flags = [o.flag for cls in (COMMANDS[command], SessionOptions) for f, o in option_fields(cls)]
    missing = [flag for flag in flags if flag not in words]
    assert missing == [] and len(flags) > 10
