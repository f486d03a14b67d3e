"""`deepgen reproduce`: every command's default experiment in one go, one record each in --output-dir, and one
table of every paper's claims with what this machine measured and the verdict (what runs: cli/suite.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from deepgen_cli.cli.options import PAGE_FORMAT, QUIET, RESUME, PageFormat, typer_option
from deepgen_cli.cli.suite import chosen, render, render_controls, run_all, tally
from deepgen_cli.engine.errors import RunError, UsageError


def register(app: typer.Typer) -> None:
    @app.command("reproduce")
    def reproduce(
        commands: Optional[List[str]] = typer.Argument(None, metavar="COMMAND",
                                                       help="The experiments to run (default: every one)."),
        output_dir: Path = typer.Option(Path("deepgen-records"), "--output-dir", "-O", metavar="DIR",
                                        help="Folder for the records, one per command (COMMAND.json)."),
        format: PageFormat = typer_option(PAGE_FORMAT, PageFormat.table)[1],  # html: every table and plot
        quick: bool = typer.Option(False, "--quick", help="Smaller settings, under a minute: same claims, "
                                                          "less data and shorter timings."),
        controls: bool = typer.Option(False, "--controls", help="Run each claim's negative controls too "
                                      "(COMMAND.control-N.json) and show their verdicts; exit 1 if one says yes."),
        resume: bool = typer_option(RESUME, False, negatable=False)[1],  # reuses rows of the records in --output-dir
        quiet: bool = typer_option(QUIET, False, negatable=False)[1],
    ) -> None:
        """Run every command's default experiment and print one table: paper, claim, basis, measured, verdict."""
        specs = chosen(commands)
        if output_dir.exists() and not output_dir.is_dir():
            raise UsageError(f"--output-dir: '{output_dir}' is a file; give a folder")
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UsageError(f"--output-dir: cannot create '{output_dir}' ({err.strerror})") from None
        done, failures = run_all(specs, output_dir, quick, resume, quiet, controls)
        title = "deepgen reproduce" + (" --quick" if quick else "") + (" --controls" if controls else "")
        claims, failing = render_controls(done, format, title) if controls else (render(done, format, title), [])
        sys.stdout.flush()
        if not quiet:
            sys.stderr.write(tally(claims) + "\n")
        if failures or failing:
            raise RunError("; ".join([*failures, *(f"negative control failed: {f}" for f in failing)]))
