"""`--model-file FILE.py:FACTORY(kw=value, ...)` in the commands that train a network (memorize, probe, reuse):
the same parser as efficiency's (loading.parse_model_call), the factory called with the user's keyword arguments
and, where its signature takes them and the user did not give them, the data's sizes (num_classes, in_channels,
image_size)."""

from __future__ import annotations

from deepgen_cli.engine.config import opt
from deepgen_cli.engine.errors import UsageError

MODEL_FILE = opt("--model-file", optional=True, metavar="FILE.py:FACTORY", panel="Your model",
                 help="Your network instead of --model: FACTORY(...) from FILE.py (runs that file as code); keyword "
                      "arguments as FILE.py:build(width=2). A factory taking num_classes, in_channels or image_size "
                      "gets the data's.")
SIZES = ("num_classes", "in_channels", "image_size")


def check(text: str | None) -> None:
    """A usage error for a --model-file these commands cannot take (a bad form, a missing file, an @RES)."""
    if text is None:
        return
    from deepgen_cli.engine.models.loading import parse_model_call

    file, factory, _, res = parse_model_call(text)
    if res is not None:
        raise UsageError(f"--model-file: @{res} sets efficiency's input size; this command trains at the data's "
                         f"size (--image-size), so write {file}:{factory}")


def build(text: str, **sizes):
    """The network `text` names, its factory given the user's keyword arguments plus those of `sizes` its
    signature accepts (the user's win)."""
    from deepgen_cli.engine.models.loading import load_model_file, parse_model_call

    file, factory, kwargs, _ = parse_model_call(text)
    accepts = _accepted(file, factory)
    extra = {k: v for k, v in sizes.items() if k in accepts and k not in kwargs}
    return load_model_file(file, factory, {**extra, **kwargs})


def _accepted(file: str, factory: str) -> set[str]:
    """The size keywords FACTORY declares (all of them when it takes **kwargs); reads the file's source, without
    running it, so the file runs once, in load_model_file."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(file).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == factory:
            if isinstance(node, ast.ClassDef):
                init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
                if init is None:
                    return set()
                node = init
            args = node.args
            if args.kwarg is not None:
                return set(SIZES)
            return {a.arg for a in [*args.args, *args.kwonlyargs]} & set(SIZES)
    return set()

