"""One compiled model serves every size: the flat log-density of one experiment's model, given
another's data and dimension lengths, is that other model's log-density.

Each case builds a metric's model for two experiments that differ in their numbers of arms and
covariate levels (the same structure key), compiles the first one's functions (PyTensor's
Python linker: the graph is what is tested, not numba), points its containers at the second
one's data and lengths, and compares log-density, gradient and expansion with the second
one's own functions at random points.
"""

from __future__ import annotations

import numpy as np
import pytest

from channelab.analysis.blocks import CANONICAL
from channelab.analysis.flat import flat_functions, initial_point, shapes_for
from channelab.analysis.model import build_model
from channelab.engine.aggregate import build_cells
from channelab.engine.source import frame_source
from channelab.simulate.ab import SimMetric, simulate_ab
from channelab.spec import parse_spec
from helpers import spec_dict

ROLES = {"binary": "outcome", "count": "outcome", "revenue": "revenue", "continuous": "outcome"}
BASES = {"binary": 0.2, "count": 1.0, "revenue": 0.3, "continuous": 10.0}


def _built(kind: str, n_arms: int, n_levels: int, **overrides):
    arms = ("control", *(f"arm{k}" for k in range(1, n_arms)))
    segments = (0.0, 0.4, -0.3, 0.2, -0.1)[:n_levels]
    metric = SimMetric(kind, BASES[kind], {arms[1]: 0.1})
    rows, _ = simulate_ab(
        n_per_arm=300, arms=arms, metrics={"y": metric}, segment_effects=segments, seed=n_arms
    )
    channels = {a: {"channel": "control" if a == "control" else "email"} for a in arms}
    raw = spec_dict(
        "unused.csv", [{"name": "y", "role": ROLES[kind], "type": kind}], arms=channels, **overrides
    )
    spec = parse_spec(raw)
    return build_model(build_cells(frame_source(rows), spec), spec)


CASES = [
    *((kind, (3, 3), (4, 5), {}) for kind in ROLES),
    ("binary", (3, 3), (4, 4), {"model": {"lift_by": "segment"}}),  # a 2-D (treatment × level) effect
    ("count", (3, 3), (5, 4), {"model": {"pool_arms": True}}),  # partially pooled arm effects
]


@pytest.mark.parametrize(("kind", "small", "large", "overrides"), CASES, ids=lambda c: str(c))
def test_a_model_compiled_at_one_size_is_the_model_of_another(kind, small, large, overrides):
    _same_model(_built(kind, *small, **overrides), _built(kind, *large, **overrides))


def test_a_time_to_event_model_compiled_for_three_arms_is_the_model_of_four():
    three = {"Control": "control", "Phone": "phone", "Social": "social"}
    _same_model(_survival(three), _survival({**three, "Call": "phone"}))


def _same_model(a, b) -> None:
    """Model ``a``'s functions, given ``b``'s data and lengths, are ``b``'s own."""
    assert a.keys == b.keys  # one structure: one compiled model for both
    graph_a, graph_b = a._block_graph(a.metrics[0]), b._block_graph(b.metrics[0])
    fa, fb = flat_functions(graph_a, mode="FAST_COMPILE"), flat_functions(graph_b, mode="FAST_COMPILE")
    assert fa.fixed is None
    sizes = {dim: int(length.get_value()) for dim, length in graph_b.dim_lengths.items()}
    shapes = shapes_for(fb.rules, sizes)
    assert shapes_for(fa.rules, sizes) == shapes
    assert fa.names == fb.names
    assert fa.dims == fb.dims
    np.testing.assert_array_equal(
        initial_point(fa.initial, shapes[: fa.free]), initial_point(fb.initial, shapes[: fb.free])
    )
    values_b = {v.name: v.get_value() for v in [*graph_b.data_vars, *graph_b.dim_lengths.values()]}
    for var in {*fa.logp.get_shared(), *fa.expand.get_shared()}:
        var.set_value(values_b[var.name])  # model a, given b's data and lengths
    n = int(sum(np.prod(s) for s in shapes[: fb.free]))
    for x in np.random.default_rng(0).normal(0.0, 0.5, (3, n)):
        (logp_a, grad_a), (logp_b, grad_b) = fa.logp(x), fb.logp(x)
        np.testing.assert_allclose(logp_a, logp_b, rtol=1e-12)
        np.testing.assert_allclose(grad_a, grad_b, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fa.expand(x)[0], fb.expand(x)[0], rtol=1e-12)
    assert any(name.startswith(f"{CANONICAL}:arm") for name in fa.names)


def test_a_model_with_a_prior_per_arm_is_fixed_to_its_sizes():
    """Learned priors that differ by arm are constants of the graph: its key has the sizes."""
    priors = {"arm_mu": {"arm1": 0.2, "arm2": -0.1}}
    a, b = _built("binary", 3, 3, priors=priors), _built("binary", 3, 4, priors=priors)
    assert a.keys != b.keys
    fixed = flat_functions(a._block_graph(a.metrics[0]), mode="FAST_COMPILE").fixed
    assert fixed is not None
    assert fixed["treatment"] == 2


def _survival(arms: dict[str, str]):
    """A time-to-event metric (``hazards: varying``: a random walk per treatment) with ``arms``."""
    from datetime import timedelta

    import pandas as pd

    from channelab.simulate.timing import Arrival, entry_dates, iso, outcome_dates

    arrival = Arrival(weeks=6, delays={"control": 8.0, "phone": 3.0, "social": 18.0})
    rng = np.random.default_rng(len(arms))
    arm = np.array(list(arms))[rng.permutation(np.arange(3000) % len(arms))]
    met = rng.random(arm.size) < 0.1
    entered = entry_dates(rng.integers(1, arrival.weeks + 1, size=arm.size), arrival, rng)
    booked = outcome_dates(entered, met, np.array([arms[a] for a in arm]), arrival, rng)
    rows = pd.DataFrame(
        {"arm": arm, "entered_at": iso(entered), "met": met.astype(int), "met_at": iso(booked)}
    )
    metric = {"name": "met", "role": "outcome", "type": "binary", "at": "met_at", "window_days": 28,
              "time_model": "survival", "intervals": [7, 14]}  # fmt: skip
    spec = parse_spec(
        {"name": "t", "unit": {"entered_at": "entered_at"}, "data": {"path": "rows.csv"}, "arm_column": "arm",
         "control": "Control", "arms": {a: {"channel": c} for a, c in arms.items()}, "metrics": [metric],
         "as_of": (arrival.start + timedelta(days=7 * arrival.weeks)).isoformat()}
    )  # fmt: skip
    return build_model(build_cells(frame_source(rows), spec), spec)
