// Draws report.html from the JSON embedded in the page. Plain browser JS, no dependencies.
// On success it adds #render-ok (the HTML test looks for it); on failure #render-error.
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  function el(name, attrs, parent, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function h(tag, text, parent, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }
  function secs(ms) { return (ms / 1000).toFixed(1) + ' s'; }
  var STATE = { up: '#2e9d50', starting: '#9ca3af', stopping: '#9ca3af', paused: '#f59e0b', down: '#d32f2f' };
  var SEEN = { alive: '#2e9d50', suspect: '#facc15', failed: '#d32f2f', left: '#6b7280', absent: '#e5e7eb' };

  function verdicts(d) {
    var root = document.getElementById('verdicts');
    var t = h('table', undefined, root);
    var head = h('tr', undefined, h('thead', undefined, t));
    ['', 'invariant', 'bound', 'measured', 'judged'].forEach(function (c) { h('th', c, head); });
    var body = h('tbody', undefined, t);
    d.verdicts.forEach(function (v) {
      var tr = h('tr', undefined, body);
      h('td', v.ok ? 'PASS' : 'FAIL', tr, v.ok ? 'ok' : 'bad');
      h('td', v.invariant, tr);
      h('td', v.bound, tr);
      var m = h('td', v.measured, tr);
      if (v.failures.length) {
        var ul = h('ul', undefined, m, 'failures');
        v.failures.forEach(function (f) { h('li', f, ul); });
      }
      h('td', v.judged + (v.skipped ? ' (+' + v.skipped + ' not judgeable)' : ''), tr);
    });
  }

  function timeline(d) {
    var W = 1160, L = 70, R = 10, laneH = 40;
    // Start at the load phase: the minute of booting before it is not what the run is about.
    var load = d.phases.filter(function (p) { return p.phase === 'load'; })[0];
    var t0 = load ? Math.max(0, load.t - 2000) : 0;
    var end = Math.max(d.durationMs - t0, 1000);
    var x = function (t) { return L + (Math.max(0, t - t0) / end) * (W - L - R); };
    var chartH = 120, top = 24;
    var writesY = top + chartH + 14;
    var lanesY = writesY + 26;
    var H = lanesY + d.nodes.length * (laneH + 8) + 24;
    var svg = el('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, id: 'timeline-svg' }, document.getElementById('timeline'));

    d.bands.forEach(function (b) {
      var r = el('rect', { x: x(b.from), y: top, width: Math.max(1, x(b.to) - x(b.from)), height: H - top - 20, fill: '#d32f2f', 'fill-opacity': 0.08 }, svg);
      el('title', {}, r, b.label + ': ' + secs(b.from) + ' → ' + secs(b.to));
    });
    d.phases.forEach(function (p) {
      el('line', { x1: x(p.t), x2: x(p.t), y1: top, y2: H - 20, stroke: '#6b7280', 'stroke-dasharray': '3 3' }, svg);
      el('text', { x: x(p.t) + 2, y: H - 8 }, svg, p.phase);
    });

    var maxReq = 1;
    d.throughput.forEach(function (b) { maxReq = Math.max(maxReq, b.ok + b.err); });
    var bw = Math.max(1, (1000 / end) * (W - L - R) - 1);
    el('text', { x: 4, y: top + 12 }, svg, maxReq + ' req/s');
    el('text', { x: 4, y: top + chartH }, svg, '0');
    d.throughput.forEach(function (b) {
      var hOk = (b.ok / maxReq) * chartH, hErr = (b.err / maxReq) * chartH;
      var g = el('g', {}, svg);
      el('rect', { x: x(b.t), y: top + chartH - hOk, width: bw, height: hOk, fill: '#60a5fa' }, g);
      if (b.err) el('rect', { x: x(b.t), y: top + chartH - hOk - hErr, width: bw, height: hErr, fill: '#ef4444' }, g);
      el('title', {}, g, secs(b.t) + ': ' + b.ok + ' ok, ' + b.err + ' errors');
    });

    el('text', { x: 4, y: writesY + 4 }, svg, 'writes');
    d.writes.forEach(function (w) {
      var c = el('circle', { cx: x(w.t), cy: writesY, r: 3, fill: w.ok ? '#2e9d50' : '#d32f2f' }, svg);
      el('title', {}, c, secs(w.t) + ' ' + w.label);
    });

    d.nodes.forEach(function (n, i) {
      var y = lanesY + i * (laneH + 8);
      el('text', { x: 4, y: y + 14, 'font-weight': 700 }, svg, n.name);
      el('text', { x: 4, y: y + 32 }, svg, 'seen');
      n.state.forEach(function (s) {
        var r = el('rect', { x: x(s.from), y: y, width: Math.max(1, x(s.to) - x(s.from)), height: 18, fill: STATE[s.value] || '#9ca3af' }, svg);
        el('title', {}, r, n.name + ' process ' + s.value + ': ' + secs(s.from) + ' → ' + secs(s.to));
      });
      n.seen.forEach(function (s) {
        var r = el('rect', { x: x(s.from), y: y + 22, width: Math.max(1, x(s.to) - x(s.from)), height: 14, fill: SEEN[s.value] || '#e5e7eb' }, svg);
        el('title', {}, r, 'peers see ' + n.name + ' as ' + s.value + ': ' + secs(s.from) + ' → ' + secs(s.to));
      });
      if (n.versions.length) {
        var lo = n.versions[0].v, hi = lo;
        d.nodes.forEach(function (m) { m.versions.forEach(function (p) { lo = Math.min(lo, p.v); hi = Math.max(hi, p.v); }); });
        var span = Math.max(1, hi - lo);
        var pts = [], prev = null;
        n.versions.forEach(function (p) {
          var py = y + 17 - ((p.v - lo) / span) * 15;
          if (prev !== null) pts.push(x(p.t) + ',' + prev);
          pts.push(x(p.t) + ',' + py);
          prev = py;
        });
        var line = el('polyline', { points: pts.join(' '), fill: 'none', stroke: '#111827', 'stroke-width': 1.2 }, svg);
        el('title', {}, line, n.name + ' config_version ' + n.versions[0].v + ' → ' + n.versions[n.versions.length - 1].v);
      }
    });

    // Fault labels last, over the bars; alternate rows so that faults close together stay readable.
    d.bands.forEach(function (b, i) {
      el('text', { x: x(b.from) + 2, y: i % 2 ? top + 10 : top - 6, fill: '#b91c1c', 'font-weight': 600 }, svg, b.label);
    });

    var step = end > 120000 ? 30000 : end > 40000 ? 10000 : 5000;
    for (var t = Math.ceil(t0 / step) * step; t <= t0 + end; t += step) el('text', { x: x(t), y: H - 20 + 12, 'text-anchor': 'middle' }, svg, t / 1000 + 's');
  }

  function lists(d) {
    var sched = document.getElementById('schedule');
    h('pre', d.schedule.length ? d.schedule.map(function (s) {
      return String(s.at).padStart(5) + 's  ' + s.op + (s.node ? ' ' + s.node : '') + (s.groups ? ' ' + s.groups.map(function (g) { return g.join('+'); }).join(' | ') : '');
    }).join('\n') : '(no faults)', sched);
    var faults = document.getElementById('faults');
    h('pre', d.faults.length ? d.faults.map(function (f) { return secs(f.t).padStart(8) + '  ' + f.label; }).join('\n') : '(none)', faults);
  }

  try {
    var d = JSON.parse(document.getElementById('sim-data').textContent);
    verdicts(d);
    timeline(d);
    lists(d);
    var ok = h('div', '', document.body);
    ok.id = 'render-ok';
    ok.setAttribute('data-lanes', String(d.nodes.length));
    ok.setAttribute('data-verdicts', String(d.verdicts.length));
    ok.hidden = true;
  } catch (err) {
    var e = h('pre', 'report rendering failed: ' + (err && err.stack || err), document.body);
    e.id = 'render-error';
  }
})();
