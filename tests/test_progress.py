"""Progress on stderr: rows done of total with the time left, a live bar on a terminal, plain lines off one (a
line per row and one at least every 30 s during a row), nothing with --quiet, never on stdout."""

import io
import re
import subprocess
import sys
import time

import pytest
from rich.console import Console

from deepgen_cli.cli.progress import LiveProgress, PlainProgress, Tally, clock


class FakeClock:
    def __init__(self, t=0.0):
        self.t = t

    def __call__(self):
        return self.t


def test_time_left_is_the_mean_measured_row_times_the_rows_to_go():
    tally = Tally(start=0.0)
    assert tally.eta(5.0) is None  # no plan yet
    tally.plan(4, now=10.0)  # loading took 10 s: not a row
    tally.row_done(20.0)  # 10 s
    assert tally.eta(20.0) is None  # a burst of rows may be under way: no estimate for BURST_S
    assert tally.eta(21.0) == 29.0  # 3 rows to go at 10 s, 1 s into the second
    assert tally.eta(25.0) == 25.0  # 5 s into the second row
    assert tally.eta(38.0) == 20.0  # past the mean: never less than the 2 rows after this one
    tally.row_done(40.0)  # 20 s: mean 15 s
    tally.row_done(40.0, reused=True)  # from an earlier run: done, but not in the mean
    assert (tally.done, tally.measured, tally.eta(40.0)) == (3, 2, 20.0)  # still the estimate before the burst
    assert tally.eta(41.0) == 14.0  # the burst is over: one row to go at a mean of 15 s
    assert tally.eta(60.0) is None  # the last row has outrun the mean: no honest estimate
    tally.row_done(60.0)
    assert tally.eta(60.0) == 0.0 and tally.how_far() == "4/4 rows"


def test_rows_that_finish_together_share_the_time_since_the_last():
    tally = Tally(start=0.0)
    tally.plan(180, now=0.0)  # reuse: 2 seeds x 2 networks x 45 cells
    tally.row_done(60.0, count=45)  # a trained network's cells, then its initialization's, at once
    tally.row_done(60.0, count=45)
    assert (tally.done, tally.how_far()) == (90, "90/180 rows")
    assert tally.eta(61.0) == pytest.approx(89 * 60 / 90)  # 60 s per 90 rows: another 60 for the second seed
    assert tally.eta(80.0) == pytest.approx(89 * 60 / 90)  # never less than the 89 rows after the current one


def test_the_estimate_does_not_jump_when_rows_finish_in_bursts():
    """probe scores a snapshot's 8 layers within a second after a minute of training: the first row of a burst
    alone would say 15 rows x 60 s = 15:00 left, and 0:59 a second later."""
    tally = Tally(start=0.0)
    tally.plan(16, now=0.0)
    shown = []
    for i in range(8):
        tally.row_done(60.0 + i / 10)
        shown.append(tally.eta(60.0 + i / 10 + 0.05))
    assert shown == [None] * 8  # no estimate while the burst runs
    per_row = 60.7 / 8  # the burst's rows share the 60.7 s since the plan
    assert tally.eta(62.0) == pytest.approx(8 * per_row - 1.3)  # 8 rows to go, 1.3 s into the next
    assert tally.eta(90.0) == pytest.approx(7 * per_row)  # never less than the 7 rows after the current one
    tally.row_done(120.0)  # the next burst's first row: the estimate of the burst before, not 7 x 60 s
    assert tally.eta(120.05) == pytest.approx(7 * per_row)
    for i in range(1, 8):
        tally.row_done(120.0 + i / 10)
    assert tally.eta(120.8) == 0.0 and tally.how_far() == "16/16 rows"


def test_before_any_row_the_engines_share_of_the_next_rows_gives_the_estimate():
    """reuse trains a seed's network for minutes, then reports its 30 cells at once: with 3 seeds, 0/90 rows and
    no estimate until the first third was over. Its epochs say how far the seed's training is."""
    tally = Tally(start=0.0)
    tally.plan(90, now=10.0)  # loading took 10 s
    assert tally.eta(40.0) is None  # nothing reported yet
    tally.part_done(1 / 7, rows=30)  # epoch 1 of 7 of the first seed, its 30 rows to come
    # 30 s for 1/7 of 30 rows: 7 s a row, 90 rows in 630 s, 30 of them spent
    assert tally.eta(40.0) == pytest.approx(600.0)
    tally.part_done(2 / 7, rows=30)
    assert tally.eta(70.0) == pytest.approx(630.0 * 60 / 60 - 60.0)  # still 7 s a row: 570 s left
    tally.row_done(220.0, count=30)  # the seed's cells: the measured rows take over, the share is forgotten
    assert tally.partial is None
    assert tally.eta(221.0) == pytest.approx(7 * 60 - 1.0)  # 210 s for 30 rows: 7 s each, 60 to go, 1 s in


def test_the_plain_line_during_a_long_row_gives_the_time_left_once_it_is_known():
    out, now = io.StringIO(), FakeClock()
    p = PlainProgress(out, every_s=30.0, now=now)
    p.stage("deepgen reuse")
    p.plan(90)
    p.message("[1/3] seed 0: epoch 1/7, train accuracy 50.0%")
    p.part_done(1 / 7, 30)
    now.t = 30.0
    p.tick()
    p.stop()
    assert out.getvalue().splitlines() == [
        "deepgen reuse: running [1/3] seed 0: epoch 1/7, train accuracy 50.0% (0/90 rows done); 0:30 so far, "
        "about 10:00 left"]


def test_start_up_shows_a_spinner_on_a_terminal_that_leaves_no_line():
    from deepgen_cli.cli.experiment import starting

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    with starting("deepgen memorize", False, console):
        time.sleep(0.3)  # rich draws the status on its refresh thread
    shown = out.getvalue()
    assert "deepgen memorize: starting" in shown
    # transient: it ends by moving up over its own line and erasing it, so nothing is left above an error line
    # or the run's display
    assert shown.endswith("\x1b[1A\x1b[2K")
    piped = io.StringIO()
    with starting("deepgen memorize", False, Console(file=piped, force_terminal=False)):
        pass
    assert piped.getvalue() == ""  # off a terminal nothing: logs get the run's own lines
    with starting("deepgen memorize", True):  # --quiet
        pass


def test_clock():
    assert (clock(65.2), clock(3725), clock(None), clock(0.4)) == ("1:05", "1:02:05", "?", "0:00")


def test_plain_lines_per_row_say_what_ran_how_far_and_the_time():
    out, now = io.StringIO(), FakeClock()
    p = PlainProgress(out, every_s=3600, now=now)
    p.stage("deepgen memorize")
    p.message("loading digits")
    now.t = 4.0
    p.plan(3)
    p.message("[1/3] p=0")
    p.message("[1/3] p=0: epoch 5/300, train accuracy 80.0%")
    now.t = 10.0
    p.row_done()
    p.tick()  # within BURST_S of the row: another may follow at once, so no line yet
    now.t = 11.0
    p.tick()
    now.t = 11.5
    p.row_done(reused=True)
    now.t = 12.0
    p.row_done()  # 0.5 s after the last: one burst with it, one line for both
    now.t = 13.0
    p.tick()
    p.stop()
    assert out.getvalue().splitlines() == [
        # 6 s a row, 2 to go, 1 s into the next
        "deepgen memorize: 1/3 rows, last done: [1/3] p=0; 0:11 so far, about 0:11 left",
        "deepgen memorize: 3/3 rows, last done: [1/3] p=0: epoch 5/300, train accuracy 80.0%; 0:13 so far",
    ]


def test_plain_lines_keep_coming_during_a_long_row():
    out = io.StringIO()
    p = PlainProgress(out, every_s=0.05)
    p.stage("deepgen norm-compare")
    p.plan(2)
    p.message("[1/2] batch, batch 4 iid: epoch 1/2, train accuracy 50.0%")
    time.sleep(0.5)  # no message from the engine for 10 intervals
    p.stop()
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2
    assert re.fullmatch(r"deepgen norm-compare: running \[1/2\] batch, batch 4 iid: epoch 1/2, train accuracy "
                        r"50\.0% \(0/2 rows done\); 0:0\d so far", lines[0]), lines[0]


def test_the_live_display_shows_rows_of_total_elapsed_time_left_and_the_epoch_line():
    out, now = io.StringIO(), FakeClock()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    live = LiveProgress(console, now=now)
    live.stage("deepgen memorize")
    live.plan(3)
    now.t = 12.0
    live.row_done()
    live.message("[2/3] p=0.5: epoch 40/300, train accuracy 55.0%")
    now.t = 14.0  # 2 s after the row: past BURST_S, the estimate shows
    live._progress.refresh()
    live.stop()
    text = out.getvalue()
    assert re.search(r"deepgen memorize .*1/3 rows \d:\d\d:\d\d left 0:22", text), text[-400:]
    assert "[2/3] p=0.5: epoch 40/300, train accuracy 55.0%" in text


def _memorize(tmp_path, *extra):
    with open(tmp_path / "err.log", "w") as err:
        proc = subprocess.run([sys.executable, "-m", "deepgen_cli", "memorize", "--noise", "0,1", "--subset", "100",
                               "--epochs", "3", "--repeats", "1", "-f", "csv", *extra], stdout=subprocess.PIPE, stderr=err, text=True)
    return proc, (tmp_path / "err.log").read_text()


def test_with_stderr_to_a_file_each_finished_row_is_a_plain_line(tmp_path):
    proc, log = _memorize(tmp_path)  # the second row's progress message ends the first row's burst
    assert proc.returncode == 0 and proc.stdout.splitlines()[0].startswith("seed,model,")
    lines = log.splitlines()
    assert len(lines) == 2, log
    assert re.fullmatch(r"deepgen memorize: 1/2 rows, last done: \[1/2\] p=0; \d:\d\d so far, about \d:\d\d left",
                        lines[0]), lines[0]
    assert re.fullmatch(r"deepgen memorize: 2/2 rows, last done: \[2/2\] p=1; \d:\d\d so far", lines[1]), lines[1]
    assert "\x1b" not in log  # no terminal codes in a log file


def test_quiet_silences_the_plain_lines(tmp_path):
    proc, log = _memorize(tmp_path, "--quiet")
    assert proc.returncode == 0 and log == ""
