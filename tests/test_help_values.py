"""--help at 80 columns, every command: flags show no `<bool>`, files say FILE (folders DIR), choices list their
values, every value label is whole on one line, a shared option's help is the command's own, and
`deepgen CMD --help | head -3` exits 0."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from deepgen_cli.cli import spec
from deepgen_cli.cli.app import app
from deepgen_cli.cli.options import SessionOptions
from deepgen_cli.engine.config import option_fields

COMMANDS = [s.name for s in spec.every()] + ["models", "reproduce", "report", "compare"]
ROOT = Path(__file__).resolve().parent.parent
FILES = {"output": "FILE", "plot": "FILE", "config": "FILE", "weights": "FILE", "data_dir": "DIR",
         "output_dir": "DIR"}


def help_text(command: str) -> str:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "80", "LINES": None})
    assert result.exit_code == 0, result.stderr
    return result.stdout


def labels(command: str) -> dict[str, str | None]:
    """Each option's value label as --help shows it (None: a flag, which takes no value)."""
    group = get_command(app)
    cmd = group.get_command(None, command)
    ctx = cmd.make_context(command, ["--help"], resilient_parsing=True)
    return {p.name: p.display_type_rich(ctx) for p in cmd.get_params(ctx) if p.param_type_name == "option"}


@pytest.mark.parametrize("command", COMMANDS)
def test_value_labels_at_80_columns(command):
    text = help_text(command)
    shown = labels(command)
    assert "<bool>" not in text and "bool" not in " ".join(v for v in shown.values() if v)
    for name, label in shown.items():
        if label:  # whole, on one line: a label broken mid-word at 80 columns fails here
            assert any(label in line for line in text.splitlines()), (name, label)
    for name, kind in FILES.items():
        if name in shown:
            assert shown[name].startswith(kind), (name, shown[name])


@pytest.mark.parametrize("command", [s.name for s in spec.every()])
def test_choices_list_their_values(command):
    text = " ".join(help_text(command).replace("│", " ").split())
    cls = spec.get(command).config_cls
    for f, o in [*option_fields(cls), *option_fields(SessionOptions)]:
        if o.valid.startswith("one of: "):
            assert all(v in text for v in o.valid[len("one of: "):].split(", ")), o.flag


def test_a_shared_option_s_help_is_the_command_s_own():
    flat = {c: " ".join(help_text(c).replace("│", " ").split()) for c in ("memorize", "efficiency", "probe", "reuse")}
    assert "timed" not in flat["memorize"] and "Images per timed forward pass" in flat["efficiency"]
    assert "Probe the model at its initial" in flat["probe"] and "reuse" not in flat["probe"]
    assert "Measure the network at its initial" in flat["reuse"]


@pytest.mark.parametrize("command", ["memorize", "report"])
def test_help_into_head_exits_0(command):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    script = f"{sys.executable} -m deepgen_cli {command} --help | head -3 >/dev/null; exit ${{PIPESTATUS[0]}}"
    result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr
