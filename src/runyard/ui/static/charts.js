// Line charts of metric histories, drawn as SVG. Data comes downsampled from
// /w/<ws>/charts/metrics; the page's controls (x axis, smoothing, log scale) redraw every chart.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = ["#3b5bdb", "#e8590c", "#2f9e44", "#c2255c", "#7048e8", "#1098ad", "#f08c00",
                "#5c940d", "#d6336c", "#495057", "#0b7285", "#a61e4d", "#364fc7", "#862e9c",
                "#087f5b", "#e67700", "#5f3dc4", "#c92a2a", "#2b8a3e", "#1864ab"];
  var M = {l: 58, r: 14, t: 10, b: 30};

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(node);
    return node;
  }
  function settings() {
    var x = document.getElementById("x-axis"), s = document.getElementById("smoothing"),
        log = document.getElementById("log-y");
    return {x: x ? x.value : "step", smoothing: s ? parseFloat(s.value) : 0, log: !!(log && log.checked)};
  }
  function ticks(lo, hi, n) {
    if (!(hi > lo)) { hi = lo + 1; lo = lo - 1; }
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
    var err = (hi - lo) / n / step;
    step *= err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
    return out;
  }
  function fmt(v) {
    if (v === null || v === undefined || isNaN(v)) return "–";
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
    return String(Math.round(v * 1e4) / 1e4);
  }
  function fmtX(v, mode) {
    if (mode === "time") { var d = new Date(v); return d.toISOString().slice(11, 19); }
    if (mode === "relative") return v < 120 ? fmt(v) + "s" : fmt(v / 60) + "m";
    return fmt(v);
  }
  function smooth(ys, w) {
    if (!w) return ys;
    var out = [], last = 0, n = 0;
    for (var i = 0; i < ys.length; i++) {
      if (ys[i] === null) { out.push(null); continue; }
      last = last * w + (1 - w) * ys[i]; n++;
      out.push(last / (1 - Math.pow(w, n)));  // debiased, as TensorBoard does
    }
    return out;
  }

  function Chart(node) {
    this.node = node; this.data = null;
    this.picker = node.dataset.keysFrom ? document.getElementById(node.dataset.keysFrom) : null;
    var self = this;
    if (this.picker) this.picker.addEventListener("change", function () { self.load(); });
    this.load();
  }
  Chart.prototype.url = function () {
    var url = this.node.dataset.src;
    if (this.picker) {
      var keys = Array.prototype.map.call(this.picker.querySelectorAll("input:checked"),
        function (i) { return "key=" + encodeURIComponent(i.value); });
      if (!keys.length) return null;
      url += (url.indexOf("?") < 0 ? "?" : "&") + keys.join("&");
    }
    return url + "&points=" + Math.max(200, Math.min(2000, Math.round((this.node.clientWidth || 600) * 1.5)));
  };
  Chart.prototype.load = function () {
    var self = this, url = this.url();
    if (!url) { this.data = {series: []}; this.draw(); return; }
    this.node.setAttribute("aria-busy", "true");
    fetch(url, {credentials: "same-origin"}).then(function (r) {
      return r.json().then(function (body) { if (!r.ok) throw new Error(body.message || r.status); return body; });
    }).then(function (body) { self.data = body; self.draw(); }).catch(function (e) {
      self.node.innerHTML = ""; var p = document.createElement("p"); p.className = "msg error";
      p.textContent = "Could not load the chart: " + e.message; self.node.appendChild(p);
    }).then(function () { self.node.removeAttribute("aria-busy"); });
  };
  Chart.prototype.draw = function () {
    var node = this.node, s = settings(), series = (this.data && this.data.series) || [];
    node.innerHTML = "";
    if (!series.length) { var p = document.createElement("p"); p.className = "msg"; p.textContent = "Pick a metric to draw."; node.appendChild(p); return; }
    var W = Math.max(node.clientWidth, 280), H = node.classList.contains("big") ? 320 : 220;
    var label = node.dataset.label || "key";
    var prepared = series.map(function (sr, i) {
      var t0 = sr.points.length ? sr.points[0][1] : 0;
      var xs = sr.points.map(function (p) { return s.x === "step" ? p[0] : s.x === "time" ? p[1] : (p[1] - t0) / 1000; });
      var raw = sr.points.map(function (p) { return p[2] === null || (s.log && p[2] <= 0) ? null : p[2]; });
      var band = (sr.band || []).map(function (b, j) { return [xs[j], b[1], b[2]]; });
      return {name: label === "run" ? sr.run_name : sr.key, xs: xs, raw: raw, ys: smooth(raw, s.smoothing),
              band: band, total: sr.total, color: COLORS[i % COLORS.length]};
    });
    var xlo = Infinity, xhi = -Infinity, ylo = Infinity, yhi = -Infinity;
    prepared.forEach(function (p) {
      p.xs.forEach(function (x, i) {
        if (p.raw[i] === null) return;
        xlo = Math.min(xlo, x); xhi = Math.max(xhi, x);
        ylo = Math.min(ylo, p.raw[i]); yhi = Math.max(yhi, p.raw[i]);
      });
    });
    if (!isFinite(xlo)) { xlo = 0; xhi = 1; ylo = 0; yhi = 1; }
    var ty = s.log ? function (v) { return Math.log10(v); } : function (v) { return v; };
    var lo = ty(ylo), hi = ty(yhi);
    if (hi === lo) { hi += 0.5; lo -= 0.5; } else { var pad = (hi - lo) * 0.05; hi += pad; lo -= s.log ? 0 : pad; }
    if (xhi === xlo) { xhi += 1; }
    var pw = W - M.l - M.r, ph = H - M.t - M.b;
    var sx = function (x) { return M.l + (x - xlo) / (xhi - xlo) * pw; };
    var sy = function (y) { return M.t + ph - (ty(y) - lo) / (hi - lo) * ph; };
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img",
                         "aria-label": prepared.map(function (p) { return p.name; }).join(", ")});
    var grid = el("g", {"class": "grid"}, svg), axis = el("g", {"class": "axis"}, svg);
    ticks(lo, hi, 5).forEach(function (v) {
      var y = M.t + ph - (v - lo) / (hi - lo) * ph;
      el("line", {x1: M.l, x2: W - M.r, y1: y, y2: y}, grid);
      el("text", {x: M.l - 6, y: y + 4, "text-anchor": "end"}, axis).textContent = fmt(s.log ? Math.pow(10, v) : v);
    });
    ticks(xlo, xhi, Math.max(2, Math.floor(pw / 90))).forEach(function (v) {
      var x = sx(v);
      el("line", {x1: x, x2: x, y1: M.t, y2: M.t + ph}, grid);
      el("text", {x: x, y: H - 10, "text-anchor": "middle"}, axis).textContent = fmtX(v, s.x);
    });
    var lines = el("g", {"class": "lines"}, svg);
    prepared.forEach(function (p) {
      // A bucketed history: shade each bucket's min-max range behind the mean line.
      var upper = [], lower = [];
      p.band.forEach(function (b) {
        if (b[1] === null || b[2] === null || (s.log && b[1] <= 0)) return;
        upper.push(sx(b[0]).toFixed(1) + "," + sy(b[2]).toFixed(1));
        lower.unshift(sx(b[0]).toFixed(1) + "," + sy(b[1]).toFixed(1));
      });
      if (upper.length) el("polygon", {points: upper.concat(lower).join(" "), "class": "band", fill: p.color}, lines);
      var draw = function (ys, cls) {
        var pts = [];
        for (var i = 0; i < ys.length; i++) if (ys[i] !== null) pts.push(sx(p.xs[i]).toFixed(1) + "," + sy(ys[i]).toFixed(1));
        var line = el("polyline", {points: pts.join(" "), "class": cls, stroke: p.color}, lines);
        line.setAttribute("data-points", String(pts.length));
        line.setAttribute("data-name", p.name);
        line.setAttribute("data-total", String(p.total));
      };
      if (s.smoothing > 0) draw(p.raw, "raw");
      draw(p.ys, "series");
    });
    var cursor = el("line", {"class": "cursor", y1: M.t, y2: M.t + ph, x1: -10, x2: -10}, svg);
    node.appendChild(svg);
    var legend = document.createElement("div"); legend.className = "legend";
    prepared.forEach(function (p) {
      var item = document.createElement("span"); item.style.setProperty("--c", p.color);
      item.textContent = p.name; legend.appendChild(item);
    });
    node.appendChild(legend);
    var tip = document.createElement("div"); tip.className = "tip"; node.appendChild(tip);
    svg.addEventListener("mousemove", function (e) {
      var box = svg.getBoundingClientRect(), px = (e.clientX - box.left) * W / box.width;
      var x = xlo + (px - M.l) / pw * (xhi - xlo);
      cursor.setAttribute("x1", px); cursor.setAttribute("x2", px);
      tip.innerHTML = "";
      var head = document.createElement("div"); head.className = "muted"; head.textContent = s.x + " " + fmtX(x, s.x);
      tip.appendChild(head);
      prepared.forEach(function (p) {
        var best = -1, dist = Infinity;
        for (var i = 0; i < p.xs.length; i++) { var d = Math.abs(p.xs[i] - x); if (d < dist && p.ys[i] !== null) { dist = d; best = i; } }
        if (best < 0) return;
        var row = document.createElement("div"); row.style.color = p.color;
        row.textContent = p.name + ": " + fmt(p.ys[best]); tip.appendChild(row);
      });
      tip.style.display = "block";
      tip.style.left = Math.min(px + 12, W - 160) + "px"; tip.style.top = "8px";
    });
    svg.addEventListener("mouseleave", function () { tip.style.display = "none"; cursor.setAttribute("x1", -10); cursor.setAttribute("x2", -10); });
  };

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".swatch[data-series]"), function (n) {
      n.style.setProperty("--c", COLORS[parseInt(n.dataset.series, 10) % COLORS.length]);
    });
    var charts = Array.prototype.map.call(document.querySelectorAll(".chart[data-src]"), function (n) { return new Chart(n); });
    var redraw = function () { charts.forEach(function (c) { if (c.data) c.draw(); }); };
    ["x-axis", "log-y"].forEach(function (id) { var n = document.getElementById(id); if (n) n.addEventListener("change", redraw); });
    var s = document.getElementById("smoothing"), out = document.getElementById("smoothing-value");
    if (s) s.addEventListener("input", function () { if (out) out.textContent = s.value; redraw(); });
    var timer = null;
    window.addEventListener("resize", function () { clearTimeout(timer); timer = setTimeout(redraw, 150); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
