"""Every bound channelab puts on an input, in one place: sizes, counts, money, dates, time.

A shared experiment file or data set is run by people who did not write it, so every number
that drives memory, time or arithmetic is bounded before work starts, and a value past a bound
is refused with a message naming the field and the bound (never a traceback, never minutes of
work first). Each constant says what it bounds and why the value is generous for real use.
Sections follow the flow: files and folders, the data, the experiment file, the work.
"""

from __future__ import annotations

# ---- files and folders: reading, globs, the output journal, the compiled-model cache ----
#: Largest output journal read back (bytes): one short pair of names per output file, a few
#: hundred bytes a commit; a megabyte is thousands of times any journal channelab writes.
MAX_JOURNAL_BYTES = 1_000_000
#: Largest compiled-model cache entry read back (bytes): names, shapes and an initial point,
#: tens of kilobytes for the largest models; 64 MB is far beyond any real entry.
MAX_CACHE_ENTRY_BYTES = 64_000_000
#: Most files a data path's pattern may match: a file an hour for eleven years, or thousands of
#: Spark part files; more means a pattern that reaches far wider than the experiment's data.
MAX_DATA_FILES = 100_000
#: Most folders a ``**`` pattern may search: a deep partitioned tree has thousands; this bound
#: stops a pattern rooted at ``/`` or in a home folder from walking for minutes.
MAX_GLOB_FOLDERS = 100_000
#: Longest line read whole from a CSV file (bytes; the header and its blank lines included): a
#: header of 100,000 columns fits; longer reads go in pieces or stop (a sparse or binary file).
MAX_LINE_BYTES = 8 * 2**20
#: Largest CSV data (bytes, all its files) read into memory once rather than parsed again by
#: every query: the checks and the cells take about ten scans, each a full parse of the text;
#: 64 MB of CSV is about a million rows, a few hundred MB in DuckDB at most. Larger files and
#: Parquet are scanned where they lie.
CSV_SNAPSHOT_BYTES = 64_000_000

# ---- the data: values, aggregates, labels ----
#: Longest covariate level (it is printed as a label in tables and figures).
MAX_LEVEL_LENGTH = 80
#: Most levels of a covariate: more is almost certainly an id or a number, not a stratum.
MAX_COVARIATE_LEVELS = 200
#: Largest magnitude of a data value: beyond it sums of squares lose all precision.
MAX_MAGNITUDE = 1e15

#: Pooled within-arm R² of an adjust column on an outcome at or above which the column is a copy
#: of the outcome (or measured after it), not a pre-period value: real pre-periods explain far less.
MAX_ADJUST_R2 = 0.999

# ---- the experiment file: money, dates, numbers ----
#: Most days between looks: a year (a look a year is already no monitoring).
MAX_EVERY_DAYS = 366
#: Largest experiment file (bytes): a spec is a page or two of YAML; anything far larger is not one.
MAX_SPEC_BYTES = 1_000_000
#: Deepest nesting of mappings and lists in an experiment file (the schema needs five levels).
MAX_SPEC_DEPTH = 20
#: Longest arm or metric label, title and description that tables and figures can lay out.
MAX_LABEL = 80
MAX_TITLE = 160
MAX_DESCRIPTION = 4000

#: Largest |amount| of money per unit or per arm (a value, a cost per unit or touch, a fixed
#: cost): a trillion in any currency is beyond any outreach budget, and values times a billion
#: units stay far inside a float.
MAX_MONEY = 1e12
#: Most touches per unit an arm's cost may assume (a million calls or e-mails to one prospect).
MAX_TOUCHES = 1e6
#: Most units a count of the spec may name (plan.n, economics.units, a published arm's n): a
#: billion, more than any outreach list or trial, and small enough that sums of squares stay finite.
MAX_UNITS = 1_000_000_000
#: Largest |mean| or sd of a published (or assumed) summary, as data values are capped at 1e15.
MAX_PUBLISHED_VALUE = 1e15
#: Earliest and latest analysis date (as_of, --as-of): no digital outreach test predates 1970
#: (the Unix epoch), and 2100 is beyond any plan, yet far inside every date library's range.
MIN_DATE_YEAR = 1970
MAX_DATE_YEAR = 2100
#: Largest random seed (spec seed, every --seed): the samplers and NumPy's legacy generators
#: take 32-bit seeds, and four billion seeds are plenty.
MAX_SEED = 2**32 - 1
#: Most digits in a whole number of the experiment file; no field needs more than 20, and
#: Python refuses to read more than 4,300.
MAX_NUMBER_DIGITS = 100
#: Most arms an experiment may have: each is a column of the model and a row of every table;
#: 50 is well beyond the few channels a test compares (the sampler fails far above it).
MAX_ARMS = 50
#: Most metrics an experiment may have: each is a model fitted and a section of the report.
MAX_METRICS = 50
#: Most draws or tuning steps per chain: 100,000 is a hundred times the default.
MAX_DRAWS = 100_000
#: Most simulated experiments per lift (plan.assurance.sims, --sims, --rule-sims).
MAX_SIMS = 100_000
#: Most rows ``channelab simulate`` writes (--n-prospects): a few hundred MB in memory.
MAX_SIMULATED_ROWS = 2_000_000
#: Largest prior sd or |prior mean| (priors:), on the link scale (log, logit or standardised):
#: 100 is e^100 on a log scale, far wider than any belief, and keeps the sampler's arithmetic finite.
MAX_PRIOR = 100.0
#: Most intervals of a time-to-event metric's baseline hazard (``metrics[].intervals``): a year's
#: windows in weeks is 52; each interval is a column of the one scan and a parameter.
MAX_INTERVALS = 60
#: Largest sd of a log-normal prior's log (the programme model's ``priors.tau_log_sd``): 10 spans
#: e^±19 in 94 % of its mass, wider than any belief about a spread.
MAX_PRIOR_LOG_SD = 10.0

# ---- the work: queries, clusters, strata, design matrices, looks ----
#: Default time limit of one query over the data (seconds; ``data.timeout_seconds``): DuckDB
#: scans 10 million rows in seconds; half an hour is a huge file's scan, not an endless query.
QUERY_SECONDS = 1800
#: Largest ``data.timeout_seconds``: a week, so that no query can run without an end.
MAX_QUERY_SECONDS = 7 * 24 * 3600
#: Most disk DuckDB may fill with spilled data (its default is 90% of the free disk): aggregating
#: billions of rows spills a few GiB; 100 GiB keeps an endless sort from filling a shared disk.
QUERY_SPILL_LIMIT = "100GiB"
#: Most clusters (distinct values of unit.randomised_by) a fit takes: each is a random intercept
#: of every metric, and a million made the sampler abort; real cluster trials have tens to a few
#: thousand (reps, stores, schools), so 10,000 is generous.
MAX_CLUSTERS = 10_000
#: Most quantile strata per arm from the adjusted columns (model.adjust_bins ** len(adjust)).
MAX_ADJUST_STRATA = 1000
#: Most columns of a propensity formula's design matrix (also never more than the units): a
#: propensity model needs tens; 1,000 is far beyond any real one and over-fits any cohort.
MAX_DESIGN_COLUMNS = 1_000
#: Most units x columns² of a propensity fit (its time grows so; 10^9 fits in about 15 s when
#: the fit converges): 100 columns on 100,000 units, 30 on a million.
MAX_DESIGN_WORK = 1_000_000_000
#: Most looks a monitored test may take or a design may plan (as monitor.looks): weekly for
#: nearly four years or daily for six months; every look is a fit of its own.
MAX_LOOKS = 200
#: Most records one addition to a results registry may hold: a test has at most MAX_ARMS x
#: MAX_METRICS = 2,500; 100,000 is an import of hundreds of a programme's reports at once.
MAX_REGISTRY_ADD = 100_000
#: Most covariances one addition may hold: a metric pair per arm, 61,250 for the largest test.
MAX_REGISTRY_ADD_COVARIANCES = 500_000
#: Most records a results registry may hold (also when read): ``learn`` fits 10,000 in a minute;
#: a million is a hundred programmes' worth and stays a few hundred MB in memory.
MAX_REGISTRY_RECORDS = 1_000_000
#: Most covariances a results registry may hold: a few per record (metric pairs within an arm).
MAX_REGISTRY_COVARIANCES = 5_000_000

# --- effects for the registry: cross-products of metric pairs ---
#: Most metrics (the first in funnel order) whose pairs get cross-products in the aggregation
#: query: 12 give 66 pairs, 396 sums beside the usual ones; a test has a few engagement and
#: outcome metrics, so 12 covers every real funnel while 50 metrics (1,225 pairs) would not.
MAX_PAIRED_METRICS = 12

# --- simulated programmes of tests ---
#: Most tests a simulated programme may hold (two records each): 50,000 tests are 100,000
#: records, one registry addition's worth, simulated in a few seconds; ``learn`` is benchmarked on 10,000.
MAX_PROGRAMME_TESTS = 50_000
#: Largest mean effect, between-test sd and slope (each in size) of a simulated channel (log(1 + lift) scale):
#: e^10 is a 22,000-fold lift, far beyond any real test, and keeps every drawn rate finite.
MAX_PROGRAMME_EFFECT = 10.0
#: Largest odds ratio (and smallest, its inverse) between engaging and booking within a unit:
#: real associations are a few-fold; a million-fold keeps the 2x2 joint's closed form exact.
MAX_PROGRAMME_ODDS_RATIO = 1e6

# --- imports into the registry: JSON reports and published summaries ---
#: Largest JSON report read for import (bytes): the largest run report is under 100 kB; 50 arms
#: x 50 metrics with segments stay a few MB, so 64 MB is no real report and is read in a second.
MAX_REPORT_BYTES = 64_000_000
#: Largest CSV of published per-study summaries read for import (bytes): a row is under 200 bytes,
#: so 64 MB holds the row bound below many times over and is read in about a second.
MAX_SUMMARY_BYTES = 64_000_000
#: Most data rows of a published-summaries CSV: one per study x arm x metric; 100,000 is a
#: meta-analysis of thousands of studies, one registry addition's worth (MAX_REGISTRY_ADD).
MAX_SUMMARY_ROWS = 100_000

# --- the learn report: what its figures show ---
#: Most past tests drawn as rows of one forest plot (the largest reported effects; the JSON has
#: every one): 30 rows fill a page legibly, and 10,000 records still render in seconds.
MAX_FOREST_ROWS = 30

# --- programme files (channelab learn) ---
#: Most sources one programme file names (registries, report folders, reports, summary tables):
#: a programme of a thousand separately kept sources is far beyond any team's; each is read once.
MAX_SOURCES = 1_000

# --- the stakeholder digest (channelab digest) and report paths in the registry ---
#: Longest report path a registry record keeps (characters): Linux's PATH_MAX is 4,096, so any
#: path a run can write fits, and a record stays small.
MAX_REPORT_PATH = 4_096
#: Most tests listed one per line in a digest (the rest are counted, not dropped silently): a
#: digest is read in an e-mail; 500 lines is a year of a busy programme and renders instantly.
MAX_DIGEST_TESTS = 500

# --- many-lab replication (replication.labs) ---
#: Most labs one many-lab replication pools: the largest published many-labs projects run about
#: 100 sites; each lab's data is read once and the pooled model has two parameters per metric.
MAX_LABS = 500
