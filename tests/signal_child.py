"""`python tests/signal_child.py MODE ARGS...`: the `deepgen` script with memorize's engine replaced by a toy
that measures one row per --noise level in 50 ms, and that sends this process its own signals at MODE:
`row` (SIGINT three times 20 ms apart in the middle of the second row), `write` (the same during the final write
of the record, between its temp file and the rename), `term-row` (one SIGTERM mid-row), `none` (no signal;
with `slow`, each row takes 1 s, `crawl` 6 s, for signals and runs from outside). SIGINT's handler is Python's own at start, as a
Ctrl-C at a terminal finds it (a job started with `&` from a script would ignore SIGINT)."""

import os
import signal
import sys
import time

signal.signal(signal.SIGINT, signal.default_int_handler)
MODE = sys.argv.pop(1)


def burst(sig, times=3):
    for _ in range(times):
        os.kill(os.getpid(), sig)
        time.sleep(0.02)


def toy(config, device, session):
    from deepgen_cli.engine.outcome import Outcome

    session.plan(len(config.noise))
    for i, p in enumerate(config.noise):
        key = dict(corruption="labels", regularizer="none", noise=p, seed=config.seed)
        if session.resumed(**key) is not None:
            session.add_rows([dict(key, train_accuracy=1.0, reused=True)], reused=True)
            continue
        time.sleep({"slow": 1.0, "crawl": 6.0}.get(MODE, 0.05))
        if i == 1 and MODE in ("row", "term-row"):
            burst(signal.SIGINT if MODE == "row" else signal.SIGTERM, 3 if MODE == "row" else 1)
            time.sleep(5)  # never reached: the first signal stops the run
        session.row(dict(key, train_accuracy=1.0, test_accuracy=0.1))
    return Outcome()


if MODE == "write":
    real = os.replace

    def replace(src, dst):
        with open(src) as f:
            if '"status": "complete"' in f.read():
                burst(signal.SIGINT)
        real(src, dst)

    os.replace = replace

import deepgen_cli.engine.memorize as engine  # noqa: E402

engine.run = toy
sys.argv[0] = "deepgen"
from deepgen_cli.cli.entry import main  # noqa: E402

main()
