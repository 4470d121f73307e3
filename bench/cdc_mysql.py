"""MySQL binlog → ODS: kuaike's end-to-end apply rate against the raw mysql-replication read rate.

Starts its own private MariaDB, creates the CRM schema, snapshots it (empty), then writes
N row changes (inserts, updates, deletes on crm_customer and crm_address) into the binlog.
Baseline: mysql-replication alone reading those events and decoding every row. kuaike: the
same binlog read, batched, applied to a DuckDB replica with positions, exactly once.

    python bench/cdc_mysql.py [--changes 500000]
"""

from __future__ import annotations

import argparse
import datetime
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import pymysql

from kuaike.business.schema import create_crm
from kuaike.business.servers import PrivateMariaDB
from kuaike.capture.base import CaptureSource
from kuaike.capture.mysql.capture import MySQLCapture
from kuaike.config import CaptureSettings
from kuaike.databases import SourceURL
from kuaike.store import Store


def _crm(url: str) -> CaptureSource:
    return CaptureSource("crm", SourceURL.parse(url))


ROWS_PER_STATEMENT = 1_000
NOW = datetime.datetime(2024, 6, 1, 8, 30)


def write_changes(port: int, total: int) -> dict[str, int]:
    """Inserts (60%), updates (30%) and deletes (10%) in 1,000-row statements."""
    conn = pymysql.connect(
        host="127.0.0.1", port=port, user="root", database="crm", charset="utf8mb4", autocommit=True
    )
    inserts, updates, deletes = int(total * 0.6), int(total * 0.3), int(total * 0.1)
    with conn.cursor() as cur:
        for start in range(1, inserts + 1, ROWS_PER_STATEMENT):
            ids = range(start, min(start + ROWS_PER_STATEMENT, inserts + 1))
            table = "crm_customer" if start % 2 else "crm_address"
            if table == "crm_customer":
                values = [
                    (i, f"客户{i}", f"138{i:08d}", f"u{i}@kuaike.cn", i % 3, 1, NOW, NOW)
                    for i in ids
                ]
                cur.executemany(  # one multi-row INSERT: 1,000 rows per transaction
                    "INSERT INTO crm_customer (id, name, mobile, email, type, state, cdt, udt) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    values,
                )
            else:
                values = [(i, f"收件人{i}", f"北京市朝阳区{i}号", i % 100, NOW) for i in ids]
                cur.executemany(
                    "INSERT INTO crm_address (id, name, detail_addr, area_id, cdt) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    values,
                )
        done = 0
        while done < updates:
            for table in ("crm_customer", "crm_address"):
                low = done % inserts + 1
                done += cur.execute(
                    f"UPDATE {table} SET remark = concat('改', id, '-', %s), udt = now() "
                    f"WHERE id BETWEEN %s AND %s",
                    (done, low, low + ROWS_PER_STATEMENT - 1),
                )
        gone = 0
        while gone < deletes:
            for table in ("crm_customer", "crm_address"):
                gone += cur.execute(
                    f"DELETE FROM {table} ORDER BY id DESC LIMIT %s", (ROWS_PER_STATEMENT,)
                )
    conn.close()
    return {"inserts": inserts, "updates": done, "deletes": gone}


def raw_read(port: int, start: tuple[str, int], end: tuple[str, int]) -> tuple[int, float]:
    """mysql-replication alone: decode every row event from `start` up to `end`."""
    from pymysqlreplication import BinLogStreamReader
    from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

    stream = BinLogStreamReader(
        {"host": "127.0.0.1", "port": port, "user": "root", "password": ""},
        server_id=901,
        log_file=start[0],
        log_pos=start[1],
        resume_stream=True,
        blocking=False,
        only_schemas=["crm"],
        only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent],
        enable_logging=False,
    )
    rows = 0
    began = time.perf_counter()
    for event in stream:
        rows += len(event.rows)
        if (stream.log_file, stream.log_pos) >= end:
            break
    seconds = time.perf_counter() - began
    stream.close()
    return rows, seconds


def master_status(port: int) -> tuple[str, int]:
    conn = pymysql.connect(host="127.0.0.1", port=port, user="root")
    with conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        row: Any = cur.fetchone()
    conn.close()
    return str(row[0]), int(row[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=500_000, help="row changes to write")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kuaike-bench-mysql-") as tmp:
        server = PrivateMariaDB(
            Path(tmp) / "mariadb",
            settings={
                "innodb-flush-log-at-trx-commit": "2",
                "sync-binlog": "0",
                "max-binlog-size": "1G",
            },
        ).start()
        try:
            run(server.port, Path(tmp), args.changes)
        finally:
            server.stop()


def run(port: int, tmp: Path, total: int) -> None:
    url = f"mysql://root@127.0.0.1:{port}/crm"
    create_crm(url)
    store_path = tmp / "replica.duckdb"
    settings = CaptureSettings()
    with Store.open(store_path) as store:
        MySQLCapture(_crm(url), store, settings).run(until_caught_up=True)  # empty snapshot
        start = store.position("crm")
    assert start is not None
    began = time.perf_counter()
    counts = write_changes(port, total)
    written = sum(counts.values())
    print(f"wrote {written:,} row changes {counts} in {time.perf_counter() - began:.1f} s")
    end = master_status(port)
    file, offset = start.text.rsplit(":", 1)

    rows, raw_s = raw_read(port, (file, int(offset)), end)
    print(
        f"raw mysql-replication read: {rows:,} rows in {raw_s:.2f} s = {rows / raw_s:,.0f} rows/s"
    )

    with Store.open(store_path) as store:
        began = time.perf_counter()
        progress = MySQLCapture(_crm(url), store, settings).run(until_caught_up=True)
        apply_s = time.perf_counter() - began
        customers = store.con.execute("SELECT count(*) FROM ods.tbl_customer").fetchone()
    apply_rate = progress.changes / apply_s
    print(
        f"kuaike end-to-end apply: {progress.changes:,} changes in {progress.batches} batches, "
        f"{apply_s:.2f} s = {apply_rate:,.0f} changes/s (ods.tbl_customer: {customers[0]:,} rows)"
    )
    # The machine is shared: read the raw baseline again after kuaike and use the mean rate.
    rows_again, raw_again_s = raw_read(port, (file, int(offset)), end)
    print(
        f"raw mysql-replication read again: {rows_again:,} rows in {raw_again_s:.2f} s = "
        f"{rows_again / raw_again_s:,.0f} rows/s"
    )
    raw_rate = (rows / raw_s + rows_again / raw_again_s) / 2
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"apply / raw (mean raw {raw_rate:,.0f} rows/s) = {apply_rate / raw_rate:.0%}"
        f" (target >= 80%); peak RSS {rss_mb:,.0f} MB"
    )


if __name__ == "__main__":
    main()
