"""Type aliases shared across kuaike: the drivers' connections and cursors.

The aliases name the drivers' own classes (their stubs are development dependencies), so a
function that takes a connection says which one.
"""

from __future__ import annotations

from typing import TypeAlias

import duckdb
import psycopg2.extensions
import psycopg2.extras
import pymysql.connections
import pymysql.cursors

PgConnection: TypeAlias = psycopg2.extensions.connection
PgCursor: TypeAlias = psycopg2.extensions.cursor
PgReplicationConnection: TypeAlias = psycopg2.extras.LogicalReplicationConnection
PgReplicationCursor: TypeAlias = psycopg2.extras.ReplicationCursor
MySQLConnection: TypeAlias = "pymysql.connections.Connection[pymysql.cursors.Cursor]"
MySQLCursor: TypeAlias = pymysql.cursors.Cursor
DuckConnection: TypeAlias = duckdb.DuckDBPyConnection
"""A DuckDB connection, or a cursor of one (DuckDB's cursors are connections)."""
