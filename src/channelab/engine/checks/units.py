"""Unit identity: one row per unit, each unit (and each cluster) in one arm.

A unit in two arms received two treatments; a unit on two rows counts twice; a cluster split
across arms was not randomised as a cluster. Aggregated rows hold no single units, so none of
this can be checked on them (a note says so).
"""

from __future__ import annotations

from channelab.engine.checks.base import CheckReport, Finding, Found
from channelab.engine.checks.wording import EXAMPLES, shown
from channelab.engine.source import ROWS, Source, quote
from channelab.spec import Spec

#: Integer types whose ids DuckDB can mark in a bitset; the largest range of ids so counted.
_BITSET_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
_BITSET_MAX_RANGE = 2**30  # 128 MB per thread


def duplicate_units(source: Source, spec: Spec, so_far: CheckReport) -> Found:
    """Units in more than one arm, and unit ids on more than one row (or why neither is checked)."""
    if spec.input_kind == "aggregated rows":
        return Found(
            (
                Finding(
                    "unit_id",
                    "info",
                    "not checkable on aggregated rows: duplicated units, units in two arms, and missing "
                    "or impossible values of single units (the export's own checks must vouch for them)",
                ),
            )
        )
    if not spec.unit.id:
        return Found(
            (
                Finding(
                    "unit_id",
                    "info",
                    "no unit id column is declared (unit.id), so each row is taken as one unit and "
                    "duplicates cannot be checked",
                ),
            )
        )
    if not _repeated_ids(source, spec.unit.id):  # the usual case, settled by the cheapest exact query
        return Found()
    return Found(_repeated_units(source, spec, spec.unit.id))


def _repeated_units(source: Source, spec: Spec, column: str) -> tuple[Finding, ...]:
    """The ids on more than one row: an error for those in two arms, another for the rest."""
    uid, arm = quote(column), quote(spec.arm_column)
    # min <> max rather than count(DISTINCT): no set of arms is kept per unit
    rows = source.fetchall(
        f"SELECT {uid}, count(*) AS n, min({arm}) <> max({arm}) AS two_arms FROM {ROWS} "
        f"WHERE {uid} IS NOT NULL GROUP BY 1 HAVING count(*) > 1 ORDER BY 2 DESC, 1 LIMIT 100000"
    )
    cross = [r for r in rows if r[2]]
    repeat = [r for r in rows if not r[2]]
    out = []
    if cross:
        ex = ", ".join(shown(r[0]) for r in cross[:EXAMPLES])
        out.append(
            Finding(
                "unit_in_two_arms",
                "error",
                f"{len(cross)} unit(s) in column {column!r} appear in more than one arm (e.g. {ex}). "
                "A unit must receive one treatment; fix the assignment log before analysing.",
                len(cross),
            )
        )
    if repeat:
        ex = ", ".join(shown(r[0]) for r in repeat[:EXAMPLES])
        out.append(
            Finding(
                "duplicate_units",
                "error",
                f"{len(repeat)} unit id(s) in column {column!r} occur on more than one row "
                f"(e.g. {ex}). "
                "Keep one row per unit (aggregate repeated touches first).",
                sum(r[1] - 1 for r in repeat),
            )
        )
    return tuple(out)


def _repeated_ids(source: Source, column: str) -> int:
    """Rows beyond the first of each unit id (exact).

    Integer ids spanning at most :data:`_BITSET_MAX_RANGE` values are counted with a bitset
    (DuckDB's ``bitstring_agg``): one streaming pass in a few megabytes, about 8x faster than
    ``count(DISTINCT)`` at 100M rows under a 500 MB memory limit. Other ids use ``count(DISTINCT)``.
    """
    uid = quote(column)
    if source.spark is None and source.columns[column].upper() in _BITSET_TYPES:
        ((lo, hi, n),) = source.fetchall(f"SELECT min({uid}), max({uid}), count({uid}) FROM {ROWS}")
        if not n:
            return 0
        if hi - lo < _BITSET_MAX_RANGE:
            sql = f"SELECT bit_count(bitstring_agg({uid}, {int(lo)}, {int(hi)})) FROM {ROWS}"
            ((distinct,),) = source.fetchall(sql)
            return int(n) - int(distinct)
    ((repeated,),) = source.fetchall(f"SELECT count({uid}) - count(DISTINCT {uid}) FROM {ROWS}")
    return int(repeated)


def split_clusters(source: Source, spec: Spec, so_far: CheckReport) -> Found:
    """In a cluster-randomised design every unit of a cluster must be in the cluster's arm."""
    cluster = spec.unit.randomised_by
    if not cluster:
        return Found()
    col, arm = quote(cluster), quote(spec.arm_column)
    rows = source.fetchall(
        f"SELECT CAST({col} AS VARCHAR) FROM {ROWS} WHERE {col} IS NOT NULL "
        f"GROUP BY 1 HAVING min({arm}) <> max({arm}) ORDER BY 1"
    )
    if not rows:
        return Found()
    ex = ", ".join(repr(r[0]) for r in rows[:EXAMPLES])
    return Found(
        (
            Finding(
                "cluster_in_two_arms",
                "error",
                f"{len(rows)} cluster(s) in column {cluster!r} (unit.randomised_by) have units in more "
                f"than one arm (e.g. {ex}). In a cluster-randomised design all units of a cluster share "
                "its arm; fix the assignment, or drop unit.randomised_by if units were randomised "
                "individually.",
                len(rows),
            ),
        )
    )
