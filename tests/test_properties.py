"""Property tests: no numeric option value makes the CLI print a traceback."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from typer.testing import CliRunner

from deepgen_cli.cli.app import app

runner = CliRunner()
numbers = st.one_of(st.integers(-10, 10).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.sampled_from(["", "1e999", "-0", "0x10", "abc"]))


def check(args):
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, args
    if result.exit_code:
        assert result.stderr.startswith("deepgen: error: ") and result.stderr.count("\n") == 1, result.stderr


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=numbers, min_time=numbers, threads=numbers, warmup=numbers)
def test_efficiency_timing_options(batch, min_time, threads, warmup):
    check(["efficiency", "--models", "mobilenet:0.25@32", "--quiet", "--batch-size", batch,
           "--min-time", min_time if min_time.startswith("-") or min_time in ("0", "-0") else "0.001",
           "--threads", threads, "--warmup", warmup])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alpha=numbers, resolution=numbers)
def test_efficiency_model_spec_numbers(alpha, resolution):
    check(["efficiency", "--models", f"mobilenet:{alpha}@{resolution}", "--quiet", "--min-time", "0.001",
           "--warmup", "0", "--by-layer"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(noise=numbers, lr=numbers, epochs=numbers, batch=numbers, penalty=numbers, dropout=numbers, repeats=numbers)
def test_memorize_training_options(noise, lr, epochs, batch, penalty, dropout, repeats):
    # a few epochs at most on 40 examples, so any accepted combination runs in well under a second
    check(["memorize", "--quiet", "--subset", "40", "--noise", noise, "--lr", lr,
           "--epochs", epochs if not epochs.lstrip("-").isdigit() or int(epochs) <= 3 else "3",
           "--batch-size", batch, "--confidence-penalty", penalty, "--dropout", dropout,
           "--repeats", repeats if not repeats.isdigit() or int(repeats) <= 2 else "2"])


def _capped(text: str, cap: int) -> str:
    """An integer option value at most `cap`, so an accepted run stays short; anything else as drawn."""
    return text if not text.lstrip("-").isdigit() or int(text) <= cap else str(cap)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(epochs=numbers, batch=numbers, lr=numbers, probe_lr=numbers, max_mb=numbers, cka=numbers, subset=numbers)
def test_probe_numeric_options(epochs, batch, lr, probe_lr, max_mb, cka, subset):
    check(["probe", "--quiet", "--layers", "input,6", "--no-control", "--epochs", _capped(epochs, 2),
           "--batch-size", batch, "--lr", lr, "--probe-lr", probe_lr, "--max-probe-mb", max_mb,
           "--cka-examples", _capped(cka, 16), "--subset", subset if subset.startswith("-") else "60"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=numbers, non_iid=numbers, rmax=numbers, dmax=numbers, momentum=numbers, warmup=numbers, groups=numbers)
def test_norm_compare_numeric_options(batch, non_iid, rmax, dmax, momentum, warmup, groups):
    check(["norm-compare", "--quiet", "--norms", "batch,renorm", "--subset", "40", "--epochs", "1",
           "--repeats", "1", "--batch-size", batch, "--microbatch", "2", "--non-iid", _capped(non_iid, 2),
           "--rmax", rmax, "--dmax", dmax, "--renorm-momentum", momentum, "--warmup-fraction", warmup,
           "--groups", groups])
