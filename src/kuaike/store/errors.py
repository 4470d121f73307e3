"""DuckDB errors → StoreError, once, for the store and the warehouse alike.

DuckDB has no error codes; its exception classes say what failed (`IOException` for the file,
`ConnectionException` for a closed connection), and its messages are never translated, so the
lock is recognised the same way wherever the store is opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from kuaike.errors import StoreError


def store_error(path: Path | str, exc: duckdb.Error, table: str | None = None) -> StoreError:
    """The StoreError for a DuckDB error on the store file `path`."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, duckdb.IOException) and "lock" in text.lower():
        return StoreError(
            f"the store {path} is open in another process (a running `kuaike capture` or "
            "`kuaike run`: DuckDB lets one process use a store file at a time); stop it first, "
            "or let the pipeline's scheduler build",
            path=str(path),
        )
    if isinstance(exc, duckdb.IOException):
        return StoreError(
            f"store {path}: I/O error: {text}; check the disk and the path", path=str(path)
        )
    where = f" (table {table})" if table else ""
    return StoreError(f"store {path}{where}: {text}", path=str(path), table=table)


def missing_directory(path: Path | str) -> StoreError:
    """The error for a store path whose directory does not exist."""
    return StoreError(
        f"the directory {Path(path).parent} of the store {path} does not exist; create it, or "
        "set `store` (KUAIKE_STORE) to a file in an existing directory",
        path=str(path),
    )


@contextmanager
def duckdb_errors(path: Path | str, table: str | None = None) -> Iterator[None]:
    """DuckDB errors raised inside the block become StoreErrors naming `path`."""
    try:
        yield
    except duckdb.Error as exc:
        raise store_error(path, exc, table) from exc
