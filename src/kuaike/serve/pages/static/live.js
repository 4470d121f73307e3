// The live big screen: figures and charts from /api/live, refreshed without reloading.
(function () {
  "use strict";
  const k = window.kuaike;
  let live = window.KUAIKE_LIVE;
  const TILES = ["orders", "collected", "in_transit", "delivered", "signed",
    "vehicles_on_the_road", "exceptions"];
  const FUNNEL = [["ordered", "orders"], ["collected", "collected"], ["in_transit", "in_transit"],
    ["delivered", "delivered"], ["signed", "signed"]];
  const charts = {};

  // tbl_areas names provinces in full (浙江省, 内蒙古自治区); the map uses short names (浙江, 内蒙古)
  function shortProvince(name) {
    return String(name).replace(/(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$/, "");
  }

  function drawMap() {
    const data = (live.figures.orders_by_province || [])
      .filter(function (p) { return p[0] !== "unknown"; })
      .map(function (p) { return { name: shortProvince(p[0]), value: p[1] }; });
    const max = Math.max(1, ...data.map(function (d) { return d.value; }));
    charts.map.setOption({
      tooltip: { trigger: "item", formatter: function (p) {
        return p.name + ": " + k.number(isNaN(p.value) ? 0 : p.value); } },
      visualMap: { min: 0, max: max, left: 8, bottom: 8, calculable: true,
        textStyle: { color: "#cfe3ff" }, inRange: { color: ["#17324d", "#1f6fb2", "#39c0ff", "#ffe066"] } },
      series: [{ type: "map", map: "china", name: k.t("orders"), roam: false, data: data,
        itemStyle: { areaColor: "#10243a", borderColor: "#5aa9e6" },
        emphasis: { label: { show: true, color: "#fff" }, itemStyle: { areaColor: "#ffb347" } } }],
    });
  }

  function drawFunnel() {
    const f = live.figures;
    charts.funnel.setOption({
      tooltip: { trigger: "item" },
      series: [{ type: "funnel", sort: "none", left: "8%", width: "84%", top: 8, bottom: 8, minSize: "25%",
        label: { position: "inside", color: "#06121f", formatter: function (p) { return p.name + " " + k.number(p.value); } },
        data: FUNNEL.map(function (s) { return { name: k.t(s[0]), value: f[s[1]] || 0 }; }) }],
    });
  }

  // What every name shares ("客快速运(…)有限公司", "…市转运中心") says nothing: show the rest.
  function distinctParts(names) {
    if (names.length < 2) return names;
    let head = names[0], tail = names[0];
    names.forEach(function (n) {
      while (!n.startsWith(head)) head = head.slice(0, -1);
      while (!n.endsWith(tail)) tail = tail.slice(1);
    });
    return names.map(function (n) {
      const rest = n.slice(head.length, n.length - tail.length);
      return rest || n;
    });
  }

  function bars(chart, pairs, horizontal) {
    const names = distinctParts(pairs.map(function (p) { return String(p[0]); }));
    const values = pairs.map(function (p) { return p[1]; });
    const category = { type: "category", data: names, axisLabel: { color: "#cfe3ff", interval: 0, fontSize: 11 } };
    const value = { type: "value", axisLabel: { color: "#cfe3ff" }, splitLine: { lineStyle: { color: "#1d3550" } } };
    chart.setOption({
      tooltip: { trigger: "axis" }, grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      xAxis: horizontal ? value : category, yAxis: horizontal ? Object.assign(category, { inverse: true }) : value,
      series: [{ type: "bar", data: values, itemStyle: { color: "#39c0ff" } }],
    });
  }

  function drawMinute() {
    const pairs = live.figures.orders_per_minute || [];
    charts.minute.setOption({
      tooltip: { trigger: "axis" }, grid: { left: 40, right: 16, top: 16, bottom: 28 },
      xAxis: { type: "category", data: pairs.map(function (p) { return p[0].slice(11); }), axisLabel: { color: "#cfe3ff" } },
      yAxis: { type: "value", axisLabel: { color: "#cfe3ff" }, splitLine: { lineStyle: { color: "#1d3550" } } },
      series: [{ type: "line", name: k.t("orders"), smooth: true, showSymbol: false, areaStyle: { opacity: 0.25 },
        data: pairs.map(function (p) { return p[1]; }), itemStyle: { color: "#ffe066" } }],
    });
  }

  function drawExceptions() {
    charts.exceptions.setOption({
      tooltip: { trigger: "item" },
      color: ["#ffb347", "#ff7b6b", "#c084fc", "#39c0ff"],
      legend: { bottom: 0, textStyle: { color: "#cfe3ff" } },
      series: [{ type: "pie", radius: ["35%", "60%"], center: ["50%", "45%"], label: { color: "#cfe3ff", formatter: "{c}" },
        data: (live.figures.exceptions_by_kind || []).map(function (p) { return { name: k.t(p[0]), value: p[1] }; }) }],
    });
  }

  function draw() {
    TILES.forEach(function (name) {
      document.getElementById("fig-" + name).textContent = k.number(live.figures[name]);
    });
    drawFunnel();
    drawMinute();
    bars(charts.hubs, live.figures.busiest_hubs || [], true);
    bars(charts.company, (live.figures.orders_by_company || []).slice(0, 10), true);
    drawExceptions();
    if (echarts.getMap("china")) drawMap();
  }

  function showAge() {
    const age = Math.max(0, Date.now() / 1000 - live.as_of);
    document.getElementById("age").textContent = age.toFixed(0);
  }

  function refresh() {
    fetch("/api/live", { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error("/api/live answered " + r.status); return r.json(); })
      .then(function (answer) { live = answer; draw(); showAge(); })
      .catch(function (err) { console.warn(err.message); })
      .finally(function () { setTimeout(refresh, Math.max(1, live.refresh_s) * 1000); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    ["map", "funnel", "minute", "hubs", "company", "exceptions"].forEach(function (name) {
      charts[name] = k.chart("chart-" + name);
    });
    draw();
    fetch("/static/vendor/china.json").then(function (r) { return r.json(); }).then(function (geo) {
      echarts.registerMap("china", geo);
      drawMap();
      document.body.dataset.mapReady = "1";
    });
    setInterval(showAge, 1000);
    setTimeout(refresh, Math.max(1, live.refresh_s) * 1000);
    document.addEventListener("kuaike:lang", draw);
  });
})();
