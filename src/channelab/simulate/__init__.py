"""The public test kit: simulated experiments that return the ground truth alongside the data.

The outreach simulators generate from the same additive link-scale structure the model
assumes (intercept + arm + segment effects), so tests can check that channelab recovers what
was put in:

- :func:`simulate_ab`: a generic randomised test with one segment covariate and any metric
  type, for tests of the statistics.
- :func:`simulate_outreach`: realistic B2B outreach cohorts (prospects in accounts, handled by
  sales reps, in segments, over weeks) under a :class:`Scenario` from :data:`SCENARIOS`, with
  rep and week noise. :func:`write_simulation` writes the rows (CSV or Parquet) and the truth
  beside them as ``<stem>.truth.json``; ``channelab simulate`` is its command line.
  :func:`outreach_spec` is an experiment spec that analyses such rows.
- :func:`simulate_selection`: observational CRM data in which reps chose the engaged accounts
  (for matched designs); :func:`simulate_observational`: LaLonde-shaped job-training data,
  a few treated against a large, very different pool, and :func:`simulate_channels`: three
  arms chosen by a multinomial rule (for weighted designs); :func:`simulate_replication`: a
  replication of the UBC poppy study with or without the original effect. Their ``write_*``
  twins write rows and truth.
- :class:`Arrival` puts an outreach simulation in time: entry dates, and meetings arriving
  with channel-specific delays; :func:`snapshot` cuts such rows to the export of an earlier date.
- :func:`simulate_funnel`: a click → enrol → pay funnel in which one arm engages more and
  follows through less; :func:`daily_report` aggregates it per day and arm, as a platform
  shares it, and :func:`write_funnel` writes that report with the truth.
- :func:`simulate_programme`: a programme of many tests of outreach channels (:class:`ChannelTruth`:
  true mean effects, spreads and an engagement → outcome link), as the registry records a run
  would add, with each test's true effects (:class:`Programme`); :func:`programme_summaries` is
  its published per-study summaries; :data:`SOCIAL_PROGRAMME` is the worked example's.
- :func:`calibrate`: coverage and verdict rates of channelab's own model over many simulated
  experiments.

Every simulator returns its truth as a frozen record: :class:`Truth`, :class:`OutreachTruth`
(with the arm verdicts it implies, read by the pipeline's own rule), :class:`SelectionTruth`,
:class:`ObservationalTruth`, :class:`ChannelsTruth`, :class:`ReplicationTruth` and
:class:`FunnelTruth`; a truth written beside its data is its ``to_dict()``. The true lift is
the population-average ratio over the realised population, the same estimand
:func:`channelab.analysis.effects.compute_effects` reports.

Dependency rule: imports :mod:`channelab.analysis`, :mod:`channelab.engine` and the layers
below them; never design, replication, reporting, the pipeline or the app.

May import: errors, limits, files, spec, provenance, cells, engine, analysis.
(Checked by ``tests/test_layers.py``.)
"""

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from channelab.simulate.ab import SimMetric, Truth, simulate_ab
    from channelab.simulate.calibrate import Calibration, calibrate
    from channelab.simulate.funnel import FunnelTruth, daily_report, simulate_funnel, write_funnel
    from channelab.simulate.guardrails import Unsubscribes
    from channelab.simulate.observational import (
        ChannelsTruth,
        ObservationalTruth,
        simulate_channels,
        simulate_observational,
        write_observational,
    )
    from channelab.simulate.outreach import (
        SimulationFiles,
        outreach_spec,
        simulate_outreach,
        write_simulation,
    )
    from channelab.simulate.outreach_truth import OutreachTruth
    from channelab.simulate.programme import (
        SOCIAL_PROGRAMME,
        ChannelTruth,
        Programme,
        programme_summaries,
        simulate_programme,
    )
    from channelab.simulate.scenarios import DEFAULT_N_PROSPECTS, SCENARIOS, Scenario, SegmentLift
    from channelab.simulate.selection import SelectionTruth, simulate_selection, write_selection
    from channelab.simulate.timing import Arrival, snapshot
    from channelab.simulate.ubc import ReplicationTruth, simulate_replication, write_replication

__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "ab": ["SimMetric", "Truth", "simulate_ab"],
        "calibrate": ["Calibration", "calibrate"],
        "funnel": ["FunnelTruth", "daily_report", "simulate_funnel", "write_funnel"],
        "observational": [
            "ChannelsTruth",
            "ObservationalTruth",
            "simulate_channels",
            "simulate_observational",
            "write_observational",
        ],
        "outreach": ["SimulationFiles", "outreach_spec", "simulate_outreach", "write_simulation"],
        "outreach_truth": ["OutreachTruth"],
        "programme": [
            "SOCIAL_PROGRAMME",
            "ChannelTruth",
            "Programme",
            "programme_summaries",
            "simulate_programme",
        ],
        "scenarios": ["DEFAULT_N_PROSPECTS", "SCENARIOS", "Scenario", "SegmentLift"],
        "guardrails": ["Unsubscribes"],
        "selection": ["SelectionTruth", "simulate_selection", "write_selection"],
        "timing": ["Arrival", "snapshot"],
        "ubc": ["ReplicationTruth", "simulate_replication", "write_replication"],
    },
)
__all__ = [
    "DEFAULT_N_PROSPECTS",
    "SCENARIOS",
    "SOCIAL_PROGRAMME",
    "Arrival",
    "Calibration",
    "ChannelTruth",
    "ChannelsTruth",
    "FunnelTruth",
    "ObservationalTruth",
    "OutreachTruth",
    "Programme",
    "ReplicationTruth",
    "Scenario",
    "SegmentLift",
    "SelectionTruth",
    "SimMetric",
    "SimulationFiles",
    "Truth",
    "Unsubscribes",
    "calibrate",
    "daily_report",
    "outreach_spec",
    "programme_summaries",
    "simulate_ab",
    "simulate_channels",
    "simulate_funnel",
    "simulate_observational",
    "simulate_outreach",
    "simulate_programme",
    "simulate_replication",
    "simulate_selection",
    "snapshot",
    "write_funnel",
    "write_observational",
    "write_replication",
    "write_selection",
    "write_simulation",
]
