"""The `deepgen` Typer app: one module per subcommand; every error becomes one stderr line."""

from __future__ import annotations

import os
import sys

import typer
from typer.core import TyperCommand, TyperGroup

from deepgen_cli import __version__
from deepgen_cli.engine.errors import DeepgenError

try:  # typer >= 0.2x carries its own copy of click
    from typer._click import exceptions as cx
except ImportError:  # older typer runs on click itself
    from click import exceptions as cx

# click's Abort (raised for Ctrl-C at a prompt) is missing from some of typer's vendored copies.
_ABORT = getattr(cx, "Abort", KeyboardInterrupt)


def _fail(message: str, code: int) -> None:
    sys.stderr.write(f"deepgen: error: {message}\n")
    sys.exit(code)


def _usage_message(err) -> str:
    message = err.format_message().replace("\n", " ").replace("Value error, ", "")
    if err.ctx is not None and err.ctx.command_path:
        message += f" (see '{err.ctx.command_path} --help')"
    return message


class DeepgenGroup(TyperGroup):
    """Runs click in non-standalone mode so usage errors print one line, not a usage panel."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from deepgen_cli.cli import signals

        signals.reset()
        signals.setup_args(args)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except cx.NoArgsIsHelpError:
            sys.exit(2)  # typer has already shown the help
        except cx.UsageError as err:
            _fail(_usage_message(err), 2)
        except cx.ClickException as err:
            _fail(err.format_message(), err.exit_code)
        except DeepgenError as err:
            _fail(str(err), err.exit_code)
        except (KeyboardInterrupt, _ABORT) as err:
            _fail_interrupted(err)
        except Exception as err:  # a bug, not a user mistake: one line, the traceback on request
            if os.environ.get("DEEPGEN_DEBUG"):
                raise
            _fail(f"internal error: {type(err).__name__}: {err} (rerun with DEEPGEN_DEBUG=1 for the traceback; "
                  f"please report it)", 1)
        if standalone_mode:
            sys.exit(rv if isinstance(rv, int) else 0)
        return rv

    def invoke(self, ctx):
        # here, not in main: typer turns a KeyboardInterrupt into a silent exit 130 on its way out
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as err:
            _fail_interrupted(err)

    # The experiment commands are built when one is run (or its --help shown), not before: building one imports
    # its config, and through it its engine and torch (seconds). The app's --help, --version, a mistyped command
    # and the commands that read records (models, report, compare) so start without torch.

    def list_commands(self, ctx) -> list[str]:
        from deepgen_cli.cli import spec

        names = [s.name for s in spec.every()]
        return names + [n for n in super().list_commands(ctx) if n not in names]

    def get_command(self, ctx, name: str):
        command = super().get_command(ctx, name)
        if command is not None:
            return command
        from deepgen_cli.cli import spec

        found = next((s for s in spec.every() if s.name == name), None)
        if found is None:
            return None
        if getattr(self, "_listing", False):  # the app's --help shows each command's help line only
            return TyperCommand(name, help=found.help)
        self.commands[name] = _built(found)
        return self.commands[name]

    def format_help(self, ctx, formatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def _fail_interrupted(err: BaseException) -> None:
    """Ctrl-C or SIGTERM: one line (cli/signals.py's: rows saved, where, the command that continues), exit 130."""
    sys.stderr.write(f"deepgen: {getattr(err, 'line', 'interrupted')}\n")
    sys.exit(130)


def _built(found):
    """The click command of one experiment spec (cli/experiment.py), built alone."""
    from deepgen_cli.cli.experiment import experiment

    one = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    experiment(one, found)
    return typer.main.get_command(one)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"deepgen {__version__}")
        raise typer.Exit()


def _root(version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Benchmarks for how deep networks generalize and how cheaply they run."""


def build() -> typer.Typer:
    """The app: one command per registered experiment (cli/spec.py), in the registry's order, then the others."""
    from deepgen_cli.cli import compare, models, report, reproduce
    from deepgen_cli.cli.helpfmt import install

    install()  # flags without `<bool>`; `--help | head` exits 0

    built = typer.Typer(cls=DeepgenGroup, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                        help="Benchmarks for how deep networks generalize and how cheaply they run.")
    built.callback()(_root)
    # the experiments (cli/spec.py) come first, in the registry's order: DeepgenGroup lists and builds them
    for command in (models, reproduce, report, compare):
        command.register(built)
    return built


app = build()
