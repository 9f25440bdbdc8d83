"""The ``learned_priors`` block of a run's JSON: which arms started from a programme's predictions.

``null`` unless the spec names a learned-priors file (``priors.from``). Otherwise::

    {"file", "programme", "notes": [...],
     "uses": [{"arm", "channel", "metric", "tests", "scale", "mean", "sd", "link_mean", "link_sd"}],
     "default_prior_effects": [{"arm", "metric", "lift", "abs_lift", "verdict"}]}

(``lift`` and ``abs_lift`` as everywhere in the JSON: ``{"mean", "hdi": [lower, upper]}``).

``mean``/``sd`` are the programme's prediction for the next test on ``scale`` (log(1 + lift) or
the difference); ``link_*`` the arm effect's prior on the metric's link scale.
``default_prior_effects`` are the same test's effects under the default priors.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from channelab.reporting.json_report.common import interval_json

if TYPE_CHECKING:
    from channelab.pipeline import Analysis

__all__ = ["learned_prior_json"]


def learned_prior_json(analysis: Analysis) -> dict[str, Any] | None:
    """The ``learned_priors`` block (None when the spec names no learned-priors file).

    Parameters
    ----------
    analysis
        A finished analysis.
    """
    start = analysis.learned
    if start is None:
        return None
    defaults = () if start.default_effects is None else start.default_effects.effects
    return {
        "file": start.path,
        "programme": start.name,
        "notes": list(start.notes),
        "uses": [asdict(u) for u in start.uses],
        "default_prior_effects": [
            {
                "arm": e.arm,
                "metric": e.metric,
                "lift": interval_json(e.lift) if e.relative_defined else None,
                "abs_lift": interval_json(e.abs_lift),
                "verdict": e.verdict,
            }
            for e in defaults
        ],
    }
