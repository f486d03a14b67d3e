"""`experiment(app, spec)`: the subcommand of an ExperimentSpec, whose parameters are the config's option fields
plus the session options; it builds the config (over a record's with --config), checks it, and runs it."""

from __future__ import annotations

import inspect
from contextlib import contextmanager

import typer

from deepgen_cli.cli.options import SessionOptions, build_config, given, parameters, resolve
from deepgen_cli.cli.spec import ExperimentSpec
from deepgen_cli.engine.config import option_fields
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.report.plots import plotter


@contextmanager
def starting(what: str, quiet: bool, console=None):
    """On a terminal, a transient "starting" spinner on stderr while the run's checks import torch and the
    engine (seconds; the progress display takes over once the run begins); it leaves no line behind, so a usage
    error found meanwhile is still the one line. Off a terminal (logs), nothing: the run's first line follows
    soon enough."""
    if console is None and not quiet:
        from rich.console import Console

        console = Console(stderr=True)
    if quiet or not console.is_terminal:
        yield
        return
    with console.status(f"{what}: starting (importing torch, checking the options)", spinner="dots"):
        yield


def experiment(app: typer.Typer, spec: ExperimentSpec) -> None:
    """Add `deepgen NAME`: options from the spec's config fields and the session options, then config -> engine
    -> report (the spec's table, its plot with --plot, rows resumed by its row's KEY)."""
    name, cls, plot = spec.name, spec.config_cls, spec.plot
    session_cls = SessionOptions
    session_params = [p for p in parameters(session_cls, negatable=False) if plot or p.name != "plot"]

    def command(ctx: typer.Context, **values) -> None:
        session = session_cls(**{p.name: values.pop(p.name) for p in session_params})
        config = build_config(ctx, name, cls, values, session.config)
        for field_name, why in config.ignored().items():  # given on the command line, unused by this mode
            if given(ctx, field_name):
                flag = next((o.flag for f, o in option_fields(cls) if f.name == field_name), f"--{field_name}")
                raise UsageError(f"{flag}: {why}; drop it")
        with starting(f"deepgen {name}", session.quiet):  # torch's import: seconds before the run's display
            # checked before the device is resolved (that imports torch), so a mistake is refused at once; the
            # run checks again with the device resolved
            config.resolved().check()
            config, derived = resolve(config)
            after = plotter(session.plot, *plot) if plot else None
            columns, title = spec.table(config)
            from deepgen_cli.cli.session import run  # imports torch: only once a run starts, not for --help

        run(name, config, session, spec.engine, columns, title, after, sweep=spec.sweep, derived=derived)

    ctx_param = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    command.__signature__ = inspect.Signature([ctx_param, *parameters(cls), *session_params])
    command.__doc__ = spec.help
    command.__name__ = name.replace("-", "_")
    app.command(name)(command)
