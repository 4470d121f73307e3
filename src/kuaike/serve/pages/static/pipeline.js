// The pipeline page: sources' lag and changes/s from /api/pipeline every few seconds.
(function () {
  "use strict";
  const k = window.kuaike;
  const history = {};
  let chart = null;

  function size(n) {
    if (typeof n !== "number") return "–";
    if (n >= 1e6) return (n / 1e6).toFixed(1) + " MB";
    if (n >= 1e3) return (n / 1e3).toFixed(1) + " kB";
    return n + " B";
  }
  function update(overview) {
    const now = new Date().toTimeString().slice(0, 8);
    overview.sources.forEach(function (s) {
      (history[s.source] = history[s.source] || []).push([now, s.changes_per_s || 0]);
      const row = document.querySelector('tr[data-source="' + s.source + '"]');
      if (!row) return;
      const set = function (field, text) { row.querySelector('[data-field="' + field + '"]').textContent = text; };
      set("phase", s.phase);
      set("position", s.position || "–");
      set("lag", size(s.lag_bytes) + " · " + (s.lag_s === null ? "–" : s.lag_s) + " s");
      set("retained_wal", size(s.retained_wal_bytes));
      set("changes_per_s", String(s.changes_per_s || 0));
      set("dead_letters", String(s.dead_letters || 0));
      set("last_error", s.last_error || s.source_error || "");
    });
    const names = Object.keys(history);
    const times = names.length ? history[names[0]].map(function (p) { return p[0]; }) : [];
    chart.setOption({
      tooltip: { trigger: "axis" }, legend: { data: names }, grid: { left: 48, right: 16, top: 32, bottom: 28 },
      xAxis: { type: "category", data: times }, yAxis: { type: "value" },
      series: names.map(function (n) { return { type: "line", name: n, showSymbol: false, data: history[n].map(function (p) { return p[1]; }) }; }),
    });
  }
  function poll() {
    fetch("/api/pipeline", { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error("/api/pipeline answered " + r.status); return r.json(); })
      .then(update)
      .catch(function (err) { console.warn(err.message); })
      .finally(function () { setTimeout(poll, 5000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    chart = k.chart("chart-changes");
    update(window.KUAIKE_PIPELINE);
    setTimeout(poll, 5000);
  });
})();
