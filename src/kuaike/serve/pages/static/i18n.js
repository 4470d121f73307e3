// Labels in Chinese and English: the switch relabels the page in place and remembers the
// choice (localStorage, and the kuaike_lang cookie the server renders the next page with).
(function () {
  "use strict";
  const labels = window.KUAIKE_LABELS || {};
  const charts = [];
  const kuaike = {
    lang: window.KUAIKE_LANG === "en" ? "en" : "zh",
    t(key) {
      const pair = labels[key];
      return pair ? pair[kuaike.lang === "en" ? 1 : 0] : key;
    },
    setLang(lang) {
      kuaike.lang = lang === "en" ? "en" : "zh";
      try { localStorage.setItem("kuaike_lang", kuaike.lang); } catch (e) { /* private mode */ }
      document.cookie = "kuaike_lang=" + kuaike.lang + "; path=/; max-age=31536000; samesite=lax";
      document.documentElement.lang = kuaike.lang === "en" ? "en" : "zh-CN";
      document.body.classList.remove("lang-zh", "lang-en");
      document.body.classList.add("lang-" + kuaike.lang);
      document.querySelectorAll("[data-i18n]").forEach(function (el) {
        el.textContent = kuaike.t(el.getAttribute("data-i18n"));
      });
      document.querySelectorAll("[data-i18n-placeholder]").forEach(function (el) {
        el.placeholder = kuaike.t(el.getAttribute("data-i18n-placeholder"));
      });
      document.dispatchEvent(new CustomEvent("kuaike:lang", { detail: kuaike.lang }));
    },
    chart(id) {
      const el = document.getElementById(id);
      if (!el) return null;
      const chart = echarts.init(el, null, { renderer: "canvas" });
      charts.push(chart);
      return chart;
    },
    number(n) {
      return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US");
    },
  };
  window.kuaike = kuaike;
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  document.addEventListener("DOMContentLoaded", function () {
    let remembered = null;
    try { remembered = localStorage.getItem("kuaike_lang"); } catch (e) { /* private mode */ }
    if (remembered && remembered !== kuaike.lang) kuaike.setLang(remembered);
    document.getElementById("lang-switch").addEventListener("click", function () {
      kuaike.setLang(kuaike.lang === "en" ? "zh" : "en");
    });
  });
})();
