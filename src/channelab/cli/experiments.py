"""Commands on one experiment: run, monitor, replicate, validate, design, assign, match, simulate."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.table import Table

from channelab.cli.shell import (
    EXIT_NOT_CONVERGED,
    AsOf,
    RegistryOption,
    Seed,
    SpecPath,
    app,
    console,
    e,
    out,
    quiet_libraries,
    sims,
    steps,
)
from channelab.errors import SpecError, first_few
from channelab.limits import MAX_SEED, MAX_SIMULATED_ROWS
from channelab.simulate.scenarios import DEFAULT_N_PROSPECTS, SCENARIOS

if TYPE_CHECKING:
    import pandas as pd

    from channelab.app import Report


@app.command()
def run(
    spec: SpecPath,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for NAME.pdf, .json and .html.")] = Path(
        "reports"
    ),
    seed: Seed = None,
    engine: Annotated[
        Literal["duckdb", "spark"] | None,
        typer.Option(help="Read and aggregate the rows with this engine (overrides the spec's)."),
    ] = None,
    as_of: AsOf = None,
    registry: RegistryOption = None,
) -> None:
    """Analyse an experiment and write its PDF report and JSON."""
    from channelab.app import run_experiment

    quiet_libraries()
    with steps() as step:
        day = _day(as_of)
        report = run_experiment(
            spec, out_dir=out_dir, seed=seed, engine=engine, as_of=day, on_step=step, registry=registry
        )
    _print_report(report)


@app.command()
def monitor(
    spec: SpecPath,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for NAME.monitor.pdf, .json and .html.")
    ] = Path("reports"),
    as_of: AsOf = None,
    every: Annotated[
        str | None,
        typer.Option(
            help="Days between looks: week, day or a number (overrides monitor.every).", show_default=False
        ),
    ] = None,
    seed: Seed = None,
) -> None:
    """Analyse a running test at every look up to the as-of date, and say whether it may stop."""
    from channelab.app import monitor_experiment

    quiet_libraries()
    with steps() as step:
        done = monitor_experiment(
            spec, out_dir=out_dir, as_of=_day(as_of), every=_every(every), seed=seed, on_step=step
        )
    m = done.monitor
    for arm in m.spec.treatments:
        d = m.decisions.get(arm)
        out.print(
            e(f"{arm}: {d.verdict} (look {d.look}, {d.date.isoformat()})" if d else f"{arm}: not decided")
        )
    out.print(e(m.headline), soft_wrap=True)
    out.print(f"Report: {e(done.pdf)}\nJSON:   {e(done.json)}\nHTML:   {e(done.html)}")


def _day(value: str | None) -> date | None:
    """``--as-of``: a date written YYYY-MM-DD within the plausible range; a spec error otherwise."""
    from channelab.spec.timing import parse_day

    return _parsed("--as-of", parse_day, value)


def _every(value: str | None) -> str | int | None:
    """``--every``: ``week``, ``day`` or a whole number of days; a spec error otherwise."""
    from channelab.spec.monitor import parse_every

    return _parsed("--every", parse_every, value)


def _parsed[T](option: str, parse: Callable[[str | None], T], value: str | None) -> T:
    """``parse(value)``; its ``ValueError`` as a spec error naming the ``option``."""
    try:
        return parse(value)
    except ValueError as exc:
        raise SpecError(f"{option}: {exc}") from None


def _print_report(report: Report) -> None:
    """Verdicts, the replication's if any, where the outputs are; exit 3 when not converged."""
    analysis = report.analysis
    for arm in analysis.effects.arms:
        out.print(f"[bold]{e(arm.arm)}[/]: {e(arm.verdict)}")
    if analysis.replication is not None:
        replication = analysis.replication
        stacked = " (every lab's rows stacked)" if analysis.labs is not None else ""
        out.print(f"[bold]Replication{stacked}[/]: {e(replication.verdict)}. {e(replication.sentence)}")
    if analysis.labs is not None:
        head = analysis.labs.head
        out.print(
            f"[bold]Across labs[/]: {e(head.verdict_words)}, {e(head.spread)}. {e(analysis.labs.sentence)}"
        )
    out.print(f"Report: {e(report.pdf)}\nJSON:   {e(report.json)}\nHTML:   {e(report.html)}")
    if report.added is not None:
        out.print(f"Registry: {e(report.registry)} ({e(report.added.sentence())})")
    if not analysis.diagnostics.converged:
        console.print(
            "[bold red]not converged:[/] "
            + e("; ".join(analysis.diagnostics.problems))
            + f". {e(analysis.diagnostics.refit_sentence())} The report is marked; simplify the model "
            "(fewer covariates, no pooling or lift_by) or raise sampler.tune/draws before acting on it."
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
    seed: Seed = None,
    registry: RegistryOption = None,
) -> None:
    """Judge a replication against the spec's original study, or plan one with --plan."""
    from channelab.app import plan_replication, replicate_experiment

    quiet_libraries()
    if not plan:
        with steps() as step:
            report = replicate_experiment(
                spec, out_dir=out_dir, seed=seed, data=data, on_step=step, registry=registry
            )
        _print_report(report)
        return
    with steps() as step:
        planned = plan_replication(spec, out_dir=out_dir, seed=seed, on_step=step)
    result, alpha = planned.result, planned.spec.replication.alpha
    a, b = result.contrast
    out.print(
        f"[bold]Replicating {e(a)} vs {e(b)}[/] "
        f"(original n = {result.n_original[0]:g} and {result.n_original[1]:g})"
    )
    for metric, table in result.tables.items():
        out.print(_frame_table(f"{e(metric)}: n per arm (two-sided, alpha {alpha:g})", table, digits=3))
    out.print(
        f"Small telescopes (Simonsohn 2015): {result.telescopes_n:,} per arm, 2.5 × the original's, has "
        "about 80 % power to reject the effect the original could barely detect (d33) if the truth is zero."
    )
    for line in result.assumed:
        out.print(f"[yellow]assumed[/]: {e(line)}")
    out.print(f"Report: {e(planned.pdf)}\nJSON:   {e(planned.json)}\nHTML:   {e(planned.html)}")


@app.command("warm-up")
def warm_up(
    specs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Experiment files whose models to compile (default: the common ones).", show_default=False
        ),
    ] = None,
) -> None:
    """Compile models ahead of use (10-20 s each, once per machine) so that first runs start at once."""
    from channelab.app import warm_up as compile_ahead

    quiet_libraries()
    start = time.perf_counter()
    with steps() as step:
        done = compile_ahead(specs or [], on_step=step)
    fresh = [w for w in done if w.compiled]
    out.print(
        f"{len(fresh)} model(s) compiled in {time.perf_counter() - start:.0f} s; "
        f"{len(done) - len(fresh)} were compiled already."
    )


@app.command()
def validate(spec: SpecPath) -> None:
    """Check the spec and its data (seconds, no fitting) and print what the model would see."""
    from channelab.app import validate_experiment

    with steps() as step:
        result = validate_experiment(spec, on_step=step)
    checks = result.checks
    out.print(f"[bold]{e(result.spec.name)}[/]: {checks.n_rows:,} rows, {result.cells.n_cells} cells")
    for arm, n in checks.arm_counts.items():
        share = checks.planned_shares.get(arm)
        out.print(f"  {e(arm)}: {n:,} units" + (f" (planned share {share:.1%})" if share else ""))
    fitted, cells = result.spec, result.cells
    if fitted.as_of is not None:
        out.print(f"  as of {fitted.as_of.isoformat()}")
        for m in fitted.metrics:
            if m.window_days is not None:
                waiting = ", ".join(
                    f"{a} {n:,.0f}" for a, n in zip(cells.arms, cells.maturing(m.name), strict=True)
                )
                how = "still inside it, counted as far as they have come" if m.survival else "still maturing"
                out.print(e(f"  {m.display}: {m.window_days}-day window; {how}: {waiting}"))
    for f in checks.findings:
        colour = {"warning": "yellow", "info": "dim"}.get(f.severity, "red")
        out.print(f"  [{colour}]{f.severity}[/]: {e(f.message)}")
    out.print("[green]OK[/]: the spec and data pass every blocking check.")


@app.command()
def design(
    spec: SpecPath,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for NAME.design.pdf/json/html.")] = Path(
        "reports"
    ),
    sims: Annotated[int | None, sims("Assurance simulations", "plan.assurance")] = None,
    rule_sims: Annotated[int | None, sims("Monitored tests simulated", "monitor.sims")] = None,
    seed: Seed = None,
) -> None:
    """Plan a test: sample size, MDE, weeks, assurance and the stopping rule's error rates by simulation."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from channelab.analysis.wording import pct
    from channelab.app import design_experiment

    quiet_libraries()
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("Assurance: simulated experiments", total=None)

        def on_step(text: str) -> None:
            progress.update(task, description=text, completed=0, total=None)

        def on_sim(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        planned = design_experiment(
            spec, out_dir=out_dir, sims=sims, rule_sims=rule_sims, seed=seed, on_step=on_step, on_sim=on_sim
        )
    result = planned.result
    p = result.power
    for m in p.metrics:
        for q in p.powers:
            weeks = f", {m.weeks[q]} weeks" if m.weeks else ""
            mde = f"; MDE at n={p.n:,}: {pct(m.mde[q], sign=True)}" if m.mde else ""
            out.print(f"[bold]{e(m.label)}[/] at {q:.0%} power: {m.n_total[q]:,} units{weeks}{mde}")
            if m.r_squared is not None and m.n_total_adjusted is not None:
                mde = f"; MDE {pct(m.mde_adjusted[q], sign=True)}" if m.mde_adjusted else ""
                out.print(f"  adjusted (R² {m.r_squared:.0%}): {m.n_total_adjusted[q]:,} units{mde}")
    if result.assurance is not None:
        for r in result.assurance.rows:
            rate = f"{r.real_lift:.0%} (± {2 * r.se:.0%})"
            lift = pct(r.lift, sign=True)
            out.print(f"  {e(r.metric)}, true lift {lift}: channelab says real lift in {rate}")
    if result.stopping_rule is not None:
        from channelab.design.monitor import RULE_NAMES

        out.print(f"Stopping rule over {result.stopping_rule.looks} planned looks:")
        for s in result.stopping_rule.rows:
            rate = f"{s.real_lift:.1%} (± {2 * s.se:.1%})"
            stop = f"stops early in {s.stops_early:.0%}, on average at {s.expected_n:,.0f} units entered"
            lift = pct(s.lift, sign=True)
            rule = RULE_NAMES[s.rule]
            out.print(f"  {e(s.metric)}, true lift {lift}, {rule}: real lift in {rate}; {stop}")
    out.print(f"Report: {e(planned.pdf)}\nJSON:   {e(planned.json)}\nHTML:   {e(planned.html)}")


@app.command()
def assign(
    spec: SpecPath,
    units: Annotated[
        Path, typer.Option("--units", help="Units to assign (CSV or Parquet), one row per unit.")
    ],
    out_path: Annotated[Path, typer.Option("--out", help="Assignment CSV to write.", show_default=False)],
    seed: Seed = None,
) -> None:
    """Randomise units to arms (blocked within strata, by cluster if the spec says) and show balance."""
    from channelab.app import assign_experiment

    assigned = assign_experiment(spec, units=units, out=out_path, seed=seed)
    loaded, result = assigned.spec, assigned.result
    unit = loaded.unit.randomised_by or loaded.unit.id
    out.print(
        f"[bold]{e(loaded.name)}[/]: {len(result.units):,} units assigned by {e(unit)} in blocks of "
        f"{len(result.pattern)} ({', '.join(f'{e(a)} {result.pattern.count(a)}' for a in loaded.arm_order)})"
    )
    out.print(_frame_table("Allocation per stratum (randomised units)", result.allocation))
    if not result.balance.empty:
        title = "Balance: standardised mean difference vs control (|SMD| < 0.1 is balanced)"
        out.print(_frame_table(title, result.balance, digits=3))
    if result.not_in_units:
        out.print(
            "[dim]not in the units file, so not checked for balance: "
            f"{e(first_few(result.not_in_units, 10))}[/]"
        )
    out.print(f"Assignments: {e(assigned.path)}")


def _frame_table(title: str, frame: pd.DataFrame, *, digits: int = 1) -> Table:
    """A data frame as a rich table, numbers to ``digits`` places."""
    from pandas.api.types import is_numeric_dtype

    table = Table(title=e(title), title_justify="left", show_edge=False)
    for col in frame.columns:
        table.add_column(e(col), justify="right" if is_numeric_dtype(frame[col]) else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*(f"{v:.{digits}f}" if isinstance(v, float) else e(v) for v in row))
    return table


@app.command()
def match(
    spec: SpecPath,
    out_path: Annotated[Path, typer.Option("--out", help="Matched cohort CSV to write.", show_default=False)],
) -> None:
    """Build the matched cohort of a ``design: matched`` spec, show balance, write it with weights."""
    from channelab.app import match_experiment_cohort

    with steps() as step:
        matched = match_experiment_cohort(spec, out=out_path, on_step=step)
    loaded, m = matched.validation.spec, matched.validation.matching
    if m is None:  # pragma: no cover - match_experiment_cohort always matches
        return
    out.print(
        f"[bold]{e(loaded.name)}[/]: {e(m.summary(loaded.unit.kind, loaded.matching_covariates))}; "
        f"estimand: {m.estimand_words}"
    )
    for note in m.notes:
        out.print(f"[yellow]{e(note)}[/]")
    keys = ["arm", "covariate", "level"] if len(loaded.treatments) > 1 else ["covariate", "level"]
    table = m.before[keys].assign(before=m.before["smd"], after=m.after["smd"])
    out.print(
        _frame_table(
            f"Balance: standardised mean difference (|SMD| <= {m.max_smd} required)", table, digits=3
        )
    )
    out.print(f"Matched cohort: {e(matched.path)}")


_SIMULATE_HELP = (
    "Simulate an outreach experiment with a known truth: write the rows (CSV, or Parquet for a "
    ".parquet path) and the truth beside them as STEM.truth.json.\n\nScenarios:\n\n"
    + "\n\n".join(f"- {name}: {s.description}" for name, s in SCENARIOS.items())
    + "\n\n- programme: 26 tests of two channels (social, e-mail) as a table of published "
    "summaries for `channelab learn`, with each channel's true mean, spread and link"
)


@app.command(help=_SIMULATE_HELP)
def simulate(
    scenario: Annotated[
        str, typer.Argument(help=f"One of: {', '.join(SCENARIOS)}, programme.", show_default=False)
    ],
    out_path: Annotated[
        Path, typer.Option("--out", help="Data file to write (.csv or .parquet).", show_default=False)
    ],
    n_prospects: Annotated[
        int, typer.Option(min=1, max=MAX_SIMULATED_ROWS, help="Number of prospects (rows).")
    ] = DEFAULT_N_PROSPECTS,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="Random seed; same seed, same bytes.")
    ] = 2014,
    weeks: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=104,
            help="Put the test in time: prospects enter over this many weeks (column entered_at) "
            "and meetings arrive with channel-specific delays (meetings_at).",
            show_default=False,
        ),
    ] = None,
    unsubscribes: Annotated[
        bool,
        typer.Option(help="Add a guardrail: an unsubscribes column (2 % under control; phone doubles it)."),
    ] = False,
    effort: Annotated[
        bool,
        typer.Option(
            help="Add the reps' effort: a rep_hours column, hours per prospect to 0.01 h (gamma, mean "
            "by channel: business as usual 0.10, e-mail 0.05, phone 0.40, social 0.25, video 0.20, "
            "in person 2.0), plus 1 h per meeting booked; its true means are in the truth file."
        ),
    ] = False,
) -> None:
    """Write a simulated outreach experiment and its truth file; ``--help`` lists the scenarios."""
    if scenario == "programme":  # many tests, written as published summaries
        from channelab.simulate.programme_files import write_programme

        written = write_programme(out_path, seed=seed)
        out.print(f"Data:  {e(written.data)}\nTruth: {e(written.truth_path)}")
        return
    from channelab.simulate.effort import Effort
    from channelab.simulate.guardrails import Unsubscribes
    from channelab.simulate.outreach import write_simulation
    from channelab.simulate.timing import Arrival

    files = write_simulation(
        scenario,
        out_path,
        n_prospects=n_prospects,
        seed=seed,
        arrival=Arrival(weeks=weeks) if weeks is not None else None,
        unsubscribes=Unsubscribes() if unsubscribes else None,
        effort=Effort() if effort else None,
    )
    out.print(f"Data:  {e(files.data)}\nTruth: {e(files.truth_path)}")
    out.print(e(files.truth.summary()), soft_wrap=True)
