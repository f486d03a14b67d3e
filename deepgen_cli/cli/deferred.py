"""typer's rich help without the parts of rich that --help never uses.

typer.rich_utils imports rich.markdown (markdown-it and pygments) and rich.traceback (rich.pretty, attrs) at its
top, for markdown help text and pretty tracebacks, which deepgen uses neither of (its help is rich markup, its
app shows no tracebacks). Those imports were about 40% of `deepgen --help`'s start-up (python -X importtime:
rich.markdown 87 ms, rich.traceback 51 ms of typer.rich_utils's 144 ms, under load). `import_rich_utils`
imports typer.rich_utils with stand-ins for the two: a class per name that builds (or forwards a class attribute
to) the real one, importing it only then. The stand-ins are removed from sys.modules at once, so any later
`import rich.markdown` is the real module."""

from __future__ import annotations

import importlib
import sys
import types

DEFERRED = {"rich.markdown": ("Markdown",), "rich.traceback": ("Traceback",)}


class _Deferred(type):
    """The metaclass of a stand-in: class attributes (Traceback.from_exception) come from the real class."""

    def __getattr__(cls, name: str):
        return getattr(cls._real(), name)


def _stand_in(module: str, name: str) -> type:
    def real():
        return getattr(importlib.import_module(module), name)

    def build(cls, *args, **kwargs):
        return real()(*args, **kwargs)

    return _Deferred(name, (), {"__new__": build, "_real": staticmethod(real), "__module__": module})


def import_rich_utils():
    """typer.rich_utils, imported with rich.markdown and rich.traceback deferred (when neither is loaded yet)."""
    if "typer.rich_utils" in sys.modules or any(m in sys.modules for m in DEFERRED):
        return importlib.import_module("typer.rich_utils")
    stubs = {}
    for module, names in DEFERRED.items():
        stubs[module] = types.ModuleType(module, "deepgen's stand-in while typer.rich_utils is imported")
        for name in names:
            setattr(stubs[module], name, _stand_in(module, name))
    sys.modules.update(stubs)
    try:
        return importlib.import_module("typer.rich_utils")
    finally:
        for module, stub in stubs.items():
            if sys.modules.get(module) is stub:
                del sys.modules[module]
