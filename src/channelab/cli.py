"""Command line: ``channelab run``, ``channelab validate`` and ``channelab simulate``.

Thin by design: parse arguments, call one library function, catch :class:`ChannelabError`
once, print it as one paragraph, and exit 0 (success), 2 (bad spec or data) or 3 (the fit
did not converge; the report is still written and marked).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from channelab.errors import ChannelabError
from channelab.simulate import DEFAULT_N_PROSPECTS, SCENARIOS, write_simulation

EXIT_NOT_CONVERGED = 3

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Run and read outreach-channel experiments: real lift, or only engagement?",
)
console = Console(stderr=True, highlight=False)
out = Console(highlight=False)

SpecPath = Annotated[Path, typer.Argument(help="Experiment definition (YAML).", show_default=False)]


def _quiet_libraries() -> None:
    """Keep PyMC's and PyTensor's INFO chatter out of the terminal; the spinner says what runs."""
    for name in ("pymc", "pytensor"):
        logging.getLogger(name).setLevel(logging.WARNING)


@contextmanager
def _steps() -> Iterator[Callable[[str], None]]:
    """A spinner showing the current step, and a tick per finished step."""
    with console.status("Starting") as status:
        last: list[str] = []

        def step(text: str) -> None:
            if last:
                console.print(f"[green]✓[/] {last[-1]}")
            last.append(text)
            status.update(text)

        yield step
    if last:
        console.print(f"[green]✓[/] {last[-1]}")


def _fail(exc: ChannelabError) -> typer.Exit:
    console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
    return typer.Exit(exc.exit_code)


@app.command()
def run(
    spec: SpecPath,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for NAME.pdf and NAME.json.")] = Path(
        "reports"
    ),
    seed: Annotated[int | None, typer.Option(help="Override the spec's random seed.")] = None,
) -> None:
    """Analyse an experiment and write its PDF report and JSON."""
    from channelab.pipeline import run_experiment

    os.environ.setdefault("MPLBACKEND", "Agg")
    _quiet_libraries()
    try:
        with _steps() as step:
            analysis, pdf, js = run_experiment(spec, out_dir=out_dir, seed=seed, on_step=step)
    except ChannelabError as exc:
        raise _fail(exc) from None
    for arm in analysis.effects.arms:
        out.print(f"[bold]{arm.arm}[/]: {arm.verdict}")
    out.print(f"Report: {pdf}\nJSON:   {js}")
    if not analysis.diagnostics.converged:
        console.print(
            "[bold red]not converged:[/] "
            + "; ".join(analysis.diagnostics.problems)
            + ". The report is marked; raise sampler.tune/draws or simplify the model before acting on it."
        )
        raise typer.Exit(EXIT_NOT_CONVERGED)


@app.command()
def validate(spec: SpecPath) -> None:
    """Check the spec and its data (seconds, no fitting) and print what the model would see."""
    from channelab.pipeline import validate as validate_spec
    from channelab.spec import load_spec

    try:
        with _steps() as step:
            result = validate_spec(load_spec(spec), on_step=step)
    except ChannelabError as exc:
        raise _fail(exc) from None
    checks = result.checks
    out.print(f"[bold]{result.spec.name}[/]: {checks.n_rows:,} rows, {result.cells.n_cells} cells")
    for arm, n in checks.arm_counts.items():
        out.print(f"  {arm}: {n:,} units (planned share {checks.planned_shares[arm]:.1%})")
    for f in checks.findings:
        colour = {"warning": "yellow", "info": "dim"}.get(f.severity, "red")
        out.print(f"  [{colour}]{f.severity}[/]: {f.message}")
    out.print("[green]OK[/]: the spec and data pass every blocking check.")


_SIMULATE_HELP = (
    "Simulate an outreach experiment with a known truth: write the rows (CSV, or Parquet for a "
    ".parquet path) and the truth beside them as STEM.truth.json.\n\nScenarios:\n\n"
    + "\n\n".join(f"- {name}: {s.description}" for name, s in SCENARIOS.items())
)


@app.command(help=_SIMULATE_HELP)
def simulate(
    scenario: Annotated[str, typer.Argument(help=f"One of: {', '.join(SCENARIOS)}.", show_default=False)],
    out_path: Annotated[
        Path, typer.Option("--out", help="Data file to write (.csv or .parquet).", show_default=False)
    ],
    n_prospects: Annotated[int, typer.Option(help="Number of prospects (rows).")] = DEFAULT_N_PROSPECTS,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed writes the same bytes.")] = 2014,
) -> None:
    """Write a simulated outreach experiment and its truth file; ``--help`` lists the scenarios."""
    try:
        files = write_simulation(scenario, out_path, n_prospects=n_prospects, seed=seed)
    except ChannelabError as exc:
        raise _fail(exc) from None
    out.print(f"Data:  {files.data}\nTruth: {files.truth_path}")
    out.print(files.truth.summary(), soft_wrap=True)


def main() -> None:
    """Entry point for ``python -m channelab``."""
    app()
