"""The appendix of an analysis report: data checks, matching, diagnostics, priors, provenance."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import (
    Flowable,
    Spacer,
    Table,
)

from channelab.analysis.diagnostics import ESS_MIN, RHAT_MAX, Diagnostics
from channelab.engine.checks import SRM_ALPHA
from channelab.reporting.pdf.layout import figure_flowable, fmt_pass, grid_table, para, provenance_block
from channelab.reporting.plots.matching import love_plot, overlap_figure
from channelab.reporting.plots.style import interval_label
from channelab.spec import Priors

if TYPE_CHECKING:
    from channelab.cohort.build import MatchResult
    from channelab.pipeline import Analysis
    from channelab.spec import Matching, Spec

_PRIOR_MEANINGS = {
    "intercept_sd": "Spread of the control level on the link scale (log-odds for rates, log for "
    "counts and amounts), centred on the pooled observed level.",
    "arm_mu": "Where each arm's effect is centred before seeing data, on the link scale; 0 "
    "means no effect is expected (an earlier study's estimate may be entered instead).",
    "arm_sd": "How large an arm's effect may plausibly be on the link scale (the standardised "
    "scale for means); 2.5, the default, is weakly informative: it barely shrinks even a small "
    "study's estimate.",
    "covariate_sd": "Spread of the stratum (covariate) effects, which sum to zero across the "
    "levels of each covariate.",
    "sigma_sd": "Half-normal scale for the spread of log amounts (revenue) or of standardised "
    "values (continuous, cell means, both parts of a ratio); other metric types do not use it.",
    "dispersion_sd": "Half-normal scale for the overdispersion of counts under the negative "
    "binomial; other metric types do not use it.",
}


def matching_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Balance before and after matching, the love plot and the propensity overlap (matched designs)."""
    m = analysis.matching
    if m is None:
        return []
    several = len(analysis.spec.treatments) > 1
    out: list[Flowable] = [
        para("Matching and balance", st["h1"]),
        para(_matching_text(analysis, m) + _left_out_text(analysis.spec, m), st["body"]),
        Spacer(1, 0.2 * cm),
        grid_table(_balance_rows(m, several=several), [2.0] * several + [2.5, 2.0, 1.5, 1.5, 2.0], st),
        Spacer(1, 0.2 * cm),
        figure_flowable(love_plot(m.before, m.after, max_smd=m.max_smd)),
    ]
    if m.separation is not None:
        units = m.matched.units
        out.append(
            figure_flowable(
                overlap_figure(
                    units["propensity"].to_numpy(), units["treated"].to_numpy(), units["weight"].to_numpy()
                )
            )
        )
    return out


def _matching_method(m: MatchResult, cfg: Matching) -> str:
    """How the comparison group was built, in words: the method and its settings."""
    method = {
        "nearest": f"{cfg.ratio}:1 nearest neighbour on the logit propensity"
        + (f", caliper {cfg.caliper:g} SD" if cfg.caliper else "")
        + (", with replacement" if cfg.replace else ", without replacement"),
        "exact": "exact matching",
        "cem": f"coarsened exact matching ({cfg.bins} bins per number)",
        "entropy": "entropy balancing: the untreated are reweighted so that their mean of every "
        f"term of {m.formula} equals the target mean exactly",
        "ipw": "inverse-propensity weights",
        "overlap": "overlap weights (each unit weighted by its chance of being in the other group)",
    }[cfg.method]
    if m.formula and cfg.method != "entropy":
        method += f", propensity on {m.formula}"
    if cfg.trim is not None:
        method += f", units with propensity outside [{cfg.trim:g}, {1 - cfg.trim:g}] left out"
    return method


def _matching_text(analysis: Analysis, m: MatchResult) -> str:
    """The method, the estimand, the units left out, the balance required and the model used."""
    spec = analysis.spec
    cfg = spec.matching
    dropped = m.matched.dropped
    kept = "weighted" if m.weighted else "matched"
    return (
        f"No one randomised these {spec.unit.kind}s, so the comparison group is built by "
        f"{_matching_method(m, cfg)}"
        + (f", exactly on {', '.join(cfg.exact)}" if cfg.exact else "")
        + f". The effect is {m.estimand_words}. {len(dropped):,} treated {spec.unit.kind}s found "
        "no comparable untreated one and are left out. Balance is required within "
        f"|SMD| {m.max_smd:g}" + (" (accepted beyond it by the spec)" if cfg.accept_imbalance else "") + ", "
        f"and at least {cfg.min_effective:g} effective untreated units (here "
        f"{m.effective(treated=False):,.0f}). The model is the one used for randomised tests, on the "
        f"{kept} units with their weights, each group's weights scaled to its effective sample size"
        + (
            "; pre-period columns in adjust make the estimate doubly robust (right if either the "
            "weights or the outcome regression is)"
            if spec.adjust
            else ""
        )
        + ". "
        + " ".join(m.notes)
    )


def _left_out_text(spec: Spec, m: MatchResult) -> str:
    """`` Left out, by segment: ...``: the treated units dropped per covariate level, most first."""
    lost = m.dropped_by(spec.matching_covariates)
    lost = lost[lost["dropped"] > 0].sort_values("share", ascending=False)
    if not len(lost):
        return ""
    parts = zip(lost["covariate"], lost["level"], lost["dropped"], lost["treated"], strict=True)
    return " Left out, by segment: " + "; ".join(f"{c} {lv}: {n:,} of {t:,}" for c, lv, n, t in parts) + "."


def _balance_rows(m: MatchResult, *, several: bool) -> list[list[str]]:
    """Each covariate level's SMD before and after, and its variance ratio after (with the arm if several)."""
    rows = [["Arm"] * several + ["Covariate", "Level", "SMD before", "SMD after", "Variance ratio after"]]
    before, after = m.before, m.after
    for i in range(len(before)):
        ratio = float(after["variance_ratio"].iloc[i])
        rows.append(
            [str(before["arm"].iloc[i])] * several
            + [
                str(before["covariate"].iloc[i]),
                str(before["level"].iloc[i]),
                f"{float(before['smd'].iloc[i]):+.3f}",
                f"{float(after['smd'].iloc[i]):+.3f}",
                "" if math.isnan(ratio) else f"{ratio:.2f}",
            ]
        )
    return rows


def checks_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Appendix A: every data check, its result and what it found."""
    checks = analysis.checks
    total = sum(checks.arm_counts.values())
    planned = bool(checks.planned_shares)
    counts = [["Arm", "Units", "Share"] + (["Planned share", "Expected units"] if planned else [])]
    counts += [
        [arm, f"{n:,}", f"{100 * n / total:.2f} %"]
        + (
            [f"{100 * checks.planned_shares[arm]:.2f} %", f"{checks.planned_shares[arm] * total:,.0f}"]
            if planned
            else []
        )
        for arm, n in checks.arm_counts.items()
    ]
    findings = [["Severity", "Check", "Finding", "Rows"]]
    findings += [[f.severity, f.check, f.message, f"{f.count:,}"] for f in checks.findings]
    summary = f"{checks.n_rows:,} rows read; no row was dropped. " + (
        f"Sample-ratio test (chi-square of the arm sizes against the planned allocation): "
        f"p = {checks.srm_p:.3g}, flagged below {SRM_ALPHA:g}."
        if planned and checks.srm_p == checks.srm_p  # not NaN: the test ran
        else "No sample-ratio test: in a matched design nobody planned the arm sizes. "
        "Arm sizes are those of the data before matching or weighting."
        if analysis.spec.design == "matched"
        else "No sample-ratio test (see the findings below)."
    )
    return [
        para("Appendix A. Data checks", st["h1"]),
        para(summary, st["body"]),
        Spacer(1, 0.2 * cm),
        grid_table(counts, [5.0, 2.5, 2.5, 3.0, 3.0][: len(counts[0])], st),
        Spacer(1, 0.3 * cm),
        grid_table(findings, [1.7, 2.8, 11.3, 1.6], st),
        *_balance_table(analysis, st),
    ]


def _balance_table(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Pre-period columns across the arms: randomisation should leave them alike."""
    balance = analysis.checks.balance
    if not balance or analysis.spec.design == "matched":  # balanced by design: see "Matching and balance"
        return []
    control = analysis.spec.control
    rows = [["Pre-period column", "Arm", "Mean", "SD", f"Std. difference vs {control}", "F test p"]]
    for b in balance:
        rows += [
            [
                b.column if i == 0 else "",
                arm,
                f"{b.mean[arm]:,.4g}",
                f"{b.sd[arm]:,.4g}",
                f"{b.smd[arm]:+.3f}" if arm in b.smd else "",
                f"{b.p_value:.3g}" if i == 0 else "",
            ]
            for i, arm in enumerate(b.mean)
        ]
    return [
        Spacer(1, 0.3 * cm),
        para(
            "Balance of the pre-period columns adjusted for. They were measured before assignment, so "
            "randomisation leaves the arms alike up to chance; an F test p below "
            f"{SRM_ALPHA:g} is flagged above as a red flag for the randomisation.",
            st["body"],
        ),
        Spacer(1, 0.1 * cm),
        grid_table(rows, [3.6, 3.4, 2.2, 2.2, 3.2, 2.0], st),
    ]


def diagnostics_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Appendix B: the convergence gate and a table of the arm parameters (traces are in the HTML twin)."""
    d = analysis.diagnostics
    gate = [
        ["Quantity", "Value", "Required", "Result"],
        [
            "R-hat (r_hat), largest",
            f"{d.rhat_max:.3f}",
            f"at most {RHAT_MAX}",
            _mixing_mark(d, d.rhat_max <= RHAT_MAX),
        ],
        [
            "Bulk ESS, smallest",
            f"{d.ess_bulk_min:,.0f}",
            f"at least {ESS_MIN}",
            _mixing_mark(d, d.ess_bulk_min >= ESS_MIN),
        ],
        [
            "Tail ESS, smallest",
            f"{d.ess_tail_min:,.0f}",
            f"at least {ESS_MIN} (advisory)",
            "ok" if d.ess_tail_min >= ESS_MIN else "low",
        ],
        ["Divergent transitions", f"{d.divergences:,}", "0", fmt_pass(d.divergences == 0)],
        ["Chains × draws", f"{d.chains} × {d.draws:,}", "", ""],
    ]
    status = " ".join(
        [
            "The convergence gate is passed: the posterior can be used."
            if d.converged
            else "NOT CONVERGED: " + "; ".join(d.problems) + ".",
            *(f"{note[0].upper()}{note[1:]}." for note in d.notes),
            d.refit_sentence(),
        ]
    )
    return [
        Spacer(1, 0.4 * cm),
        para("Appendix B. Sampler diagnostics", st["h1"]),
        para(
            f"Thresholds after Vehtari et al. (2021): R-hat at most {RHAT_MAX} and bulk ESS at "
            f"least {ESS_MIN} for every free parameter, and no divergent transitions. {status}",
            st["body"],
        ),
        Spacer(1, 0.2 * cm),
        grid_table(gate, [5.0, 3.0, 5.0, 3.0], st),
        Spacer(1, 0.3 * cm),
        para("Arm effects (link scale: log-odds for rates, log for counts and amounts)", st["h2"]),
        para(
            "Per arm parameter: R-hat is rank-normalised and split across chains; bulk ESS counts "
            "the effective draws for the centre of the posterior, tail ESS for its 5 % and 95 % "
            "quantiles. Trace and rank plots of these parameters are in the HTML twin of this report.",
            st["small"],
        ),
        _arm_parameter_table(analysis, st),
    ]


def _mixing_mark(d: Diagnostics, ok: bool) -> str:
    """Pass or fail; a failure only in parameters the reported quantities barely depend on says so."""
    return fmt_pass(ok) if ok or not d.notes else "nuisance only (see note)"


def _arm_parameter_table(analysis: Analysis, st: dict[str, ParagraphStyle]) -> Table:
    table = analysis.diagnostics.table
    rows = table[table.index.str.contains(":arm[", regex=False)]
    lb = next(c for c in table.columns if c.endswith("_lb"))
    ub = next(c for c in table.columns if c.endswith("_ub"))
    mass = interval_label(analysis.effects.hdi_prob)
    out = [["Parameter", "Mean", "SD", f"{mass} low", f"{mass} high", "ESS bulk", "ESS tail", "R-hat"]]
    out += [
        [
            str(name),
            f"{r['mean']:.3f}",
            f"{r['sd']:.3f}",
            f"{r[lb]:.3f}",
            f"{r[ub]:.3f}",
            f"{r['ess_bulk']:,.0f}",
            f"{r['ess_tail']:,.0f}",
            f"{r['r_hat']:.3f}",
        ]
        for name, r in rows.iterrows()
    ]
    return grid_table(out, [5.0, 1.5, 1.5, 2.0, 2.0, 1.6, 1.6, 1.4], st)


def priors_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Appendix C: the priors in force per metric, and what each means."""
    spec = analysis.spec
    fields = list(_PRIOR_MEANINGS)
    meanings = [["Prior", "What it means"], *([f, _PRIOR_MEANINGS[f]] for f in fields)]
    values = [["Metric", *fields]]
    values += [
        [f"{m.display} ({m.type})", *(_prior_value(spec.priors_for(m), f) for f in fields)]
        for m in spec.metrics_in_funnel_order
    ]
    return [
        Spacer(1, 0.4 * cm),
        para("Appendix C. Priors in force", st["h1"]),
        para(
            "Weakly informative priors on each metric's link scale. Package defaults apply to "
            "every metric; the experiment file's priors override them, and a metric's own priors "
            "override those.",
            st["body"],
        ),
        Spacer(1, 0.2 * cm),
        grid_table(meanings, [2.6, 14.8], st),
        Spacer(1, 0.3 * cm),
        grid_table(values, [4.1, 2.1, 3.2, 1.6, 2.2, 1.8, 2.4], st),
    ]


def provenance_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Appendix D: the data fingerprint and the provenance record."""
    return provenance_block(analysis.provenance, st, heading="Appendix D. Data fingerprint and provenance")


def _prior_value(priors: Priors, name: str) -> str:
    value = getattr(priors, name)
    if isinstance(value, dict):
        return ", ".join(f"{arm}: {mu:g}" for arm, mu in value.items()) or "0 for every arm"
    return f"{value:g}"
