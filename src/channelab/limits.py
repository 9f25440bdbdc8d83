"""Every bound channelab puts on an input, in one place: sizes, counts, money, dates, time.

A shared experiment file or data set is run by people who did not write it, so every number
that drives memory, time or arithmetic is bounded before work starts, and a value past a bound
is refused with a message naming the field and the bound (never a traceback, never minutes of
work first). Each constant says what it bounds and why the value is generous for real use.
Sections follow the flow: files and folders, the data, the experiment file, the work.
"""

from __future__ import annotations

# ---- files and folders: reading, globs, the output journal, the compiled-model cache ----

# ---- the data: values, aggregates, labels ----

# ---- the experiment file: money, dates, numbers ----

# ---- the work: design matrices, looks, arms, clusters, queries ----
