"""The Parquet lake: its layout, its manifests, and how they are replaced without a torn state.

    lake/
      manifest.json                 the export: source positions, the files of every ODS table
      ods/<table>/e<N>_<uuid>.parquet                          a table without a day (whole)
      ods/<table>/_kuaike_day=YYYY-MM-DD/e<N>_<uuid>.parquet   a fact table, one folder a day
      warehouse.json                the last Spark build: the folder of every DWD/DWS table
      dwd/<table>/b<M>/part-*.parquet, dws/<table>/b<M>/part-*.parquet

Files are only ever added beside the ones a manifest names; a manifest is replaced in one
`os.replace` (written and flushed first), and only then are the files it no longer names
removed. A process killed at any instant leaves the previous manifest and every file it names;
what the killed process had written is removed by the next export or build.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kuaike.errors import UsageError, WarehouseError

MANIFEST = "manifest.json"
WAREHOUSE = "warehouse.json"
DAY_COLUMN = "_kuaike_day"
"""The partition column of fact tables (the day of the fact, as its DWD model defines it)."""
NULL_DAY = "__HIVE_DEFAULT_PARTITION__"
"""The partition of facts without a day (Hive's name for a NULL partition value)."""
FORMAT = 1


def lake_path(text: str | Path) -> Path:
    """The lake folder named by `--to`/`--lake`/`--from`: a local (or mounted) path.

    >>> lake_path("/srv/lake").as_posix()
    '/srv/lake'

    A bucket URL (`s3://…`) is refused with the fix: mount the bucket and give the mount point.
    """
    value = str(text)
    if "://" in value and not value.startswith("file://"):
        raise UsageError(
            f"{value}: kuaike writes the lake to a path; mount the bucket"
            " (e.g. mountpoint-s3, s3fs) and give its mount point, see docs/spark.md"
        )
    return Path(value.removeprefix("file://")).expanduser().absolute()


def read(lake: Path, name: str = MANIFEST) -> dict[str, Any] | None:
    """A manifest of the lake, None when there is none yet."""
    path = lake / name
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WarehouseError(
            f"{path} cannot be read ({exc}); restore it, or export again to a new folder"
        ) from exc
    if data.get("format") != FORMAT:
        raise WarehouseError(f"{path} is not a kuaike lake manifest of format {FORMAT}")
    return data


def write(lake: Path, data: dict[str, Any], name: str = MANIFEST) -> None:
    """Replace a manifest at once: written beside, flushed to disk, then renamed over."""
    path = lake / name
    temporary = path.with_name(f".{name}.tmp")
    with temporary.open("w", encoding="utf-8") as out:
        json.dump({"format": FORMAT, **data}, out, ensure_ascii=False, indent=1, default=str)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    folder = os.open(lake, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


@contextlib.contextmanager
def locked(lake: Path) -> Iterator[None]:
    """Hold the lake's lock: one export or build writes a lake at a time."""
    lake.mkdir(parents=True, exist_ok=True)
    with (lake / ".lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WarehouseError(
                f"{lake} is being written by another export or build; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def table_files(manifest: dict[str, Any], table: str) -> list[str]:
    """The files (relative to the lake) of one ODS table of an export manifest."""
    entry = manifest["tables"][table]
    if entry["partitions"] is None:
        return list(entry["files"])
    return [file for files in entry["partitions"].values() for file in files]


def remove_unnamed(lake: Path, layer: str, named: set[str]) -> int:
    """Remove the files under `lake/layer/` that `named` (relative paths) does not hold, and the
    folders left empty; return how many files were removed."""
    root = lake / layer
    if not root.exists():
        return 0
    removed = 0
    for path in sorted(root.rglob("*"), reverse=True):  # files before their folders
        relative = path.relative_to(lake).as_posix()
        if path.is_dir():
            if not any(path.iterdir()):
                path.rmdir()
        elif relative not in named:
            path.unlink()
            removed += 1
    return removed


def remove_folders(lake: Path, layer: str, keep: set[str]) -> None:
    """Remove the build folders (`layer/<table>/b<M>`) that `keep` does not name."""
    root = lake / layer
    if not root.exists():
        return
    for table in root.iterdir():
        for build in table.iterdir() if table.is_dir() else []:
            if build.relative_to(lake).as_posix() not in keep:
                shutil.rmtree(build, ignore_errors=True)
