"""Command line: ``channelab run``, ``validate``, ``design``, ``assign``, ``match``, ``replicate``, ...

Thin by design: parse arguments, call one function of :mod:`channelab.app`, print what it
returns. :class:`ChannelabError` is caught once, for every command (:class:`_Commands`), and
printed as one paragraph. Exit codes:

==== =====================================================================================
0    success
1    a crash: a bug in channelab (please report it with the traceback)
2    bad input: the spec or its data (:class:`~channelab.errors.SpecError`, ``DataError``)
3    the fit did not converge; the report is still written and marked "NOT CONVERGED"
4    the model could not be built or sampled from these cells (``ModelError``)
130  interrupted (Ctrl-C): stopped cleanly, earlier outputs left as they were
==== =====================================================================================
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from channelab.errors import ChannelabError, SpecError, first_few
from channelab.limits import MAX_SEED, MAX_SIMS, MAX_SIMULATED_ROWS
from channelab.simulate.scenarios import DEFAULT_N_PROSPECTS, SCENARIOS

if TYPE_CHECKING:
    import pandas as pd

    from channelab.app import Report

_EXIT_NOT_CONVERGED = 3
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
            _console.print(f"[bold red]error:[/] {_e(exc)}", soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            _console.print("[bold red]interrupted:[/] stopped; outputs written by earlier runs are intact.")
            raise typer.Exit(_EXIT_INTERRUPTED) from None


app = typer.Typer(
    cls=_Commands,
    add_completion=False,
    no_args_is_help=True,
    help="Run and read outreach-channel experiments: real lift, or only engagement?",
)
_console = Console(stderr=True, highlight=False, emoji=False)
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
    _console.print(f"[yellow]warning:[/] {_e(message)}", soft_wrap=True)


def _e(value: object) -> str:
    """User text (labels, paths, messages) made inert for the console: no markup, no emoji."""
    return escape(str(value))


_SpecPath = Annotated[Path, typer.Argument(help="Experiment definition (YAML).", show_default=False)]
_AsOf = Annotated[
    str | None,
    typer.Option(
        help="Analysis date (YYYY-MM-DD): the test as it stood then. Default: the latest date in the data.",
        show_default=False,
    ),
]


def _sims(what: str, default: str) -> Any:
    """A ``--sims`` option: how many simulations per metric and lift, 0 to skip, bounded."""
    return typer.Option(min=0, max=MAX_SIMS, help=f"{what} per metric and lift (0 skips; default {default}).")


_Seed = Annotated[
    int | None, typer.Option(min=0, max=MAX_SEED, help="Override the spec's random seed.", show_default=False)
]


def _quiet_libraries() -> None:
    """Keep PyMC's and PyTensor's INFO chatter out of the terminal; the spinner says what runs."""
    for name in ("pymc", "pytensor"):
        logging.getLogger(name).setLevel(logging.WARNING)


@contextmanager
def _steps() -> Iterator[Callable[[str], None]]:
    """A spinner showing the current step, and a tick per finished step."""
    with _console.status("Starting") as status:
        last: list[str] = []

        def step(text: str) -> None:
            if last and text.startswith(last[-1] + " ("):  # progress of the step, e.g. "(40 %)"
                status.update(_e(text))
                return
            if last:
                _console.print(f"[green]✓[/] {_e(last[-1])}")
            last.append(text)
            status.update(_e(text))

        yield step
    if last:
        _console.print(f"[green]✓[/] {_e(last[-1])}")


@app.command()
def run(
    spec: _SpecPath,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for NAME.pdf, .json and .html.")] = Path(
        "reports"
    ),
    seed: _Seed = None,
    engine: Annotated[
        Literal["duckdb", "spark"] | None,
        typer.Option(help="Read and aggregate the rows with this engine (overrides the spec's)."),
    ] = None,
    as_of: _AsOf = None,
) -> None:
    """Analyse an experiment and write its PDF report and JSON."""
    from channelab.app import run_experiment

    _quiet_libraries()
    with _steps() as step:
        report = run_experiment(
            spec, out_dir=out_dir, seed=seed, engine=engine, as_of=_day(as_of), on_step=step
        )
    _print_report(report)


@app.command()
def monitor(
    spec: _SpecPath,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for NAME.monitor.pdf, .json and .html.")
    ] = Path("reports"),
    as_of: _AsOf = None,
    every: Annotated[
        str | None,
        typer.Option(
            help="Days between looks: week, day or a number (overrides monitor.every).", show_default=False
        ),
    ] = None,
    seed: _Seed = None,
) -> None:
    """Analyse a running test at every look up to the as-of date, and say whether it may stop."""
    from channelab.app import monitor_experiment

    _quiet_libraries()
    with _steps() as step:
        done = monitor_experiment(
            spec, out_dir=out_dir, as_of=_day(as_of), every=_every(every), seed=seed, on_step=step
        )
    m = done.monitor
    for arm in m.spec.treatments:
        d = m.decisions.get(arm)
        out.print(
            _e(f"{arm}: {d.verdict} (look {d.look}, {d.date.isoformat()})" if d else f"{arm}: not decided")
        )
    out.print(_e(m.headline), soft_wrap=True)
    out.print(f"Report: {_e(done.pdf)}\nJSON:   {_e(done.json)}\nHTML:   {_e(done.html)}")


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
        out.print(f"[bold]{_e(arm.arm)}[/]: {_e(arm.verdict)}")
    if analysis.replication is not None:
        replication = analysis.replication
        out.print(f"[bold]Replication[/]: {_e(replication.verdict)}. {_e(replication.sentence)}")
    out.print(f"Report: {_e(report.pdf)}\nJSON:   {_e(report.json)}\nHTML:   {_e(report.html)}")
    if not analysis.diagnostics.converged:
        _console.print(
            "[bold red]not converged:[/] "
            + _e("; ".join(analysis.diagnostics.problems))
            + f". {_e(analysis.diagnostics.refit_sentence())} The report is marked; simplify the model "
            "(fewer covariates, no pooling or lift_by) or raise sampler.tune/draws before acting on it."
        )
        raise typer.Exit(_EXIT_NOT_CONVERGED)


@app.command()
def replicate(
    spec: _SpecPath,
    plan: Annotated[
        bool, typer.Option("--plan", help="Plan a replication (sample sizes, assurance); no data needed.")
    ] = False,
    data: Annotated[
        Path | None, typer.Option(help="Replication data to judge instead of the spec's (outputs NAME.STEM).")
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the report and JSON.")] = Path("reports"),
    seed: _Seed = None,
) -> None:
    """Judge a replication against the spec's original study, or plan one with --plan."""
    from channelab.app import plan_replication, replicate_experiment

    _quiet_libraries()
    if not plan:
        with _steps() as step:
            report = replicate_experiment(spec, out_dir=out_dir, seed=seed, data=data, on_step=step)
        _print_report(report)
        return
    with _steps() as step:
        planned = plan_replication(spec, out_dir=out_dir, seed=seed, on_step=step)
    result, alpha = planned.result, planned.spec.replication.alpha
    a, b = result.contrast
    out.print(
        f"[bold]Replicating {_e(a)} vs {_e(b)}[/] "
        f"(original n = {result.n_original[0]:g} and {result.n_original[1]:g})"
    )
    for metric, table in result.tables.items():
        out.print(_frame_table(f"{_e(metric)}: n per arm (two-sided, alpha {alpha:g})", table, digits=3))
    out.print(
        f"Small telescopes (Simonsohn 2015): {result.telescopes_n:,} per arm, 2.5 × the original's, has "
        "about 80 % power to reject the effect the original could barely detect (d33) if the truth is zero."
    )
    for line in result.assumed:
        out.print(f"[yellow]assumed[/]: {_e(line)}")
    out.print(f"Report: {_e(planned.pdf)}\nJSON:   {_e(planned.json)}\nHTML:   {_e(planned.html)}")


@app.command()
def validate(spec: _SpecPath) -> None:
    """Check the spec and its data (seconds, no fitting) and print what the model would see."""
    from channelab.app import validate_experiment

    with _steps() as step:
        result = validate_experiment(spec, on_step=step)
    checks = result.checks
    out.print(f"[bold]{_e(result.spec.name)}[/]: {checks.n_rows:,} rows, {result.cells.n_cells} cells")
    for arm, n in checks.arm_counts.items():
        share = checks.planned_shares.get(arm)
        out.print(f"  {_e(arm)}: {n:,} units" + (f" (planned share {share:.1%})" if share else ""))
    fitted, cells = result.spec, result.cells
    if fitted.as_of is not None:
        out.print(f"  as of {fitted.as_of.isoformat()}")
        for m in fitted.metrics:
            if m.window_days is not None:
                waiting = ", ".join(
                    f"{a} {n:,.0f}" for a, n in zip(cells.arms, cells.maturing(m.name), strict=True)
                )
                out.print(_e(f"  {m.display}: {m.window_days}-day window; still maturing: {waiting}"))
    for f in checks.findings:
        colour = {"warning": "yellow", "info": "dim"}.get(f.severity, "red")
        out.print(f"  [{colour}]{f.severity}[/]: {_e(f.message)}")
    out.print("[green]OK[/]: the spec and data pass every blocking check.")


@app.command()
def design(
    spec: _SpecPath,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for NAME.design.pdf/json/html.")] = Path(
        "reports"
    ),
    sims: Annotated[int | None, _sims("Assurance simulations", "plan.assurance")] = None,
    rule_sims: Annotated[int | None, _sims("Monitored tests simulated", "monitor.sims")] = None,
    seed: _Seed = None,
) -> None:
    """Plan a test: sample size, MDE, weeks, assurance and the stopping rule's error rates by simulation."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from channelab.analysis.wording import pct
    from channelab.app import design_experiment

    _quiet_libraries()
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=_console, transient=True) as progress:
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
            out.print(f"[bold]{_e(m.label)}[/] at {q:.0%} power: {m.n_total[q]:,} units{weeks}{mde}")
            if m.r_squared is not None and m.n_total_adjusted is not None:
                mde = f"; MDE {pct(m.mde_adjusted[q], sign=True)}" if m.mde_adjusted else ""
                out.print(f"  adjusted (R² {m.r_squared:.0%}): {m.n_total_adjusted[q]:,} units{mde}")
    if result.assurance is not None:
        for r in result.assurance.rows:
            rate = f"{r.real_lift:.0%} (± {2 * r.se:.0%})"
            lift = pct(r.lift, sign=True)
            out.print(f"  {_e(r.metric)}, true lift {lift}: channelab says real lift in {rate}")
    if result.stopping_rule is not None:
        from channelab.design.monitor import RULE_NAMES

        out.print(f"Stopping rule over {result.stopping_rule.looks} planned looks:")
        for s in result.stopping_rule.rows:
            rate = f"{s.real_lift:.1%} (± {2 * s.se:.1%})"
            stop = f"stops early in {s.stops_early:.0%}, on average at {s.expected_n:,.0f} units entered"
            lift = pct(s.lift, sign=True)
            rule = RULE_NAMES[s.rule]
            out.print(f"  {_e(s.metric)}, true lift {lift}, {rule}: real lift in {rate}; {stop}")
    out.print(f"Report: {_e(planned.pdf)}\nJSON:   {_e(planned.json)}\nHTML:   {_e(planned.html)}")


@app.command()
def assign(
    spec: _SpecPath,
    units: Annotated[
        Path, typer.Option("--units", help="Units to assign (CSV or Parquet), one row per unit.")
    ],
    out_path: Annotated[Path, typer.Option("--out", help="Assignment CSV to write.", show_default=False)],
    seed: _Seed = None,
) -> None:
    """Randomise units to arms (blocked within strata, by cluster if the spec says) and show balance."""
    from channelab.app import assign_experiment

    assigned = assign_experiment(spec, units=units, out=out_path, seed=seed)
    loaded, result = assigned.spec, assigned.result
    unit = loaded.unit.randomised_by or loaded.unit.id
    out.print(
        f"[bold]{_e(loaded.name)}[/]: {len(result.units):,} units assigned by {_e(unit)} in blocks of "
        f"{len(result.pattern)} ({', '.join(f'{_e(a)} {result.pattern.count(a)}' for a in loaded.arm_order)})"
    )
    out.print(_frame_table("Allocation per stratum (randomised units)", result.allocation))
    if not result.balance.empty:
        title = "Balance: standardised mean difference vs control (|SMD| < 0.1 is balanced)"
        out.print(_frame_table(title, result.balance, digits=3))
    if result.not_in_units:
        out.print(
            "[dim]not in the units file, so not checked for balance: "
            f"{_e(first_few(result.not_in_units, 10))}[/]"
        )
    out.print(f"Assignments: {_e(assigned.path)}")


def _frame_table(title: str, frame: pd.DataFrame, *, digits: int = 1) -> Table:
    """A data frame as a rich table, numbers to ``digits`` places."""
    from pandas.api.types import is_numeric_dtype

    table = Table(title=_e(title), title_justify="left", show_edge=False)
    for col in frame.columns:
        table.add_column(_e(col), justify="right" if is_numeric_dtype(frame[col]) else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*(f"{v:.{digits}f}" if isinstance(v, float) else _e(v) for v in row))
    return table


@app.command()
def match(
    spec: _SpecPath,
    out_path: Annotated[Path, typer.Option("--out", help="Matched cohort CSV to write.", show_default=False)],
) -> None:
    """Build the matched cohort of a ``design: matched`` spec, show balance, write it with weights."""
    from channelab.app import match_experiment_cohort

    with _steps() as step:
        matched = match_experiment_cohort(spec, out=out_path, on_step=step)
    loaded, m = matched.validation.spec, matched.validation.matching
    if m is None:  # pragma: no cover - match_experiment_cohort always matches
        return
    out.print(
        f"[bold]{_e(loaded.name)}[/]: {_e(m.summary(loaded.unit.kind, loaded.matching_covariates))}; "
        f"estimand: {m.estimand_words}"
    )
    for note in m.notes:
        out.print(f"[yellow]{_e(note)}[/]")
    keys = ["arm", "covariate", "level"] if len(loaded.treatments) > 1 else ["covariate", "level"]
    table = m.before[keys].assign(before=m.before["smd"], after=m.after["smd"])
    out.print(
        _frame_table(
            f"Balance: standardised mean difference (|SMD| <= {m.max_smd} required)", table, digits=3
        )
    )
    out.print(f"Matched cohort: {_e(matched.path)}")


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
) -> None:
    """Write a simulated outreach experiment and its truth file; ``--help`` lists the scenarios."""
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
    )
    out.print(f"Data:  {_e(files.data)}\nTruth: {_e(files.truth_path)}")
    out.print(_e(files.truth.summary()), soft_wrap=True)


def main() -> None:
    """Entry point for ``python -m channelab``."""
    app()
