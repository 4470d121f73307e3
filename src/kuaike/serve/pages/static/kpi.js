// A KPI report's charts, drawn from the rows the page was rendered with (the /api/kpi answer).
(function () {
  "use strict";
  const k = window.kuaike;
  const report = window.KUAIKE_KPI;
  const columns = report.columns;
  const key = report.key;
  const rows = report.rows;
  const dayAt = columns.indexOf("day");
  const charts = {};

  // JSON numbers, and decimals (sent as exact strings with a point); a phone number is text
  function isNumber(v) { return typeof v === "number" || (typeof v === "string" && /^-?\d+\.\d+$/.test(v)); }
  function numericColumns() {
    return columns.filter(function (c, i) {
      return key.indexOf(c) < 0 && rows.length > 0 && rows.some(function (r) { return isNumber(r[i]); })
        && rows.every(function (r) { return r[i] === null || isNumber(r[i]); });
    });
  }
  function categoryColumns() {
    return columns.filter(function (c, i) {
      if (key.indexOf(c) >= 0 || numericColumns().indexOf(c) >= 0) return false;
      const seen = new Set(rows.map(function (r) { return r[i]; }));
      return seen.size > 0 && seen.size <= 40;
    });
  }
  // rates and averages are averaged over the rows of a group; counts and amounts are summed
  function averaged(metricAt) { return metricAt >= 0 && /(_rate|_ratio|_share)$|^avg_|^average_/.test(columns[metricAt]); }
  function sumBy(at, metricAt) {
    const sums = new Map();
    const counts = new Map();
    rows.forEach(function (r) {
      const name = r[at] === null ? "–" : String(r[at]);
      if (metricAt >= 0 && r[metricAt] === null) return;
      sums.set(name, (sums.get(name) || 0) + (metricAt < 0 ? 1 : Number(r[metricAt])));
      counts.set(name, (counts.get(name) || 0) + 1);
    });
    return Array.from(sums.entries()).map(function (e) {
      return averaged(metricAt) ? [e[0], Math.round(e[1] / counts.get(e[0]) * 1000) / 1000] : e;
    });
  }
  const axis = { axisLabel: { color: "#345" } };

  function line(chart, pairs, name) {
    chart.setOption({
      tooltip: { trigger: "axis" }, grid: { left: 56, right: 16, top: 16, bottom: 28 },
      xAxis: Object.assign({ type: "category", data: pairs.map(function (p) { return p[0]; }) }, axis),
      yAxis: Object.assign({ type: "value" }, axis),
      series: [{ type: "line", name: name, data: pairs.map(function (p) { return p[1]; }), itemStyle: { color: "#1f6fb2" } }],
    }, true);
  }
  function bars(chart, pairs, name) {
    chart.setOption({
      tooltip: { trigger: "axis" }, grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      title: { text: name, right: 0, top: 0, textStyle: { fontSize: 11, color: "#678", fontWeight: "normal" } },
      yAxis: { type: "category", inverse: true, data: pairs.map(function (p) { return p[0]; }), axisLabel: { color: "#345", interval: 0, fontSize: 11 } },
      xAxis: Object.assign({ type: "value" }, axis),
      series: [{ type: "bar", name: name, data: pairs.map(function (p) { return p[1]; }), itemStyle: { color: "#f08c2e" } }],
    }, true);
  }

  function draw() {
    const metric = document.getElementById("metric").value;
    const metricAt = columns.indexOf(metric);
    const label = (metric || k.t("rows")) + (averaged(metricAt) ? " (avg)" : "");
    if (dayAt >= 0) {
      line(charts.trend, sumBy(dayAt, metricAt).sort(function (a, b) { return a[0] < b[0] ? -1 : 1; }), label);
    } else {
      const category = categoryColumns()[0];
      bars(charts.trend, category ? sumBy(columns.indexOf(category), -1).sort(function (a, b) { return b[1] - a[1]; }).slice(0, 15) : [], category || "");
    }
    if (key.length > 1) {
      const by = columns.indexOf(key[1]);
      bars(charts.breakdown, sumBy(by, metricAt).sort(function (a, b) { return b[1] - a[1]; }).slice(0, 15)
        .map(function (p) { return [key[1] + " " + p[0], p[1]]; }), label);
    } else if (dayAt >= 0 && rows.length) {
      const last = rows[rows.length - 1];
      bars(charts.breakdown, numericColumns().map(function (c) { return [c, Number(last[columns.indexOf(c)] || 0)]; }), String(last[dayAt]));
    } else {
      const category = categoryColumns()[1] || categoryColumns()[0];
      bars(charts.breakdown, category ? sumBy(columns.indexOf(category), -1).sort(function (a, b) { return b[1] - a[1]; }).slice(0, 15) : [], category || "");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const select = document.getElementById("metric");
    numericColumns().forEach(function (c) {
      const option = document.createElement("option");
      option.value = c; option.textContent = c;
      select.appendChild(option);
    });
    if (!select.options.length) select.parentElement.hidden = true;  // nothing to sum
    if (!document.getElementById("chart-trend")) return;  // not built yet
    charts.trend = k.chart("chart-trend");
    charts.breakdown = k.chart("chart-breakdown");
    select.addEventListener("change", draw);
    draw();
    document.addEventListener("kuaike:lang", draw);
  });
})();
