"""A config read back from a record (`--config`, `report`, `--resume`): each value checked against its field's
type before use, since a record is a file from anywhere."""

from __future__ import annotations

import dataclasses
import json

from deepgen_cli.engine.errors import UsageError

_SCALARS = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "str": lambda v: isinstance(v, str), "bool": lambda v: isinstance(v, bool),
            "list": lambda v: isinstance(v, list), "dict": lambda v: isinstance(v, dict)}


def fits(value, annotation: str) -> bool:
    """Whether a JSON value can be a field of this annotation ("int", "float | None", "tuple[int, ...]" ...).
    A record is a file from anywhere: a value of the wrong type would fail deep in a run as an internal error."""
    kinds = [k.strip() for k in annotation.split("|")]
    if value is None:
        return "None" in kinds
    for kind in kinds:
        if kind.startswith("tuple[") and isinstance(value, (list, tuple)):
            items = [t.strip() for t in kind[len("tuple["):-1].split(",")]
            if items[-1] == "...":
                items = [items[0]] * len(value)
            if len(items) == len(value) and all(_SCALARS.get(t, lambda v: True)(v) for t, v in zip(items, value)):
                return True
        elif kind in _SCALARS and _SCALARS[kind](value):
            return True
        elif kind not in _SCALARS and not kind.startswith("tuple[") and kind != "None":
            return True  # a type this check does not know: the config's own check() judges it
    return False


def from_record(cls, config: dict, skip=frozenset()) -> dict:
    """Field values of `cls` from a record's config (JSON lists back to tuples); keys `cls` lacks, and those in
    `skip`, are dropped. A value of the wrong type is a usage error naming the field."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.name not in config or f.name in skip:
            continue
        value = config[f.name]
        if not fits(value, str(f.type)):
            raise UsageError(f"the record's config has {f.name} = {json.dumps(value)[:60]}, not of type "
                             f"{f.type}: not a config deepgen wrote")
        if isinstance(value, list) and "tuple" in str(f.type):
            value = tuple(value)
        out[f.name] = value
    return out
