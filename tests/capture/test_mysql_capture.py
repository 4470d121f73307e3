"""A randomized CRM workload on MariaDB ends with the replica equal to the source."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path
from typing import Any

from mysql_helpers import (
    capture_until_caught_up,
    connect,
    ods_rows,
    source_columns,
    source_rows,
    store_query,
)

from kuaike.business.schema import create_crm

TYPED_DDL = """
CREATE TABLE crm_typed (
    id bigint unsigned NOT NULL PRIMARY KEY,
    amount decimal(14,2),
    ratio double,
    small float,
    flags tinyint unsigned,
    counter int unsigned,
    happened datetime(3),
    stamped timestamp(6) NULL,
    duration time,
    born date,
    kind enum('寄件','派件','签收'),
    tags set('急','冷链','易碎'),
    doc json,
    raw blob,
    note text,
    bits bit(8),
    yr year
) DEFAULT CHARSET = utf8mb4
"""
NAMES = "张王李赵刘陈杨黄周吴"
CITIES = ["北京市朝阳区", "上海市浦东新区", "广州市天河区", "深圳市南山区", "成都市武侯区"]


class Workload:
    """Random inserts, updates, deletes, key moves, transactions, TRUNCATE and ALTER."""

    def __init__(self, url: str, seed: int, first_id: int = 1_000) -> None:
        self.conn = connect(url)
        self.rng = random.Random(seed)
        self.next_id = first_id  # each workload its own id range: no duplicate keys
        self.added: list[str] = []

    def run(self, ops: int, ddl: bool = False) -> None:
        for _ in range(ops):
            if self.rng.random() < 0.1:
                self._transaction()
            elif ddl and self.rng.random() < 0.01:
                self._ddl()
            else:
                self._one()

    def _sql(self, statement: str, params: tuple[Any, ...] = ()) -> None:
        with self.conn.cursor() as cur:
            cur.execute(statement, params)

    def _transaction(self) -> None:
        self._sql("BEGIN")
        for _ in range(self.rng.randint(2, 6)):
            self._one()
        self._sql("ROLLBACK" if self.rng.random() < 0.2 else "COMMIT")

    def _one(self) -> None:
        pick = self.rng.random()
        if pick < 0.35:
            self._insert()
        elif pick < 0.7:
            self._update()
        elif pick < 0.85:
            self._delete()
        else:
            self._typed()

    def _name(self) -> str:
        return self.rng.choice(NAMES) + "".join(self.rng.choices("伟芳娜敏静丽强磊军洋", k=2))

    def _id(self) -> int:
        return self.rng.randint(1, self.next_id)

    def _insert(self) -> None:
        self.next_id += 1
        table = self.rng.choice(["crm_customer", "crm_address", "crm_consumer_address_map"])
        if table == "crm_customer":
            extra = {name: self.rng.randint(0, 255) for name in self.added}
            names = ", ".join(["id", "name", "mobile", "email", "type", "state", "cdt", *extra])
            marks = ", ".join(["%s"] * (7 + len(extra)))
            values = (
                self.next_id,
                self._name(),
                f"138{self.rng.randint(10**7, 10**8 - 1)}",
                f"u{self.next_id}@kuaike.cn",
                self.rng.randint(1, 3),
                self.rng.randint(0, 1),
                f"2024-0{self.rng.randint(1, 9)}-1{self.rng.randint(0, 9)} 08:00:00",
                *extra.values(),
            )
            self._sql(f"INSERT INTO crm_customer ({names}) VALUES ({marks})", values)
        elif table == "crm_address":
            self._sql(
                "INSERT INTO crm_address (id, name, detail_addr, area_id, cdt) "
                "VALUES (%s, %s, %s, %s, now())",
                (self.next_id, self._name(), self.rng.choice(CITIES), self.rng.randint(1, 99)),
            )
        else:
            self._sql(
                "INSERT INTO crm_consumer_address_map (id, consumer_id, address_id, cdt) "
                "VALUES (%s, %s, %s, now())",
                (self.next_id, self._id(), self._id()),
            )

    def _update(self) -> None:
        table = self.rng.choice(["crm_customer", "crm_address", "crm_consumer_address_map"])
        if table == "crm_customer":
            column = self.rng.choice(["name", "remark", *self.added])
            value: Any = self._name() if column in ("name", "remark") else self.rng.randint(0, 255)
            self._sql(f"UPDATE crm_customer SET {column} = %s WHERE id = %s", (value, self._id()))
        elif table == "crm_address":
            low = self._id()
            self._sql(
                "UPDATE crm_address SET detail_addr = %s, udt = now() WHERE id BETWEEN %s AND %s",
                (self.rng.choice(CITIES) + self._name(), low, low + 3),
            )
        else:
            self._sql(
                "UPDATE crm_consumer_address_map SET address_id = %s WHERE id = %s",
                (self._id(), self._id()),
            )

    def _delete(self) -> None:
        table = self.rng.choice(["crm_customer", "crm_address", "crm_consumer_address_map"])
        low = self._id()
        self._sql(f"DELETE FROM {table} WHERE id BETWEEN %s AND %s", (low, low + 2))

    def _typed(self) -> None:
        rng = self.rng
        if rng.random() < 0.2:  # move a row to another primary key
            self.next_id += 1
            self._sql("UPDATE crm_typed SET id = %s WHERE id = %s", (self.next_id, self._id()))
            return
        self.next_id += 1
        doc = {"城市": rng.choice(CITIES), "件数": rng.randint(1, 9), "重": rng.randint(1, 99) / 4}
        values = (
            self.next_id,
            f"{rng.randint(-(10**9), 10**9)}.{rng.randint(0, 99):02d}",
            rng.randint(-1000, 1000) / 8,
            rng.randint(-1000, 1000) / 4,
            rng.randint(0, 255),
            rng.randint(0, 2**32 - 1),
            f"2024-05-{rng.randint(10, 28)} 1{rng.randint(0, 9)}:30:00.{rng.randint(0, 999):03d}",
            f"2025-01-0{rng.randint(1, 9)} 0{rng.randint(0, 9)}:00:00.{rng.randint(0, 999999):06d}",
            f"{rng.choice(['-', ''])}{rng.randint(0, 838)}:{rng.randint(0, 59):02d}:00",
            f"19{rng.randint(50, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            rng.choice(["寄件", "派件", "签收", None]),
            ",".join(rng.sample(["急", "冷链", "易碎"], rng.randint(0, 3))),
            json.dumps(doc, ensure_ascii=False),
            bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 16))),
            self._name() * rng.randint(1, 20),
            rng.randint(0, 255),
            rng.randint(1901, 2155),
        )
        marks = ", ".join(["%s"] * len(values))
        self._sql(f"REPLACE INTO crm_typed VALUES ({marks})", values)

    def _ddl(self) -> None:
        if self.rng.random() < 0.5:
            self._sql("TRUNCATE TABLE crm_address")
        elif len(self.added) < 2:
            name = f"vip_level_{len(self.added)}"
            self._sql(f"ALTER TABLE crm_customer ADD COLUMN {name} tinyint unsigned")
            self.added.append(name)


def assert_replica_equal(url: str, store: Path) -> None:
    conn = connect(url)
    for table in ["crm_customer", "crm_address", "crm_consumer_address_map", "crm_typed"]:
        columns = source_columns(conn, table)
        ods = "tbl_" + table.removeprefix("crm_")
        expected = source_rows(conn, table, columns)
        assert ods_rows(store, ods, columns) == expected, table
    conn.close()


def test_random_workload_ends_with_replica_equal_to_source(mysql_url: str, tmp_path: Path) -> None:
    create_crm(mysql_url)
    setup = connect(mysql_url)
    with setup.cursor() as cur:
        cur.execute(TYPED_DDL)
    store = tmp_path / "replica.duckdb"
    Workload(mysql_url, seed=1).run(200)

    # The snapshot runs while another connection keeps writing: the hand-off must be exact.
    writer = threading.Thread(target=Workload(mysql_url, seed=2, first_id=3_000).run, args=(400,))
    writer.start()
    capture_until_caught_up(mysql_url, store, batch_max_rows=50)
    writer.join()
    capture_until_caught_up(mysql_url, store, batch_max_rows=50)
    assert_replica_equal(mysql_url, store)

    workload = Workload(mysql_url, seed=3, first_id=5_000)
    for _ in range(3):
        workload.run(400, ddl=True)
        workload._ddl()
        capture_until_caught_up(mysql_url, store, batch_max_rows=200)
        assert_replica_equal(mysql_url, store)

    changes = {c for (c,) in store_query(store, "SELECT change FROM _kuaike.schema_changes")}
    assert "add_column" in changes
    assert store_query(store, "SELECT count(*) FROM _kuaike.truncates")[0][0] >= 1
