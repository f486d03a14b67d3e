"""Each experiment command's table, plot and row key, in one place: the live run (options.experiment registers
them here), `deepgen report`, `compare` and `reproduce` all read them from KINDS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from deepgen_cli.engine.errors import UsageError

# The row fields an engine keys --resume on (session.resumed(**key)); report merges and compare matches rows by
# them. tests/test_report_cmd.py checks these against what each engine asks for.
ROW_KEYS = {
    "efficiency": ("model",),
    "memorize": ("corruption", "regularizer", "noise", "seed"),
    "probe": ("seed", "snapshot", "layer"),
    "norm-compare": ("norm", "microbatch", "sampling", "seed"),
    "reuse": ("network", "seed", "block", "target", "source"),  # --resume reuses a seed's trained network
}
RESUMED = ("efficiency", "memorize", "probe", "norm-compare", "reuse")  # the commands whose engines take --resume
BY_LAYER_KEY = ("module",)  # efficiency --by-layer: one row per module, never resumed


@dataclass(frozen=True)
class Kind:
    name: str
    config_cls: type
    engine: Callable
    view: Callable  # config -> (columns, title)
    plot: tuple[str, str] | None  # (module, function) in report/plots
    sweep: tuple[str, ...]  # config keys a --resume may differ in

    def config(self, values: dict):
        """The config a record holds, as this version's class (unknown keys dropped, missing ones defaulted)."""
        from deepgen_cli.engine.recorded import from_record

        try:
            return self.config_cls(**from_record(self.config_cls, values))
        except (TypeError, ValueError) as err:
            raise UsageError(f"the record's {self.name} config does not fit this version ({err})") from None

    def key(self, config) -> tuple[str, ...]:
        if getattr(config, "by_layer", False):
            return BY_LAYER_KEY
        return ROW_KEYS.get(self.name, ())


KINDS: dict[str, Kind] = {}


def register(name: str, config_cls, engine, view, plot, sweep) -> None:
    KINDS[name] = Kind(name, config_cls, engine, view, plot, tuple(sweep))


def get(name: str, flag: str = "RECORD") -> Kind:
    """The command `name` as the app registered it (importing deepgen_cli.cli.app registers them all)."""
    if name not in KINDS:
        raise UsageError(f"{flag}: no deepgen command '{name}' writes records this version can render; "
                         f"known: {', '.join(KINDS)}")
    return KINDS[name]
