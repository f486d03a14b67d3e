"""A config read back from a record (`--config`, `report`, `--resume`): each value checked by its field's one
validator (engine/config.py `read_field`: an option's as its flag's text is checked) before use, since a record
is a file from anywhere."""

from __future__ import annotations

import dataclasses

from deepgen_cli.engine.config import read_field


def from_record(cls, config: dict, skip=frozenset()) -> dict:
    """Field values of `cls` from a record's config (JSON lists back to tuples); keys `cls` lacks, and those in
    `skip`, are dropped. A value of the wrong type is a usage error naming the flag (or the field)."""
    return {f.name: read_field(f, config[f.name]) for f in dataclasses.fields(cls)
            if f.name in config and f.name not in skip}
