"""What a programme of tests taught, as JSON; and the learned priors that ``run`` and ``design`` read.

:func:`learn_json` (``learn``'s JSON report; relative lifts are fractions, 0.25 = +25 %)::

    {"kind": "learn", "name", "title", "hdi_prob", "claim_level",
     "records", "tests", "duplicates", "notes", "origin",
     "sources": [{"path", "kind": "registry" | "reports" | "report" | "summaries"}],
     "record_sources": {"run" | "replicate" | "import:json" | "import:summary": count},
     "groups": [{"channel", "metric", "role", "scale", "tests",
                 "mu": {mean, lower, upper}, "tau": {...}, "prediction": {...},
                 "prediction_scale": {mean, sd}, "prob_positive", "one_test",
                 "impact": {"launched", "naive", "shrunken": {...}} | null,
                 "effects": [{"label", "reported", "shrunken": {...}, "launched"}]}],
     "links": [{"channel", "engagement", "outcome", "scale", "tests", "cov_known",
                "slope": {...}, "r2": {...}, "prob_slope_positive", "checks": {...}}],
     "sentences": [{"text", "claim", "condition"}],
     "checks": {"rhat_max", "ess_bulk_min", "divergences", "converged"},
     "provenance": {...}}

``mu``, ``prediction``, ``effects`` and ``impact`` are on the reporting scale (a relative lift
for ``scale: loglift``, a difference for ``diff``); ``tau`` and ``prediction_scale`` are on the
fitting scale (log(1 + lift), or the difference). ``checks`` covers the programme model and
every link. ``sentences`` are page 1's, each with its kind of claim and the condition that
licensed it (:mod:`channelab.analysis.learning.wording`). Every number is finite or ``null``.

:func:`learned_priors_json` (the prior file)::

    {"kind": "channelab learned priors", "version": 1, "name", "hdi_prob", "provenance",
     "priors": [{"channel", "metric", "role", "scale", "mean", "sd", "tests", "one_test"}]}

one prior per channel and metric: the prediction for the next test's true effect, Normal(mean,
sd) on ``scale``. A ``null`` mean or sd (a non-finite draw summary) is no usable prior.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from channelab.analysis.learning.wording import learned_claim_level, learned_words
from channelab.engine.registry.priors_file import KIND, VERSION, usable_prediction

if TYPE_CHECKING:
    from channelab.analysis.diagnostics import Diagnostics
    from channelab.analysis.learning import ChannelMetric, Link
    from channelab.analysis.results import Interval
    from channelab.pipeline.learn import Learning, ProgrammeRecords
    from channelab.spec import MetricType

__all__ = [
    "PRIORS_KIND",
    "PRIORS_VERSION",
    "learn_json",
    "learned_priors_json",
    "metric_kinds",
    "programme_origin",
    "source_kind",
    "tests_read",
]

#: The ``kind`` and ``version`` of a learned-priors file.
PRIORS_KIND, PRIORS_VERSION = KIND, VERSION  # one definition: the reader's

_SOURCE_WORDS = {
    "run": "channelab runs",
    "replicate": "replications",
    "import:json": "imported JSON reports",
    "import:summary": "imported published summaries",
}


def source_kind(path: Path) -> str:
    """What a source is: ``registry``, ``reports`` (a folder), ``report`` (JSON) or ``summaries`` (CSV).

    Parameters
    ----------
    path
        A source the records were read from.
    """
    if path.is_dir():
        return "reports"
    return {".json": "report", ".csv": "summaries"}.get(path.suffix.lower(), "registry")


_KIND_WORDS = {
    "registry": "a registry",
    "reports": "a folder of run reports",
    "report": "a run report",
    "summaries": "a table of published summaries",
}


def _num(x: float | None) -> float | None:
    """A finite float, or None (non-finite numbers never reach the JSON)."""
    return float(x) if x is not None and math.isfinite(x) else None


def _iv(iv: Interval) -> dict[str, float | None]:
    return {"mean": _num(iv.mean), "lower": _num(iv.lower), "upper": _num(iv.upper)}


def tests_read(programme: ProgrammeRecords) -> int:
    """How many tests the records come from (distinct spec hash and data fingerprint).

    Parameters
    ----------
    programme
        The records read.
    """
    return len({(r.spec_hash, r.data_fingerprint) for r in programme.records})


def metric_kinds(programme: ProgrammeRecords) -> dict[str, MetricType]:
    """Each metric's type, as its first record gives it (to print differences in their units).

    Parameters
    ----------
    programme
        The records read.
    """
    kinds: dict[str, MetricType] = {}
    for r in programme.records:
        kinds.setdefault(r.metric, r.metric_type)
    return kinds


def programme_origin(programme: ProgrammeRecords) -> str:
    """Where the records came from, in one sentence: the registry or folder, and the records' sources.

    Parameters
    ----------
    programme
        The records read.
    """
    if len(programme.sources) == 1:
        path = programme.sources[0]
        where = f"{_KIND_WORDS[source_kind(path)]} ({path.name})"
    else:
        kinds = Counter(source_kind(p) for p in programme.sources)
        where = (
            f"{len(programme.sources)} sources ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})"
        )
    counts = Counter(r.source for r in programme.records)
    parts = [
        f"{n:,} from {_SOURCE_WORDS.get(s, s)}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1])
    ]
    said = "; ".join(parts) if len(counts) != 1 else f"all from {_SOURCE_WORDS.get(next(iter(counts)), '')}"
    records, tests = len(programme.records), tests_read(programme)
    return f"Records from {where}: {records:,} records of {tests:,} tests, {said}."


def _diagnostics(d: Diagnostics) -> dict[str, Any]:
    return {
        "rhat_max": _num(d.rhat_max),
        "ess_bulk_min": _num(d.ess_bulk_min),
        "divergences": int(d.divergences),
        "converged": d.converged,
    }


def _checks(all_diagnostics: Iterable[Diagnostics]) -> dict[str, Any]:
    """The worst r_hat and ESS, the divergences and the gate over several fits."""
    ds = list(all_diagnostics)
    rhats = [d.rhat_max for d in ds if math.isfinite(d.rhat_max)]
    ess = [d.ess_bulk_min for d in ds if math.isfinite(d.ess_bulk_min)]
    return {
        "rhat_max": max(rhats) if rhats else None,
        "ess_bulk_min": min(ess) if ess else None,
        "divergences": sum(int(d.divergences) for d in ds),
        "converged": all(d.converged for d in ds),
    }


def _group(g: ChannelMetric) -> dict[str, Any]:
    mean, sd = g.prediction_scale
    return {
        "channel": g.channel,
        "metric": g.metric,
        "role": g.role,
        "scale": g.scale,
        "tests": g.tests,
        "mu": _iv(g.mu),
        "tau": _iv(g.tau),
        "prediction": _iv(g.prediction),
        "prediction_scale": {"mean": _num(mean), "sd": _num(sd)},
        "prob_positive": _num(g.prob_positive),
        "one_test": g.one_test,
        "impact": None
        if g.impact is None
        else {
            "launched": g.impact.launched,
            "naive": _num(g.impact.naive),
            "shrunken": _iv(g.impact.shrunken),
        },
        "effects": [
            {
                "label": e.label,
                "reported": _num(e.reported),
                "shrunken": _iv(e.shrunken),
                "launched": e.launched,
            }
            for e in g.effects
        ],
    }


def _link(k: Link) -> dict[str, Any]:
    return {
        "channel": k.channel,
        "engagement": k.engagement,
        "outcome": k.outcome,
        "scale": k.scale,
        "tests": k.tests,
        "cov_known": k.cov_known,
        "slope": _iv(k.slope),
        "r2": _iv(k.r2),
        "prob_slope_positive": _num(k.prob_slope_positive),
        "checks": _diagnostics(k.diagnostics),
    }


def learn_json(learning: Learning) -> dict[str, Any]:
    """What a programme of tests taught, as JSON-ready data (the schema is the module docstring's).

    Parameters
    ----------
    learning
        ``learn``'s result (:func:`channelab.pipeline.learn.learn_programme`); nothing is recomputed.

    Returns
    -------
    dict
        Groups, links, page 1's sentences with their conditions, checks and provenance.
    """
    learned, programme = learning.learned, learning.programme
    words = learned_words(learned, kinds=metric_kinds(programme))
    return {
        "kind": "learn",
        "name": learning.name,
        "title": learning.display_title,
        "hdi_prob": learned.hdi_prob,
        "claim_level": learned_claim_level(learned.hdi_prob),
        "records": len(programme.records),
        "tests": tests_read(programme),
        "duplicates": programme.duplicates,
        "notes": list(programme.notes),
        "origin": programme_origin(programme),
        "sources": [
            {"path": name, "kind": source_kind(p)}
            for p, name in zip(programme.sources, programme.named or map(str, programme.sources), strict=True)
        ],
        "record_sources": dict(sorted(Counter(r.source for r in programme.records).items())),
        "groups": [_group(g) for g in learned.groups],
        "links": [_link(k) for k in learned.links],
        "sentences": [{"text": s.text, "claim": s.claim, "condition": s.condition} for s in words.sentences],
        "checks": _checks([learned.diagnostics, *(k.diagnostics for k in learned.links)]),
        "provenance": learning.provenance.as_dict(),
    }


def learned_priors_json(learning: Learning) -> dict[str, Any]:
    """The prior file ``run`` and ``design`` read: per channel and metric, the next test's prediction.

    Parameters
    ----------
    learning
        ``learn``'s result.

    Returns
    -------
    dict
        ``kind``, ``version``, ``name``, ``hdi_prob``, ``converged`` (a file whose fit did not
        converge is refused by ``run``), ``provenance`` and one prior per channel and metric:
        Normal(``mean``, ``sd``) on ``scale``; ``left_out`` names the channels and metrics whose
        prediction is beyond what a prior may be (the reader's bounds), which have none.
    """
    learned = learning.learned
    usable = [g for g in learned.groups if usable_prediction(*g.prediction_scale)]
    return {
        "kind": PRIORS_KIND,
        "version": PRIORS_VERSION,
        "name": learning.name,
        "hdi_prob": learned.hdi_prob,
        "converged": learned.diagnostics.converged,
        "left_out": [f"{g.channel} / {g.metric}" for g in learned.groups if g not in usable],
        "provenance": learning.provenance.as_dict(),
        "priors": [
            {
                "channel": g.channel,
                "metric": g.metric,
                "role": g.role,
                "scale": g.scale,
                "mean": _num(g.prediction_scale[0]),
                "sd": _num(g.prediction_scale[1]),
                "tests": g.tests,
                "one_test": g.one_test,
            }
            for g in usable
        ],
    }
