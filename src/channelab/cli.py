"""Command line: ``channelab run``, ``validate``, ``design``, ``assign``, ``match``, ``replicate``, ...

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
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from channelab.errors import ChannelabError, SpecError
from channelab.simulate import DEFAULT_N_PROSPECTS, SCENARIOS, write_simulation
from channelab.verdicts import pct

if TYPE_CHECKING:
    import pandas as pd

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
            if last and text.startswith(last[-1] + " ("):  # progress of the step, e.g. "(40 %)"
                status.update(text)
                return
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
    engine: Annotated[
        Literal["duckdb", "spark"] | None,
        typer.Option(help="Read and aggregate the rows with this engine (overrides the spec's)."),
    ] = None,
) -> None:
    """Analyse an experiment and write its PDF report and JSON."""
    _run(spec, out_dir=out_dir, seed=seed, engine=engine)


def _run(
    spec: Path,
    *,
    out_dir: Path,
    seed: int | None,
    data: Path | None = None,
    engine: Literal["duckdb", "spark"] | None = None,
) -> None:
    from channelab.pipeline import run_experiment

    os.environ.setdefault("MPLBACKEND", "Agg")
    _quiet_libraries()
    try:
        with _steps() as step:
            analysis, pdf, js = run_experiment(
                spec, out_dir=out_dir, seed=seed, data=data, engine=engine, on_step=step
            )
    except ChannelabError as exc:
        raise _fail(exc) from None
    for arm in analysis.effects.arms:
        out.print(f"[bold]{arm.arm}[/]: {arm.verdict}")
    if analysis.replication is not None:
        out.print(f"[bold]Replication[/]: {analysis.replication.verdict}. {analysis.replication.sentence}")
    out.print(f"Report: {pdf}\nJSON:   {js}")
    if not analysis.diagnostics.converged:
        console.print(
            "[bold red]not converged:[/] "
            + "; ".join(analysis.diagnostics.problems)
            + ". The report is marked; raise sampler.tune/draws or simplify the model before acting on it."
        )
        raise typer.Exit(EXIT_NOT_CONVERGED)


@app.command()
def replicate(
    spec: SpecPath,
    plan: Annotated[
        bool, typer.Option("--plan", help="Plan a replication (sample sizes, assurance); no data needed.")
    ] = False,
    data: Annotated[
        Path | None, typer.Option(help="Replication data to judge instead of the spec's (outputs NAME.STEM).")
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the report and JSON.")] = Path("reports"),
    seed: Annotated[int | None, typer.Option(help="Override the spec's random seed.")] = None,
) -> None:
    """Judge a replication against the spec's original study, or plan one with --plan."""
    from channelab.spec import load_spec

    try:
        loaded = load_spec(spec)
        if loaded.original is None:
            raise SpecError(
                f"{spec}: no 'original:' block, so there is nothing to replicate; describe the original "
                "study's arms and published numbers (see experiments/ubc_slacktivism_study1.yaml)."
            )
        if plan:
            from channelab.export import write_plan_json
            from channelab.replicate import plan as plan_replication
            from channelab.report import write_plan_pdf

            with _steps() as step:
                step("Planning sample sizes and simulating replication Bayes factors")
                result = plan_replication(loaded, seed=seed)
            js = write_plan_json(result, out_dir / f"{loaded.name}.plan.json")
            pdf = write_plan_pdf(result, loaded, out_dir / f"{loaded.name}.plan.pdf")
        else:
            _run(spec, out_dir=out_dir, seed=seed, data=data)
            return
    except ChannelabError as exc:
        raise _fail(exc) from None
    a, b = result.contrast
    out.print(
        f"[bold]Replicating {a} vs {b}[/] "
        f"(original n = {result.n_original[0]:g} and {result.n_original[1]:g})"
    )
    for metric, table in result.tables.items():
        out.print(
            _frame_table(
                f"{metric}: n per arm (two-sided, alpha {loaded.replication.alpha:g})", table, digits=3
            )
        )
    out.print(
        f"Small telescopes (Simonsohn 2015): {result.telescopes_n:,} per arm, 2.5 × the original's, has "
        "about 80 % power to reject the effect the original could barely detect (d33) if the truth is zero."
    )
    for line in result.assumed:
        out.print(f"[yellow]assumed[/]: {line}")
    out.print(f"Report: {pdf}\nJSON:   {js}")


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


@app.command()
def design(
    spec: SpecPath,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for NAME.design.pdf and .json.")] = Path(
        "reports"
    ),
    sims: Annotated[
        int | None,
        typer.Option(help="Assurance simulations per metric and lift (0 skips; default plan.assurance)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override the spec's random seed.")] = None,
) -> None:
    """Plan a test: sample size, MDE, design effect, weeks, and Bayesian assurance by simulation."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from channelab.design import design as plan_design
    from channelab.design import write_design_json
    from channelab.report import write_design_pdf
    from channelab.spec import load_spec

    os.environ.setdefault("MPLBACKEND", "Agg")
    _quiet_libraries()
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        loaded = load_spec(spec)
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("Assurance: simulated experiments", total=None)

            def on_sim(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = plan_design(loaded, sims=sims, seed=seed, on_sim=on_sim)
        js = write_design_json(result, out_dir / f"{loaded.name}.design.json")
        pdf = write_design_pdf(result, out_dir / f"{loaded.name}.design.pdf")
    except ChannelabError as exc:
        raise _fail(exc) from None
    p = result.power
    for m in p.metrics:
        for q in p.powers:
            weeks = f", {m.weeks[q]} weeks" if m.weeks else ""
            mde = f"; MDE at n={p.n:,}: {pct(m.mde[q], sign=True)}" if m.mde else ""
            out.print(f"[bold]{m.label}[/] at {q:.0%} power: {m.n_total[q]:,} units{weeks}{mde}")
    if result.assurance is not None:
        for r in result.assurance.rows:
            rate = f"{r.real_lift:.0%} (± {2 * r.se:.0%})"
            out.print(f"  {r.metric}, true lift {pct(r.lift, sign=True)}: channelab says real lift in {rate}")
    out.print(f"Report: {pdf}\nJSON:   {js}")


@app.command()
def assign(
    spec: SpecPath,
    units: Annotated[
        Path, typer.Option("--units", help="Units to assign (CSV or Parquet), one row per unit.")
    ],
    out_path: Annotated[Path, typer.Option("--out", help="Assignment CSV to write.", show_default=False)],
    seed: Annotated[int | None, typer.Option(help="Override the spec's random seed.")] = None,
) -> None:
    """Randomise units to arms (blocked within strata, by cluster if the spec says) and show balance."""
    from channelab.assign import assign as assign_units
    from channelab.assign import read_units, write_assignment
    from channelab.spec import load_spec

    try:
        loaded = load_spec(spec)
        rows = read_units(units)
        result = assign_units(loaded, rows, seed=loaded.seed if seed is None else seed, name=str(units))
        written = write_assignment(result, out_path, units_path=units)
    except ChannelabError as exc:
        raise _fail(exc) from None
    unit = loaded.unit.randomised_by or loaded.unit.id
    out.print(
        f"[bold]{loaded.name}[/]: {len(result.units):,} units assigned by {unit} in blocks of "
        f"{len(result.pattern)} ({', '.join(f'{a} {result.pattern.count(a)}' for a in loaded.arm_order)})"
    )
    out.print(_frame_table("Allocation per stratum (randomised units)", result.allocation))
    if not result.balance.empty:
        out.print(
            _frame_table(
                "Balance: standardised mean difference vs control (|SMD| < 0.1 is balanced)",
                result.balance,
                digits=3,
            )
        )
    if result.not_in_units:
        out.print(
            f"[dim]not in the units file, so not checked for balance: {', '.join(result.not_in_units)}[/]"
        )
    out.print(f"Assignments: {written}")


def _frame_table(title: str, frame: pd.DataFrame, *, digits: int = 1) -> Table:
    """A data frame as a rich table, numbers to ``digits`` places."""
    from pandas.api.types import is_numeric_dtype

    table = Table(title=title, title_justify="left", show_edge=False)
    for col in frame.columns:
        table.add_column(str(col), justify="right" if is_numeric_dtype(frame[col]) else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*(f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row))
    return table


@app.command()
def match(
    spec: SpecPath,
    out_path: Annotated[Path, typer.Option("--out", help="Matched cohort CSV to write.", show_default=False)],
) -> None:
    """Build the matched cohort of a ``design: matched`` spec, show balance, write it with weights."""
    from channelab.files import write_atomic
    from channelab.pipeline import validate as validate_spec
    from channelab.spec import load_spec

    try:
        loaded = load_spec(spec)
        if loaded.design != "matched":
            raise ChannelabError(
                f"{spec}: design is {loaded.design!r}; `channelab match` needs design: matched."
            )
        with _steps() as step:
            result = validate_spec(loaded, on_step=step)
    except ChannelabError as exc:
        raise _fail(exc) from None
    m = result.matching
    assert m is not None  # design: matched always matches
    units = m.matched.units
    kept = units[units["weight"] > 0]
    written = write_atomic(out_path, kept.to_csv(index=False, lineterminator="\n").encode())
    treated = int(units["treated"].sum())
    out.print(
        f"[bold]{loaded.name}[/]: {int(kept['treated'].sum()):,} of {treated:,} treated units matched "
        f"to {int((~kept['treated']).sum()):,} controls ({loaded.matching.method}); "
        "estimand: the effect on the treated (ATT)"
    )
    table = m.before[["covariate", "level"]].assign(before=m.before["smd"], after=m.after["smd"])
    out.print(
        _frame_table(
            f"Balance: standardised mean difference (|SMD| <= {m.max_smd} required)", table, digits=3
        )
    )
    out.print(f"Matched cohort: {written}")


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
