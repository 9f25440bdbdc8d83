"""Unit identity: one row per unit, each unit (and each cluster) in one arm.

A unit in two arms received two treatments; a unit on two rows counts twice; a cluster split
across arms was not randomised as a cluster. Aggregated rows hold no single units, so none of
this can be checked on them (a note says so).
"""

from __future__ import annotations

from channelab.engine.checks.base import CheckReport, Finding, Found
from channelab.engine.checks.wording import EXAMPLES
from channelab.engine.source import ROWS, Source, quote
from channelab.errors import shown
from channelab.limits import MAX_CLUSTERS
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
    repeated = (
        f"SELECT {uid} AS u_, count(*) AS n_, min({arm}) <> max({arm}) AS two_arms_ FROM {ROWS} "
        f"WHERE {uid} IS NOT NULL GROUP BY 1 HAVING count(*) > 1"
    )
    ((cross, repeat, extra),) = source.fetchall(
        "SELECT count(*) FILTER (WHERE two_arms_), count(*) FILTER (WHERE NOT two_arms_), "
        f"coalesce(sum(n_ - 1) FILTER (WHERE NOT two_arms_), 0) FROM ({repeated})"
    )

    def examples(two_arms: str) -> str:
        first = f"SELECT u_ FROM ({repeated}) WHERE {two_arms} ORDER BY n_ DESC, u_ LIMIT {EXAMPLES}"
        return ", ".join(shown(r[0]) for r in source.fetchall(first))

    out = []
    if cross:
        out.append(
            Finding(
                "unit_in_two_arms",
                "error",
                f"{cross:,} unit(s) in column {column!r} appear in more than one arm (e.g. "
                f"{examples('two_arms_')}). A unit must receive one treatment; fix the assignment log "
                "before analysing.",
                int(cross),
            )
        )
    if repeat:
        out.append(
            Finding(
                "duplicate_units",
                "error",
                f"{repeat:,} unit id(s) in column {column!r} occur on more than one row "
                f"(e.g. {examples('NOT two_arms_')}). "
                "Keep one row per unit (aggregate repeated touches first).",
                int(extra),
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
    split = (
        f"SELECT CAST({col} AS VARCHAR) AS k_ FROM {ROWS} WHERE {col} IS NOT NULL "
        f"GROUP BY 1 HAVING min({arm}) <> max({arm})"
    )
    ((n,),) = source.fetchall(f"SELECT count(*) FROM ({split})")
    if not n:
        return Found()
    rows = source.fetchall(f"SELECT k_ FROM ({split}) ORDER BY 1 LIMIT {EXAMPLES}")
    ex = ", ".join(shown(r[0]) for r in rows)
    return Found(
        (
            Finding(
                "cluster_in_two_arms",
                "error",
                f"{n} cluster(s) in column {cluster!r} (unit.randomised_by) have units in more "
                f"than one arm (e.g. {ex}). In a cluster-randomised design all units of a cluster share "
                "its arm; fix the assignment, or drop unit.randomised_by if units were randomised "
                "individually.",
                int(n),
            ),
        )
    )


def cluster_count(source: Source, spec: Spec, so_far: CheckReport) -> Found:
    """At most :data:`~channelab.limits.MAX_CLUSTERS` clusters: each is a parameter of the model."""
    cluster = spec.unit.randomised_by
    if not cluster:
        return Found()
    ((n,),) = source.fetchall(f"SELECT count(DISTINCT {quote(cluster)}) FROM {ROWS}")
    if n <= MAX_CLUSTERS:
        return Found()
    return Found(
        (
            Finding(
                "cluster_count",
                "error",
                f"column {cluster!r} (unit.randomised_by) has {n:,} distinct clusters; the model gives "
                f"each cluster a parameter and takes at most {MAX_CLUSTERS:,}. Check that it names the "
                "randomised cluster (a rep, store or school), not each unit; if units were randomised "
                "one by one, remove unit.randomised_by.",
                int(n),
            ),
        )
    )
