"use strict";
// Filters and sorting for the findings table. The state lives in the URL hash
// (#check=env-secret&severity=high&namespace=shop&fixable=yes&q=text&sort=namespace&dir=desc),
// so a filtered view can be bookmarked or shared. Everything works on the rows the page
// already holds; nothing is fetched. At most PAGE matching rows are listed at a time ("Show
// more" lists the next ones), so a report of any size lays out and filters quickly.
(function () {
  var table = document.getElementById("findings-table");
  var form = document.getElementById("filters");
  var shown = document.getElementById("shown");
  var more = document.getElementById("more");
  var everything = document.getElementById("all");
  if (!table || !form || !shown || !more || !everything) return;
  var tbody = table.tBodies[0];
  var KEYS = ["check", "severity", "namespace", "fixable", "q", "sort", "dir"];
  var COLUMNS = ["severity", "check", "namespace", "object", "container", "message", "fix"];
  var RANK = { high: 3, medium: 2, low: 1 };
  var PAGE = 500;
  var limit = PAGE;
  var collator = new Intl.Collator(undefined, { numeric: true });
  var rows = Array.prototype.map.call(tbody.rows, function (tr, i) {
    var c = tr.cells;
    return {
      tr: tr,
      index: i,
      severity: c[0].textContent,
      check: c[1].textContent,
      namespace: c[2].textContent,
      object: c[3].textContent,
      container: c[4].textContent,
      message: c[5].textContent,
      fix: c[6].textContent,
      fixable: tr.classList.contains("fixable") ? "yes" : "no",
      text: null
    };
  });
  var order = ":1"; // the order the page was written in
  var listed = rows; // rows in display order

  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    var state = {};
    KEYS.forEach(function (k) { state[k] = params.get(k) || ""; });
    return state;
  }

  function writeHash(state) {
    var params = new URLSearchParams();
    KEYS.forEach(function (k) { if (state[k]) params.set(k, state[k]); });
    var hash = params.toString();
    history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
  }

  function formState() {
    var state = readHash();
    ["check", "severity", "namespace", "fixable", "q"].forEach(function (k) {
      state[k] = form.elements[k].value;
    });
    return state;
  }

  function setSelect(select, value) {
    // A value that the page has no option for (a hand-edited link) still filters.
    if (value && !Array.prototype.some.call(select.options, function (o) { return o.value === value; })) {
      select.add(new Option(value, value));
    }
    select.value = value;
  }

  function sortRows(state) {
    var key = COLUMNS.indexOf(state.sort) >= 0 ? state.sort : "";
    var dir = state.dir === "desc" ? -1 : 1;
    var want = key + ":" + dir;
    if (want === order) return;
    order = want;
    var sorted = rows.slice();
    if (key) {
      sorted.sort(function (a, b) {
        var x = key === "severity" ? RANK[a.severity] - RANK[b.severity]
          : collator.compare(a[key], b[key]);
        return x * dir || a.index - b.index;
      });
    }
    var fragment = document.createDocumentFragment();
    sorted.forEach(function (r) { fragment.appendChild(r.tr); });
    tbody.appendChild(fragment);
    listed = sorted;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      var k = th.getAttribute("data-key");
      if (k === key) th.setAttribute("aria-sort", dir < 0 ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    });
  }

  function apply(state) {
    ["check", "severity", "namespace", "fixable"].forEach(function (k) {
      setSelect(form.elements[k], state[k]);
    });
    form.elements.q.value = state.q;
    sortRows(state);
    var q = state.q.toLowerCase();
    var n = 0;
    var visible = 0;
    listed.forEach(function (r) {
      var match = (!state.check || r.check === state.check) &&
        (!state.severity || r.severity === state.severity) &&
        (!state.namespace || r.namespace === state.namespace) &&
        (!state.fixable || r.fixable === state.fixable);
      if (match && q) {
        if (r.text === null) r.text = r.tr.textContent.toLowerCase();
        match = r.text.indexOf(q) >= 0;
      }
      if (match) n++;
      var show = match && visible < limit;
      if (show) visible++;
      if (r.tr.hidden === show) r.tr.hidden = !show;
    });
    var text = n === rows.length
      ? rows.length + (rows.length === 1 ? " finding" : " findings")
      : "Showing " + n + " of " + rows.length + " findings";
    if (visible < n) text += " (the first " + visible + " listed)";
    shown.textContent = text;
    shown.setAttribute("data-shown", String(n));
    shown.setAttribute("data-listed", String(visible));
    more.hidden = everything.hidden = visible >= n;
    more.textContent = "Show " + Math.min(PAGE, n - visible) + " more";
    everything.textContent = "Show all " + n;
  }

  function update(state) {
    limit = PAGE;
    writeHash(state);
    apply(state);
  }

  form.addEventListener("change", function () { update(formState()); });
  var typing = 0;
  form.elements.q.addEventListener("input", function () {
    clearTimeout(typing);
    typing = setTimeout(function () { update(formState()); }, 150);
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  form.addEventListener("reset", function (e) {
    e.preventDefault();
    var state = readHash();
    ["check", "severity", "namespace", "fixable", "q"].forEach(function (k) { state[k] = ""; });
    update(state);
  });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    var button = th.querySelector("button");
    if (!button) return;
    button.addEventListener("click", function () {
      var state = readHash();
      var key = th.getAttribute("data-key");
      if (state.sort === key) {
        state.dir = state.dir === "desc" ? "" : "desc";
      } else {
        state.sort = key;
        state.dir = key === "severity" ? "desc" : "";
      }
      update(state);
    });
  });
  // Chart bars filter the table (keeping the other filters).
  Array.prototype.forEach.call(document.querySelectorAll("a[data-filter]"), function (a) {
    a.addEventListener("click", function (e) {
      e.preventDefault();
      var state = readHash();
      var k = a.getAttribute("data-filter");
      var v = a.getAttribute("data-value");
      state[k] = state[k] === v ? "" : v;
      update(state);
      table.scrollIntoView();
    });
  });
  more.addEventListener("click", function () {
    limit += PAGE;
    apply(readHash());
  });
  everything.addEventListener("click", function () {
    limit = Infinity;
    apply(readHash());
  });
  window.addEventListener("hashchange", function () {
    limit = PAGE;
    apply(readHash());
  });

  apply(readHash());
  form.hidden = false;
  document.documentElement.classList.add("js");
})();
