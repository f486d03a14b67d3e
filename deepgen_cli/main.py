"""The `deepgen` Typer app: one module per subcommand; every error becomes one stderr line."""

from __future__ import annotations

import sys

import click
import typer
from typer.core import TyperGroup

from deepgen_cli import __version__
from deepgen_cli.engine.errors import DeepgenError


def _fail(message: str, code: int) -> None:
    click.echo(f"deepgen: error: {message}", err=True)
    sys.exit(code)


class DeepgenGroup(TyperGroup):
    """Runs click in non-standalone mode so usage errors print one line, not a usage panel."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as err:
            click.echo(err.ctx.get_help(), err=True)
            sys.exit(2)
        except click.UsageError as err:
            _fail(err.format_message().replace("\n", " "), 2)
        except click.ClickException as err:
            _fail(err.format_message(), err.exit_code)
        except DeepgenError as err:
            _fail(str(err), err.exit_code)
        except (KeyboardInterrupt, click.exceptions.Abort):
            click.echo("deepgen: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            sys.exit(0)  # the reader of stdout went away (e.g. `| head -1`): nothing left to say
        if standalone_mode:
            sys.exit(rv if isinstance(rv, int) else 0)
        return rv


app = typer.Typer(cls=DeepgenGroup, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False,
                  help="Benchmarks for how deep networks generalize and how cheaply they run.")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"deepgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Benchmarks for how deep networks generalize and how cheaply they run."""


def _register_commands() -> None:
    from deepgen_cli.commands import efficiency, models

    for module in (efficiency, models):
        module.register(app)


_register_commands()
