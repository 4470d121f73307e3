"""The business schemas on real servers: 48 + 3 tables with keys, the dictionary, idempotence."""

from __future__ import annotations

import psycopg2
import pymysql

from kuaike.business import schema
from kuaike.business.codes import code_rows
from kuaike.business.servers import PrivateMariaDB, PrivatePostgres
from kuaike.databases import SourceURL


def _pg_catalog(url: str) -> list[tuple[str, ...]]:
    conn = psycopg2.connect(**SourceURL.parse(url).psycopg2_dsn())
    with conn.cursor() as cur:
        cur.execute(
            "SELECT table_name, column_name, data_type, "
            "coalesce(character_maximum_length, 0)::text "
            "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2"
        )
        columns = cur.fetchall()
        cur.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1")
        indexes = cur.fetchall()
    conn.close()
    return columns + indexes


def _pg_query(url: str, sql: str) -> list[tuple[object, ...]]:
    conn = psycopg2.connect(**SourceURL.parse(url).psycopg2_dsn())
    with conn.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall()
    conn.close()
    return rows


def test_logistics_schema_has_48_tables_each_with_a_primary_key(pg_url: str) -> None:
    result = schema.create_logistics(pg_url)
    assert (result.tables_before, result.tables_after) == (0, 48)
    keyed = _pg_query(
        pg_url,
        "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc "
        "JOIN information_schema.key_column_usage kcu USING (constraint_name, table_schema) "
        "WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = 'public'",
    )
    assert len(keyed) == 48
    assert {column for _, column in keyed} == {"id"}


def test_logistics_schema_keeps_the_reference_column_names_and_types(pg_url: str) -> None:
    schema.create_logistics(pg_url)
    columns = {
        (table, column): (kind, length)
        for table, column, kind, length in _pg_query(
            pg_url,
            "SELECT table_name, column_name, data_type, "
            "coalesce(character_maximum_length, numeric_precision, 0) "
            "FROM information_schema.columns WHERE table_schema = 'public'",
        )
    }
    assert columns[("tbl_driver", "birathday")][0] == "timestamp without time zone"
    assert ("tbl_delivery_record", "actua_arrivals_dt") in columns
    assert ("tbl_vehicle_monitor", "express_bill__id") in columns
    assert ("tbl_vehicle_monitor", "empId") in columns
    assert columns[("tbl_express_bill", "express_number")] == ("character varying", 50)
    assert columns[("tbl_express_package", "actual_amount")] == ("numeric", 10)
    assert columns[("tbl_waybill", "cid")][0] == "bigint"


def test_dictionary_codes_are_loaded(pg_url: str) -> None:
    result = schema.create_logistics(pg_url)
    assert result.codes_added == len(code_rows()) == 63
    channels = _pg_query(pg_url, "SELECT code, code_desc FROM tbl_codes WHERE type = 18 ORDER BY 1")
    assert channels[1] == ("1", "微信小程序")


def test_schema_create_twice_changes_nothing(pg_url: str) -> None:
    schema.create_logistics(pg_url)
    before = _pg_catalog(pg_url)
    again = schema.create_logistics(pg_url)
    assert (again.tables_before, again.tables_after, again.codes_added) == (48, 48, 0)
    assert _pg_catalog(pg_url) == before
    assert _pg_query(pg_url, "SELECT count(*) FROM tbl_codes") == [(63,)]


def test_crm_schema_on_mariadb_creates_the_database_and_3_tables(
    mariadb_server: PrivateMariaDB,
) -> None:
    url = mariadb_server.url_for("crm_schema_test")
    first = schema.create_crm(url)
    again = schema.create_crm(url)
    assert first.database_created and (first.tables_before, first.tables_after) == (0, 3)
    assert not again.database_created and (again.tables_before, again.tables_after) == (3, 3)
    conn = pymysql.connect(host="127.0.0.1", port=mariadb_server.port, user="root")
    with conn.cursor() as cur:
        cur.execute(
            "SELECT table_name, column_name FROM information_schema.key_column_usage "
            "WHERE table_schema = 'crm_schema_test' AND constraint_name = 'PRIMARY'"
        )
        assert sorted(cur.fetchall()) == [
            ("crm_address", "id"),
            ("crm_consumer_address_map", "id"),
            ("crm_customer", "id"),
        ]
    conn.close()


def test_crm_schema_on_postgres(pg_server: PrivatePostgres) -> None:
    url = pg_server.url_for("crm_pg_test")
    result = schema.create_crm(url)
    assert result.database_created and result.tables_after == 3


def test_postgres_server_is_set_up_for_logical_decoding(pg_url: str) -> None:
    assert _pg_query(pg_url, "SHOW wal_level") == [("logical",)]
    slots = int(str(_pg_query(pg_url, "SHOW max_replication_slots")[0][0]))
    assert slots >= 10


def test_mariadb_server_is_set_up_for_row_based_binlog(mariadb_server: PrivateMariaDB) -> None:
    conn = pymysql.connect(host="127.0.0.1", port=mariadb_server.port, user="root")
    with conn.cursor() as cur:
        cur.execute(
            "SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata, "
            "@@server_id"
        )
        log_bin, fmt, image, metadata, server_id = cur.fetchall()[0]
    conn.close()
    assert (log_bin, fmt, image, metadata) == (1, "ROW", "FULL", "FULL")
    assert server_id > 0
