"""Find parcels the way a customer-service agent asks: "张 1234 文三路" (the one to Zhang,
phone ending 1234, going to 文三路).

The query is words separated by spaces; a parcel matches when every word matches it:

    13812341234   a whole mobile number: the sender's or receiver's (exact, ART index)
    1234          four digits: the last four of either phone
    7000012345    another number of 8+ digits: an express-bill or waybill number (exact)
    张, 文三路, 12  anything else: part of either name or either address (substring)

Searched: waybills (sender and receiver as written on them), the newest first. Chinese
substring search is DuckDB's `contains` over the waybill's four text columns, with no index and
no word-segmentation dictionary (reference/serving.md measured `LIKE '%…%' LIMIT 50` at 65 ms
over 10 M addresses; the tantivy n-gram index was faster but over-counts, needs a re-check of
every candidate and a second copy of the data kept in step with capture). The scan runs on the
newest `RECENT` waybills first and goes further back only when those hold too few matches; the
candidates (at most `CANDIDATES`) are ranked: a whole name or phone beats a part of an address,
a match on the receiver beats one on the sender, newer beats older.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from kuaike.errors import UsageError
from kuaike.track.model import LABELS, STATUS_OF, Party, Status, _Plain, mask_phone
from kuaike.track.rows import dicts, replica_errors
from kuaike.track.sql import run
from kuaike.types import DuckConnection

MAX_QUERY = 100  # characters
MAX_WORDS = 6
MAX_LIMIT = 100
RECENT = 1_000_000
"""Waybills searched first (the newest): most questions are about parcels still on their way."""
CANDIDATES = 200
"""Matches ranked at most (more would make a common word scan everything)."""
ALLOWED_PUNCTUATION = frozenset("-#·()（）,，、.")


@dataclass(frozen=True)
class Hit(_Plain):
    """One matching parcel with its current status."""

    express_number: str | None
    waybill_number: str
    status: Status
    status_label: str
    ordered: Any
    sender: Party
    receiver: Party
    score: int


@dataclass(frozen=True)
class SearchPage(_Plain):
    """A page of hits, best first; `more` when a next page exists."""

    query: str
    offset: int
    limit: int
    hits: list[Hit] = field(default_factory=list)
    more: bool = False


def check_query(query: str) -> list[str]:
    """The query's words, or UsageError naming what is wrong (the query itself is never
    echoed: it may hold a phone number, and must not reach a log line)."""
    text = query.strip()
    if not text:
        raise UsageError(
            "empty query; give a phone number, its last 4 digits, a name or part of an address"
        )
    if len(text) > MAX_QUERY:
        raise UsageError(f"the query is {len(text)} characters long; at most {MAX_QUERY}")
    for char in text:
        if char == "\ufffd" or unicodedata.category(char).startswith("C"):
            raise UsageError(
                "the query holds a control character or bytes that are not UTF-8; send text"
            )
        if not (char.isalnum() or char.isspace() or char in ALLOWED_PUNCTUATION):
            raise UsageError(f"{char!r} does not occur in names, phones or addresses; leave it out")
    words = text.split()
    if len(words) > MAX_WORDS:
        raise UsageError(f"{len(words)} words; at most {MAX_WORDS}")
    return words


TEXT = ("receive_customer_name", "delivery_customer_name", "receive_addr", "delivery_addr")


def _conditions(words: list[str]) -> tuple[list[str], list[Any], list[str], list[Any]]:
    """WHERE terms (and their parameters) and score terms for the words."""
    where: list[str] = []
    params: list[Any] = []
    score: list[str] = []
    score_params: list[Any] = []
    for word in words:
        if word.isdigit() and len(word) == 11:
            where.append("(receive_mobile = ? OR delivery_mobile = ?)")
            params += [word, word]
            score.append("4 + CASE WHEN receive_mobile = ? THEN 1 ELSE 0 END")
            score_params.append(word)
        elif word.isdigit() and len(word) == 4:
            where.append("(suffix(receive_mobile, ?) OR suffix(delivery_mobile, ?))")
            params += [word, word]
            score.append("2 + CASE WHEN suffix(receive_mobile, ?) THEN 1 ELSE 0 END")
            score_params.append(word)
        elif word.isdigit() and len(word) >= 8:
            where.append("(waybill_number = ? OR express_bill_number = ?)")
            params += [word, word]
            score.append("8")
        else:
            where.append("(" + " OR ".join(f"contains({c}, ?)" for c in TEXT) + ")")
            params += [word] * len(TEXT)
            score.append(
                "CASE WHEN receive_customer_name = ? OR delivery_customer_name = ? THEN 4 "
                "WHEN contains(receive_customer_name, ?) OR contains(delivery_customer_name, ?) "
                "THEN 2 ELSE 1 END + CASE WHEN contains(receive_customer_name, ?) "
                "OR contains(receive_addr, ?) THEN 1 ELSE 0 END"
            )
            score_params += [word] * 6
    return where, params, score, score_params


def _exact_base(words: list[str]) -> tuple[str, list[Any]] | None:
    """A small, indexed starting set when a word is a whole phone or a number."""
    for word in words:
        if word.isdigit() and len(word) == 11:
            return (
                "(SELECT * FROM ods.tbl_waybill WHERE receive_mobile = ? UNION "
                "SELECT * FROM ods.tbl_waybill WHERE delivery_mobile = ?)",
                [word, word],
            )
        if word.isdigit() and len(word) >= 8 and len(word) != 11:
            return (
                "(SELECT * FROM ods.tbl_waybill WHERE waybill_number = ? UNION "
                "SELECT * FROM ods.tbl_waybill WHERE express_bill_number = ?)",
                [word, word],
            )
    return None


COLUMNS = (
    "id, waybill_number, express_bill_number, order_dt, delivery_customer_name, "
    "delivery_mobile, delivery_addr, receive_customer_name, receive_mobile, receive_addr"
)


def _candidates(cur: DuckConnection, words: list[str], wanted: int) -> list[dict[str, Any]]:
    where, params, score, score_params = _conditions(words)
    scored = f"SELECT {COLUMNS}, {' + '.join(score)} AS score FROM ({{inner}})"
    exact = _exact_base(words)
    if exact is not None:
        base, base_params = exact
        inner = f"SELECT * FROM {base} WHERE {' AND '.join(where)} LIMIT {CANDIDATES}"
        return dicts(cur, scored.format(inner=inner), [*score_params, *base_params, *params])
    top = cur.execute("SELECT max(id) FROM ods.tbl_waybill").fetchone()
    newest = int(top[0]) if top and top[0] is not None else 0
    windows: list[tuple[str, list[Any]]] = [("id > ? AND id <= ?", [newest - RECENT, newest])]
    if newest > RECENT:
        windows.append(("id <= ?", [newest - RECENT]))
    found: list[dict[str, Any]] = []
    for window, bounds in windows:
        inner = (
            f"SELECT * FROM ods.tbl_waybill WHERE {window} AND {' AND '.join(where)} "
            f"LIMIT {CANDIDATES - len(found)}"
        )
        found += dicts(cur, scored.format(inner=inner), [*score_params, *bounds, *params])
        if len(found) >= wanted or len(found) >= CANDIDATES:
            break
    return found


def _status(cur: DuckConnection, waybill: str) -> Status:
    """The parcel's status from its latest row (what the timeline's last event would say)."""
    row = run(
        cur,
        "SELECT max_by(kind, (t, rank)) FROM ("
        "SELECT CASE state WHEN 3 THEN 'signed' WHEN 4 THEN 'rejected' "
        "ELSE 'out_for_delivery' END AS kind, coalesce(rece_dt, cdt) AS t, 9 AS rank "
        "FROM ods.tbl_deliver_package WHERE waybill_number = ? UNION ALL "
        "SELECT CASE state WHEN 3 THEN 'lost' WHEN 2 THEN 'arrived' ELSE 'departed' END, "
        "coalesce(actual_arrivals_dt, start_vehicle_dt), 6 "
        "FROM ods.tbl_transport_record WHERE pw_waybill_number = ? UNION ALL "
        "SELECT 'into_warehouse', pw_start_dt, 5 FROM ods.tbl_push_warehouse "
        "WHERE pw_waybill_number = ?)",
        [waybill, waybill, waybill],
    ).fetchone()
    kind = row[0] if row and row[0] else "at_outlet"
    return STATUS_OF[kind]


def search(
    cur: DuckConnection,
    query: str,
    *,
    offset: int = 0,
    limit: int = 20,
    reveal: bool = False,
) -> SearchPage:
    """Parcels matching every word of `query`, best first; phones masked unless `reveal`.

    Raises UsageError for an empty, too long or non-text query, or a bad page.
    """
    words = check_query(query)
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise UsageError(f"limit is 1 to {MAX_LIMIT} and offset 0 or more")
    with replica_errors():
        found = _candidates(cur, words, offset + limit + 1)
        found.sort(key=lambda r: (-r["score"], -r["id"]))
        page = found[offset : offset + limit]
        hits = [_hit(cur, row, reveal) for row in page]
    return SearchPage(" ".join(words), offset, limit, hits, len(found) > offset + limit)


def _hit(cur: DuckConnection, row: dict[str, Any], reveal: bool) -> Hit:
    status = _status(cur, row["waybill_number"])
    return Hit(
        express_number=row["express_bill_number"],
        waybill_number=row["waybill_number"],
        status=status,
        status_label=LABELS[status],
        ordered=row["order_dt"],
        sender=Party(
            row["delivery_customer_name"],
            mask_phone(row["delivery_mobile"], reveal),
            row["delivery_addr"],
        ),
        receiver=Party(
            row["receive_customer_name"],
            mask_phone(row["receive_mobile"], reveal),
            row["receive_addr"],
        ),
        score=int(row["score"]),
    )
