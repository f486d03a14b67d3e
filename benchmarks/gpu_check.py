"""Every GPU path of deepgen run once, one line each: ok with a throughput or ratio, or the error.

Run through benchmarks/gpu_check.sh (which skips on machines without a CUDA GPU and installs fvcore if it is
missing). Paths run as separate processes under a per-path timeout and an overall budget of 7.5 minutes; a
path left when the budget is spent prints "skipped". Full outputs go to --log-dir. `--device cpu` runs the
same plumbing on a CPU (a dry run: the CUDA-only paths then fail by design).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 450  # the whole check: under the 8 minutes it must take on one H200, with room for startup
CLI = [sys.executable, "-m", "deepgen_cli"]
SYNTH = ["--dataset", "synthetic", "--synthetic-shape", "3x32x32", "--quiet", "--format", "json"]


def losses(out: str) -> list:
    """A memorize run's per-epoch training losses and accuracies and its test loss (not its timings)."""
    row = json.loads(out)["rows"][0]
    return [(e["train_loss"], e["train_accuracy"]) for e in row["curve"]] + [row["test_loss"]]


def memorize_rate(record: dict) -> str:
    row = record["rows"][0]
    last = row["curve"][-1]
    first = row["curve"][0]["seconds"]
    return (f"{row['train_examples'] / last['seconds']:,.0f} training examples/s in the last epoch "
            f"(first epoch {first:.1f} s), train acc {row['train_accuracy']:.1%}")


def efficiency_rate(record: dict) -> str:
    return "; ".join(f"{r['model']} {r['throughput_img_s']:,.0f} img/s, {r['latency_ms_median']:.2f} ms/batch"
                     for r in record["rows"])


def probe_rate(record: dict) -> str:
    errors = [r["test_error"] for r in record["rows"] if r.get("test_error") is not None]
    return f"{len(record['rows'])} layers probed, lowest test error {min(errors):.1%}"


def norm_rate(record: dict) -> str:
    return "; ".join(f"{r['norm']} m{r['microbatch']} {r['train_step_ms']:.2f} ms/step" for r in record["rows"]
                     if r.get("microbatch"))


def norm_ratios(text: str) -> str:
    """bench_norm.py's per-block median ratios and verdicts: renorm / ghost BN and ghost BN / nn.BatchNorm1d."""
    found = []
    for line in text.splitlines():
        if line.startswith(("renorm / ghost BN", "ghost BN / nn.BatchNorm1d")):
            label, rest = line[:40].strip(), line[40:].split()
            verdict = " ".join(rest[rest.index("CI") + 3:]) if "CI" in rest else rest[-1]  # after the goal
            if verdict != "(reference)":  # ratios with a goal only
                found.append(f"{label.replace(' / ', '/').replace('nn.BatchNorm1d', 'BN')} {rest[0]} ({verdict})")
    if not found:
        raise ValueError("bench_norm.py printed no ratio")
    return "; ".join(found)


def probe_overhead(text: str) -> str:
    """bench_probe.py's overhead lines: "probes add 0.184 ... goal <= floor + 0.10 = 0.247: met (...)"."""
    found = [line.split("probes add ")[1].split(" of")[0] + " (" + line.split(": ")[-1].split(" (")[0] + ")"
             for line in text.splitlines() if "probes add" in line and "goal" in line]
    if not found:
        raise ValueError("bench_probe.py printed no overhead")
    return "probes add " + "; ".join(found)


def ddp_rate(record: dict) -> str:
    env = record["environment"]
    if env.get("backend") != "nccl" or env.get("world_size") != 1:
        raise ValueError(f"ran on backend {env.get('backend')} with {env.get('world_size')} ranks, not nccl with 1")
    return f"backend {env['backend']}, world size 1, {memorize_rate(record)}"


def bench_ratio(text: str) -> str:
    """bench_train.py's ratio line and verdict: "median 0.98, 95% interval ...; goal: ... verdict: met"."""
    lines = text.splitlines()
    ratio = next((l for l in lines if l.startswith("ratio deepgen / hand loop")), None)
    goal = next((l for l in lines if l.startswith("goal:")), None)
    if ratio is None or goal is None:
        raise ValueError("bench_train.py printed no ratio")
    return f"{ratio.split(':', 1)[1].strip()}; {goal}"


def paths(device: str) -> list[tuple[str, list[str], float, object]]:
    """(name, command, timeout in seconds, summary of its stdout) for every path."""
    d = ["--device", device]
    memorize = [*CLI, "memorize", *d, *SYNTH, "--synthetic-examples", "8192,1024", "--noise", "1", "--epochs", "3",
                "--no-until-fit", "--batch-size", "256"]
    # inception-small: its 1x1 average pool is a mean, whose CUDA backward is deterministic; torch documents
    # AdaptiveAvgPool2d's CUDA backward to other sizes (cnn's 2x2) as having none, an error under the flag.
    deterministic = [*memorize, "--model", "inception-small", "--deterministic"]
    return [
        ("memorize bf16+cl+compile", [*memorize, "--model", "inception-small", "--amp", "bf16", "--channels-last",
                                      "--compile"], 180, lambda out: memorize_rate(json.loads(out))),
        ("memorize streamed", [*memorize, "--model", "inception-small", "--data-in-memory", "no", "--workers", "4",
                               "--amp", "bf16"], 90, lambda out: memorize_rate(json.loads(out))),
        ("memorize --deterministic", deterministic, 60, lambda out: memorize_rate(json.loads(out))),
        ("  the same again", deterministic, 60, None),  # compared with the run before: bit-identical or not
        ("efficiency half+compile+cl", [*CLI, "efficiency", *d, "--models", "mobilenet,squeezenet", "--half",
                                        "--compile", "--channels-last", "--batch-size", "64", "--min-time", "1",
                                        "--quiet", "--format", "json"], 150,
         lambda out: efficiency_rate(json.loads(out))),
        ("probe resnet18 @224", [*CLI, "probe", *d, "--model", "resnet18", "--untrained", "--image-size", "224",
                                 "--subset", "256", "--threads", "4", "--quiet", "--format", "json"], 120,
         lambda out: probe_rate(json.loads(out))),
        ("norm-compare", [*CLI, "norm-compare", *d, *SYNTH, "--synthetic-examples", "2048,512", "--microbatch",
                          "4,32", "--norms", "batch,renorm", "--epochs", "1", "--model", "cnn-deep"], 120,
         lambda out: norm_rate(json.loads(out))),
        ("bench_norm renorm mlp-bn", [sys.executable, "benchmarks/bench_norm.py", *d, "--blocks", "7", "--steps",
                                      "10"], 90, norm_ratios),
        ("bench_norm compiled mlp-bn", [sys.executable, "benchmarks/bench_norm.py", *d, "--blocks", "7", "--steps",
                                        "10", "--compile"], 150, norm_ratios),
        ("bench_probe cnn+alexnet", [sys.executable, "benchmarks/bench_probe.py", *d, "--repeats", "6",
                                     "--skip-memory"], 120, probe_overhead),
        ("probe cnn alongside", [*CLI, "probe", *d, *SYNTH, "--synthetic-examples", "2048,512", "--model", "cnn",
                                 "--epochs", "2", "--snapshots", "1,2"], 90, lambda out: probe_rate(json.loads(out))),
        ("ddp 1 rank nccl", [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "1",
                             "-m", "deepgen_cli", "memorize", *d, *SYNTH, "--synthetic-examples", "4096,1024",
                             "--model", "cnn", "--noise", "1", "--epochs", "2", "--no-until-fit"], 90,
         lambda out: ddp_rate(json.loads(out))),
        ("bench_train mlp digits", [sys.executable, "benchmarks/bench_train.py", *d, "--repeats", "9"], 90,
         bench_ratio),
        ("bench_train cnn bf16+cl", [sys.executable, "benchmarks/bench_train.py", *d, "--repeats", "9", "--model",
                                     "cnn", "--image-size", "32", "--amp", "bf16", "--channels-last"], 90, bench_ratio),
    ]


def error_line(proc: subprocess.CompletedProcess) -> str:
    lines = [l for l in (proc.stderr or "").splitlines() if l.strip() and not l.startswith(("W1", "I1"))]
    return lines[-1].strip()[:200] if lines else f"exit {proc.returncode}, no message"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--log-dir", default="/tmp/deepgen-gpu-check")
    args = p.parse_args()
    logs = Path(args.log_dir)
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    start, failures, previous = time.monotonic(), 0, None
    for name, cmd, timeout, summarize in paths(args.device):
        left = BUDGET_S - (time.monotonic() - start)
        if left < 10:
            print(f"{name:<28} skipped: the {BUDGET_S} s budget is spent", flush=True)
            continue
        if summarize is None and previous is None:  # the run it repeats failed: nothing to compare with
            print(f"{name:<28} skipped: the run before failed", flush=True)
            continue
        t = time.monotonic()
        previous, before = None, previous  # set again only by a run that passes
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=min(timeout, left))
        except subprocess.TimeoutExpired:
            failures += 1
            print(f"{name:<28} FAIL  timed out after {min(timeout, left):.0f} s", flush=True)
            continue
        seconds = time.monotonic() - t
        slug = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
        (logs / f"{slug}.out").write_text(proc.stdout)
        (logs / f"{slug}.err").write_text(proc.stderr)
        if proc.returncode != 0:
            failures += 1
            print(f"{name:<28} FAIL  {error_line(proc)}", flush=True)
            continue
        try:
            if summarize is None:  # the repeat of the deterministic run
                same = losses(proc.stdout) == losses(before)
                summary = "losses bit-identical to the run before" if same else "losses DIFFER from the run before"
                failures += not same
            else:
                summary = summarize(proc.stdout)
        except Exception as err:  # the run passed but its output is not what this check reads
            failures += 1
            print(f"{name:<28} FAIL  unreadable output ({type(err).__name__}: {err})", flush=True)
            continue
        previous = proc.stdout
        print(f"{name:<28} ok    {summary} ({seconds:.0f} s)", flush=True)
    print(f"{failures} failed; {time.monotonic() - start:.0f} s in all; outputs in {logs}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
