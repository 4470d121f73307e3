"""Create the business schemas on the configured sources: 48 logistics tables, 3 CRM tables.

Every statement is idempotent (`IF NOT EXISTS`, `ON CONFLICT DO NOTHING`), so running it again on
a database that has the schema changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib.resources import files

from kuaike.business.codes import code_rows
from kuaike.databases import SourceURL, connect_mysql, connect_postgres, driver_errors, scalar
from kuaike.types import PgCursor

LOGISTICS_TABLE_COUNT = 48
CRM_TABLES = ("crm_address", "crm_customer", "crm_consumer_address_map")


def ddl(name: str) -> str:
    """The text of a bundled DDL file, e.g. `ddl("logistics.postgresql")`."""
    return files("kuaike.business").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def statements(script: str) -> list[str]:
    """Split a DDL file into statements (the files hold no `;` inside strings)."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def logistics_tables() -> list[str]:
    """Names of the 48 logistics tables, in DDL order."""
    return [
        statement.split()[5]
        for statement in statements(ddl("logistics.postgresql"))
        if statement.startswith("CREATE TABLE")
    ]


@dataclass(frozen=True)
class SchemaResult:
    """What `create` did on one source."""

    source: str
    url: str
    tables_before: int
    tables_after: int
    codes_added: int = 0
    database_created: bool = False


def _ensure_postgres_database(url: SourceURL) -> bool:
    """Create the database if it is missing; True when it was created."""
    admin = connect_postgres(url.with_database("postgres"))
    admin.autocommit = True
    try:
        with driver_errors(url), admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,))
            if cur.fetchone():
                return False
            cur.execute(f'CREATE DATABASE "{url.database}"')
            return True
    finally:
        admin.close()


def _postgres_table_count(cur: PgCursor, names: list[str]) -> int:
    cur.execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename = ANY(%s)",
        (names,),
    )
    return int(scalar(cur))


def create_postgres(
    url: SourceURL, script: str, names: list[str], with_codes: bool
) -> SchemaResult:
    """Run `script` on a PostgreSQL database (created if missing) and load the dictionary."""
    created = _ensure_postgres_database(url)
    conn = connect_postgres(url)
    try:
        with driver_errors(url), conn, conn.cursor() as cur:
            before = _postgres_table_count(cur, names)
            for statement in statements(script):
                cur.execute(statement)
            added = 0
            if with_codes:
                for row in code_rows():
                    cur.execute(
                        "INSERT INTO tbl_codes (name, type, code, code_desc, code_type, state, "
                        "cdt, udt) VALUES (%s, %s, %s, %s, %s, %s, now(), now()) "
                        "ON CONFLICT (type, code) DO NOTHING",
                        row,
                    )
                    added += cur.rowcount
            after = _postgres_table_count(cur, names)
    finally:
        conn.close()
    return SchemaResult("", str(url), before, after, added, created)


def create_mysql(url: SourceURL, script: str, names: list[str]) -> SchemaResult:
    """Run `script` on a MySQL/MariaDB database, creating the database if missing."""
    admin = connect_mysql(url.with_database(""), database=None)
    try:
        with driver_errors(url), admin.cursor() as cur:
            created = bool(
                cur.execute(
                    "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s",
                    (url.database,),
                )
                == 0
            )
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{url.database}` DEFAULT CHARSET utf8mb4")
    finally:
        admin.close()
    conn = connect_mysql(url)
    count_sql = (
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s "
        "AND table_name IN (" + ",".join(["%s"] * len(names)) + ")"
    )
    try:
        with driver_errors(url), conn.cursor() as cur:
            cur.execute(count_sql, (url.database, *names))
            before = int(scalar(cur))
            for statement in statements(script):
                cur.execute(statement)
            cur.execute(count_sql, (url.database, *names))
            after = int(scalar(cur))
        conn.commit()
    finally:
        conn.close()
    return SchemaResult("", str(url), before, after, 0, created)


def create_logistics(url: str) -> SchemaResult:
    """Create the 48 logistics tables and the dictionary on a PostgreSQL database."""
    result = create_postgres(
        SourceURL.parse(url), ddl("logistics.postgresql"), logistics_tables(), with_codes=True
    )
    return replace(result, source="logistics")


def create_crm(url: str) -> SchemaResult:
    """Create the 3 CRM tables on a MySQL/MariaDB or PostgreSQL database."""
    parsed = SourceURL.parse(url)
    if parsed.dialect == "mysql":
        result = create_mysql(parsed, ddl("crm.mysql"), list(CRM_TABLES))
    else:
        result = create_postgres(parsed, ddl("crm.postgresql"), list(CRM_TABLES), False)
    return replace(result, source="crm")
