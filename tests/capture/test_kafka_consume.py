"""Consuming change topics into the store: every good change applied once, bad ones kept as
dead letters, offsets committed with the data."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from kafka_helpers import consume_until_caught_up, new_topic, produce

from kuaike.capture.events import Change, ChangeBatch, Column
from kuaike.capture.formats import FORMATS, debezium
from kuaike.capture.kafka.client import KafkaURL
from kuaike.capture.kafka.consume import KafkaConsume
from kuaike.capture.kafka.offsets import parse_offsets
from kuaike.config import CaptureSettings, KafkaSettings
from kuaike.errors import StoreError
from kuaike.store.writer import Store

COLUMNS: tuple[Column, ...] = (Column("id", "bigint"), Column("name", "varchar(50)"))
COLUMNS += (Column("amount", "numeric(12,2)"), Column("created", "datetime"))


def row(i: int, name: str = "张三") -> dict[str, object]:
    return {
        "id": i,
        "name": f"{name}{i}",
        "amount": Decimal(i) / 4,
        "created": datetime(2021, 2, 3, 4, 5, i % 60),
    }


def messages(fmt: str, n: int) -> list[tuple[bytes | None, bytes | None]]:
    """n inserts, every third updated, every fifth deleted (Debezium adds tombstones)."""
    encode = FORMATS[fmt].encode
    out: list[tuple[bytes | None, bytes | None]] = []

    def add(change: Change) -> None:
        key = debezium.encode_key(change)
        out.append((key, encode(change)))
        if fmt == "debezium" and change.op == "delete":
            out.append((key, None))

    for i in range(n):
        add(Change("orders", "insert", ("id",), None, row(i), COLUMNS, "mysql", "crm"))
    for i in range(0, n, 3):
        add(Change("orders", "update", ("id",), row(i), row(i, "李四"), COLUMNS, "mysql", "crm"))
    for i in range(0, n, 5):
        add(Change("orders", "delete", ("id",), row(i), None, COLUMNS, "mysql", "crm"))
    return out


def expected(n: int) -> list[tuple[object, ...]]:
    rows = []
    for i in range(n):
        if i % 5 == 0:
            continue
        r = row(i, "李四" if i % 3 == 0 else "张三")
        rows.append(tuple(r.values()))
    return rows


def ods(path: Path, table: str = "orders") -> list[tuple[object, ...]]:
    with Store.open(path) as store:
        return [
            tuple(r)
            for r in store.con.execute(
                f"SELECT id, name, amount, created FROM ods.{table} ORDER BY id"
            ).fetchall()
        ]


def test_every_format_applies_inserts_updates_deletes_exactly(kafka_broker, tmp_path) -> None:
    for fmt in ("debezium", "canal"):
        topic = new_topic(kafka_broker.servers, fmt)
        produce(kafka_broker.servers, topic, messages(fmt, 60))
        path = tmp_path / f"{fmt}.duckdb"
        consume = consume_until_caught_up(path, kafka_broker.servers, fmt, [topic])
        assert ods(path) == expected(60), fmt
        assert consume.progress.changes > 0
        again = consume_until_caught_up(path, kafka_broker.servers, fmt, [topic])
        assert again.progress.batches == 0  # the stored offsets say everything was applied


def test_formats_without_types_take_them_from_configuration(kafka_broker, tmp_path) -> None:
    for fmt in ("ogg", "maxwell"):
        # types in the dialect of the format's sources: MySQL for Maxwell, PostgreSQL for OGG
        stamp = "datetime" if fmt == "maxwell" else "timestamp"
        types = {"orders": {**{c.name: c.type for c in COLUMNS}, "created": stamp}}
        topic = new_topic(kafka_broker.servers, fmt)
        produce(kafka_broker.servers, topic, messages(fmt, 30))
        path = tmp_path / f"{fmt}.duckdb"
        consume_until_caught_up(path, kafka_broker.servers, fmt, [topic], types=types)
        assert ods(path) == expected(30), fmt


def test_malformed_messages_go_to_dead_letters_and_the_stream_goes_on(
    kafka_broker, tmp_path
) -> None:
    topic = new_topic(kafka_broker.servers, "bad")
    good = messages("debezium", 20)
    bad: list[tuple[bytes | None, bytes | None]] = [
        (b'{"id":1}', b"{not json"),
        (b'{"id":null}', b'{"op":"c","source":{"table":"orders"},"after":{"name":"no key"}}'),
        (b'{"id":3}', b'{"op":"x","source":{"table":"orders"}}'),
        (b'{"id":4}', b'{"op":"c","source":{"table":"orders"},"after":{"id":"NaN-id","name":1}}'),
    ]
    mixed = []
    for i, message in enumerate(good):
        mixed.append(message)
        if i % 5 == 0 and bad:
            mixed.append(bad.pop(0))
    produce(kafka_broker.servers, topic, mixed)
    path = tmp_path / "bad.duckdb"
    consume_until_caught_up(path, kafka_broker.servers, "debezium", [topic], batch_max_messages=7)
    assert ods(path) == expected(20)
    with Store.open(path) as store:
        letters = store.con.execute(
            'SELECT key, value, topic, "partition", "offset", error FROM _kuaike.dead_letters '
            'ORDER BY "offset"'
        ).fetchall()
        assert store.dead_letters("kafka") == 4
    assert [bytes(k) for k, *_ in letters] == [
        b'{"id":1}',
        b'{"id":null}',
        b'{"id":3}',
        b'{"id":4}',
    ]
    assert bytes(letters[0][1]) == b"{not json" and letters[0][2] == topic
    errors = [e for *_, e in letters]
    assert "not JSON" in errors[0] and "key column id missing" in errors[1]
    assert "unknown op 'x'" in errors[2] and "is not a bigint" in errors[3]
    offsets = [o for *_, o, _e in letters]
    assert offsets == sorted(offsets) and len(set(offsets)) == 4


class FailingApply(Store):
    """The store, but its third apply fails (an injected fault: a full disk, say)."""

    applied = 0

    def apply(self, batch: ChangeBatch) -> int:
        self.applied += 1
        if self.applied == 3:
            raise StoreError("injected: the disk is full")
        return super().apply(batch)


def test_a_batch_the_store_fails_stops_the_stream_after_the_batches_before_it(
    kafka_broker, tmp_path
) -> None:
    """Batches are applied in a thread of their own while the next is decoded: a failed one
    is raised to the consumer, no later batch is applied, and a restart goes on from the last
    committed one, applying nothing twice."""
    topic = new_topic(kafka_broker.servers, "fail")
    # 30 inserts, 10 updates, 6 deletes and their 6 tombstones: 52 messages, 46 changes
    produce(kafka_broker.servers, topic, messages("debezium", 30))
    path = tmp_path / "fail.duckdb"
    settings = KafkaSettings(batch_max_messages=10)
    with Store.open(path) as store:
        failing = FailingApply(store.con, path)
        url = KafkaURL(kafka_broker.servers)
        consume = KafkaConsume(url, "debezium", [topic], failing, settings, CaptureSettings())
        with pytest.raises(StoreError, match="disk is full"):
            consume.run(until_caught_up=True)
        assert failing.applied == 3 and consume.progress.batches == 2
        assert parse_offsets(str(store.position("kafka"))) == {(topic, 0): 20}
        assert store.con.execute("SELECT count(*) FROM ods.orders").fetchone() == (20,)
    again = consume_until_caught_up(path, kafka_broker.servers, "debezium", [topic])
    assert ods(path) == expected(30) and again.progress.changes == 46 - 20
    with Store.open(path) as store:
        applied = store.con.execute("SELECT sum(changes) FROM _kuaike.batches").fetchone()
        assert applied == (46,)  # every change once
