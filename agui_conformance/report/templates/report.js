(function () {
  "use strict";
  function applyMatrix() {
    var get = function (id) { var el = document.getElementById(id); return el ? el.value : ""; };
    var category = get("f-category"), level = get("f-level"), status = get("f-status");
    var text = get("f-text").toLowerCase();
    var rows = document.querySelectorAll("#matrix tbody tr");
    var shown = 0;
    rows.forEach(function (row) {
      var ok = (!category || row.dataset.category === category) &&
        (!level || row.dataset.level === level) &&
        (!status || row.dataset.status === status) &&
        (!text || row.dataset.text.indexOf(text) !== -1);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    var counter = document.getElementById("matrix-count");
    if (counter) { counter.textContent = shown + " of " + rows.length + " requirements shown"; }
  }
  function applyCases() {
    var box = document.getElementById("f-failed-cases");
    var only = box && box.checked;
    document.querySelectorAll("details.case").forEach(function (el) {
      el.hidden = only && !el.classList.contains("failed");
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    ["f-category", "f-level", "f-status", "f-text"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) { el.addEventListener("input", applyMatrix); el.addEventListener("change", applyMatrix); }
    });
    var box = document.getElementById("f-failed-cases");
    if (box) { box.addEventListener("change", applyCases); }
    document.querySelectorAll("a.to-case, a.to-event").forEach(function (link) {
      link.addEventListener("click", function () {
        // open every folded section around the target (its case, a run's details) first,
        // so the browser can scroll to it
        var node = document.getElementById(link.getAttribute("href").slice(1));
        for (; node; node = node.parentElement) {
          if (node.tagName === "DETAILS") { node.open = true; }
          if (node.hidden) { node.hidden = false; }
        }
      });
    });
    applyMatrix();
    applyCases();
  });
})();
