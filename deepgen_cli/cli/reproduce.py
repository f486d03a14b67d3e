"""`deepgen reproduce`: every command's default experiment in one go, one record each in --output-dir, and one
table of every paper's claims with what this machine measured and the verdict (what runs: cli/suite.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from deepgen_cli.cli.options import PAGE_FORMAT, QUIET, RESUME, PageFormat, typer_option
from deepgen_cli.cli.suite import render, run_all
from deepgen_cli.engine.errors import RunError, UsageError


def register(app: typer.Typer) -> None:
    @app.command("reproduce")
    def reproduce(
        output_dir: Path = typer.Option(Path("deepgen-records"), "--output-dir", "-O",
                                        help="Folder for the records, one per command (COMMAND.json)."),
        format: PageFormat = typer_option(PAGE_FORMAT, PageFormat.table)[1],  # html: every table and plot
        quick: bool = typer.Option(False, "--quick", help="Smaller settings, under a minute: same claims, "
                                                          "less data and shorter timings."),
        resume: bool = typer_option(RESUME, False, negatable=False)[1],  # reuses rows of the records in --output-dir
        quiet: bool = typer_option(QUIET, False, negatable=False)[1],
    ) -> None:
        """Run every command's default experiment and print one table: paper, claim, basis, measured, verdict."""
        if output_dir.exists() and not output_dir.is_dir():
            raise UsageError(f"--output-dir: '{output_dir}' is a file; give a folder")
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UsageError(f"--output-dir: cannot create '{output_dir}' ({err.strerror})") from None
        done, failures = run_all(output_dir, quick, resume, quiet)
        render(done, format, "deepgen reproduce" + (" --quick" if quick else ""))
        sys.stdout.flush()
        if failures:
            raise RunError("; ".join(failures))
