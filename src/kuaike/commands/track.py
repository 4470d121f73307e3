"""`kuaike track NUMBER`, `kuaike track --stuck`, `kuaike search QUERY`: parcel tracking, through
the running `kuaike run` when one holds the store, on the store file (read-only) otherwise."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

import click

from kuaike import track as tracking
from kuaike.commands.common import App, pass_app, print_json
from kuaike.config import Settings
from kuaike.errors import UsageError
from kuaike.serve.client import Client
from kuaike.serve.console import open_read_only
from kuaike.track.model import check_number
from kuaike.track.search import check_query
from kuaike.track.textindex import SearchIndex, directory_for
from kuaike.types import DuckConnection


def _local(settings: Settings, work: Callable[[DuckConnection], Any]) -> Any:
    con = open_read_only(settings.store_path)
    try:
        return work(con.cursor())
    finally:
        con.close()


def _reveal(settings: Settings) -> bool:
    """Phones in clear for whoever holds the token, as over HTTP."""
    return settings.serve.token is not None


def timeline(settings: Settings, number: str) -> dict[str, Any]:
    """The parcel's timeline as /api/track/{number} gives it."""
    check_number(number)  # before any server or file is touched
    client = Client.for_store(settings)
    if client is not None:
        result: dict[str, Any] = client.get("/api/track/" + urllib.parse.quote(number))
        return result
    transit = tracking.TransitTimes(settings.track.history_weeks)
    return _local(  # type: ignore[no-any-return]
        settings,
        lambda cur: tracking.lookup(
            cur, number, reveal=_reveal(settings), transit=transit
        ).as_dict(),
    )


def stuck_page(settings: Settings, factor: float | None, offset: int, limit: int) -> dict[str, Any]:
    client = Client.for_store(settings)
    params = {"offset": str(offset), "limit": str(limit)}
    if factor is not None:
        params["factor"] = str(factor)
    if client is not None:
        result: dict[str, Any] = client.get("/api/track/stuck", **params)
        return result
    chosen = factor if factor is not None else settings.track.stuck_factor

    def work(cur: DuckConnection) -> dict[str, Any]:
        stats = tracking.TransitTimes(settings.track.history_weeks).get(cur)
        return tracking.stuck(cur, stats, factor=chosen, offset=offset, limit=limit).as_dict()

    return _local(settings, work)  # type: ignore[no-any-return]


def search_page(settings: Settings, query: str, offset: int, limit: int) -> dict[str, Any]:
    check_query(query)
    client = Client.for_store(settings)
    if client is not None:
        result: dict[str, Any] = client.get(
            "/api/search", q=query, offset=str(offset), limit=str(limit)
        )
        return result

    def work(cur: DuckConnection) -> dict[str, Any]:
        # the service's index when it is current (else a scan); this command builds none
        directory = directory_for(settings.store_path)
        index = None
        if settings.track.search_index and directory is not None:
            index = SearchIndex.open_current(directory, cur)
        return tracking.search(
            cur, query, offset=offset, limit=limit, reveal=_reveal(settings), index=index
        ).as_dict()

    return _local(settings, work)  # type: ignore[no-any-return]


def _place(place: dict[str, Any] | None) -> str:
    if not place:
        return "-"
    city = f" ({place['city']})" if place.get("city") else ""
    return f"{place.get('name') or place['kind'] + ' ' + str(place['id'])}{city}"


def _time(value: str | None) -> str:
    return (value or "-").replace("T", " ")[:16]


def _print_timeline(data: dict[str, Any]) -> None:
    waybill = f" (waybill {data['waybill_number']})" if data.get("waybill_number") else ""
    click.echo(
        f"{data['express_number']}{waybill}: {data['status_label']} {data['status']}, "
        f"at {_place(data.get('place'))}"
    )
    eta = data.get("eta")
    if eta:
        click.echo(f"ETA {_time(eta['p50'])} (p90 {_time(eta['p90'])}, from {eta['basis']})")
    for event in data["events"]:
        line = f"  {_time(event['time'])}  {event['label']:<6} {_place(event.get('place'))}"
        if event.get("to"):
            line += f" → {_place(event['to'])}"
        if event.get("vehicle"):
            line += f", {event['vehicle'].get('plate')}"
        if event.get("actor"):
            actor = event["actor"]
            line += f", {actor.get('name') or ''} {actor.get('phone') or ''}".rstrip()
        if event.get("detail"):
            line += f" [{event['detail']}]"
        click.echo(line)


@click.command()
@click.argument("number", required=False)
@click.option("--stuck", "list_stuck", is_flag=True, help="List stuck parcels instead.")
@click.option("--factor", type=float, help="Stuck after this many times the step's p90.")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the timeline (or page) as JSON.")
@pass_app
def track(
    app: App,
    number: str | None,
    list_stuck: bool,
    factor: float | None,
    offset: int,
    limit: int,
    as_json: bool,
) -> None:
    """A parcel's journey by express-bill or waybill number: every event with time, place and
    who, its status and ETA. With --stuck: parcels without news for longer than usual.

    Goes through the running `kuaike run` when one holds the store. An unknown number says
    "not found" and exits with 1.
    """
    if list_stuck == (number is not None):
        raise UsageError("give a parcel NUMBER, or --stuck (not both)")
    if not list_stuck and factor is not None:
        raise UsageError("--factor goes with --stuck")
    if list_stuck:
        page = stuck_page(app.settings, factor, offset, limit)
        if as_json:
            print_json(page)
            return
        click.echo(f"{page['total']} stuck parcels as of {_time(page['as_of'])}")
        for parcel in page["parcels"]:
            click.echo(
                f"  {parcel['express_number'] or parcel['waybill_number']}  "
                f"{parcel['status_label']} at {_place(parcel.get('place'))} since "
                f"{_time(parcel['since'])}, expected by {_time(parcel['expected_by'])}"
            )
        return
    assert number is not None
    data = timeline(app.settings, number)
    if as_json:
        print_json(data)
    else:
        _print_timeline(data)


@click.command()
@click.argument("query")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON.")
@pass_app
def search(app: App, query: str, offset: int, limit: int, as_json: bool) -> None:
    """Find parcels by phone, its last 4 digits, name or part of an address: every word of
    QUERY must match ("张 1234 文三路"). Best matches first, with their status."""
    page = search_page(app.settings, query, offset, limit)
    if as_json:
        print_json(page)
        return
    for hit in page["hits"]:
        receiver, sender = hit["receiver"], hit["sender"]
        click.echo(
            f"{hit['express_number']}  {hit['status_label']:<5} to {receiver['name']} "
            f"{receiver['phone']} {receiver['address']}  from {sender['name']}"
        )
    more = f" (more: --offset {offset + limit})" if page["more"] else ""
    click.echo(f"{len(page['hits'])} parcels{more}")
