"""What `--output` replaces, and with what permissions (docs/records.md, Output formats): only a regular file, or a
new path, or the regular file a symlink leads to; a new record gets the user's umask, a rewritten one keeps its
mode; a name with other hard links becomes a new file, the other names keep the earlier record."""

from __future__ import annotations

import json
import os
import stat

import pytest

from deepgen_cli.engine.errors import UsageError
from deepgen_cli.report.record import Report, ResultsFile


def _report(rows: int = 1) -> Report:
    report = Report("memorize", {"noise": [1.0]}, {}, seed=0)
    for i in range(rows):
        report.add_row({"noise": 1.0, "seed": i})
    return report


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_symlink_loop_as_output_is_refused_and_left_as_it_was(tmp_path):
    a, b = tmp_path / "lA", tmp_path / "lB"
    a.symlink_to("lB")
    b.symlink_to("lA")
    with pytest.raises(UsageError, match=r"--output: '.*lA' is a symlink loop \(lB\); --output only replaces a "
                                         r"regular file"):
        ResultsFile(a)
    assert os.readlink(a) == "lB" and os.readlink(b) == "lA"


def test_a_dangling_symlink_as_output_is_refused(tmp_path):
    link = tmp_path / "r.json"
    link.symlink_to(tmp_path / "gone" / "r.json")
    with pytest.raises(UsageError, match="is a symlink to nothing"):
        ResultsFile(link)
    assert link.is_symlink() and not link.exists()


def test_a_symlink_loop_is_refused_by_the_command_before_it_runs(cli, tmp_path):
    a = tmp_path / "lA"
    a.symlink_to("lB")
    (tmp_path / "lB").symlink_to("lA")
    result = cli("memorize", "--noise", "1", "--epochs", "1", "--subset", "200", "-o", a)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"deepgen: error: --output: '{a}' is a symlink loop")
    assert result.stdout == "" and a.is_symlink()


def test_through_a_symlink_the_target_is_rewritten_and_the_link_stays(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("{}")
    link = tmp_path / "r.json"
    link.symlink_to(target)
    ResultsFile(link).write(_report())
    assert link.is_symlink() and json.loads(target.read_text())["rows"] == [{"noise": 1.0, "seed": 0}]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_new_record_gets_the_users_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        ResultsFile(tmp_path / "r.json").write(_report())
    finally:
        os.umask(old)
    assert _mode(tmp_path / "r.json") == mode


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600, 0o664])
def test_a_rewritten_record_keeps_its_mode(tmp_path, mode):
    path = tmp_path / "r.json"
    path.write_text("{}")
    path.chmod(mode)
    old = os.umask(0o077)  # a umask that would give 0600: the file's own mode wins
    try:
        results = ResultsFile(path)
        results.write(_report(1))
        results.write(_report(2))
    finally:
        os.umask(old)
    assert _mode(path) == mode and len(json.loads(path.read_text())["rows"]) == 2


def test_a_hard_linked_record_becomes_a_new_file_and_the_other_name_keeps_the_old(tmp_path):
    path, other = tmp_path / "r.json", tmp_path / "copy.json"
    path.write_text('{"old": true}')
    os.link(path, other)
    ResultsFile(path).write(_report())
    assert json.loads(other.read_text()) == {"old": True}  # the rename gave r.json a new inode
    assert json.loads(path.read_text())["rows"] == [{"noise": 1.0, "seed": 0}]
    assert os.stat(path).st_nlink == 1 and os.stat(other).st_nlink == 1
