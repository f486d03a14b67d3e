"""Records read back as Reports: one record as its run wrote it, or several of one command merged by row key."""

from __future__ import annotations

import json

from deepgen_cli.engine.errors import UsageError
from deepgen_cli.report.record import Report, _clean


def to_report(record: dict) -> Report:
    """The Report a record was written from: to_json(to_report(r)) is the record's own text again."""
    report = Report(record["command"], record["config"], record.get("environment") or {}, seed=record.get("seed"))
    report.rows = list(record["rows"])
    report.findings = [dict(f) for f in record.get("findings") or [] if isinstance(f, dict)]
    report.notes = [str(n) for n in record.get("notes") or []]
    report.analysis = record.get("analysis") or {}
    report.derived = record.get("derived")
    report.status = record.get("status", "complete")
    report.deepgen_version = record.get("deepgen_version", "?")
    report.time_utc = record.get("time_utc", "")
    return report


def row_key(row: dict, fields: tuple[str, ...]) -> tuple:
    return tuple(json.dumps(row.get(f), sort_keys=True) for f in fields)


def key_text(row: dict, fields: tuple[str, ...]) -> str:
    """How a row is named in notes and comparisons: 'noise=0.5, corruption=labels, seed=0'."""
    return ", ".join(f"{f}={row.get(f)}" for f in fields)


def _deep_merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(out.get(k), dict) and isinstance(v, dict) else v
    return out


def merge(records: list[tuple[str, dict]], key: tuple[str, ...], sweep: tuple[str, ...] = ()) -> Report:
    """Records of one command as one Report: rows in order of first appearance, a row of a later record
    replacing an earlier one with the same key (as --resume keys them); every record's findings and notes
    (each once); their analyses merged. Notes say what was merged and where configs differ."""
    (first_path, first), rest = records[0], records[1:]
    if len(records) == 1:
        return to_report(first)
    for path, rec in rest:
        if rec["command"] != first["command"]:
            raise UsageError(f"RECORD: '{path}' is a record of `deepgen {rec['command']}`, '{first_path}' of "
                             f"`deepgen {first['command']}`; merge records of one command")
    merged = to_report(first)
    merged.rows, merged.findings, merged.notes, merged.analysis = [], [], [], {}
    by_key: dict[tuple, int] = {}
    replaced = []
    for path, rec in records:
        report = to_report(rec)
        for row in report.rows:
            k = row_key(row, key)
            if key and k in by_key:
                merged.rows[by_key[k]] = row
                replaced.append(f"{key_text(row, key)} from {path}")
            else:
                by_key[k] = len(merged.rows)
                merged.rows.append(row)
        merged.findings += [f for f in report.findings if f not in merged.findings]
        merged.notes += [n for n in report.notes if n not in merged.notes]
        merged.analysis = _deep_merge(merged.analysis, report.analysis)
        if report.status != "complete":
            merged.status = report.status
    merged.notes.append(f"merged {len(records)} records: {', '.join(p for p, _ in records)}")
    if replaced:
        merged.notes.append(f"rows in more than one record, the later kept: {'; '.join(replaced)}")
    differ = sorted({k for _, rec in rest for k in set(first["config"]) | set(rec["config"])
                     if k not in sweep and _clean(first["config"].get(k)) != _clean(rec["config"].get(k))})
    if differ:
        merged.notes.append(f"the records' configs differ in {', '.join(differ)}: each finding is from its own record")
    return merged
