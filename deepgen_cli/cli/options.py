"""Typer options made from the config classes: each option is declared once (engine/config.py, and the session
options here), and becomes a Typer parameter with the same flags, help and default in every command.

`--config RECORD.json` starts from a record's config; flags given on the command line override it.
"""

from __future__ import annotations

import inspect
import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Optional

import typer

from deepgen_cli.engine.config import Opt, opt, option_fields
from deepgen_cli.engine.recorded import from_record
from deepgen_cli.engine.errors import UsageError


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class PageFormat(str, Enum):
    """The formats of the commands that render records (report, compare, reproduce): a run's, and html."""

    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    html = "html"


# What a run writes and shows; not part of the experiment, so not in its config or its record.
FORMAT = opt("--format", "-f", type=Format, panel="Output", help="What goes to stdout: table, json, csv or markdown.")
PAGE_FORMAT = opt("--format", "-f", type=PageFormat, panel="Output",
                  help="What goes to stdout: table, json, csv, markdown, or html (one self-contained page).")
OUTPUT = opt("--output", "-o", optional=True, panel="Output", help="Write the JSON record here, rewritten after each row.")
QUIET = opt("--quiet", "-q", type=bool, panel="Output", help="No progress or logs on stderr.")
RESUME = opt("--resume", type=bool, panel="Output",
             help="Reuse the rows of the record being written (--output; reproduce: those in --output-dir) that "
                  "were measured with the same config.")
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
        # --x/--no-x only where the default is on: the negative form of an off-by-default flag would take a
        # column of every --help line for nothing
        flags = (f"{o.flag}/--no-{o.flag[2:]}", *o.flags[1:]) if negatable and default else o.flags
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


def given(ctx: typer.Context, name: str) -> bool:
    # by name: typer may carry its own copy of click, whose ParameterSource is another class
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


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
        on_line = {k for k in parsed if given(ctx, k)}  # overridden: the record's value is never used
        stored = dict(record.get("config") or {})
        # Defaults the run derived from other options (probe's snapshots from --epochs, memorize's noise from
        # --corruption) are derived again, from the flags as now given; the thread count stays as recorded:
        # the same seed gives the same numbers only at the same thread count.
        derived = record.get("derived") or []
        for name in derived if isinstance(derived, list) else ():
            if name != "threads":
                stored.pop(name, None)
        try:  # each value as the CLI checks its flag's text (engine/config.py read_field), naming the flag
            base = from_record(cls, stored, skip=on_line)
        except UsageError as err:
            raise UsageError(f"--config: '{record_path}' holds a bad value: {err}") from None
        parsed = {k: (v if given(ctx, k) or k not in base else base[k]) for k, v in parsed.items()}
    try:
        config = cls(**parsed)
    except TypeError as err:  # a record whose config no longer fits this version's options
        raise UsageError(f"--config: the record's config does not fit this command ({err})") from None
    return config


def resolve(config) -> tuple[object, tuple[str, ...]]:
    """The config as a run uses and records it (device resolved, defaults that depend on other options filled
    in), and the names of the fields so filled in: the record's `derived`, which --config derives again."""
    from deepgen_cli.engine.env import resolve_device

    given_config = dataclasses.replace(config, device=str(resolve_device(config.device)))
    config = given_config.resolved()
    derived = tuple(f.name for f in dataclasses.fields(config)
                    if getattr(given_config, f.name) is None and getattr(config, f.name) is not None)
    return config, derived

