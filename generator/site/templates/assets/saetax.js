/* art-sae-taxonomy site script: figures from .js side files, click-through, sortable
   tables, feature lookup. Works from file:// (no fetch, no network). Token text is only
   ever inserted with textContent. */
(function () {
  "use strict";

  function siteBase() {
    try {
      return JSON.parse(document.getElementById("__config").textContent).base || ".";
    } catch (e) {
      return ".";
    }
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = function () { reject(new Error("could not load " + src)); };
      document.head.appendChild(s);
    });
  }

  function go(path) {
    if (path) window.location.href = siteBase() + "/" + path;
  }

  function dark() {
    return document.body.getAttribute("data-md-color-scheme") === "slate";
  }

  function themed(layout) {
    var fg = dark() ? "#e6e6e6" : "#222";
    layout = Object.assign({}, layout);
    layout.paper_bgcolor = "rgba(0,0,0,0)";
    layout.plot_bgcolor = "rgba(0,0,0,0)";
    layout.font = Object.assign({}, layout.font || {}, { color: fg });
    return layout;
  }

  // the page that shows cluster `c` at `level`: its own, else the nearest ancestor's
  function clusterPage(meta, level, c) {
    while (level >= 0) {
      var pages = (meta.pages || {})[String(level)] || {};
      if (pages[String(c)]) return pages[String(c)];
      c = (meta.parents || {})[level + ":" + c];
      level -= 1;
    }
    return null;
  }

  function attach(el, fig) {
    var meta = fig.meta || {};
    if (meta.kind === "umap") {
      var level = 0;
      el.on("plotly_buttonclicked", function (ev) {
        var m = /level (\d+)/.exec(ev.button.label || "");
        if (m) level = parseInt(m[1], 10);
      });
      el.on("plotly_click", function (ev) {
        var p = ev.points && ev.points[0];
        if (p) go(clusterPage(meta, level, p.customdata[level + 1]));
      });
    } else if (meta.kind === "sunburst") {
      var pick = document.querySelector('.saetax-pick[data-for="' + el.dataset.fig + '"]');
      el.on("plotly_sunburstclick", function (ev) {
        var p = ev.points && ev.points[0];
        if (!p || !pick) return;
        var target = meta.pages[p.id];
        pick.textContent = "";
        if (target) {
          var a = document.createElement("a");
          a.href = siteBase() + "/" + target;
          a.textContent = "Open family " + p.id.replace("L", "level ").replace("c", ", cluster ");
          pick.appendChild(a);
        } else {
          pick.textContent = p.id + " has no page of its own (small family); see its parent.";
        }
      });
    } else if (meta.kind === "runs") {
      el.on("plotly_click", function (ev) {
        var p = ev.points && ev.points[0];
        if (p) go(meta.pages[p.customdata[0]]);
      });
    }
  }

  var GOLDEN = 0.6180339887498949;

  function colours(labels) {
    return labels.map(function (c) { return (c * GOLDEN) % 1; });
  }

  // a run's map: its labels joined with the coordinates every run shares
  function umapFigure(fig) {
    return loadScript(siteBase() + "/assets/data/umap.js").then(function () {
      var base = window.SAETAX_DATA.umap, labels = fig.meta.labels;
      var custom = base.feature.map(function (f, i) {
        return [f].concat(labels.map(function (l) { return l[i]; }));
      });
      var hover = function (k) { return "%{text}<br>cluster L" + k + " %{customdata[" + (k + 1) + "]}<extra></extra>"; };
      fig.data = [{
        type: "scattergl", mode: "markers", x: base.x, y: base.y, text: base.text, customdata: custom,
        hovertemplate: hover(0),
        marker: { size: 4, color: colours(labels[0]), colorscale: "Turbo", cmin: 0, cmax: 1, opacity: 0.8 }
      }];
      fig.layout.updatemenus = [{
        type: "buttons", direction: "right", x: 0, y: 1.08, xanchor: "left",
        buttons: labels.map(function (l, k) {
          return { label: "level " + k, method: "restyle", args: [{ "marker.color": [colours(l)], hovertemplate: hover(k) }] };
        })
      }];
      return fig;
    });
  }

  function drawFigures() {
    var els = document.querySelectorAll(".saetax-plot[data-fig]");
    els.forEach(function (el) {
      var id = el.dataset.fig;
      loadScript(siteBase() + "/assets/figs/" + id + ".js").then(function () {
        var fig = window.SAETAX_FIGS[id];
        return fig.meta && fig.meta.kind === "umap" ? umapFigure(fig) : fig;
      }).then(function (fig) {
        return Plotly.newPlot(el, fig.data, themed(fig.layout), {
          responsive: true, displaylogo: false, showSendToCloud: false, showEditInChartStudio: false,
          modeBarButtonsToRemove: ["sendDataToCloud", "editInChartStudio"]
        }).then(function () {
          attach(el, fig);
          el.setAttribute("data-rendered", "true");
        });
      }).catch(function (err) {
        el.textContent = "Figure could not be drawn: " + err.message;
      });
    });
  }

  function sortableTables() {
    document.querySelectorAll("table[data-sortable]").forEach(function (table) {
      var heads = table.querySelectorAll("thead th");
      heads.forEach(function (th, col) {
        th.addEventListener("click", function () {
          var asc = !th.classList.contains("sorted-asc");
          heads.forEach(function (h) { h.classList.remove("sorted-asc", "sorted-desc"); });
          th.classList.add(asc ? "sorted-asc" : "sorted-desc");
          var body = table.tBodies[0];
          var rows = Array.prototype.slice.call(body.rows);
          rows.sort(function (a, b) {
            var x = key(a.cells[col]), y = key(b.cells[col]);
            var r = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
            return asc ? r : -r;
          });
          rows.forEach(function (r) { body.appendChild(r); });
        });
      });
    });
    function key(cell) {
      var raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
      var n = parseFloat(raw.replace("%", ""));
      return isNaN(n) ? raw : n;
    }
  }

  function lookup() {
    var input = document.getElementById("saetax-feature");
    if (!input) return;
    var out = document.getElementById("saetax-result");
    var ready = loadScript(siteBase() + "/assets/data/features.js");

    function el(tag, text, cls) {
      var e = document.createElement(tag);
      if (text !== undefined) e.textContent = text;
      if (cls) e.className = cls;
      return e;
    }

    function show() {
      ready.then(function () {
        var D = window.SAETAX_DATA.features;
        var f = parseInt(input.value, 10);
        out.textContent = "";
        if (isNaN(f) || f < 0 || f >= D.tokens.length) {
          out.appendChild(el("p", "No feature " + input.value + ": ids run from 0 to " + (D.tokens.length - 1) + "."));
          return;
        }
        out.appendChild(el("h2", "Feature " + f));
        var p = el("p", "Own top tokens: ");
        D.tokens[f].forEach(function (t) { p.appendChild(el("code", t, "tok")); p.appendChild(document.createTextNode(" ")); });
        out.appendChild(p);
        if (!D.kept[f]) {
          out.appendChild(el("p", D.junk[f] ? "Filtered out as junk before clustering." : "Not in the clustered subsample."));
          return;
        }
        var table = el("table"), head = el("tr");
        ["run", "family path (coarse → fine)"].forEach(function (h) { head.appendChild(el("th", h)); });
        table.appendChild(head);
        D.runs.forEach(function (run) {
          if (!run._index) {
            run._index = {};
            run.paths.feature.forEach(function (id, i) { run._index[id] = i; });
          }
          var i = run._index[f];
          var tr = el("tr"), td = el("td");
          var a = el("a", run.id);
          a.href = siteBase() + "/" + run.run_page;
          td.appendChild(a);
          tr.appendChild(td);
          var cell = el("td");
          for (var k = 0; k < run.levels; k++) {
            var c = run.paths.labels[k][i];
            var target = clusterPage(run, k, c);
            var link = el(target ? "a" : "span", "L" + k + " c" + c);
            if (target) link.href = siteBase() + "/" + target;
            if (k > 0) cell.appendChild(document.createTextNode(" › "));
            cell.appendChild(link);
          }
          tr.appendChild(cell);
          table.appendChild(tr);
        });
        out.appendChild(table);
      }).catch(function (err) { out.textContent = err.message; });
    }

    document.getElementById("saetax-find").addEventListener("click", show);
    input.addEventListener("keydown", function (e) { if (e.key === "Enter") show(); });
    var m = /[?&#]feature=(\d+)/.exec(window.location.href);
    if (m) { input.value = m[1]; show(); }
  }

  function start() {
    drawFigures();
    sortableTables();
    lookup();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
