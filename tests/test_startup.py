"""Start-up: the app's --help, --version, usage errors and the commands that read records import no torch, and
none imports torchvision until a torchvision model is built (issue 25). Each runs in a fresh interpreter, since
this test process has imported torch already."""

import subprocess
import sys
from pathlib import Path

import pytest

RECORD = Path(__file__).parents[1] / "docs" / "records" / "memorize.json"

PROBE = """
import sys
from deepgen_cli.cli.entry import main
sys.argv = ["deepgen", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
print("MODULES", "torch" in sys.modules, "torchvision" in sys.modules, code, file=sys.stderr)
"""


def _modules(*args) -> tuple[bool, bool, int]:
    done = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).parents[1])
    line = done.stderr.strip().splitlines()[-1].split()
    assert line[0] == "MODULES", done.stderr
    return line[1] == "True", line[2] == "True", int(line[3])


@pytest.mark.parametrize("args, code", [
    (["--help"], 0), ([], 2), (["--version"], 0), (["memorz"], 2), (["--nope"], 2), (["models"], 0),
    (["models", "--format", "nope"], 2), (["report", "--format", "nope", RECORD], 2), (["report", "missing.json"], 2),
])
def test_no_torch_before_a_run(args, code):
    torch, torchvision, exit_code = _modules(*args)
    assert exit_code == code
    assert not torch and not torchvision


def test_a_run_does_import_torch_and_torchvision_only_for_its_models():
    # the check's own control: a run's usage error past the flags (a model name) is allowed torch, not torchvision
    torch, torchvision, exit_code = _modules("memorize", "--model", "squeezenett")
    assert exit_code == 2 and torch and not torchvision
