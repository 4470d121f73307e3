"""`kuaike build --engine spark`: every model, in full, over the lake's last export.

1. Read the export manifest; remove the build folders a killed build left.
2. Register each ODS table as a Spark view over exactly the files the manifest names.
3. Run the models in dependency order (transpiled, see engines/spark.py); each writes its rows
   to `<layer>/<table>/b<N>/` and is read back from there by the models after it.
4. Replace `warehouse.json` (one rename), then remove the previous build's folders.
A Spark build is always a full one: a cluster rebuilds years of history faster than it finds
what one day touched, and the lake keeps no per-model state to be incremental against.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq
from sqlglot import exp

from kuaike.errors import WarehouseError
from kuaike.warehouse import incremental, lake, lookups
from kuaike.warehouse.catalog import Model, build_order, load_models
from kuaike.warehouse.engines.spark import spark_errors, transpile, view_name

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass
class SparkRun:
    model: str
    rows: int
    duration_ms: float


@dataclass
class SparkSummary:
    """One Spark build: its number, the export it read, what each model wrote."""

    build: int
    lake: str
    export: int
    reference_date: dt.date
    positions: dict[str, str]
    register_ms: float = 0.0
    duration_ms: float = 0.0
    runs: list[SparkRun] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SparkBuilder:
    """One full build of `models` on `spark` over the lake at `root`."""

    def __init__(
        self,
        spark: SparkSession,
        root: Path,
        reference_date: dt.date,
        models: dict[str, Model] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.spark = spark
        self.root = root
        self.reference_date = reference_date
        self.models = models if models is not None else load_models()
        self.progress = progress

    def run(self) -> SparkSummary:
        started = time.perf_counter()
        with lake.locked(self.root):
            export = lake.read(self.root)  # 1.
            if export is None:
                raise WarehouseError(
                    f"{self.root} holds no export yet; run `kuaike export --to {self.root}` first"
                )
            previous = lake.read(self.root, lake.WAREHOUSE)
            kept = set(previous["tables"].values()) if previous else set()
            for layer in ("dwd", "dws"):
                lake.remove_folders(self.root, layer, kept)
            number = previous["build"] + 1 if previous else 1
            summary = SparkSummary(
                number, str(self.root), export["export"], self.reference_date, export["positions"]
            )
            self._register(export, summary)  # 2.
            written = self._build_all(number, summary)  # 3.
            lake.write(  # 4.
                self.root,
                {
                    "build": number,
                    "built_at": dt.datetime.now(dt.UTC).isoformat(),
                    "reference_date": self.reference_date.isoformat(),
                    "export": export["export"],
                    "positions": export["positions"],
                    "tables": written,
                },
                lake.WAREHOUSE,
            )
            for layer in ("dwd", "dws"):
                lake.remove_folders(self.root, layer, set(written.values()))
        summary.duration_ms = (time.perf_counter() - started) * 1000
        return summary

    def _register(self, export: dict[str, Any], summary: SparkSummary) -> None:
        begun = time.perf_counter()
        needed = {d for m in self.models.values() for d in m.depends_on if d.startswith("ods.")}
        missing = sorted(t for t in needed if t.removeprefix("ods.") not in export["tables"])
        if missing:
            raise WarehouseError(
                f"the lake's export has no {missing[0]}; capture it, then export again"
            )
        for table in sorted(needed):
            bare = table.removeprefix("ods.")
            files = [str(self.root / f) for f in lake.table_files(export, bare)]
            base = str(self.root / "ods" / bare)
            with spark_errors(f"reading {table} from the lake"):
                frame = self.spark.read.option("basePath", base).parquet(*files)
                if lake.DAY_COLUMN in frame.columns:
                    frame = frame.drop(lake.DAY_COLUMN)
                frame.createOrReplaceTempView(view_name(table))
        summary.register_ms = (time.perf_counter() - begun) * 1000

    def _build_all(self, number: int, summary: SparkSummary) -> dict[str, str]:
        written: dict[str, str] = {}
        variables = {"reference_date": self.reference_date}
        for name in build_order(self.models):
            if self.progress is not None:
                self.progress(name)
            begun = time.perf_counter()
            layer, table = name.split(".", 1)
            folder = f"{layer}/{table}/b{number}"
            sql = transpile(_query(self.models[name]), variables)
            with spark_errors(f"model {name}"):
                query = self.spark.sql(sql)
                query.write.mode("overwrite").parquet(str(self.root / folder))
                # read back with the known schema: no job to infer it from the files
                frame = self.spark.read.schema(query.schema).parquet(str(self.root / folder))
                frame.createOrReplaceTempView(view_name(name))
            rows = _rows(self.root / folder)
            written[name] = folder
            summary.runs.append(SparkRun(name, rows, (time.perf_counter() - begun) * 1000))
        return written


def _query(model: Model) -> exp.Query:
    """The model's SELECT as the DuckDB runner builds it in full: a detail table keeps only
    the facts that have a day (see incremental.restrict_days)."""
    if lookups.is_narrow(model):
        return incremental.restrict_days(model.tree, None)
    return model.tree


def _rows(folder: Path) -> int:
    """The rows Spark wrote to `folder`, from the Parquet footers (no Spark job)."""
    return sum(pq.read_metadata(path).num_rows for path in folder.glob("*.parquet"))


def build_on_spark(
    spark: SparkSession,
    root: Path,
    reference_date: dt.date,
    models: dict[str, Model] | None = None,
    progress: Callable[[str], None] | None = None,
) -> SparkSummary:
    """Build every model on `spark` over the lake at `root`; see SparkBuilder."""
    return SparkBuilder(spark, root, reference_date, models, progress).run()
