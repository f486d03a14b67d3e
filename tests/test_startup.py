"""Start-up: the app's --help and --version, every command's --help, usage errors (the flags' ranges and each
command's own rules: a model name, a microbatch that does not divide the batch), `models`, and `report` and
`compare` on every committed record import no torch, and none imports torchvision until a torchvision model is
built (issue 25). This test process has imported torch already, so each case runs in a fresh interpreter; the
torch-free cases share one, run one after another (a case that imported torch is named, and the cases after it
are not judged)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
RECORDS = sorted((ROOT / "docs" / "records").glob("*.json"))
RECORD = ROOT / "docs" / "records" / "memorize.json"

PROBE = """
import json, sys
from deepgen_cli.cli.entry import main
for args in json.loads(sys.argv[1]):
    sys.argv = ["deepgen", *args]
    try:
        main()
    except SystemExit as exit:
        code = exit.code
    else:
        code = 0
    print("MODULES", json.dumps(args), "torch" in sys.modules, "torchvision" in sys.modules, code, file=sys.stderr)
"""

COMMANDS = ("efficiency", "memorize", "probe", "norm-compare", "reuse", "norm-depth", "probe-transfer", "width-reg",
            "compress", "downsample", "drop-blocks")

# (arguments, exit code): each a mistake that must be refused before torch is imported
USAGE_ERRORS = [
    (["memorz"], 2), (["--nope"], 2), (["models", "--format", "nope"], 2), (["report", "--format", "nope", RECORD], 2),
    (["report", "missing.json"], 2), (["compare", RECORD], 2),
    (["efficiency", "--models", "squeezenett"], 2), (["efficiency", "--input-shape", "3x0x4"], 2),
    (["memorize", "--model", "squeezenett"], 2), (["memorize", "--epochs", "0"], 2), (["memorize", "--noise", "2"], 2),
    (["probe", "--model", "nope"], 2), (["probe", "--snapshots", "9", "--epochs", "2"], 2),
    (["norm-compare", "--microbatch", "3"], 2), (["norm-compare", "--norms", "layer"], 2),
    (["reuse", "--model", "cnn"], 2), (["norm-depth", "--depths", "99"], 2),
    (["probe-transfer", "--dataset", "synthetic", "--synthetic-classes", "2"], 2), (["width-reg", "--widths", "4"], 2),
    (["compress", "--bits", "9"], 2), (["downsample", "--early-model", "nope"], 2), (["drop-blocks", "--epochs", "0"], 2),
]

CASES = ([(["--help"], 0), ([], 2), (["--version"], 0), (["models"], 0)]
         + [([command, "--help"], 0) for command in COMMANDS]
         + [(["report", record], 0) for record in RECORDS]
         + [(["compare", ROOT / "docs/records/memorize.json", ROOT / "docs/records/memorize.json"], 0)]
         + USAGE_ERRORS)


def _modules(*cases) -> list[tuple[list, bool, bool, int]]:
    argv = json.dumps([[str(a) for a in args] for args in cases])
    done = subprocess.run([sys.executable, "-c", PROBE, argv], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)
    out = []
    for line in done.stderr.splitlines():
        if line.startswith("MODULES "):
            rest = line[len("MODULES "):]
            args, _, flags = rest.rpartition("] ")
            torch, torchvision, code = flags.split()
            out.append((json.loads(args + "]"), torch == "True", torchvision == "True", int(code)))
    assert len(out) == len(cases), done.stderr[-2000:]
    return out


def test_the_cases_cover_every_command_and_record():
    assert len(RECORDS) >= 11  # every command's record, and the quick start's
    from deepgen_cli.cli import spec

    assert {s.name for s in spec.every()} == set(COMMANDS)
    assert {args[0] for args, _ in USAGE_ERRORS} >= set(COMMANDS)  # a mistake of each command's own


def test_no_torch_before_a_run():
    for (args, torch, torchvision, code), (_, expected) in zip(_modules(*(args for args, _ in CASES)), CASES):
        assert not torch and not torchvision, f"deepgen {' '.join(args)} imported torch"
        assert code == expected, f"deepgen {' '.join(args)} exited {code}, not {expected}"


@pytest.mark.parametrize("args, torchvision", [
    # the check's own control: a run imports torch (the cases above would see it), and torchvision only for its
    # models: memorize's MLP needs none, efficiency's SqueezeNet is torchvision's
    (["memorize", "--noise", "1", "--subset", "60", "--epochs", "1", "--repeats", "1", "--no-until-fit", "-q",
      "-f", "csv"], False),
    (["efficiency", "--models", "squeezenet1_1@32", "--min-time", "0.01", "-q", "-f", "csv"],
     True),
])
def test_a_run_imports_torch_and_torchvision_only_for_its_models(args, torchvision):
    [(_, torch, vision, code)] = _modules(args)
    assert code == 0 and torch and vision == torchvision
