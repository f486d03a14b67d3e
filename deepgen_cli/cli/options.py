"""Typer options made from the config classes: each option is declared once (engine/config.py), and a command
is `experiment(app, name, Config, run, ...)`, whose parameters are the config's fields plus the session options.

`--config RECORD.json` starts from a record's config; flags given on the command line override it.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Optional

import typer
from click.core import ParameterSource

from deepgen_cli.engine.config import Opt, from_record, opt, option_fields
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.report.table import Column


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


# What a run writes and shows; not part of the experiment, so not in its config or its record.
FORMAT = opt("--format", "-f", type=Format, panel="Output", help="What goes to stdout: table, json, csv or markdown.")
OUTPUT = opt("--output", "-o", optional=True, panel="Output", help="Write the JSON record here, rewritten after each row.")
QUIET = opt("--quiet", "-q", type=bool, panel="Output", help="No progress or logs on stderr.")
RESUME = opt("--resume", type=bool, panel="Output", help="Reuse the rows of --output that were measured with the same config.")
PLOT = opt("--plot", optional=True, panel="Output", help="Also save a PNG plot to this path.")
CONFIG = opt("--config", optional=True, metavar="RECORD.json",
             panel="Output", help="Start from the config of this record (a JSON record of the same command); flags given override it.")


@dataclass(frozen=True, kw_only=True)
class SessionOptions:
    format: Format = FORMAT(Format.table)
    output: str | None = OUTPUT(None)
    quiet: bool = QUIET(False)
    resume: bool = RESUME(False)
    plot: str | None = PLOT(None)
    config: str | None = CONFIG(None)


def typer_option(o: Opt, default, *, negatable: bool = True):
    """The Typer parameter (annotation, default) of option `o` with `default`."""
    if o.type is bool:
        flags = (f"{o.flag}/--no-{o.flag[2:]}", *o.flags[1:]) if negatable else o.flags
        return bool, typer.Option(default, *flags, help=o.help, rich_help_panel=o.panel)
    kind = str if o.parse else o.type
    shown = o.text(default) if o.parse else default
    return (Optional[kind] if o.optional else kind), typer.Option(shown, *o.flags, help=o.help, metavar=o.metavar,
                                                                 rich_help_panel=o.panel)


def parameters(cls, negatable: bool = True) -> list[inspect.Parameter]:
    out = []
    for f, o in option_fields(cls):
        annotation, default = typer_option(o, f.default, negatable=negatable)
        out.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation))
    return out


def _given(ctx: typer.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE


def build_config(ctx: typer.Context, command: str, cls, values: dict, record_path: str | None):
    """The config from the command line: parsed option text, over a record's config when --config is given."""
    parsed = {}
    for f, o in option_fields(cls):
        raw = values[f.name]
        parsed[f.name] = o.parse(raw, o.flag) if (o.parse and raw is not None and isinstance(raw, str)) else raw
    if record_path:
        from deepgen_cli.report.record import read_record

        record = read_record(record_path, "--config")
        if record.get("command") != command:
            raise UsageError(f"--config: '{record_path}' is a record of `deepgen {record.get('command')}`, "
                             f"not of `deepgen {command}`; give a {command} record")
        base = from_record(cls, record.get("config") or {})
        parsed = {k: (v if _given(ctx, k) or k not in base else base[k]) for k, v in parsed.items()}
    try:
        config = cls(**parsed)
    except TypeError as err:  # a record whose config no longer fits this version's options
        raise UsageError(f"--config: the record's config does not fit this command ({err})") from None
    return config


def experiment(app: typer.Typer, name: str, cls, engine: Callable, view: Callable, *, help: str,
               plot: tuple[str, str] | None = None, sweep: tuple[str, ...] = ()) -> None:
    """Add `deepgen NAME`: options from `cls`'s fields and the session options, then config -> engine -> report.

    `view(config)` gives the (columns, title) of the table; `plot` the (module, function) in report/plots that
    draws --plot; `sweep` the config keys a --resume may differ in (each row carries its own value).
    """
    from deepgen_cli.cli import kinds

    kinds.register(name, cls, engine, view, plot, sweep)  # what `deepgen report`, `compare`, `reproduce` read
    session_cls = SessionOptions
    session_params = [p for p in parameters(session_cls, negatable=False) if plot or p.name != "plot"]

    def command(ctx: typer.Context, **values) -> None:
        from deepgen_cli.cli.session import run
        from deepgen_cli.engine.env import resolve_device
        from deepgen_cli.report.plots import plotter

        session = session_cls(**{p.name: values.pop(p.name) for p in session_params})
        config = build_config(ctx, name, cls, values, session.config)
        for field_name, why in config.ignored().items():  # given on the command line, unused by this mode
            if _given(ctx, field_name):
                flag = next((o.flag for f, o in option_fields(cls) if f.name == field_name), f"--{field_name}")
                raise UsageError(f"{flag}: {why}; drop it")
        config = dataclasses.replace(config, device=str(resolve_device(config.device))).resolved()
        config.check()
        after = plotter(session.plot, *plot) if plot else None
        columns, title = view(config)
        run(name, config, session, engine, columns, title, after, sweep=sweep)

    ctx_param = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    command.__signature__ = inspect.Signature([ctx_param, *parameters(cls), *session_params])
    command.__doc__ = help
    command.__name__ = name.replace("-", "_")
    app.command(name)(command)


__all__ = ["Column", "Format", "SessionOptions", "experiment", "FORMAT"]
