"""The setup check refuses a server or user not ready for binlog capture, in one line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from kuaike.business.schema import create_crm
from kuaike.business.servers import PrivateMariaDB
from kuaike.capture.mysql.setup import check_setup
from kuaike.databases import SourceURL, connect_mysql
from kuaike.errors import SourceSetupError

MISCONFIGURED = [
    ({"skip-log-bin": "1"}, "the binlog is off"),
    ({"binlog-format": "STATEMENT"}, "binlog_format is STATEMENT"),
    ({"binlog-format": "MIXED"}, "set binlog_format=ROW"),
    ({"binlog-row-image": "MINIMAL"}, "binlog_row_image is MINIMAL"),
    ({"binlog-row-metadata": "MINIMAL"}, "set binlog_row_metadata=FULL"),
]


def _check(url: str) -> None:
    parsed = SourceURL.parse(url)
    conn = connect_mysql(parsed)
    try:
        check_setup(conn, parsed, ["crm_customer", "crm_address"])
    finally:
        conn.close()


@pytest.mark.parametrize(("settings", "expected"), MISCONFIGURED)
def test_misconfigured_server_is_refused_naming_the_setting(
    tmp_path: Path, settings: dict[str, str], expected: str
) -> None:
    server = PrivateMariaDB(tmp_path / "m", settings=settings).start()
    try:
        url = server.url_for("crm")
        create_crm(url)
        with pytest.raises(SourceSetupError) as caught:
            _check(url)
    finally:
        server.stop()
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


@pytest.fixture
def crm_url(mysql_url: str) -> str:
    create_crm(mysql_url)
    return mysql_url


@pytest.fixture
def make_user(mariadb_server: PrivateMariaDB) -> Iterator[object]:
    root = pymysql.connect(host="127.0.0.1", port=mariadb_server.port, user="root", autocommit=True)
    made: list[str] = []

    def make(name: str, *grants: str) -> str:
        with root.cursor() as cur:
            cur.execute(f"CREATE USER '{name}'@'%' IDENTIFIED BY 'pw'")
            for grant in grants:
                cur.execute(f"GRANT {grant} TO '{name}'@'%'")
        made.append(name)
        return name

    yield make
    with root.cursor() as cur:
        for name in made:
            cur.execute(f"DROP USER '{name}'@'%'")
    root.close()


def _as(url: str, user: str) -> str:
    return url.replace("mysql://root@", f"mysql://{user}:pw@")


def test_user_without_replication_slave_is_told_the_grant(crm_url: str, make_user) -> None:
    database = SourceURL.parse(crm_url).database
    user = make_user("cdc_noslave", "REPLICATION CLIENT ON *.*", f"SELECT ON `{database}`.*")
    with pytest.raises(
        SourceSetupError, match=r"GRANT REPLICATION SLAVE ON \*\.\* TO 'cdc_noslave'"
    ):
        _check(_as(crm_url, user))


def test_user_without_replication_client_is_told_the_grant(crm_url: str, make_user) -> None:
    database = SourceURL.parse(crm_url).database
    user = make_user("cdc_noclient", "REPLICATION SLAVE ON *.*", f"SELECT ON `{database}`.*")
    with pytest.raises(SourceSetupError, match=r"GRANT REPLICATION CLIENT ON \*\.\* TO"):
        _check(_as(crm_url, user))


def test_user_without_select_is_told_the_grant(crm_url: str, make_user) -> None:
    database = SourceURL.parse(crm_url).database
    user = make_user("cdc_noselect", "REPLICATION SLAVE, REPLICATION CLIENT ON *.*")
    parsed = SourceURL.parse(_as(crm_url, user))
    conn = connect_mysql(parsed, database=None)
    try:
        with pytest.raises(SourceSetupError, match=rf"GRANT SELECT ON `{database}`\.\* TO"):
            check_setup(conn, parsed, [])
    finally:
        conn.close()


def test_user_with_every_grant_passes(crm_url: str, make_user) -> None:
    database = SourceURL.parse(crm_url).database
    user = make_user(
        "cdc_ok", "REPLICATION SLAVE, REPLICATION CLIENT ON *.*", f"SELECT ON `{database}`.*"
    )
    _check(_as(crm_url, user))


def test_capture_check_names_the_select_grant_for_a_user_who_cannot_open_the_database(
    crm_url: str, make_user
) -> None:
    from kuaike.capture.mysql.source import MySQLSource
    from kuaike.config import CaptureSettings

    user = make_user("cdc_nodb", "REPLICATION SLAVE, REPLICATION CLIENT ON *.*")
    source = MySQLSource("crm", _as(crm_url, user), CaptureSettings())
    with pytest.raises(SourceSetupError, match=r"GRANT SELECT ON `t_\d+`\.\* TO 'cdc_nodb'"):
        source.check()
