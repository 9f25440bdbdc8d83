from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from channelab.analysis.results import ArmResult, Effect, Effects
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
        assert "0.0%" in ticks
        assert all(t.endswith("%") for t in ticks)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "94 % HDI of the lift" in labels
    assert any(label.startswith("ROPE") for label in labels)
    assert any(label.startswith("noise band") for label in labels)


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


def test_interval_label_prints_the_mass():
    assert interval_label(0.94) == "94 % HDI"
    assert interval_label(0.895) == "89.5 % HDI"


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

    from channelab.reporting.pdf.analysis import FUNNEL_ARMS_PER_FIGURE, _funnel_figures

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
