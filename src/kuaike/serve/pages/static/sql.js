// The console: runs the editor's statement through /api/sql and shows the rows or the refusal.
(function () {
  "use strict";
  const k = window.kuaike;
  let result = window.KUAIKE_SQL;

  function cell(v) { return v === null || v === undefined ? "" : String(v); }
  function show(answer) {
    result = answer;
    const table = document.getElementById("sql-rows");
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    answer.columns.forEach(function (c) {
      const th = document.createElement("th");
      th.textContent = c.name; th.title = c.type;
      head.appendChild(th);
    });
    const body = table.createTBody();
    answer.rows.forEach(function (row) {
      const tr = body.insertRow();
      row.forEach(function (v) { tr.insertCell().textContent = cell(v); });
    });
    document.getElementById("sql-count").textContent =
      answer.row_count + " " + k.t("rows") + " · " + answer.elapsed_ms + " " + k.t("elapsed_ms");
    document.getElementById("refusal").hidden = true;
  }
  function refuse(line) {
    document.getElementById("refusal-line").textContent = line;
    document.getElementById("refusal").hidden = false;
    document.getElementById("sql-count").textContent = "";
    document.getElementById("sql-rows").replaceChildren();
    result = null;
  }
  function run(event) {
    if (event) event.preventDefault();
    const sql = document.getElementById("sql").value;
    history.replaceState(null, "", "/sql?q=" + encodeURIComponent(sql));
    fetch("/api/sql", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ sql: sql }) })
      .then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
      .then(function (answer) { if (answer[0]) show(answer[1]); else refuse(answer[1].error); })
      .catch(function (err) { refuse(String(err)); });
  }
  function csv() {
    if (!result) return;
    const quote = function (v) { const s = cell(v); return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
    const lines = [result.columns.map(function (c) { return quote(c.name); }).join(",")]
      .concat(result.rows.map(function (r) { return r.map(quote).join(","); }));
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" }));
    link.download = "kuaike-query.csv";
    link.click();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.getElementById("sql-form").addEventListener("submit", run);
    document.getElementById("sql-csv").addEventListener("click", csv);
    document.getElementById("sql").addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) run(e);
    });
    document.querySelectorAll("a.example").forEach(function (a) {
      a.addEventListener("click", function (e) {
        e.preventDefault();
        document.getElementById("sql").value = a.getAttribute("data-sql");
        run();
      });
    });
  });
})();
