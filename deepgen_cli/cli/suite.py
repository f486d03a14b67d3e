"""What `deepgen reproduce` runs: every command's default experiment (EXPERIMENTS), each into its own record in a
folder with one progress display (`run_all`), and the claims of all of them as one page (`render`)."""

from __future__ import annotations

import sys
from pathlib import Path

from deepgen_cli.cli import kinds
from deepgen_cli.cli.options import PageFormat, resolve
from deepgen_cli.engine.errors import RunError
from deepgen_cli.report.claims import COLUMNS, claim_rows

# The papers' models for `efficiency`: each finding needs two of them (SqueezeNet vs AlexNet, MobileNet with and
# without depthwise convolutions, 0.50 MobileNet-160 vs both) or counts against a published figure (DenseNet-121:
# torchvision's). One thread:
# on shared cores a second thread waits at every barrier (measured: squeezenet 1.4 s a forward on 2 busy cores).
PAPER_MODELS = ("squeezenet", "squeezenet1_1", "alexnet", "mobilenet", "mobilenet-conv", "mobilenet:0.5@160",
                "densenet121")

# (command, its config's overrides, and those of --quick on top). One line per experiment.
# --quick keeps every finding's inputs: efficiency's verdicts are counts, so only its timing shrinks; memorize
# trains on 400 of digits' 1,347 training examples (p=1 then fits in about a third of the steps); probe trains 2
# epochs, not 4; norm-compare drops the microbatch-2 setting and trains 2 epochs on 500 examples (about a fifteenth
# of the steps: its default is most of reproduce's time); reuse trains 3 epochs, not 15.
EXPERIMENTS = (
    ("efficiency", dict(models=PAPER_MODELS, threads=1, min_time_s=0.2), dict(min_time_s=0.01, warmup_runs=1)),
    ("memorize", {}, dict(subset=400)),
    ("probe", {}, dict(epochs=2)),
    ("norm-compare", {}, dict(microbatch=(4, 32), epochs=2, subset=500)),
    ("reuse", {}, dict(epochs=3)),
)

def prepared(kind: kinds.Kind, overrides: dict):
    """The config a command would run with these options given (device resolved, dependent defaults filled)
    and the fields so filled."""
    config, derived = resolve(kind.config_cls(**overrides))
    config.check()
    return config, derived


def run_all(output_dir: Path, quick: bool, resume: bool, quiet: bool) -> tuple[list, list[str]]:
    """Each experiment into OUTPUT_DIR/COMMAND.json; (kind, report) pairs and the failures (rows that failed)."""
    from deepgen_cli.cli.options import SessionOptions
    from deepgen_cli.cli.progress import display_for
    from deepgen_cli.cli.session import record, stderr

    display = None if quiet else display_for(stderr)
    done, failures = [], []
    try:
        for i, (name, overrides, fast) in enumerate(EXPERIMENTS, 1):
            kind = kinds.get(name)
            config, derived = prepared(kind, {**overrides, **(fast if quick else {})})
            path = output_dir / f"{name}.json"
            if display is not None:
                display.stage(f"reproduce {i}/{len(EXPERIMENTS)}: {name}")
            options = SessionOptions(output=str(path), resume=resume, quiet=quiet)
            report, unsaved = record(name, config, options, kind.engine, kind.sweep, display=display, derived=derived)
            if unsaved is not None:
                raise RunError(f"{unsaved}; stopped at {name}")
            failed = [r["error"] for r in report.rows if r.get("error")]
            if failed:
                failures.append(f"{name}: {len(failed)} rows failed; first: {failed[0]}")
            done.append((kind, report))
    finally:
        if display is not None:
            display.stop()
    return done, failures


def render(done: list, fmt: PageFormat, title: str) -> None:
    """The claims of every record as one table; the full page (html) adds each record's own table and plot."""
    from deepgen_cli.cli.records import plot_png
    from deepgen_cli.report.claims import claims_page
    from deepgen_cli.report.export import emit
    from deepgen_cli.report.page import record_section

    def section(kind, report):
        columns, table_title = kind.view(kind.config(report.config))
        return record_section(report, columns, f"deepgen {kind.name}: {table_title}", lambda: plot_png(kind, report),
                              detail=True)

    details = [section(kind, report) for kind, report in done]
    emit(claims_page([(kind.name, report) for kind, report in done], title, details), fmt.value)
