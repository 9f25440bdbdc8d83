"""The shell every command runs in: one error handler, the consoles, shared options and the spinner."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from channelab.errors import ChannelabError
from channelab.limits import MAX_SEED, MAX_SIMS

EXIT_NOT_CONVERGED = 3
_EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's convention


class _Commands(TyperGroup):
    """Every command runs inside one handler: a :class:`ChannelabError` becomes its message and exit code."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; print a :class:`ChannelabError` as one paragraph and exit with its code."""
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                return super().invoke(ctx)
        except ChannelabError as exc:
            console.print(f"[bold red]error:[/] {e(exc)}", soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            console.print("[bold red]interrupted:[/] stopped; outputs written by earlier runs are intact.")
            raise typer.Exit(_EXIT_INTERRUPTED) from None


app = typer.Typer(
    cls=_Commands,
    add_completion=False,
    no_args_is_help=True,
    help="Run and read outreach-channel experiments: real lift, or only engagement?",
)
console = Console(stderr=True, highlight=False, emoji=False)
out = Console(highlight=False, emoji=False)


def _show_version(value: bool) -> None:
    """``--version``: print channelab's version and stop."""
    if value:
        from channelab import __version__

        out.print(f"channelab {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """Options before any command: ``--version``."""


def _show_warning(message: Warning | str, *_: object, **__: object) -> None:
    """A warning (a journal entry ignored, a cache not written) as one line, without source code."""
    console.print(f"[yellow]warning:[/] {e(message)}", soft_wrap=True)


def e(value: object) -> str:
    """User text (labels, paths, messages) made inert for the console: no markup, no emoji."""
    return escape(str(value))


SpecPath = Annotated[Path, typer.Argument(help="Experiment definition (YAML).", show_default=False)]
AsOf = Annotated[
    str | None,
    typer.Option(
        help="Analysis date (YYYY-MM-DD): the test as it stood then. Default: the latest date in the data.",
        show_default=False,
    ),
]


def sims(what: str, default: str) -> Any:
    """A ``--sims`` option: how many simulations per metric and lift, 0 to skip, bounded."""
    return typer.Option(min=0, max=MAX_SIMS, help=f"{what} per metric and lift (0 skips; default {default}).")


Seed = Annotated[
    int | None, typer.Option(min=0, max=MAX_SEED, help="Override the spec's random seed.", show_default=False)
]


RegistryOption = Annotated[
    Path | None,
    typer.Option(
        "--registry",
        help="Add this test's effects to a registry of results (a .duckdb file, created if new) for "
        "`channelab learn`. Default: the spec's `registry:`, inside --out.",
        show_default=False,
    ),
]


def quiet_libraries() -> None:
    """Keep PyMC's and PyTensor's INFO chatter out of the terminal; the spinner says what runs."""
    for name in ("pymc", "pytensor"):
        logging.getLogger(name).setLevel(logging.WARNING)


@contextmanager
def steps() -> Iterator[Callable[[str], None]]:
    """A spinner showing the current step, and a tick per finished step."""
    with console.status("Starting") as status:
        last: list[str] = []

        def step(text: str) -> None:
            if last and text.startswith(last[-1] + " ("):  # progress of the step, e.g. "(40 %)"
                status.update(e(text))
                return
            if last:
                console.print(f"[green]✓[/] {e(last[-1])}")
            last.append(text)
            status.update(e(text))

        yield step
    if last:
        console.print(f"[green]✓[/] {e(last[-1])}")


def main() -> None:
    """Entry point for ``python -m channelab``."""
    app()
