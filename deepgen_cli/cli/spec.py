"""Each experiment command as one ExperimentSpec in one registry: the app, `reproduce`, `report`, `compare`,
`--resume` and torchrun handling all read it. Adding an experiment: an engine package, a face module in cli/
whose SPEC describes it, and its name in BUILTIN (or `register(spec)`, as the tests do with a toy)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from deepgen_cli.engine.errors import UsageError

# The face modules (deepgen_cli.cli.NAME) whose SPEC is a command, in the order `--help` and `reproduce` list them.
BUILTIN = ("efficiency", "memorize", "probe", "norm_compare", "reuse", "norm_depth", "probe_transfer", "width_reg",
           "compress", "downsample", "drop_blocks")


def load(ref: Any) -> Any:
    """`ref` itself, or what a "module:attribute" string names, imported only now (engines import torch)."""
    if not isinstance(ref, str):
        return ref
    module, _, attribute = ref.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True, kw_only=True)
class ExperimentSpec:
    """What deepgen knows of one experiment command. Engine objects may be given as "module:attribute" strings,
    so that listing the experiments (report, compare, --help's names) imports no engine."""

    name: str  # `deepgen NAME`; its records' "command"
    help: str  # the command's line in --help
    config: type | str  # the keyword-only config dataclass: the command's options and the record's config
    row: type | str  # the row dataclass; its KEY class attribute is what --resume, report and compare match rows by
    run: Callable | str  # run(config, device, session) -> Outcome
    columns: tuple = ()  # report.table.Column of the table
    title: str = ""
    view: Callable | None = None  # config -> (columns, title), where the table depends on the config
    row_of: Callable | None = None  # config -> row type (or its "module:Class"), where the rows depend on it
    plot: tuple[str, str] | None = None  # (module, function) in report/plots that draws --plot
    sweep: tuple[str, ...] = ()  # config keys a --resume may differ in (each row carries its own value)
    papers: str = ""  # the paper a claim tests when its text cites none
    torchrun: bool = False  # runs data-parallel under torchrun (what qualifies: cli/ranks.py)
    reproduce: dict = field(default_factory=dict)  # `deepgen reproduce`'s overrides of the config's defaults
    quick: dict = field(default_factory=dict)  # and those of `reproduce --quick`, on top
    smoke: tuple[str, ...] = ()  # command-line arguments of a run of seconds, for the tests
    # Negative controls (engine.outcome.Control), or their "module:CONTROLS"; None: the engine package's
    # controls.py, when it has one (deepgen_cli.engine.PKG.controls:CONTROLS), else none.
    controls: tuple | str | None = None

    @property
    def config_cls(self) -> type:
        return load(self.config)

    @property
    def engine(self) -> Callable:
        return load(self.run)

    def table(self, config) -> tuple[list, str]:
        """The (columns, title) a run of `config` prints."""
        return self.view(config) if self.view is not None else (list(self.columns), self.title)

    def key(self, config) -> tuple[str, ...]:
        """The row fields that identify a row of a run of `config`, as its row type declares them."""
        return tuple(load(self.row_of(config) if self.row_of is not None else self.row).KEY)

    def settings(self, quick: bool = False) -> dict:
        """The config overrides `deepgen reproduce` (--quick) runs this command with."""
        return {**self.reproduce, **(self.quick if quick else {})}

    def record_config(self, values: dict):
        """The config a record holds, as this version's class (unknown keys dropped, missing ones defaulted)."""
        from deepgen_cli.engine.recorded import from_record

        cls = self.config_cls
        try:
            return cls(**from_record(cls, values))
        except (TypeError, ValueError) as err:
            raise UsageError(f"the record's {self.name} config does not fit this version ({err})") from None

    def negative_controls(self) -> tuple:
        """This command's negative controls (see `controls`); importing them imports the engine package."""
        ref = self.controls
        if ref is None:
            module = self.run if isinstance(self.run, str) else getattr(self.run, "__module__", "")
            parts = module.partition(":")[0].split(".")
            if parts[:2] != ["deepgen_cli", "engine"] or len(parts) < 3:
                return ()
            name = ".".join([*parts[:3], "controls"])
            try:
                return tuple(importlib.import_module(name).CONTROLS)
            except ModuleNotFoundError as err:
                if err.name != name:  # the controls module is there but imports something missing
                    raise
                return ()
        return tuple(load(ref))


SPECS: dict[str, ExperimentSpec] = {}
_builtins_loaded = False


def register(spec: ExperimentSpec) -> ExperimentSpec:
    """Add `spec` to the registry; a name taken already is an error (a second spec must not hide the first)."""
    if spec.name in SPECS:
        raise ValueError(f"an experiment named '{spec.name}' is registered already")
    SPECS[spec.name] = spec
    return spec


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for module in BUILTIN:
            register(importlib.import_module(f"deepgen_cli.cli.{module}").SPEC)


def every() -> list[ExperimentSpec]:
    """Every registered experiment: the built-in ones first, in BUILTIN's order."""
    _load_builtins()
    return list(SPECS.values())


def get(name: str, flag: str = "RECORD") -> ExperimentSpec:
    """The experiment `name`; `flag` names where the name came from in the usage error for an unknown one."""
    _load_builtins()
    if name not in SPECS:
        raise UsageError(f"{flag}: no deepgen command '{name}' writes records this version can render; "
                         f"known: {', '.join(SPECS)}")
    return SPECS[name]
