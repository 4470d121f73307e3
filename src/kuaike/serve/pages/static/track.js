// Tracking: a number shows the parcel's journey (/api/track/{number}) as a timeline and as a
// route on the map; anything else searches (/api/search); the stuck parcels below
// (/api/track/stuck) open the same way.
(function () {
  "use strict";
  const k = window.kuaike;
  const state = window.KUAIKE_TRACK;
  const NUMBER = /^[0-9A-Za-z]{1,40}$/;
  let chart = null;

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  function when(iso) { return iso ? String(iso).replace("T", " ").slice(0, 16) : "–"; }
  function placeName(p) { return p ? (p.name || p.city || (p.kind + " " + p.id)) : ""; }
  function showError(line) {
    const box = document.getElementById("track-error");
    box.textContent = line || "";
    box.hidden = !line;
  }
  function open(number) {
    document.getElementById("track-q").value = number;
    find(number);
  }
  function numberLink(number) {
    const a = el("a", number);
    a.href = "/track?q=" + encodeURIComponent(number);
    a.className = "parcel";
    a.addEventListener("click", function (e) { e.preventDefault(); open(number); });
    return a;
  }
  function table(id, head, rows) {
    const t = document.getElementById(id);
    t.replaceChildren();
    const tr = t.createTHead().insertRow();
    head.forEach(function (key) { tr.appendChild(el("th", k.t(key))); });
    const body = t.createTBody();
    rows.forEach(function (cells) {
      const row = body.insertRow();
      cells.forEach(function (c) {
        const td = row.insertCell();
        if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? "" : c;
      });
    });
  }

  function drawRoute(timeline) {
    const stops = [];
    timeline.events.forEach(function (e) {
      [e.place, e.to].forEach(function (p) {
        if (p && p.lng !== null && p.lat !== null) {
          const last = stops[stops.length - 1];
          if (!last || last.name !== placeName(p)) stops.push({ name: placeName(p), value: [p.lng, p.lat] });
        }
      });
    });
    const lines = [];
    for (let i = 1; i < stops.length; i++) lines.push({ coords: [stops[i - 1].value, stops[i].value] });
    // the view: the route's bounding box, at least 8 degrees across, with a margin
    const lngs = stops.map(function (p) { return p.value[0]; });
    const lats = stops.map(function (p) { return p.value[1]; });
    let view;
    if (stops.length) {
      const midLng = (Math.min(...lngs) + Math.max(...lngs)) / 2, midLat = (Math.min(...lats) + Math.max(...lats)) / 2;
      const half = Math.max(4, (Math.max(...lngs) - Math.min(...lngs)) * 0.6, (Math.max(...lats) - Math.min(...lats)) * 0.6);
      view = [[midLng - half, midLat + half], [midLng + half, midLat - half]];
    }
    chart.setOption({
      geo: { map: "china", roam: true, boundingCoords: view, itemStyle: { areaColor: "#eef3f7", borderColor: "#9bb" },
        emphasis: { disabled: true } },
      tooltip: { trigger: "item", formatter: function (p) { return p.name || ""; } },
      series: [
        { type: "lines", coordinateSystem: "geo", data: lines, symbol: ["none", "arrow"], symbolSize: 8,
          lineStyle: { color: "#f08c2e", width: 2, curveness: 0.15 },
          effect: { show: true, period: 4, symbol: "circle", symbolSize: 4, color: "#f08c2e" } },
        { type: "scatter", coordinateSystem: "geo", data: stops, symbolSize: 9, itemStyle: { color: "#1f6fb2" },
          label: { show: true, position: "right", formatter: "{b}", fontSize: 11 } },
      ],
    }, true);
  }

  function showTimeline(timeline) {
    state.timeline = timeline;
    document.getElementById("hits").hidden = true;
    document.getElementById("journey").hidden = false;
    const head = document.getElementById("journey-head");
    head.replaceChildren();
    head.appendChild(el("h2", timeline.express_number + (timeline.waybill_number ? " · " + timeline.waybill_number : "")));
    const facts = el("p", null, "facts");
    facts.appendChild(el("b", k.t("parcel_status") + ": ")); facts.appendChild(el("span", timeline.status_label + " (" + timeline.status + ")", "status status-" + timeline.status));
    if (timeline.place) { facts.appendChild(el("b", " · " + k.t("now_at") + ": ")); facts.appendChild(el("span", placeName(timeline.place))); }
    if (timeline.eta) {
      facts.appendChild(el("b", " · " + k.t("eta") + ": "));
      facts.appendChild(el("span", when(timeline.eta.p50) + " (p90 " + when(timeline.eta.p90) + ", " + timeline.eta.basis + ")", "eta"));
    }
    head.appendChild(facts);
    [["sender", timeline.sender], ["receiver", timeline.receiver]].forEach(function (pair) {
      if (!pair[1]) return;
      const p = pair[1];
      head.appendChild(el("p", k.t(pair[0]) + ": " + [p.name, p.phone, p.address].filter(Boolean).join(" · ")));
    });
    const list = document.getElementById("timeline");
    list.replaceChildren();
    timeline.events.forEach(function (e) {
      const item = el("li", null, "event event-" + e.event);
      item.appendChild(el("time", when(e.time)));
      item.appendChild(el("b", e.label));
      const where = [placeName(e.place), e.to ? "→ " + placeName(e.to) : "", e.route && e.route.name,
        e.vehicle && e.vehicle.plate, e.actor && [e.actor.name, e.actor.phone].filter(Boolean).join(" "), e.detail]
        .filter(Boolean).join(" · ");
      item.appendChild(el("span", where));
      list.appendChild(item);
    });
    if (echarts.getMap("china")) drawRoute(timeline);
  }

  function showHits(page) {
    state.hits = page;
    document.getElementById("journey").hidden = true;
    document.getElementById("hits").hidden = false;
    table("hit-rows", ["parcel", "parcel_status", "ordered", "sender", "receiver"], page.hits.map(function (h) {
      return [numberLink(h.express_number || h.waybill_number), h.status_label, when(h.ordered),
        [h.sender.name, h.sender.phone].filter(Boolean).join(" "), [h.receiver.name, h.receiver.phone, h.receiver.address].filter(Boolean).join(" ")];
    }));
    if (!page.hits.length) showError(k.t("no_hits"));
  }

  function showStuck(page) {
    table("stuck-rows", ["parcel", "parcel_status", "now_at", "since", "expected_by", "overdue_minutes"], page.parcels.map(function (p) {
      return [numberLink(p.express_number || p.waybill_number), p.status_label, placeName(p.place), when(p.since), when(p.expected_by), p.overdue_minutes];
    }));
  }

  function json(url) {
    return fetch(url, { cache: "no-store" }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
    });
  }
  function search(q) {
    return json("/api/search?q=" + encodeURIComponent(q)).then(function (a) {
      if (a.ok) showHits(a.body); else showError(a.body.error);
    });
  }
  function find(q) {
    q = q.trim();
    showError("");
    if (!q) return;
    history.replaceState(null, "", "/track?q=" + encodeURIComponent(q));
    if (!NUMBER.test(q)) { search(q); return; }
    json("/api/track/" + encodeURIComponent(q)).then(function (a) {
      if (a.ok) showTimeline(a.body);
      else if (a.status === 404) search(q);  // a phone number, or its last 4 digits
      else showError(a.body.error);
    }).catch(function (err) { showError(String(err)); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    chart = k.chart("chart-route");
    document.getElementById("track-form").addEventListener("submit", function (e) {
      e.preventDefault();
      find(document.getElementById("track-q").value);
    });
    fetch("/static/vendor/china.json").then(function (r) { return r.json(); }).then(function (geo) {
      echarts.registerMap("china", geo);
      if (state.timeline) drawRoute(state.timeline);
      document.body.dataset.mapReady = "1";
    });
    if (state.timeline) showTimeline(state.timeline);
    else if (state.hits) showHits(state.hits);
    if (state.stuck) showStuck(state.stuck);
    else json("/api/track/stuck?limit=20").then(function (a) { if (a.ok) showStuck(a.body); });
    document.addEventListener("kuaike:lang", function () {
      if (state.timeline && !document.getElementById("journey").hidden) showTimeline(state.timeline);
      else if (state.hits && !document.getElementById("hits").hidden) showHits(state.hits);
    });
  });
})();
