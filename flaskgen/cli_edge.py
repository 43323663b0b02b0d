"""What every `flaskgen` command module shares at the CLI's edge: the one error boundary and
the console. Typer and the error module only; rich is imported when a command prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from flaskgen.errors import FlaskgenError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["errors_reported", "wide_console"]


@contextmanager
def errors_reported(ctx: typer.Context) -> Iterator[None]:
    """The single place where errors become exit codes (copier's `_handle_exceptions`): a
    FlaskgenError is its one line and status 2, Ctrl-C is 130, anything else is 1 with a hint;
    --debug (the app's option, kept in the root context's `obj`) lets the traceback through."""
    if ctx.find_root().obj:
        yield
        return
    try:
        yield
    except FlaskgenError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=err.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("aborted; nothing was written", err=True)
        raise typer.Exit(code=130) from None
    except Exception as err:
        message = " ".join(str(err).split()) or type(err).__name__
        typer.echo(f"error: unexpected {type(err).__name__}: {message} (rerun with --debug for details)", err=True)
        raise typer.Exit(code=1) from None


def wide_console() -> Console:
    """A terminal's own width; piped output is not squeezed into 80 columns (paths are long)."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=250)
