"""`kuaike capture --from kafka://...` as a user runs it: the real CLI in a subprocess against a
real broker (Tansu). Business tables get their structure from the schemas kuaike knows; bad
messages become dead letters counted in `kuaike status`; bad input is one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from kafka_helpers import new_topic, produce

from kuaike.business.servers import free_port
from kuaike.capture.events import Change
from kuaike.capture.formats import canal, ogg
from kuaike.store.writer import Store


def kuaike(
    workdir: Path, *args: str, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kuaike", *args],
        cwd=workdir,
        env=cli_env(workdir, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli_env(workdir: Path, **env: str) -> dict[str, str]:
    return {
        **os.environ,
        "KUAIKE_STORE": str(workdir / "store.duckdb"),
        "KUAIKE_LOGISTICS_URL": "postgresql://nobody@127.0.0.1:1/none",
        **env,
    }


def bill(i: int, number: str = "KK") -> dict[str, object]:
    return {
        "id": i,
        "express_number": f"{number}{i:06d}",
        "cid": 1000 + i,
        "order_dt": datetime(2021, 2, 3, 4, 5, i % 60),
        "remark": f"备注{i}",
    }


def bills(n: int) -> list[tuple[bytes | None, bytes | None]]:
    """n OGG inserts of tbl_express_bill (no types: OGG carries none), every 4th updated."""
    out: list[tuple[bytes | None, bytes | None]] = []
    for i in range(1, n + 1):
        change = Change("tbl_express_bill", "insert", ("id",), None, bill(i), namespace="ITCAST")
        out.append((str(i).encode(), ogg.encode(change)))
    for i in range(1, n + 1, 4):
        change = Change("tbl_express_bill", "update", ("id",), bill(i), bill(i, "UP"))
        out.append((str(i).encode(), ogg.encode(change)))
    return out


BAD: list[tuple[bytes | None, bytes | None]] = [
    (b"b1", b"{not json"),
    (b"b2", b'{"table":"ITCAST.tbl_express_bill","op_type":"I","after":{"cid":1}}'),
    (b"b3", b'{"table":"ITCAST.tbl_express_bill","op_type":"I","after":{"id":7,"order_dt":"x"}}'),
    (b"b4", b'{"table":"ITCAST.tbl_express_bill","op_type":"Z"}'),
]


def test_the_cli_applies_ogg_to_the_known_business_table_and_keeps_bad_messages(
    kafka_broker, tmp_path
) -> None:
    topic = new_topic(kafka_broker.servers, "ogg_bill")
    good = bills(40)
    mixed = []
    for i, message in enumerate(good):
        mixed.append(message)
        if i % 9 == 3 and len(mixed) < 60:
            mixed += BAD[i // 9 : i // 9 + 1]
    assert sum(m in BAD for m in mixed) == 4
    produce(kafka_broker.servers, topic, mixed)
    done = kuaike(
        tmp_path,
        "capture",
        *("--from", kafka_broker.url, "--format", "ogg", "--topics", topic),
        "--until-caught-up",
        "--json",
        KUAIKE_KAFKA_BATCH_MAX_MESSAGES="5",
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)["kafka"]
    assert figures["dead_letters"] == 4 and figures["changes"] == len(good)
    with Store.open(tmp_path / "store.duckdb") as store:
        rows = store.con.execute(
            "SELECT id, express_number, cid, order_dt, remark FROM ods.tbl_express_bill ORDER BY id"
        ).fetchall()
        types = dict(
            store.con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'ods' AND table_name = 'tbl_express_bill'"
            ).fetchall()
        )
        letters = store.con.execute(
            'SELECT key, value, topic, "partition", "offset", error FROM _kuaike.dead_letters '
            'ORDER BY "offset"'
        ).fetchall()
    expected = [tuple(bill(i, "UP" if i % 4 == 1 else "KK").values()) for i in range(1, 41)]
    assert rows == expected
    # the business schema's columns and types, though no message named them all
    assert types["order_dt"] == "TIMESTAMP" and types["cid"] == "BIGINT"
    assert "udt" in types and "reserve_dt" in types
    assert [(bytes(k), bytes(v)) for k, v, *_ in letters] == BAD
    assert {t for _k, _v, t, *_ in letters} == {topic}
    offsets = [o for *_, o, _e in letters]
    assert offsets == sorted(offsets) and len(set(offsets)) == 4
    errors = [e for *_, e in letters]
    assert "not JSON" in errors[0] and "key column id missing" in errors[1]
    assert "'x' is not a timestamp(0)" in errors[2] and "unknown op_type 'Z'" in errors[3]

    status = kuaike(tmp_path, "status", "--json")
    assert status.returncode == 0, status.stderr
    row = next(r for r in json.loads(status.stdout) if r["source"] == "kafka")
    assert row["dead_letters"] == 4 and row["position"].startswith(f"{topic}/0:")
    text = kuaike(tmp_path, "status").stdout
    assert "kafka: stopped" in text and "4 dead letters" in text


def test_canal_crm_topics_get_the_renamed_business_table(kafka_broker, tmp_path) -> None:
    topic = new_topic(kafka_broker.servers, "canal_crm")
    row = {"id": 9, "name": "王五", "area_id": 110101, "cdt": datetime(2020, 2, 2, 18, 51)}
    change = Change("crm_address", "insert", (), None, row, namespace="crm")
    produce(kafka_broker.servers, topic, [(b"9", canal.encode(change))])
    (tmp_path / "kuaike.toml").write_text('[kafka]\nrenames = { "^crm_" = "tbl_" }\n')
    done = kuaike(
        tmp_path, "capture", "--from", kafka_broker.url, "--format", "canal", "--topics", topic,
        "--until-caught-up",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "kafka: 1 changes in 1 batches, 0 dead letters" in done.stdout
    with Store.open(tmp_path / "store.duckdb") as store:
        got = store.con.execute("SELECT id, name, area_id, cdt FROM ods.tbl_address").fetchall()
        kinds = dict(
            store.con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'ods' AND table_name = 'tbl_address'"
            ).fetchall()
        )
    assert got == [tuple(row.values())]
    assert kinds["area_id"] == "BIGINT" and kinds["cdt"] == "TIMESTAMP" and "mobile" in kinds


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--from", "kafka:/nowhere"], "is not a Kafka URL; use kafka://HOST:PORT"),
        (["--from", "{url}", "--format", "avro", "--topics", "t"], "unknown format 'avro'"),
        (["--from", "{url}"], "no topics to consume: give --topics"),
        (["--from", "{url}", "--topics", "no_such_topic"], "topic no_such_topic not on"),
        (["--from", "kafka://127.0.0.1:{dead}", "--topics", "t"], "did not answer within"),
        (["--topics", "t"], "--topics goes with --from"),
        (["--format", "canal"], "--format goes with --from or --to"),
        (
            ["--from", "{url}", "--to", "{url}", "--topics", "t"],
            "--from and --to exclude each other",
        ),
    ],
)
def test_bad_input_is_one_line(kafka_broker, tmp_path, args, says) -> None:
    filled = [a.format(url=kafka_broker.url, dead=free_port()) for a in args]
    done = kuaike(tmp_path, "capture", *filled)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], done.stderr
    assert not (tmp_path / "store.duckdb").exists()
