"""Spark reading (``engine: spark``, the ``spark`` extra): the same CSV or Parquet files, the same cells.

Runs locally on all cores, on an active cluster session, or on ``CHANNELAB_SPARK_MASTER``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from channelab.engine.duck import data_files, file_source, read_error
from channelab.engine.source import FILE_COLUMN, ROW_COLUMN, ROWS, Source
from channelab.errors import DataError
from channelab.spec import DataSource

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _spark_session() -> SparkSession:
    """The local Spark session (all cores, quiet), or the active one on a cluster."""
    # PySpark warns about pandas 3 on start; channelab collects plain rows, not pandas frames
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise DataError("engine: spark needs PySpark and Java 17: pip install 'channelab[spark]'") from None
    session = SparkSession.getActiveSession()
    if session is None:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        session = (
            SparkSession.builder.master(os.environ.get("CHANNELAB_SPARK_MASTER", "local[*]"))
            .appName("channelab")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("FATAL")  # failures reach the user as DataErrors
    # on a cluster's session too: parse every CSV field, so that a line with extra fields
    # fails instead of being cut
    session.conf.set("spark.sql.csv.parser.columnPruning.enabled", "false")
    return session


def open_spark(path: Path, data: DataSource, *, where: str) -> Source:
    """Register CSV or Parquet files as the Spark temporary view :data:`ROWS`."""
    files = data_files(path, data, where=where)
    spark = _spark_session()  # says how to install PySpark when it is missing
    from pyspark.sql import functions as F

    names = [str(f) for f in files]
    try:
        if data.resolved_format == "parquet":
            frame = spark.read.parquet(*names)
        else:
            frame = spark.read.csv(names, header=True, inferSchema=True, mode="FAILFAST", sep=data.delimiter)
        columns = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
        frame = frame.withColumn(FILE_COLUMN, F.input_file_name()).withColumn(
            ROW_COLUMN, F.monotonically_increasing_id()
        )
        frame.createOrReplaceTempView(ROWS)
        n_rows = frame.count()
    except Exception as exc:  # Spark's reader errors come as Py4J as well as PySpark exceptions
        raise read_error(files, data, exc, text=False) from None
    return file_source(path, files, columns, int(n_rows), spark=spark)
