"""The shape of the code: an import graph without cycles, an engine that imports nothing above it, options
declared once, thin command modules, and a record's config that reruns the same experiment."""

import ast
import dataclasses
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "deepgen_cli"


def import_graph() -> dict[str, set[str]]:
    """Module -> the deepgen_cli modules it imports (anywhere in it, lazily or not), from the source alone."""
    modules = {}
    for path in ROOT.rglob("*.py"):
        name = ".".join(("deepgen_cli", *path.relative_to(ROOT).with_suffix("").parts))
        modules[name.removesuffix(".__init__")] = path
    graph = {m: set() for m in modules}
    for m, path in modules.items():
        package = m if path.name == "__init__.py" else m.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base]).strip(".")
                # `from pkg import submodule` needs the submodule; `from pkg import name` needs pkg itself
                subs = [f"{base}.{a.name}" for a in node.names]
                names = [s for s in subs if s in modules] + ([base] if any(s not in modules for s in subs) else [])
            else:
                continue
            for name in names:
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name and name != m:
                    graph[m].add(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan). A package's __init__ importing its own
    submodules counts like any other import: a submodule that imports its package back is a cycle."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_and_the_engine_imports_nothing_above_it():
    graph = import_graph()
    assert len(graph) > 40  # the walk found the package
    assert cycles(graph) == []
    upward = [f"{m} -> {t}" for m, ts in graph.items() if m.startswith("deepgen_cli.engine")
              for t in ts if not t.startswith("deepgen_cli.engine") and t != "deepgen_cli"]  # the root holds __version__
    assert upward == []
    torch_free = [f"{m} -> {t}" for m, ts in graph.items() if m.startswith("deepgen_cli.report")
                  for t in ts if t.startswith("deepgen_cli.engine") and t not in
                  ("deepgen_cli.engine.errors", "deepgen_cli.engine.outcome")]
    assert torch_free == []  # the report layer reads engine types only


def test_the_cycle_finder_finds_a_submodule_importing_its_package():
    graph = {"p": {"p.child"}, "p.child": {"p"}, "q": set()}
    assert cycles(graph) == [["p", "p.child"]]


def test_command_modules_are_thin():
    from deepgen_cli.cli import spec

    commands = (*spec.BUILTIN, "models", "report", "compare", "reproduce")
    sizes = {p.stem: len(p.read_text().splitlines()) for p in (ROOT / "cli").glob("*.py") if p.stem in commands}
    assert len(sizes) == len(commands) and max(sizes.values()) <= 60, sizes


def test_every_flag_is_declared_once_and_means_the_same_in_every_command():
    from deepgen_cli.cli import spec
    from deepgen_cli.cli.options import SessionOptions
    from deepgen_cli.engine.config import option_fields
    from deepgen_cli.engine.memorize import MemorizeConfig
    from deepgen_cli.engine.norm_compare import NormCompareConfig
    from deepgen_cli.engine.probe import ProbeConfig
    from deepgen_cli.engine.reuse import ReuseConfig

    import dataclasses

    specs: dict[str, list] = {}  # long flag -> the option specs declaring it, less their wording
    shorts: dict[str, set[str]] = {}  # short flag -> the long flags it abbreviates
    for cls in (*(s.config_cls for s in spec.every()), SessionOptions):
        for f, o in option_fields(cls):
            # a command may word a shared option's help for itself (Opt.but), never change what it takes
            meaning = dataclasses.replace(o, help="", metavar=None, panel=None)
            if meaning not in specs.setdefault(o.flag, []):
                specs[o.flag].append(meaning)
            for short in o.flags[1:]:
                shorts.setdefault(short, set()).add(o.flag)
    twice = {flag for flag, meanings in specs.items() if len(meanings) > 1}
    assert twice == set()
    assert shorts == {"-m": {"--model", "--models"}, "-d": {"--dataset"}, "-e": {"--epochs"},
                      "-b": {"--batch-size"}, "-p": {"--noise"}, "-f": {"--format"}, "-o": {"--output"},
                      "-q": {"--quiet"}}
    for cls in (MemorizeConfig, NormCompareConfig, ProbeConfig, ReuseConfig):  # the training commands share the short forms
        flags = {o.flag: o.flags for f, o in option_fields(cls)}
        assert {flags["--model"][1], flags["--dataset"][1], flags["--epochs"][1]} == {"-m", "-d", "-e"}


def test_the_record_commands_share_one_format_option_and_every_command_one_plot_option():
    import typer

    from deepgen_cli.cli.app import app

    pages = ("report", "compare", "reproduce")  # they render records, and add html to a run's formats
    helps: dict[str, set] = {}  # option family -> its (help, flags) in every command that has it
    group = typer.main.get_command(app)
    ctx = group.make_context("deepgen", ["models"])  # the experiment commands are built when asked for
    for name in group.list_commands(ctx):
        for p in group.get_command(ctx, name).params:
            if "--format" in p.opts:
                helps.setdefault("page format" if name in pages else "run format", set()).add((p.help, tuple(p.opts)))
            if "--plot" in p.opts:
                helps.setdefault("plot", set()).add((p.help, tuple(p.opts)))
    assert {k: len(v) for k, v in helps.items()} == {"page format": 1, "run format": 1, "plot": 1}, helps
    (page_help, page_flags), = helps["page format"]
    assert page_flags == ("--format", "-f") and "html" in page_help


def test_configs_are_keyword_only_and_frozen():
    from deepgen_cli.engine.memorize import MemorizeConfig

    with pytest.raises(TypeError):
        MemorizeConfig("mlp1x512")  # positional: refused
    config = MemorizeConfig(model="mlp1x512")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.model = "cnn"
    from deepgen_cli.engine.data import DataConfig

    with pytest.raises(TypeError):
        DataConfig("digits")  # the engine's own data config too
    assert DataConfig(dataset="synthetic", synthetic_examples=(7, 3)).synthetic_train == 7


def test_a_record_reruns_with_its_config_and_flags_override_it(cli, tmp_path, one_thread):
    first = tmp_path / "first.json"
    args = ("memorize", "--noise", "0,1", "--subset", "120", "--epochs", "3", "--no-until-fit", "--seed", "4", "--repeats",
            "1", "-q")
    assert cli(*args, "-o", first).exit_code == 0
    again = cli("memorize", "--config", first, "-q", "-f", "json")
    assert again.exit_code == 0, again.stderr
    a, b = json.loads(first.read_text()), json.loads(again.stdout)
    assert b["config"] == a["config"]

    def numbers(record):  # everything but timings
        return [{k: v for k, v in r.items() if "time" not in k and k != "curve"} for r in record["rows"]]

    assert numbers(a) == numbers(b)
    changed = json.loads(cli("memorize", "--config", first, "--epochs", "2", "-q", "-f", "json").stdout)
    assert changed["config"]["epochs"] == 2 and changed["config"]["noise"] == [0.0, 1.0]
    assert [r["epochs_run"] for r in changed["rows"]] == [2, 2]


def test_defaults_a_run_derived_are_derived_again_from_the_flags_given_with_config(cli, tmp_path, one_thread):
    probe = tmp_path / "p.json"  # snapshots derived from --epochs 4: the first, middle and last epochs
    assert cli("probe", "--epochs", "4", "--subset", "150", "-q", "-o", probe).exit_code == 0
    first = json.loads(probe.read_text())
    assert first["config"]["snapshots"] == [1, 2, 4] and "snapshots" in first["derived"]
    again = cli("probe", "--config", probe, "--epochs", "2", "-q", "-f", "json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["config"]["snapshots"] == [1, 2]
    mem = tmp_path / "m.json"  # noise derived from --corruption labels; a given --noise stays as given
    assert cli("memorize", "--subset", "100", "--epochs", "1", "--no-until-fit", "-q", "-o", mem).exit_code == 0
    assert json.loads(mem.read_text())["derived"] == ["threads", "noise"]  # threads: by the input size
    rerun = json.loads(cli("memorize", "--config", mem, "--corruption", "random-labels", "-q", "-f", "json").stdout)
    assert rerun["config"]["noise"] == [1.0] and rerun["derived"] == ["noise"]  # threads now from the record
    given = tmp_path / "g.json"
    assert cli("memorize", "--noise", "0.3", "--subset", "100", "--epochs", "1", "--no-until-fit", "-q",
               "-o", given).exit_code == 0
    rerun = json.loads(cli("memorize", "--config", given, "--epochs", "2", "-q", "-f", "json").stdout)
    assert rerun["config"]["noise"] == [0.3] and "noise" not in rerun["derived"]


def test_a_record_of_another_command_is_a_usage_error(cli, tmp_path):
    record = tmp_path / "e.json"
    assert cli("efficiency", "--models", "mobilenet:0.25@32", "--min-time", "0.01", "-q", "-o", record).exit_code == 0
    result = cli("memorize", "--config", record, "-q")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--config: " in result.stderr and "is a record of `deepgen efficiency`" in result.stderr


def _record(tmp_path, config: dict):
    path = tmp_path / "hand.json"
    path.write_text(json.dumps({"schema": "deepgen.result/1", "command": "memorize", "config": config, "rows": []}))
    return path


@pytest.mark.parametrize("config, message", [
    ({"epochs": "x"}, "--epochs: the record gives 'x', not int"),
    ({"epochs": True}, "--epochs: the record gives True, not int"),
    ({"until_fit": "yes"}, "--until-fit: the record gives 'yes', not bool"),
    ({"noise": "abc"}, "--noise: cannot read 'abc'"),
    ({"noise": [0.5, "x"]}, "--noise: cannot read '0.5,x'"),
    ({"noise": 0.5}, "--noise: the record gives 0.5, not a list or text"),
    ({"synthetic_shape": [1, 2]}, "--synthetic-shape: cannot read '1x2'"),
    ({"model": None}, "--model: the record gives null"),
])
def test_a_bad_value_in_a_record_is_a_usage_error(cli, tmp_path, config, message):
    """A hand-edited record fails as the same text on the command line would: one line, exit 2."""
    path = _record(tmp_path, config)
    result = cli("memorize", "--config", path, "-q")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"deepgen: error: --config: '{path}' holds a bad value: ")
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_a_flag_overrides_a_bad_record_value_and_text_reads_as_the_cli_reads_it(cli, tmp_path, one_thread):
    path = _record(tmp_path, {"epochs": "x", "noise": "1", "corruption": "labels", "subset": 60})
    result = cli("memorize", "--config", path, "--epochs", "1", "-q", "-f", "json")
    assert result.exit_code == 0, result.stderr
    config = json.loads(result.stdout)["config"]
    assert (config["epochs"], config["noise"], config["corruption"], config["subset"]) == (1, [1.0], ["labels"], 60)


def test_the_device_is_part_of_the_config_and_of_the_resume_key(cli, tmp_path):
    out = tmp_path / "r.json"
    fast = ("--models", "mobilenet:0.25@32", "--min-time", "0.01", "-q", "-o", out)
    assert cli("efficiency", *fast).exit_code == 0
    record = json.loads(out.read_text())
    assert record["config"]["device"] == "cpu"  # auto, resolved
    samples = record["rows"][0]["latency_samples_ms"]
    record["config"]["device"] = "cuda"  # as if a GPU had measured this row
    out.write_text(json.dumps(record))
    resumed = cli("efficiency", *fast, "--resume", "-f", "json")  # not reused on the CPU: refused, kept as it was
    assert resumed.exit_code == 2 and "(device cuda there, cpu here)" in resumed.stderr
    assert json.loads(out.read_text())["rows"][0]["latency_samples_ms"] == samples


@pytest.mark.parametrize("args, message", [
    (("efficiency", "--models", "mobilenet", "--by-layer", "--min-time", "1"), "--min-time: --by-layer counts"),
    (("efficiency", "--models", "mobilenet", "--by-layer", "--plot", "x.png"), "--plot: --by-layer counts"),
    (("probe", "--untrained", "--epochs", "3"), "--epochs: a post-hoc probe"),
    (("probe", "--probe-epochs", "3"), "--probe-epochs: probes trained alongside"),
])
def test_an_option_the_mode_does_not_use_is_an_error(cli, args, message):
    result = cli(*args, "-q")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"deepgen: error: {message}") and result.stderr.count("\n") == 1


def test_training_threads_default_from_the_input_size_and_are_recorded(cli, tmp_path):
    import torch

    from deepgen_cli.engine.config import default_threads, input_shape
    from deepgen_cli.engine.memorize import MemorizeConfig

    assert input_shape(MemorizeConfig()) == (1, 8, 8) and default_threads(MemorizeConfig()) == 1
    assert input_shape(MemorizeConfig(dataset="cifar10")) == (3, 32, 32)
    assert default_threads(MemorizeConfig(dataset="cifar10")) == torch.get_num_threads()  # 3,072 values > 1,024
    assert default_threads(MemorizeConfig(dataset="synthetic", synthetic_shape=(1, 32, 32))) == 1  # exactly 1,024
    assert MemorizeConfig(threads=3).resolved().threads == 3  # given: kept
    out = tmp_path / "m.json"
    assert cli("memorize", "--noise", "1", "--subset", "60", "--epochs", "1", "-q", "-o", out).exit_code == 0
    record = json.loads(out.read_text())
    assert record["config"]["threads"] == 1 and record["environment"]["threads"] == 1


def test_measuring_and_evaluating_leave_the_model_in_its_own_mode():
    import torch
    from torch import nn

    from deepgen_cli.engine.layers import norms
    from deepgen_cli.engine.measure import measure_latency

    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3)).train()
    measure_latency(model, torch.randn(2, 4), min_time_s=0.0, min_runs=2, warmup_runs=1)
    assert model.training  # a training loop that times its model goes on training it
    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    norms.batch_statistics_eval(model, x, y, [torch.arange(8)], "cpu")
    assert model.training
