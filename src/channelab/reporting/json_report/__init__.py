"""The JSON outputs as plain data: an analysis (DESIGN.md's contract), a design, a plan, a monitor, learn.

One module per output: ``analysis`` (its optional sections in ``economics``, ``adjustment``,
``matching`` and ``replication``), ``design``, ``replication`` (also the replication plan),
``monitor`` and ``learn`` (what a programme of tests taught, and its learned-priors file);
``common`` holds the interval shape they share. Each returns a plain, JSON-safe dictionary
whose keys keep their order.

Relative lifts are fractions (0.25 = +25 %). Keys beyond the contract are additions only.
Writing (and the one NaN policy) is :func:`channelab.files.json_bytes`.
"""

from channelab.reporting.json_report.analysis import analysis_json
from channelab.reporting.json_report.design import design_json
from channelab.reporting.json_report.learn import learn_json, learned_priors_json
from channelab.reporting.json_report.monitor import monitor_json
from channelab.reporting.json_report.replication import plan_json

__all__ = ["analysis_json", "design_json", "learn_json", "learned_priors_json", "monitor_json", "plan_json"]
