"""Every rate docs/simulate.md promises, measured on a simulated history in PostgreSQL.

Each rate is measured over the events that had time to happen before the history ended (an order
placed a minute before the end cannot have been cancelled yet), and must lie within four standard
deviations of a binomial draw at the documented rate: a simulator off by a few points fails, the
seed's luck does not.
"""

from __future__ import annotations

import math
from datetime import datetime

import psycopg2
import pytest

from kuaike.business.servers import PrivatePostgres
from kuaike.business.simulate import Options, Simulator, Sizes
from tests.conftest import new_pg_database

SIZES = Sizes(companies=4, warehouses=12, dots=40, couriers_per_dot=3, customers=800)
END = datetime(2026, 10, 20, 18, 0, 0)  # ten ordinary October days, no sale day
DAYS = 10


@pytest.fixture(scope="module")
def history(pg_server: PrivatePostgres) -> str:
    url = new_pg_database(pg_server, "rates")
    options = Options(
        seed=11, history_days=DAYS, end=END, orders_per_day=2500, sizes=SIZES, workers=2
    )
    Simulator(url, url, options).run()
    return url


def _counts(url: str, sql: str) -> tuple[int, int]:
    """(events, opportunities) from a query returning both."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, {"end": END})
            hits, total = cur.fetchall()[0]
    finally:
        conn.close()
    return int(hits), int(total)


def assert_rate(hits: int, total: int, documented: float, what: str) -> None:
    """`hits` out of `total` is a plausible draw at rate `documented`."""
    assert total >= 1000, f"{what}: only {total} opportunities, too few to measure"
    spread = 4 * math.sqrt(documented * (1 - documented) / total)
    measured = hits / total
    assert abs(measured - documented) <= spread, (
        f"{what}: {hits} of {total} = {measured:.4f}, documented {documented} ± {spread:.4f}"
    )


def test_three_percent_of_orders_are_cancelled_before_pickup(history: str) -> None:
    # A cancellation comes 5-60 min after the order: orders of the last hour may not have one yet.
    hits, total = _counts(
        history,
        "SELECT count(*) FILTER (WHERE state = 4), count(*) FROM tbl_collect_package "
        "WHERE cdt < %(end)s - interval '1 hour'",
    )
    assert_rate(hits, total, 0.03, "cancelled orders")


def test_five_percent_of_legs_arrive_late_and_are_marked_delayed(history: str) -> None:
    # A leg departed 4 days before the end has arrived (or been lost) whatever its pace.
    legs = (
        "FROM tbl_transport_record WHERE actual_arrivals_dt IS NOT NULL "
        "AND start_vehicle_dt < %(end)s - interval '4 days'"
    )
    late = "actual_arrivals_dt > predict_arrivals_dt"
    hits, total = _counts(history, f"SELECT count(*) FILTER (WHERE {late}), count(*) {legs}")
    assert_rate(hits, total, 0.05, "late legs")
    marked, _ = _counts(history, f"SELECT count(*) FILTER (WHERE remark = '延误'), 0 {legs}")
    assert marked == hits, "every late leg, and only those, carries the 延误 remark"


def test_on_time_legs_are_ninety_five_percent(history: str) -> None:
    hits, total = _counts(
        history,
        "SELECT count(*) FILTER (WHERE actual_arrivals_dt <= predict_arrivals_dt), count(*) "
        "FROM tbl_transport_record WHERE actual_arrivals_dt IS NOT NULL "
        "AND start_vehicle_dt < %(end)s - interval '4 days'",
    )
    assert_rate(hits, total, 0.95, "on-time legs")


def test_three_in_a_thousand_parcels_on_the_road_are_lost(history: str) -> None:
    # Declared lost 3 days after the leg left: count parcels whose first leg left 6 days before.
    hits, total = _counts(
        history,
        "SELECT count(*) FILTER (WHERE lost), count(*) FROM ("
        " SELECT pw_waybill_number, bool_or(state = 3) AS lost FROM tbl_transport_record"
        " GROUP BY 1 HAVING min(start_vehicle_dt) < %(end)s - interval '6 days') AS parcels",
    )
    assert_rate(hits, total, 0.003, "lost parcels")


def test_one_percent_of_deliveries_are_rejected(history: str) -> None:
    hits, total = _counts(
        history,
        "SELECT count(*) FILTER (WHERE state = 4), count(*) FROM tbl_deliver_package "
        "WHERE state IN (3, 4)",
    )
    assert_rate(hits, total, 0.01, "rejected deliveries")


def test_thirty_percent_of_signed_parcels_are_evaluated(history: str) -> None:
    # An evaluation comes up to 2 days after the signature.
    hits, total = _counts(
        history,
        "SELECT count(e.id), count(*) FROM tbl_deliver_package AS d "
        "LEFT JOIN tbl_service_evaluation AS e ON e.express_bill = d.express_bill_id "
        "WHERE d.state = 3 AND d.rece_dt < %(end)s - interval '2 days'",
    )
    assert_rate(hits, total, 0.3, "evaluated parcels")


def test_two_new_customers_register_per_hundred_orders(history: str) -> None:
    hits, total = _counts(
        history,
        "SELECT (SELECT count(*) FROM crm_customer WHERE reg_dt >= %(end)s - interval '10 days'),"
        " (SELECT count(*) FROM tbl_collect_package)",
    )
    assert_rate(hits, total, 0.02, "new customers per order")
