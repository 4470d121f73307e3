"""Binlog positions sort as text, and TRUNCATE / ALTER statements name their table."""

from __future__ import annotations

import pytest

from kuaike.capture.events import Position
from kuaike.capture.mysql.binlog import parse_ddl
from kuaike.capture.mysql.positions import BinlogPosition
from kuaike.capture.mysql.source import from_position, to_position
from kuaike.errors import SourceError


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("TRUNCATE crm_address", ("truncate", "crm", "crm_address")),
        ("truncate table `crm`.`crm_address`", ("truncate", "crm", "crm_address")),
        ("ALTER TABLE crm_customer ADD COLUMN vip int", ("alter", "crm", "crm_customer")),
        ("ALTER ONLINE IGNORE TABLE other.t DROP x", ("alter", "other", "t")),
        ("/* app */ ALTER TABLE IF EXISTS `c m` ADD y int", ("alter", "crm", "c m")),
        ("alter table crm . t2 modify x bigint", ("alter", "crm", "t2")),
        ("CREATE TABLE t (id int)", None),
        ("DROP TABLE crm_address", None),
        ("BEGIN", None),
    ],
)
def test_ddl_statements_name_their_table(statement: str, expected: object) -> None:
    assert parse_ddl(statement, "crm") == expected


def test_positions_sort_across_binlog_files_and_survive_the_round_trip() -> None:
    points = [
        BinlogPosition("binlog.000002", 4),
        BinlogPosition("binlog.000001", 123_456_789),
        BinlogPosition("binlog.000001", 99),
        BinlogPosition("binlog.000010", 1),
    ]
    texts = sorted(to_position(p).text for p in points)
    assert [BinlogPosition.parse(t) for t in texts] == sorted(points)
    assert all(from_position(to_position(p)) == p for p in points)
    assert to_position(points[0]) == Position.mysql("binlog.000002", 4)


def test_a_malformed_position_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="expected file:offset"):
        BinlogPosition.parse("binlog.000001")
