"""Commands on a programme of experiments: ``learn`` and ``registry import | mark | show``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from channelab.cli.shell import EXIT_NOT_CONVERGED, app, console, e, out, quiet_libraries, steps
from channelab.limits import MAX_SEED

registry_app = typer.Typer(
    no_args_is_help=True,
    help="A registry of results: import old reports and published summaries, mark launched arms, list.",
)
app.add_typer(registry_app, name="registry")

_Registry = Annotated[
    Path, typer.Option("--registry", help="The registry file (.duckdb).", show_default=False)
]


@app.command()
def learn(
    source: Annotated[
        Path,
        typer.Argument(
            help="A registry of results (.duckdb) or a folder of run reports (JSON).", show_default=False
        ),
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for NAME.learn.pdf, .json, .html and NAME.priors.json.")
    ] = Path("reports"),
    seed: Annotated[
        int | None,
        typer.Option(
            min=0, max=MAX_SEED, help="Override the programme's seed (default 20261123).", show_default=False
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="Stem of the outputs (default: the registry's or folder's name).", show_default=False
        ),
    ] = None,
) -> None:
    """Pool a programme of tests: each channel's usual effect, the next test, the winner's curse."""
    from channelab.app.programme import learn_from

    quiet_libraries()
    with steps() as step:
        learnt = learn_from(source, out_dir=out_dir, seed=seed, name=name, on_step=step)
    for note in learnt.learning.programme.notes:
        out.print(f"[yellow]note:[/] {e(note)}", soft_wrap=True)
    for sentence in learnt.sentences:
        out.print(f"- {e(sentence)}", soft_wrap=True)
    out.print(f"Report: {e(learnt.pdf)}\nJSON:   {e(learnt.json)}\nHTML:   {e(learnt.html)}")
    out.print(f"Priors: {e(learnt.priors)}")
    fits = [
        learnt.learning.learned.diagnostics,
        *(link.diagnostics for link in learnt.learning.learned.links),
    ]
    if not all(d.converged for d in fits):
        problems = "; ".join(p for d in fits for p in d.problems)
        console.print(
            f"[bold red]not converged:[/] {e(problems)}. The report is marked; `run` will not start from "
            "these priors. Raise sampler.draws and sampler.tune in the programme file."
        )
        raise typer.Exit(EXIT_NOT_CONVERGED)


@registry_app.command("import")
def import_(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Run reports (.json) and tables of published summaries (.csv).", show_default=False
        ),
    ],
    registry: _Registry,
) -> None:
    """Add old tests to a registry without re-running them: their JSON reports or published summaries."""
    from channelab.app.programme import import_records

    imported = import_records(files, registry)
    for note in imported.notes:
        out.print(f"[yellow]note:[/] {e(note)}", soft_wrap=True)
    out.print(f"Registry: {e(registry)} ({e(imported.added.sentence())})")


@registry_app.command()
def mark(
    spec_hash: Annotated[
        str, typer.Argument(help="The test's spec hash (its report's provenance.spec_sha256).")
    ],
    arm: Annotated[str, typer.Argument(help="The arm that was launched.")],
    registry: _Registry,
    launched: Annotated[bool, typer.Option("--launched", help="Mark the arm as launched.")] = False,
) -> None:
    """Mark a test's arm as launched, so ``learn`` counts it among the winners the programme acted on."""
    from channelab.app.programme import mark_launched
    from channelab.errors import SpecError

    if not launched:
        raise SpecError("registry mark: say what to mark; the only mark is --launched.")
    marked = mark_launched(registry, spec_hash, arm)
    out.print(f"Marked {marked} record(s) of arm {e(arm)} as launched in {e(registry)}.")


@registry_app.command()
def show(registry: _Registry) -> None:
    """List a registry's tests per channel and metric."""
    from channelab.app.programme import registry_counts

    counts = registry_counts(registry)
    total = sum(n for n, _ in counts.values())
    table = Table(title=f"{e(registry)}: {total:,} records", title_justify="left", show_edge=False)
    for col in ("channel", "metric", "tests", "launched"):
        table.add_column(col, justify="right" if col in ("tests", "launched") else "left")
    for (channel, metric), (n, launched) in counts.items():
        table.add_row(e(channel), e(metric), f"{n:,}", f"{launched:,}")
    out.print(table)


def _digest_day(option: str, value: str) -> date:
    """A ``--from`` / ``--to`` date written YYYY-MM-DD; a spec error naming the option otherwise."""
    from channelab.errors import SpecError
    from channelab.spec.timing import parse_day

    try:
        day = parse_day(value)
    except ValueError as exc:
        raise SpecError(f"digest {option}: {exc}.") from None
    assert day is not None  # a str is never None
    return day


@app.command()
def digest(
    registry: Annotated[Path, typer.Argument(help="A registry of results (.duckdb).", show_default=False)],
    since: Annotated[
        str, typer.Option("--from", help="First day of the range (YYYY-MM-DD), included.", show_default=False)
    ],
    until: Annotated[
        str, typer.Option("--to", help="Last day of the range (YYYY-MM-DD), included.", show_default=False)
    ],
    learned: Annotated[
        Path | None,
        typer.Option(
            "--learned",
            help="A learn report (NAME.learn.json): what the programme has learned.",
            show_default=False,
        ),
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for NAME.digest.md and NAME.digest.html.")
    ] = Path("reports"),
    name: Annotated[
        str | None,
        typer.Option(help="Stem of the outputs (default: the registry's name).", show_default=False),
    ] = None,
) -> None:
    """A short digest of the tests concluded in a date range, to paste into an e-mail or a chat."""
    from channelab.app.programme import digest_programme

    first, last = _digest_day("--from", since), _digest_day("--to", until)
    written = digest_programme(registry, since=first, until=last, out_dir=out_dir, name=name, learned=learned)
    out.print(e(written.text), soft_wrap=True, highlight=False)
    out.print(f"Markdown: {e(written.markdown)}\nHTML:     {e(written.html)}", soft_wrap=True)
