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
      el.on("plotly_click", function (ev) {
        var p = ev.points && ev.points[0];
        if (p) go("lookup.html#feature=" + p.customdata[0]);
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
    } else if (meta.kind === "sankey") {
      el.on("plotly_click", function (ev) {
        var p = ev.points && ev.points[0];
        var m = p && p.label && /c(\d+):/.exec(p.label);
        if (m && p.curveNumber === 0 && meta.pages[m[1]]) go(meta.pages[m[1]]);
      });
    } else if (meta.kind === "runs") {
      el.on("plotly_click", function (ev) {
        var p = ev.points && ev.points[0];
        if (p) go(meta.pages[p.customdata[0]]);
      });
    }
  }

  var plotlyReady = null;

  // plotly.js (4.8 MB) is loaded only by pages that draw a figure
  function ensurePlotly() {
    if (!plotlyReady) plotlyReady = window.Plotly ? Promise.resolve() : loadScript(siteBase() + "/assets/vendor/plotly.min.js");
    return plotlyReady;
  }

  // a run's map: its colours and labels joined with the coordinates every run shares
  function umapFigure(fig) {
    return loadScript(siteBase() + "/assets/data/umap.js").then(function () {
      var base = window.SAETAX_DATA.umap, meta = fig.meta, labels = meta.labels;
      var custom = base.feature.map(function (f, i) {
        return [f].concat(labels.map(function (l) { return l[i]; }));
      });
      var text = function (k) {
        var names = meta.names[k];
        return base.text.map(function (t, i) { return t + "<br>L" + k + " c" + labels[k][i] + ": " + (names[labels[k][i]] || ""); });
      };
      var colour = function (k) { return meta.colors[k].map(function (c) { return meta.palette[c]; }); };
      fig.data = [{
        type: "scattergl", mode: "markers", x: base.x, y: base.y, text: text(0), customdata: custom,
        hovertemplate: "%{text}<extra></extra>",
        marker: { size: 4, color: colour(0), opacity: 0.85 }
      }];
      fig.layout.updatemenus = [{
        type: "buttons", direction: "right", x: 0, y: 1.08, xanchor: "left",
        bgcolor: dark() ? "#3a3f58" : "#eef0f8", bordercolor: dark() ? "#8890b0" : "#9aa0b8",
        font: { color: dark() ? "#ffffff" : "#222222" },
        buttons: labels.map(function (l, k) {
          return { label: "level " + k, method: "restyle", args: [{ "marker.color": [colour(k)], text: [text(k)] }] };
        })
      }];
      fig._colour = colour;
      return fig;
    });
  }

  // highlight the features a query names on a map: an id, a token, or "L1 c5"
  function highlighter(el, fig) {
    var box = document.querySelector('.saetax-highlight[data-for="' + el.dataset.fig + '"]');
    if (!box) return;
    var input = box.querySelector("input"), note = box.querySelector("span");
    var base = window.SAETAX_DATA.umap, labels = fig.meta.labels;
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase(), m = /^l(\d+)\s*c(\d+)$/.exec(q.replace(/\s+/g, " "));
      var hit = base.feature.map(function (f, i) {
        if (!q) return true;
        if (/^\d+$/.test(q)) return String(f) === q;
        if (m) return labels[+m[1]] && labels[+m[1]][i] === +m[2];
        return base.text[i].toLowerCase().indexOf(q) >= 0;
      });
      var n = hit.filter(Boolean).length;
      Plotly.restyle(el, {
        "marker.opacity": [hit.map(function (h) { return q ? (h ? 1 : 0.08) : 0.85; })],
        "marker.size": [hit.map(function (h) { return q && h ? 9 : 4; })]
      });
      note.textContent = q ? " " + n + " feature" + (n === 1 ? "" : "s") + " highlighted" : "";
    });
  }

  function drawFigures() {
    var els = document.querySelectorAll(".saetax-plot[data-fig]");
    if (!els.length) return;
    ensurePlotly().then(function () {
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
            if (fig.meta && fig.meta.kind === "umap") highlighter(el, fig);
            el.setAttribute("data-rendered", "true");
          });
        }).catch(function (err) {
          el.textContent = "Figure could not be drawn: " + err.message;
        });
      });
    }).catch(function (err) {
      els.forEach(function (el) { el.textContent = "plotly.js could not be loaded: " + err.message; });
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
          table.dispatchEvent(new Event("saetax-sorted"));
        });
      });
    });
    function key(cell) {
      var raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
      var n = parseFloat(raw.replace("%", ""));
      return isNaN(n) ? raw : n;
    }
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function link(text, href) {
    var a = el("a", text);
    a.href = href;
    return a;
  }

  // where a family is shown: its own page, else its parent's page (which lists it), else
  // the nearest ancestor with a page, else (level 0) the run page's row for it
  function familyHref(run, level, c) {
    var own = ((run.pages || {})[String(level)] || {})[String(c)];
    if (own) return { href: own, own: true };
    if (level > 0) {
      var p = run.parents[level + ":" + c];
      var parentPage = ((run.pages || {})[String(level - 1)] || {})[String(p)];
      if (parentPage) return { href: parentPage + "#child-c" + c, own: false, where: "L" + (level - 1) + " c" + p };
      var up = clusterPage(run, level - 1, p);
      if (up) return { href: up, own: false, where: "an ancestor" };
    }
    return { href: run.run_page + "#fam-c" + c, own: false, where: "the run page" };
  }

  function tokenTable(D, ids, logits, title) {
    var t = el("table", null, "saetax-card-tokens"), head = el("tr");
    head.appendChild(el("th", title));
    head.appendChild(el("th", "logit"));
    t.appendChild(head);
    ids.forEach(function (v, i) {
      var tr = el("tr"), td = el("td");
      td.appendChild(el("code", D.vocab[v], "tok"));
      tr.appendChild(td);
      tr.appendChild(el("td", logits[i].toFixed(2)));
      t.appendChild(tr);
    });
    return t;
  }

  function card(D, f, out) {
    var base = siteBase() + "/";
    out.appendChild(el("h2", "Feature " + f));
    if (!D.kept[f]) {
      out.appendChild(el("p", D.junk[f] ? "Filtered out as junk before clustering (its top tokens are byte or special tokens)." : "Not in the clustered subsample."));
    }
    var row = el("div", null, "saetax-card-row");
    row.appendChild(tokenTable(D, D.top[f], D.top_logits[f], "promoted (top)"));
    row.appendChild(tokenTable(D, D.bottom[f], D.bottom_logits[f], "suppressed (bottom)"));
    out.appendChild(row);
    var near = el("p", "Nearest features by decoder cosine: ");
    D.neighbours[f].forEach(function (g, i) {
      if (i) near.appendChild(document.createTextNode(", "));
      near.appendChild(link(String(g), "#feature=" + g));
      near.appendChild(document.createTextNode(" (" + D.neighbour_cos[f][i].toFixed(2) + ")"));
    });
    out.appendChild(near);
    if (!D.kept[f]) return;
    out.appendChild(el("h3", "Its families"));
    var table = el("table", null, "saetax-card-paths"), head = el("tr");
    ["run", "family path, coarse → fine (features; stability)"].forEach(function (h) { head.appendChild(el("th", h)); });
    table.appendChild(head);
    D.runs.forEach(function (run) {
      if (!run._index) {
        run._index = {};
        run.paths.feature.forEach(function (id, i) { run._index[id] = i; });
      }
      var i = run._index[f];
      if (i === undefined) return;
      var tr = el("tr"), td = el("td");
      td.appendChild(link(run.id, base + run.run_page));
      td.appendChild(el("div", run.label, "saetax-card-label"));
      tr.appendChild(td);
      var cell = el("td");
      for (var k = 0; k < run.levels; k++) {
        var c = run.paths.labels[k][i];
        var fam = run.families[k + ":" + c] || [0, -1, 0];
        var target = familyHref(run, k, c);
        if (k > 0) cell.appendChild(document.createTextNode(" › "));
        var a = link("L" + k + " c" + c, base + target.href);
        if (!target.own) a.title = "shown in " + target.where;
        cell.appendChild(a);
        var info = " (" + fam[0] + (fam[1] >= 0 ? "; " + fam[1].toFixed(2) : "") + (fam[2] ? "; catch-all" : "") + ")";
        cell.appendChild(el("small", info));
      }
      tr.appendChild(cell);
      table.appendChild(tr);
    });
    out.appendChild(table);
    (D.evolutions || []).forEach(function (ev) {
      if (!ev._index) {
        ev._index = {};
        ev.feature.forEach(function (id, i) { ev._index[id] = i; });
      }
      var i = ev._index[f];
      if (i === undefined) return;
      var c = ev.family[i], p = el("p", "Evolution " + ev.name + ": its level-0 family ");
      var page = ev.pages[String(c)];
      p.appendChild(link("c" + c, base + (page || ev.overview)));
      p.appendChild(document.createTextNode(" exists since " + ev.since[String(c)] + "."));
      out.appendChild(p);
    });
  }

  function tokenSearch(D, query, out) {
    var q = query.trim().toLowerCase(), hits = [];
    var exact = {}, partial = {};
    D.vocab.forEach(function (t, v) {
      var s = t.trim().toLowerCase();
      if (s === q) exact[v] = true;
      else if (q.length >= 3 && s.indexOf(q) >= 0) partial[v] = true;
    });
    var any = Object.keys(exact).length ? exact : partial;
    for (var f = 0; f < D.top.length && hits.length < 200; f++) {
      if (D.top[f].some(function (v) { return any[v]; })) hits.push(f);
    }
    out.appendChild(el("h2", hits.length ? hits.length + (hits.length === 200 ? "+" : "") + " features with “" + query + "” among their top tokens" : "No feature has “" + query + "” among its top tokens."));
    var ul = el("ul");
    hits.forEach(function (f) {
      var li = el("li");
      li.appendChild(link("feature " + f, "#feature=" + f));
      li.appendChild(document.createTextNode(": "));
      D.top[f].slice(0, 6).forEach(function (v) { li.appendChild(el("code", D.vocab[v], "tok")); li.appendChild(document.createTextNode(" ")); });
      ul.appendChild(li);
    });
    out.appendChild(ul);
  }

  function lookup() {
    var input = document.getElementById("saetax-feature");
    if (!input) return;
    var out = document.getElementById("saetax-result");
    var ready = loadScript(siteBase() + "/assets/data/features.js");

    function show(value) {
      ready.then(function () {
        var D = window.SAETAX_DATA.features;
        var text = String(value).trim();
        out.textContent = "";
        if (text === "") return;
        if (/^\d+$/.test(text)) {
          var f = parseInt(text, 10);
          if (f >= D.top.length) {
            out.appendChild(el("p", "No feature " + text + ": ids run from 0 to " + (D.top.length - 1) + "."));
            return;
          }
          card(D, f, out);
          history.replaceState(null, "", "#feature=" + f);
        } else {
          tokenSearch(D, text, out);
          history.replaceState(null, "", "#token=" + encodeURIComponent(text));
        }
      }).catch(function (err) { out.textContent = err.message; });
    }

    function fromHash() {
      var m = /[#&?]feature=(\d+)/.exec(window.location.href);
      var t = /[#&?]token=([^&]*)/.exec(window.location.href);
      if (m) { input.value = m[1]; show(m[1]); }
      else if (t) { input.value = decodeURIComponent(t[1]); show(input.value); }
    }

    document.getElementById("saetax-find").addEventListener("click", function () { show(input.value); });
    input.addEventListener("keydown", function (e) { if (e.key === "Enter") show(input.value); });
    window.addEventListener("hashchange", fromHash);
    fromHash();
  }

  // long tables: a filter box and rows shown a page at a time
  function pagers() {
    document.querySelectorAll("table[data-page-size]").forEach(function (table) {
      var size = parseInt(table.dataset.pageSize, 10), shown = size;
      if (table.tBodies[0].rows.length <= size) return;
      var bar = el("div", null, "saetax-pager");
      var filter = el("input");
      filter.type = "search";
      filter.placeholder = "filter rows (token, family, feature id)";
      filter.setAttribute("aria-label", "filter table rows");
      var more = el("button", "show more");
      more.type = "button";
      var count = el("span");
      bar.appendChild(filter);
      bar.appendChild(more);
      bar.appendChild(count);
      table.parentNode.insertBefore(bar, table);
      function apply() {
        var q = filter.value.trim().toLowerCase(), n = 0, match = 0;
        Array.prototype.slice.call(table.tBodies[0].rows).forEach(function (r) {
          var ok = !q || r.textContent.toLowerCase().indexOf(q) >= 0;
          if (ok) match++;
          var show = ok && n < shown;
          if (show) n++;
          r.style.display = show ? "" : "none";
        });
        count.textContent = " " + n + " of " + match + " rows";
        more.style.display = n < match ? "" : "none";
      }
      filter.addEventListener("input", function () { shown = size; apply(); });
      more.addEventListener("click", function () { shown += size; apply(); });
      table.addEventListener("saetax-sorted", apply);
      apply();
    });
  }

  function start() {
    drawFigures();
    sortableTables();
    pagers();
    lookup();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
