"""A record is never silently shrunk: `--resume` into a record of another config is refused (exit 2, naming the
fields that differ and how to start afresh) and leaves the file as it was; rows of the earlier run that this sweep
does not ask for are kept, with a note."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

import pytest

from deepgen_cli.cli.options import Format, SessionOptions
from deepgen_cli.cli.session import run
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.outcome import Outcome


@dataclass(frozen=True)
class Config:
    noise: tuple = (0.0, 0.5, 1.0)
    epochs: int = 300
    device: str = "cpu"
    seed: int = 0


@dataclass
class Row:
    KEY: ClassVar[tuple[str, ...]] = ("noise",)
    noise: float
    epochs: int
    reused: bool = False


def _engine(stop_after: int | None = None):
    def engine(config, device, session):
        for i, p in enumerate(config.noise):
            if stop_after is not None and i == stop_after:
                raise KeyboardInterrupt
            old = session.resumed(noise=p)
            session.row(Row(p, old["epochs"], True) if old else Row(p, config.epochs))
        return Outcome()

    return engine


def _options(out, resume=False):
    return SessionOptions(format=Format.json, output=str(out), quiet=True, resume=resume)


def test_resume_with_another_config_is_refused_and_the_rows_stay(tmp_path, capsys):
    # the case: 2 rows of `memorize --noise 0,0.5,1 --epochs 300 -o s05.json`, then `--epochs 2 --resume`
    out = tmp_path / "s05.json"
    with pytest.raises(KeyboardInterrupt):
        run("memorize", Config(), _options(out), _engine(stop_after=2), [], "t", sweep=("noise",))
    before = out.read_bytes()
    assert len(json.loads(before)["rows"]) == 2
    with pytest.raises(UsageError) as err:
        run("memorize", Config(epochs=2), _options(out, resume=True), _engine(), [], "t", sweep=("noise",))
    assert str(err.value) == (
        f"--resume: '{out}' holds 2 rows measured with another config (epochs 300 there, 2 here); nothing was "
        f"changed. To continue it, give its settings (--config {out} --resume -o {out}); to start afresh, "
        f"choose another --output or remove the file")
    assert out.read_bytes() == before


def test_rows_the_resumed_sweep_does_not_ask_for_are_kept_with_a_note(tmp_path, capsys):
    out = tmp_path / "r.json"
    run("memorize", Config(noise=(0.0, 0.5)), _options(out), _engine(), [], "t", sweep=("noise",))
    capsys.readouterr()
    run("memorize", Config(noise=(0.5, 1.0)), _options(out, resume=True), _engine(), [], "t", sweep=("noise",))
    record = json.loads(out.read_text())
    assert [(r["noise"], r["reused"]) for r in record["rows"]] == [(0.5, True), (1.0, False), (0.0, False)]
    assert "--resume: 1 rows of the earlier record that this run did not measure are kept as they were" \
        in record["notes"]
    assert json.loads(capsys.readouterr().out)["rows"] == record["rows"]  # and shown, not only saved


def test_while_a_resumed_run_goes_the_file_holds_every_earlier_row(tmp_path, capsys):
    out = tmp_path / "r.json"
    run("memorize", Config(noise=(0.0, 0.5, 1.0)), _options(out), _engine(), [], "t", sweep=("noise",))
    with pytest.raises(KeyboardInterrupt):  # stopped after one row of the new sweep, 1.0 then 0.0 ...
        run("memorize", Config(noise=(1.0, 2.0, 0.0)), _options(out, resume=True), _engine(stop_after=1), [], "t",
            sweep=("noise",))
    assert sorted(r["noise"] for r in json.loads(out.read_text())["rows"]) == [0.0, 0.5, 1.0]
