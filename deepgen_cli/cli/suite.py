"""What `deepgen reproduce` runs: every registered experiment with its spec's reproduce settings (and with
--controls its negative controls too), each into its own record in a folder with one progress display
(`run_all`); the claims of all of them as one page (`render`, `render_controls`) and their tally."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from deepgen_cli.cli import spec
from deepgen_cli.cli.options import PageFormat, resolve
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.report.claims import claim_rows
from deepgen_cli.report.record import Report
from deepgen_cli.report.table import Column, text


@dataclass
class Done:
    """One experiment's record, and with --controls each control with its record."""

    spec: spec.ExperimentSpec
    report: Report
    controls: list = field(default_factory=list)  # (Control, Report)


def chosen(names: list[str] | None) -> list[spec.ExperimentSpec]:
    """The experiments `reproduce COMMAND...` names, in the registry's order; all of them when none is named."""
    every = spec.every()
    unknown = [n for n in names or () if n not in {s.name for s in every}]
    if unknown:
        raise UsageError(f"COMMAND: no experiment '{unknown[0]}'; choose from {', '.join(s.name for s in every)}")
    return [s for s in every if not names or s.name in names]


def prepared(experiment: spec.ExperimentSpec, overrides: dict):
    """The config a command would run with these options given (device resolved, dependent defaults filled)
    and the fields so filled."""
    config, derived = resolve(experiment.config_cls(**overrides))
    config.check()
    return config, derived


def _plan(specs, quick: bool, controls: bool) -> list:
    """(spec, control or None, config overrides, record file name) of every run, in order."""
    plan = []
    for s in specs:
        plan.append((s, None, s.settings(quick), f"{s.name}.json"))
        for i, control in enumerate(s.negative_controls() if controls else (), 1):
            plan.append((s, control, {**s.settings(quick), **control.overrides}, f"{s.name}.control-{i}.json"))
    return plan


def run_all(specs, output_dir: Path, quick: bool, resume: bool, quiet: bool,
            controls: bool = False) -> tuple[list[Done], list[str]]:
    """Each experiment into OUTPUT_DIR/COMMAND.json (each control into COMMAND.control-N.json); what was done and
    the failures (rows that failed)."""
    from deepgen_cli.cli.options import SessionOptions
    from deepgen_cli.cli.progress import display_for
    from deepgen_cli.cli.session import record, stderr

    plan = _plan(specs, quick, controls)
    display = None if quiet else display_for(stderr)
    done, failures = [], []
    try:
        for i, (s, control, overrides, file_name) in enumerate(plan, 1):
            name = s.name if control is None else f"{s.name} control: {control.label}"
            try:
                config, derived = prepared(s, overrides)
            except TypeError as err:  # a setting naming no field of the config: a bug in the spec or control
                raise RunError(f"{name}: its settings do not fit {s.name}'s config ({err})") from None
            if display is not None:
                display.stage(f"reproduce {i}/{len(plan)}: {name}")
            options = SessionOptions(output=str(output_dir / file_name), resume=resume, quiet=quiet)
            report, unsaved = record(s.name, config, options, s.engine, s.sweep, display=display, derived=derived)
            if unsaved is not None:
                raise RunError(f"{unsaved}; stopped at {name}")
            failed = [r["error"] for r in report.rows if r.get("error")]
            if failed:
                failures.append(f"{name}: {len(failed)} rows failed; first: {failed[0]}")
            if control is None:
                done.append(Done(s, report))
            else:
                done[-1].controls.append((control, report))
    finally:
        if display is not None:
            display.stop()
    return done, failures


def tally(rows: list[dict]) -> str:
    """The closing count of the claims' verdicts: rows of claim_rows carry each finding's `reproduced`, which is
    all the caption's count reads."""
    from deepgen_cli.report.findings import count_line

    return count_line(rows)


def _claims(done: list[Done]) -> list[dict]:
    return [r for d in done for r in claim_rows(d.spec.name, d.report, d.spec.papers)]


def render(done: list[Done], fmt: PageFormat, title: str) -> list[dict]:
    """The claims table (and with html every record's table and plot) on stdout; its rows."""
    from deepgen_cli.report.claims import claims_page

    _emit(claims_page([(d.spec.name, d.report, d.spec.papers) for d in done], title, _details(done)), fmt)
    return _claims(done)


CONTROL_COLUMNS = [Column("paper", "paper", text, numeric=False), Column("claim", "claim", text, numeric=False),
                   Column("verdict", "verdict", text, numeric=False),
                   Column("control", "control", text, numeric=False),
                   Column("control_verdict", "control verdict", text, numeric=False)]


def _controlled(control, claim: str) -> str | None:
    """The prefix of `control.claims` that `claim` starts with, if any."""
    return next((p for p in control.claims if claim.startswith(p)), None)


def control_rows(done: list[Done]) -> tuple[list[dict], list[str]]:
    """One row per claim and control of it ("-" for a claim without one), and the controls that came out yes."""
    rows, failing = [], []
    for d in done:
        claims = claim_rows(d.spec.name, d.report, d.spec.papers)
        for row in claims:
            pairs = []
            for control, report in d.controls:
                prefix = _controlled(control, row["claim"])
                if prefix is not None:  # the control's verdict on the claim its record holds under that prefix
                    there = [v["verdict"] for v in claim_rows(d.spec.name, report) if v["claim"].startswith(prefix)]
                    pairs.append((control.label, there[0] if there else "not judged"))
            for label, verdict in pairs or [("-", "-")]:
                rows.append({**row, "control": label, "control_verdict": verdict})
        for control, report in d.controls:
            # every claim the control holds, whether or not the default run judged it: a yes fails the run
            yes = [v for v in claim_rows(d.spec.name, report) if v["reproduced"] is True
                   and _controlled(control, v["claim"]) is not None]
            if yes:
                failing.append(f"{d.spec.name} control '{control.label}' says yes to '{yes[0]['claim']}'")
                judged = {r["claim"] for r in claims}
                rows += [{**v, "verdict": "-", "control": control.label, "control_verdict": "yes"}
                         for v in yes if v["claim"] not in judged]
    return rows, failing


def render_controls(done: list[Done], fmt: PageFormat, title: str) -> tuple[list[dict], list[str]]:
    """The claims with their controls' verdicts on stdout; the claims (one row each) and the controls that said
    yes."""
    from deepgen_cli.report.page import Page, Section, scalar_fields

    rows, failing = control_rows(done)
    section = Section(title, CONTROL_COLUMNS, rows, wrap=True)
    fields = scalar_fields(rows) or [c.key for c in CONTROL_COLUMNS]
    _emit(Page(title, [section, *_details(done)], rows, fields, rows), fmt)
    return _claims(done), failing


def _details(done: list[Done]) -> list:
    """Each record's own table, verdicts and plot: the full page (html) shows them under the claims."""
    from deepgen_cli.cli.records import plot_png
    from deepgen_cli.report.page import record_section

    out = []
    for d in done:
        columns, table_title = d.spec.table(d.spec.record_config(d.report.config))
        out.append(record_section(d.report, columns, f"deepgen {d.spec.name}: {table_title}",
                                  (lambda d=d: plot_png(d.spec, d.report)), detail=True))
    return out


def _emit(page, fmt: PageFormat) -> None:
    from deepgen_cli.report.export import emit

    emit(page, fmt.value)
