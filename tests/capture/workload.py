"""A randomized workload on a real PostgreSQL: every kind of change capture must replicate."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pg_replica import pg

TABLES = ["parcels", "scans", "nokey"]

DDL = """
CREATE TABLE parcels (
    id bigint PRIMARY KEY,
    name varchar(40),
    amount numeric(18,4),
    weight double precision,
    note text,
    created timestamp(0),
    signed timestamptz,
    ok boolean,
    n integer
);
CREATE TABLE scans (
    parcel_id bigint,
    seq integer,
    site varchar(20),
    at timestamptz,
    PRIMARY KEY (parcel_id, seq)
);
CREATE TABLE nokey (a integer, b varchar(10));
"""

EDGE_AMOUNTS = [
    Decimal("0"),
    Decimal("-0.0001"),
    Decimal("0.0001"),
    Decimal("99999999999999.9999"),
    Decimal("-99999999999999.9999"),
    Decimal("12345.6789"),
]
CHINESE = "北京上海广州深圳杭州成都武汉西安快递包裹签收派送中转仓库"


class Workload:
    """Random transactions: inserts, updates (some key moves), deletes, truncates, new columns,
    NULLs, TOASTed text with unchanged-TOAST updates, numeric edges, Chinese, timestamps."""

    def __init__(self, url: str, seed: int) -> None:
        self.url = url
        self.rng = random.Random(seed)
        self.conn = pg(url)
        self.next_id = 1
        self.extra_columns = 0

    def create(self) -> None:
        with self.conn.cursor() as cur:
            cur.execute(DDL)

    def _name(self) -> str | None:
        if self.rng.random() < 0.1:
            return None
        k = self.rng.randint(1, 12)
        return "".join(self.rng.choice(CHINESE + string.ascii_letters) for _ in range(k))

    def _parcel(self) -> tuple[Any, ...]:
        rng = self.rng
        pid = self.next_id
        self.next_id += 1
        note = None
        if rng.random() < 0.15:  # large, TOASTed (compressible and not)
            note = "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(3000, 9000)))
        elif rng.random() < 0.7:
            note = self._name()
        return (
            pid,
            self._name(),
            rng.choice(EDGE_AMOUNTS)
            if rng.random() < 0.3
            else Decimal(rng.randint(-(10**6), 10**6)) / 100,
            rng.choice([None, 0.5, -1e300, 1e-300, rng.random()]),
            note,
            datetime(2024, 1, 1) + timedelta(seconds=rng.randint(0, 10**8)),
            datetime(2024, 1, 1, tzinfo=UTC) + timedelta(microseconds=rng.randint(0, 10**14)),
            rng.choice([True, False, None]),
            rng.choice([None, 0, -(2**31), 2**31 - 1]),
        )

    def step(self) -> None:
        """One random transaction of a few statements."""
        with self.conn.cursor() as cur:
            cur.execute("BEGIN")
            for _ in range(self.rng.randint(1, 6)):
                self._statement(cur)
            cur.execute("COMMIT")

    def _statement(self, cur: Any) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.35:
            rows = [self._parcel() for _ in range(rng.randint(1, 20))]
            cur.executemany("INSERT INTO parcels VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)", rows)
            scans = [(r[0], s, self._name(), r[6]) for r in rows for s in range(rng.randint(0, 3))]
            cur.executemany("INSERT INTO scans VALUES (%s,%s,left(%s, 20),%s)", scans)
        elif roll < 0.55:  # touches no TOASTed column: note arrives as unchanged-TOAST
            cur.execute(
                "UPDATE parcels SET name = %s, amount = %s, n = coalesce(n, 0) / 2 "
                "WHERE id %% 7 = %s",
                (self._name(), rng.choice(EDGE_AMOUNTS), rng.randint(0, 6)),
            )
        elif roll < 0.62:
            cur.execute(
                "UPDATE parcels SET note = %s WHERE id %% 11 = %s",
                (self._name(), rng.randint(0, 10)),
            )
        elif roll < 0.68:  # key moves
            new = self.next_id + 1000
            self.next_id = new + 1
            cur.execute(
                "UPDATE parcels SET id = %s WHERE id = (SELECT min(id) FROM parcels)", (new,)
            )
        elif roll < 0.78:
            cur.execute("DELETE FROM parcels WHERE id %% 10 = %s", (rng.randint(0, 9),))
            cur.execute("DELETE FROM scans WHERE seq = %s", (rng.randint(0, 3),))
        elif roll < 0.88:
            a = rng.randint(0, 3)
            cur.execute("INSERT INTO nokey VALUES (%s, %s), (%s, %s)", (a, "x", a, "x"))
            cur.execute(
                "DELETE FROM nokey WHERE ctid = (SELECT min(ctid) FROM nokey WHERE a = %s)",
                (rng.randint(0, 3),),
            )
            cur.execute(
                "UPDATE nokey SET b = %s WHERE a = %s", (self._name() and "y", rng.randint(0, 3))
            )
        elif roll < 0.93:
            cur.execute("TRUNCATE scans")
        elif roll < 0.96 and self.extra_columns < 3:
            self.extra_columns += 1
            cur.execute(f"ALTER TABLE parcels ADD COLUMN extra{self.extra_columns} varchar(30)")
            cur.execute(f"UPDATE parcels SET extra{self.extra_columns} = 'v' WHERE id % 3 = 0")
        else:
            cur.execute("UPDATE scans SET site = NULL WHERE parcel_id % 4 = 0")
