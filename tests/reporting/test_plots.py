from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from channelab.analysis.results import ArmResult, Effect, Effects, Interval
from channelab.reporting.plots.diagnostics import trace_figure
from channelab.reporting.plots.effects import funnel_figure, metric_posterior_figure, segment_figure
from channelab.reporting.plots.style import VERDICT_COLOURS, interval_label
from helpers import make_effect

# (name, label, role, lift mean, lift sd, verdict) in funnel order
METRICS = [
    ("replies", "replies", "engagement", 0.30, 0.03, "real lift"),
    ("meetings", "meetings booked", "outcome", 0.01, 0.02, "no effect"),
    ("pipeline", "pipeline value", "revenue", -0.20, 0.05, "harm"),
]
ROPE = (-0.05, 0.05)


def _effect(arm: str, metric: tuple, draws: np.ndarray) -> Effect:
    name, label, role, mean, sd, verdict = metric
    return make_effect(
        arm=arm,
        metric=name,
        label=label,
        role=role,
        verdict=verdict,
        mean=mean,
        half_width=2 * sd,
        draws=draws,
        rope=ROPE,
        more_data_factor=1.0,
    )


def make_effects(n_arms: int = 2, metrics: list[tuple] = METRICS, seed: int = 7) -> Effects:
    rng = np.random.default_rng(seed)
    effects, draws = [], {}
    for i in range(n_arms):
        arm = f"arm {i + 1}"
        for metric in metrics:
            flat = rng.normal(metric[3], metric[4], size=2000)
            draws[(arm, metric[0])] = flat
            effects.append(_effect(arm, metric, flat))
    arms = tuple(
        ArmResult(arm=f"arm {i + 1}", channel="email", verdict="harm", summary="") for i in range(n_arms)
    )
    return Effects(hdi_prob=0.94, effects=tuple(effects), arms=arms, lift_draws=draws)


@pytest.fixture
def effects() -> Effects:
    return make_effects()


def _patch(fig: Figure, gid: str) -> Rectangle:
    found = [p for ax in fig.axes for p in ax.patches if p.get_gid() == gid]
    assert len(found) == 1
    return found[0]


def _texts(fig: Figure) -> dict[str, object]:
    return {t.get_gid(): t for ax in fig.axes for t in ax.texts if t.get_gid()}


def test_funnel_has_one_axes_per_arm(effects):
    fig = funnel_figure(effects, control="control")
    assert len(fig.axes) == 2
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == ["arm 1 vs control", "arm 2 vs control"]


def test_funnel_rows_are_metric_labels_in_funnel_order(effects):
    fig = funnel_figure(effects)
    for ax in fig.axes:
        assert [t.get_text() for t in ax.get_yticklabels()] == [m[1] for m in METRICS]
        # the first row is drawn at the top
        assert ax.get_ylim()[0] > ax.get_ylim()[1]


def test_funnel_labels_every_row_with_its_role(effects):
    fig = funnel_figure(effects)
    for ax in fig.axes:
        roles = [t.get_text() for t in ax.get_yticklabels(minor=True)]
        assert roles == ["ENGAGEMENT", "OUTCOME", "REVENUE"]


def test_funnel_rope_and_noise_bands_span_their_intervals(effects):
    fig = funnel_figure(effects)
    rope = _patch(fig, "rope:arm 2:pipeline")
    assert (rope.get_x(), rope.get_x() + rope.get_width()) == pytest.approx(ROPE)
    noise = _patch(fig, "noise:arm 2:pipeline")
    assert (noise.get_x(), noise.get_x() + noise.get_width()) == pytest.approx((-0.1, 0.1))
    assert noise.get_hatch()
    assert noise.get_hatch() != rope.get_hatch()


def test_funnel_writes_coloured_verdicts_beside_rows(effects):
    texts = _texts(funnel_figure(effects))
    for arm in ("arm 1", "arm 2"):
        for name, _, _, _, _, verdict in METRICS:
            text = texts[f"verdict:{arm}:{name}"]
            assert text.get_text().startswith(verdict)
            assert text.get_color() == VERDICT_COLOURS[verdict]


def test_funnel_titles_carry_the_arm_verdict(effects):
    fig = funnel_figure(effects)
    for ax in fig.axes:
        assert ax.get_title(loc="right") == ""


def test_funnel_axis_is_a_ratio_scale_in_percent_and_legend_names_interval_mass(effects):
    fig = funnel_figure(effects)
    fig.canvas.draw()
    for ax in fig.axes:
        # +100 % and -50 % (doubling and halving) lie equally far from 0
        zero, double, half = ax.transData.transform([(0, 0), (1.0, 0), (-0.5, 0)])[:, 0]
        assert double - zero == pytest.approx(zero - half)
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert "0%" in ticks
        assert all(t.endswith("%") for t in ticks)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "94 % interval of the lift (equal-tailed)" in labels
    assert any(label.startswith("ROPE") for label in labels)
    noise = next(label for label in labels if label.startswith("noise band"))
    assert "reference only" in noise  # it decides nothing


def test_funnel_stays_readable_with_six_arms_and_six_metrics():
    metrics = [
        (f"m{i}", f"metric {i}", role, 0.1, 0.05, "inconclusive")
        for i, role in enumerate(["engagement", "engagement", "outcome", "outcome", "revenue", "revenue"])
    ]
    fig = funnel_figure(make_effects(n_arms=6, metrics=metrics))
    assert len(fig.axes) == 6
    width, height = fig.get_size_inches()
    assert height <= 2 * width
    labelled = [ax for ax in fig.axes if ax.get_yticklabels()]
    assert len(labelled) == 3  # two columns: metric labels once per row of panels
    assert all(len(ax.get_yticklabels(minor=True)) == 6 for ax in labelled)
    assert all(fig.axes[0].get_shared_y_axes().joined(fig.axes[0], ax) for ax in fig.axes)


def test_odd_arm_count_leaves_no_empty_panel():
    fig = funnel_figure(make_effects(n_arms=5), ncols=2)
    assert len(fig.axes) == 5


def test_metric_posterior_has_one_row_per_arm_and_a_zero_line(effects):
    fig = metric_posterior_figure(effects, "meetings")
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["arm 1", "arm 2"]
    assert any(list(line.get_xdata()) == [0, 0] for line in ax.get_lines())
    assert _patch(fig, "rope:arm 1:meetings").get_width() == pytest.approx(0.1)
    assert "meetings booked" in ax.get_title(loc="left")


def test_metric_posterior_rejects_unknown_metric(effects):
    with pytest.raises(ValueError, match="got metric 'clicks', but expected one of"):
        metric_posterior_figure(effects, "clicks")


def _posterior() -> xr.Dataset:
    rng = np.random.default_rng(3)
    return xr.Dataset(
        {
            "m:arm": (("chain", "draw", "treatment"), rng.normal(size=(4, 100, 2))),
            "m:intercept": (("chain", "draw"), rng.normal(size=(4, 100))),
        },
        coords={"chain": range(4), "draw": range(100), "treatment": ["a", "b"]},
    )


def test_trace_figure_has_trace_and_rank_axes_per_element():
    fig = trace_figure(_posterior(), ["m:arm", "m:intercept"])
    assert len(fig.axes) == 6
    titles = [ax.get_title(loc="left") for ax in fig.axes[::2]]
    assert titles == ["m:arm[a]", "m:arm[b]", "m:intercept"]
    assert len(fig.axes[0].get_lines()) == 4  # one trace per chain


def test_trace_figure_rejects_unknown_variable():
    with pytest.raises(ValueError, match=r"got var_names \['nope'\]"):
        trace_figure(_posterior(), ["nope"])


def test_figures_leave_pyplot_state_alone(effects):
    plt.close("all")
    funnel_figure(effects)
    metric_posterior_figure(effects, "replies")
    trace_figure(_posterior(), ["m:arm"])
    assert plt.get_fignums() == []


def test_interval_label_prints_the_mass_and_claims_no_hdi():
    assert interval_label(0.94) == "94 % interval"
    assert interval_label(0.895) == "89.5 % interval"


def _with_segments(effects: Effects) -> Effects:
    """Add per-level lifts of every non-engagement metric: level 'b' of arm 1 departs."""
    from dataclasses import replace

    from channelab.analysis.results import Interval, SegmentEffect

    segments = []
    for e in effects.effects:
        if e.role == "engagement":
            continue
        for level, shift, verdict in (("a", 0.0, "no effect"), ("b", 0.5, "real lift")):
            mean = e.lift.mean + (shift if e.arm == "arm 1" else 0.0)
            segments.append(
                SegmentEffect(
                    arm=e.arm,
                    metric=e.metric,
                    label=e.label,
                    role=e.role,
                    segment="size",
                    level=level,
                    share=0.5,
                    lift=Interval(mean, mean - 0.1, mean + 0.1),
                    prob_positive=0.9,
                    verdict=verdict if e.arm == "arm 1" else "no effect",  # type: ignore[arg-type]
                )
            )
    return replace(effects, segments=tuple(segments))


def test_segment_figure_draws_every_level_over_its_arms_overall_interval():
    effects = _with_segments(make_effects(n_arms=2))
    fig = segment_figure(effects, control="control")
    axes = fig.axes
    assert [ax.get_title(loc="left") for ax in axes] == [
        "meetings booked (outcome)",
        "pipeline value (revenue)",
    ]
    labels = [t.get_text() for t in axes[0].get_yticklabels()]
    assert labels == ["arm 1 · a", "arm 1 · b", "arm 2 · a", "arm 2 · b"]
    for ax in axes:
        metric = "meetings" if "meetings" in ax.get_title(loc="left") else "pipeline"
        bars = {c.get_gid(): c for c in ax.collections if (c.get_gid() or "").startswith("segment:")}
        assert set(bars) == {"segment:arm 1:a", "segment:arm 1:b", "segment:arm 2:a", "segment:arm 2:b"}
        seg = {(g.arm, g.level): g for g in effects.segments if g.metric == metric}
        for (arm, level), g in seg.items():
            (((start, _), (end, _)),) = bars[f"segment:{arm}:{level}"].get_segments()
            assert (start, end) == pytest.approx((g.lift.lower, g.lift.upper))
            assert bars[f"segment:{arm}:{level}"].get_color()[0][:3] == pytest.approx(
                matplotlib_colour(VERDICT_COLOURS[g.verdict])
            )
        overall = {p.get_gid(): p for p in ax.patches if (p.get_gid() or "").startswith("overall:")}
        for arm in ("arm 1", "arm 2"):
            e = effects.get(arm, metric)
            band = overall[f"overall:{arm}:{metric}"]
            assert (band.get_x(), band.get_x() + band.get_width()) == pytest.approx(
                (e.lift.lower, e.lift.upper)
            )


def test_segment_figure_needs_segments():
    with pytest.raises(ValueError, match="lift_by"):
        segment_figure(make_effects(n_arms=1))


def matplotlib_colour(hex_colour: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(hex_colour)


def test_report_splits_a_many_arm_funnel_into_figures_on_one_scale():
    from types import SimpleNamespace

    from channelab.reporting.pdf.leadership import FUNNEL_ARMS_PER_FIGURE, _funnel_figures

    effects = make_effects(n_arms=5)
    arms = [f"arm {i + 1}" for i in range(5)]
    analysis = SimpleNamespace(spec=SimpleNamespace(treatments=arms, control="control"), effects=effects)
    figures = _funnel_figures(analysis)  # type: ignore[arg-type]
    assert FUNNEL_ARMS_PER_FIGURE == 3
    assert [[ax.get_title(loc="left") for ax in f.axes] for f in figures] == [
        [f"{a} vs control" for a in arms[:3]],
        [f"{a} vs control" for a in arms[3:]],
    ]
    limits = {ax.get_xlim() for f in figures for ax in f.axes}
    assert len(limits) == 1  # one lift scale for every arm
    assert figures[0].get_size_inches()[0] == pytest.approx(7.5)  # one column, full width


# ---- the lift axis, rows without a relative lift, shares, verdict colours -----------------


def _with(effects: Effects, arm: str, metric: str, **changes) -> Effects:
    """``effects`` with one effect changed (e.g. a huge noise band, or no relative lift)."""
    from dataclasses import replace

    changed = tuple(
        replace(e, **changes) if (e.arm, e.metric) == (arm, metric) else e for e in effects.effects
    )
    return replace(effects, effects=changed)


def _marks(fig: Figure, gid: str) -> list:
    return [line for ax in fig.axes for line in ax.get_lines() if line.get_gid() == gid]


def test_a_huge_noise_band_does_not_move_the_lift_axis(effects):
    from channelab.reporting.plots.effects import lift_limits

    plain = funnel_figure(effects)
    wide = _with(effects, "arm 2", "pipeline", noise=(-0.9, 9.0))  # one sparse-revenue row
    fig = funnel_figure(wide)
    assert fig.axes[0].get_xlim() == pytest.approx(plain.axes[0].get_xlim())
    lo, hi = fig.axes[0].get_xlim()
    assert (lo, hi) == pytest.approx(lift_limits(effects.effects))
    # the axis shows every interval, zero and the ROPE, and is not much wider than they are
    ends = [v for e in effects.effects for v in (e.lift.lower, e.lift.upper, *e.rope)]
    assert lo <= min(ends)
    assert hi >= max(ends)
    assert np.log1p(hi) - np.log1p(lo) < 1.2 * (np.log1p(max(ends)) - np.log1p(min(ends)))
    # the band is drawn to the edges, and marked there
    noise = _patch(fig, "noise:arm 2:pipeline")
    assert (noise.get_x(), noise.get_x() + noise.get_width()) == pytest.approx((lo, hi))
    assert [m.get_marker() for m in _marks(fig, "noise-cut:arm 2:pipeline")] == ["<", ">"]
    assert not _marks(plain, "noise-cut:arm 2:pipeline")
    assert "runs past the axis: cut here" in [t.get_text() for t in fig.legends[0].get_texts()]


def test_an_interval_at_or_below_minus_100_percent_is_cut_and_marked(effects):
    from channelab.reporting.plots.style import AXIS_BOUNDS

    down = _with(effects, "arm 1", "pipeline", lift=Interval(-0.9, -1.3, -0.5))
    fig = funnel_figure(down)
    lo, _ = fig.axes[0].get_xlim()
    assert lo == pytest.approx(AXIS_BOUNDS[0])
    bar = next(c for c in fig.axes[0].collections if c.get_gid() == "interval:arm 1:pipeline")
    (((start, _), (end, _)),) = bar.get_segments()
    assert (start, end) == pytest.approx((lo, -0.5))
    assert [m.get_marker() for m in _marks(fig, "interval:arm 1:pipeline:cut")] == ["<"]
    fig.canvas.draw()  # the ratio scale draws it without warnings or infinities


def test_a_row_without_a_relative_lift_draws_no_bar_and_states_the_difference(effects):
    from channelab.reporting.plots.effects import lift_limits

    wild = Interval(3.0, -5.0, 50.0)  # a meaningless ratio: it must neither be drawn nor move the axis
    undefined = _with(effects, "arm 1", "pipeline", relative_defined=False, lift=wild, noise=(0.0, 0.0))
    for fig in (funnel_figure(undefined), metric_posterior_figure(undefined, "pipeline")):
        gids = {a.get_gid() for ax in fig.axes for a in (*ax.patches, *ax.collections, *ax.lines)}
        assert not {g for g in gids if g and g.endswith("arm 1:pipeline")}
        text = _texts(fig)["difference:arm 1:pipeline"].get_text()
        assert "relative lift not defined (control mean not clearly above 0)" in text
        assert "difference −0.02 (−0.03 to −0.01)" in text
        verdict = _texts(fig)["verdict:arm 1:pipeline"]
        assert verdict.get_text() == "harm (difference −0.02)"
        assert verdict.get_color() == VERDICT_COLOURS["harm"]
        assert "rope:arm 2:pipeline" in gids  # the other arm's row is drawn as usual
    funnel = funnel_figure(undefined)
    others = [e for e in undefined.effects if e.relative_defined]
    assert funnel.axes[0].get_xlim() == pytest.approx(lift_limits(others))


def test_a_share_among_an_earlier_stage_is_grey_and_says_it_only_explains(effects):
    from channelab.reporting.plots.style import EXPLAINS

    shared = _with(
        _with(effects, "arm 1", "pipeline", conditional=True), "arm 2", "pipeline", conditional=True
    )
    fig = funnel_figure(shared)
    for arm in ("arm 1", "arm 2"):
        verdict = _texts(fig)[f"verdict:{arm}:pipeline"]
        assert verdict.get_text() == "share fell (−20 %)"  # its metric verdict is harm: no red on page 1
        assert verdict.get_color() == EXPLAINS
        bar = next(c for c in fig.axes[0].collections if c.get_gid() == "interval:arm 1:pipeline")
        assert bar.get_color()[0][:3] == pytest.approx(matplotlib_colour(EXPLAINS))
    roles = [t.get_text() for t in fig.axes[0].get_yticklabels(minor=True)]
    assert roles == ["ENGAGEMENT", "OUTCOME", "REVENUE · SHARE, EXPLAINS ONLY"]
    assert _texts(fig)["verdict:arm 1:meetings"].get_color() == VERDICT_COLOURS["no effect"]


def test_engagement_up_outcome_undecided_has_its_own_open_colour(effects):
    from dataclasses import replace

    colours = VERDICT_COLOURS
    undecided = colours["engagement up, outcome undecided"]
    assert undecided not in {colours[v] for v in ("real lift", "harm", "engagement only", "no effect")}
    arms = tuple(replace(a, verdict="engagement up, outcome undecided") for a in effects.arms)
    fig = funnel_figure(replace(effects, arms=arms))
    header = _texts(fig)["arm:arm 1"]
    assert header.get_color() == undecided
    assert header.get_text().replace("\n", " ") == "arm verdict: engagement up, outcome undecided"
    assert max(len(line) for line in header.get_text().splitlines()) <= 24  # keeps the panel wide


def _economics(best: str | None):
    from channelab.analysis.results import ArmEconomics, Economics

    def arm(name: str, net: float, p: float) -> ArmEconomics:
        iv = Interval(net, net - 1.0, net + 1.0)
        return ArmEconomics(name, 0.5, iv, iv, None, (), p, 0.1)

    arms = (arm("email", 0.2, 0.2), arm("phone", 1.0, 0.5 if best is None else 0.96), arm("social", 0.5, 0.3))
    probs = {"control": 0.0, **{a.arm: a.prob_best for a in arms}}
    return Economics("$", arms, probs, dict.fromkeys(probs, 0.0), (), best=best)


def test_net_value_figure_ranks_only_when_an_arm_is_credibly_best():
    from channelab.reporting.plots.economics import net_value_figure

    undecided = net_value_figure(_economics(None), 0.94, "prospect").axes[0]
    assert [t.get_text() for t in undecided.get_yticklabels()][::-1] == ["email", "phone", "social"]
    assert "no arm is credibly best" in undecided.get_title(loc="left")
    assert "94 % interval" in undecided.get_xlabel()
    decided = net_value_figure(_economics("phone"), 0.94, "prospect").axes[0]
    assert [t.get_text() for t in decided.get_yticklabels()][::-1] == ["phone", "social", "email"]
    assert "phone is credibly best" in decided.get_title(loc="left")
