"""Find parcels the way a customer-service agent asks: "张 1234 文三路" (the one to Zhang,
phone ending 1234, going to 文三路).

The query is words separated by spaces; a parcel matches when every word matches it:

    13812341234   a whole mobile number: the sender's or receiver's (exact, ART index)
    1234          four digits: the last four of either phone
    7000012345    another number of 8+ digits: an express-bill or waybill number (exact)
    张, 文三路, 12  anything else: part of either name or either address (substring)

Searched: waybills (sender and receiver as written on them), the newest first. A whole phone
or number is looked up in an ART index. Other words go to the search index (textindex.py: the
characters, bigrams and trigrams of names and addresses, and the phones' last 4 digits, kept in
step with capture within about a second), which the service keeps beside the store; every hit
is re-checked against the words. Without the index (not built yet, or a process that does not
keep one), or for a query whose every term is common, DuckDB scans with `contains` over the
waybill's four text columns (no word-segmentation dictionary): the newest `RECENT` waybills
first, further back only when those hold too few matches. The candidates (at most
`CANDIDATES`) are ranked: a whole name or phone beats a part of an address, a match on the
receiver beats one on the sender, newer beats older.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from kuaike.errors import UsageError
from kuaike.track.model import LABELS, STATUS_OF, Party, Status, _Plain, mask_phone
from kuaike.track.rows import dicts, replica_errors
from kuaike.track.sql import literal
from kuaike.track.textindex import COLUMNS as INDEXED_COLUMNS
from kuaike.track.textindex import TEXT, Query, SearchIndex, word_kind
from kuaike.types import DuckConnection

MAX_QUERY = 100  # characters
MAX_WORDS = 6
MAX_LIMIT = 100
RECENT = 1_000_000
"""Waybills searched first (the newest): most questions are about parcels still on their way."""
CANDIDATES = 200
"""Matches ranked at most (more would make a common word scan everything)."""
COMMON = 0.2
"""The share of waybills holding a query's rarest term above which a scan beats the index
(when that is over COMMON_FLOOR waybills: below, either takes a millisecond)."""
COMMON_FLOOR = 10_000
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
    by: str = "scan"
    """How the candidates were found: `number` (a whole phone or number, ART index), `index`
    (the search index) or `scan` (of the replica's waybills)."""


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


def _conditions(words: list[str]) -> tuple[list[str], list[Any]]:
    """WHERE terms (and their parameters) for the words: what `matches` says, in SQL."""
    where: list[str] = []
    params: list[Any] = []
    for word in words:
        kind = word_kind(word)
        if kind == "phone":
            where.append("(receive_mobile = ? OR delivery_mobile = ?)")
            params += [word, word]
        elif kind == "tail":
            where.append("(suffix(receive_mobile, ?) OR suffix(delivery_mobile, ?))")
            params += [word, word]
        elif kind == "number":
            where.append("(waybill_number = ? OR express_bill_number = ?)")
            params += [word, word]
        else:
            where.append("(" + " OR ".join(f"contains({c}, ?)" for c in TEXT) + ")")
            params += [word] * len(TEXT)
    return where, params


def matches(row: dict[str, Any], words: list[str]) -> bool:
    """Whether the waybill `row` matches every word (as `_conditions` in SQL)."""
    for word in words:
        receiver, sender = row["receive_mobile"] or "", row["delivery_mobile"] or ""
        kind = word_kind(word)
        if kind == "phone":
            found = word in (receiver, sender)
        elif kind == "tail":
            found = receiver.endswith(word) or sender.endswith(word)
        elif kind == "number":
            found = word in (row["waybill_number"], row["express_bill_number"])
        else:
            found = any(word in (row[c] or "") for c in TEXT)
        if not found:
            return False
    return True


def score(row: dict[str, Any], words: list[str]) -> int:
    """How well `row` matches: a whole name or phone beats a part of an address, a match on the
    receiver beats one on the sender."""
    total = 0
    receiver_name, sender_name = (
        row["receive_customer_name"] or "",
        row["delivery_customer_name"] or "",
    )
    for word in words:
        kind = word_kind(word)
        if kind == "phone":
            total += 4 + (row["receive_mobile"] == word)
        elif kind == "tail":
            total += 2 + (row["receive_mobile"] or "").endswith(word)
        elif kind == "number":
            total += 8
        else:
            if word in (receiver_name, sender_name):
                total += 4
            elif word in receiver_name or word in sender_name:
                total += 2
            else:
                total += 1
            total += word in receiver_name or word in (row["receive_addr"] or "")
    return total


def _exact_base(words: list[str]) -> tuple[str, list[Any]] | None:
    """A small, indexed starting set when a word is a whole phone or a number."""
    for word in words:
        if word_kind(word) == "phone":
            return (
                "(SELECT * FROM ods.tbl_waybill WHERE receive_mobile = ? UNION "
                "SELECT * FROM ods.tbl_waybill WHERE delivery_mobile = ?)",
                [word, word],
            )
        if word_kind(word) == "number":
            return (
                "(SELECT * FROM ods.tbl_waybill WHERE waybill_number = ? UNION "
                "SELECT * FROM ods.tbl_waybill WHERE express_bill_number = ?)",
                [word, word],
            )
    return None


COLUMNS = ", ".join(INDEXED_COLUMNS)
"""What a hit shows (the search index stores the same)."""


def _candidates(
    cur: DuckConnection, words: list[str], wanted: int, index: SearchIndex | None
) -> tuple[list[dict[str, Any]], str]:
    """At most CANDIDATES matching waybills: through an ART index for a whole phone or number,
    else through the search index, else by scanning the newest waybills first."""
    where, params = _conditions(words)
    exact = _exact_base(words)
    if exact is not None:
        base, base_params = exact
        inner = f"SELECT {COLUMNS} FROM {base} WHERE {' AND '.join(where)} LIMIT {CANDIDATES}"
        return dicts(cur, inner, [*base_params, *params]), "number"
    if index is not None and (found := _indexed(index, words)) is not None:
        return found, "index"
    top = cur.execute("SELECT max(id) FROM ods.tbl_waybill").fetchone()
    newest = int(top[0]) if top and top[0] is not None else 0
    windows: list[tuple[str, list[Any]]] = [("id > ? AND id <= ?", [newest - RECENT, newest])]
    if newest > RECENT:
        windows.append(("id <= ?", [newest - RECENT]))
    found = []
    for window, bounds in windows:
        inner = (
            f"SELECT {COLUMNS} FROM ods.tbl_waybill WHERE {window} AND {' AND '.join(where)} "
            f"LIMIT {CANDIDATES - len(found)}"
        )
        found += dicts(cur, inner, [*bounds, *params])
        if len(found) >= wanted or len(found) >= CANDIDATES:
            break
    return found, "scan"


def _indexed(index: SearchIndex, words: list[str]) -> list[dict[str, Any]] | None:
    """The newest CANDIDATES matches from the search index; None when it cannot answer (not
    ready) or a scan would be quicker: when every term of the query is in more than COMMON of
    the waybills, a scan finds CANDIDATES matches in the first rows, the index walks them all."""
    if not index.ready:
        return None
    query = Query.of(words)
    if index.rarest(query) > max(COMMON * index.docs, COMMON_FLOOR):
        return None
    hits = index.find(query, CANDIDATES)
    if hits is None:
        return None
    return [hit for hit in hits if matches(hit, words)]  # phrases across two columns


STATUS_ROWS = (
    "SELECT waybill_number AS n, CASE state WHEN 3 THEN 'signed' WHEN 4 THEN 'rejected' "
    "ELSE 'out_for_delivery' END AS kind, coalesce(rece_dt, cdt) AS t, 9 AS rank "
    "FROM ods.tbl_deliver_package WHERE waybill_number IN ({listed}) UNION ALL "
    "SELECT pw_waybill_number, CASE state WHEN 3 THEN 'lost' WHEN 2 THEN 'arrived' "
    "ELSE 'departed' END, coalesce(actual_arrivals_dt, start_vehicle_dt), 6 "
    "FROM ods.tbl_transport_record WHERE pw_waybill_number IN ({listed}) UNION ALL "
    "SELECT pw_waybill_number, 'into_warehouse', pw_start_dt, 5 FROM ods.tbl_push_warehouse "
    "WHERE pw_waybill_number IN ({listed})"
)
"""Each waybill's latest row (what its timeline's last event would say), for a page of hits
in one query: an IN list alone on an indexed column is looked up in the ART index (3.5 ms
for 20 waybills at 10 M bills, against ~1.5 ms a waybill one by one)."""


def _statuses(cur: DuckConnection, waybills: list[str]) -> dict[str, Status]:
    if not waybills:
        return {}
    listed = ", ".join(literal(w) for w in waybills)
    rows = cur.execute(
        f"SELECT n, max_by(kind, (t, rank)) FROM ({STATUS_ROWS.format(listed=listed)}) GROUP BY n"
    ).fetchall()
    kinds = {n: kind for n, kind in rows if kind}
    return {w: STATUS_OF[kinds.get(w, "at_outlet")] for w in waybills}


def search(
    cur: DuckConnection,
    query: str,
    *,
    offset: int = 0,
    limit: int = 20,
    reveal: bool = False,
    index: SearchIndex | None = None,
) -> SearchPage:
    """Parcels matching every word of `query`, best first; phones masked unless `reveal`.
    `index`: the search index, when the caller keeps one (the service does).

    Raises UsageError for an empty, too long or non-text query, or a bad page.
    """
    words = check_query(query)
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise UsageError(f"limit is 1 to {MAX_LIMIT} and offset 0 or more")
    with replica_errors():
        found, by = _candidates(cur, words, offset + limit + 1, index)
        scored = sorted(((score(r, words), r) for r in found), key=lambda p: (-p[0], -p[1]["id"]))
        page = scored[offset : offset + limit]
        statuses = _statuses(cur, [row["waybill_number"] for _, row in page])
        hits = [_hit(row, points, statuses[row["waybill_number"]], reveal) for points, row in page]
    return SearchPage(" ".join(words), offset, limit, hits, len(found) > offset + limit, by)


def _hit(row: dict[str, Any], points: int, status: Status, reveal: bool) -> Hit:
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
        score=points,
    )
