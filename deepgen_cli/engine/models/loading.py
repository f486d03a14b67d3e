"""Loading what the user points at: a local state_dict, or a network from their own Python file."""

from __future__ import annotations

import ast
import importlib.util
import pickle
import re
import warnings
from pathlib import Path

import torch
from torch import nn

from deepgen_cli.engine.errors import RunError, UsageError


def load_weights(model: nn.Module, path: str, flag: str = "--weights") -> None:
    """Load a local state_dict (or a checkpoint holding one under 'state_dict') into `model`."""
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"{flag}: no file at '{path}'; give a state_dict saved with torch.save")
    try:
        with warnings.catch_warnings():  # torch warns of pickle protocols it may not read: the error says more
            warnings.simplefilter("ignore")
            state = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:  # weights_only: a pickle asking for any other callable stops here
        asks = re.search(r"GLOBAL (\S+)", str(err))
        raise RunError(f"{flag}: '{path}' is not a plain state_dict: it asks to load "
                       f"{asks[1] if asks else 'something other than tensors'}; refused, nothing in it was run"
                       ) from None
    except Exception as err:  # zip and torch errors all mean the same thing here
        raise RunError(f"{flag}: cannot read '{path}' as a torch state_dict ({type(err).__name__})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise RunError(f"{flag}: '{path}' holds a {type(state).__name__}, not a state_dict")
    expected = model.state_dict()
    for key in expected:
        if key not in state:
            raise RunError(f"{flag}: '{path}' does not match the model: key '{key}' is missing")
        if not isinstance(state[key], torch.Tensor):
            raise RunError(f"{flag}: '{path}' does not match the model: key '{key}' holds a "
                           f"{type(state[key]).__name__}, not a tensor")
        if tuple(state[key].shape) != tuple(expected[key].shape):
            raise RunError(f"{flag}: '{path}' does not match the model: key '{key}' has shape "
                           f"{tuple(state[key].shape)}, the model wants {tuple(expected[key].shape)}")
    for key in state:
        if key not in expected:
            raise RunError(f"{flag}: '{path}' does not match the model: unexpected key '{key}'")
    model.load_state_dict(state)


_MODEL_FILE = re.compile(r"^(?P<file>.+\.py):(?P<factory>[A-Za-z_]\w*)(?:\((?P<kw>.*)\))?(?:@(?P<res>\d+))?$")


def parse_model_call(text: str) -> tuple[str, str, dict, int | None]:
    """FILE.py:FACTORY[(kw=value, ...)][@RESOLUTION] -> (file, factory, keyword arguments, resolution); the
    values are Python literals (numbers, strings, tuples, True/None), never code."""
    m = _MODEL_FILE.match(text)
    if not m:
        raise UsageError(f"--model-file: cannot read '{text}'; write FILE.py:FACTORY, FILE.py:FACTORY(width=2) "
                         "or FILE.py:FACTORY@RESOLUTION")
    if not Path(m["file"]).is_file():
        raise UsageError(f"--model-file: no file at '{m['file']}'")
    kwargs = {}
    if m["kw"] and m["kw"].strip():
        try:
            call = ast.parse(f"f({m['kw']})", mode="eval").body
            if call.args:
                raise ValueError("positional argument")
            kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
            if None in kwargs:
                raise ValueError("**")
        except (SyntaxError, ValueError):
            raise UsageError(f"--model-file: cannot read the arguments '({m['kw']})'; write keyword=literal pairs, "
                             f"e.g. {m['file']}:{m['factory']}(width=2, name='a')") from None
    return m["file"], m["factory"], kwargs, int(m["res"]) if m["res"] else None


def parse_model_file(text: str) -> tuple[str, str, int | None]:
    file, factory, _, res = parse_model_call(text)
    return file, factory, res


def load_model_file(file: str, factory: str, kwargs: dict | None = None) -> nn.Module:
    """Import the user's file and call `factory(**kwargs)`."""
    spec = importlib.util.spec_from_file_location(f"deepgen_user_{Path(file).stem}", file)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        raise RunError(f"--model-file: importing '{file}' failed: {type(err).__name__}: {err}") from None
    fn = getattr(module, factory, None)
    if not callable(fn):
        found = sorted(n for n in vars(module) if callable(vars(module)[n]) and not n.startswith("_"))
        raise UsageError(f"--model-file: '{file}' has no function '{factory}'; callables there: {', '.join(found)}")
    try:
        model = fn(**(kwargs or {}))
    except Exception as err:
        call = f"{factory}({', '.join(f'{k}={v!r}' for k, v in (kwargs or {}).items())})"
        raise RunError(f"--model-file: {call} raised {type(err).__name__}: {err}") from None
    if not isinstance(model, nn.Module):
        raise UsageError(f"--model-file: {factory}() returned a {type(model).__name__}, not a torch.nn.Module")
    return model
