// GET /: the dashboard page. Everything a browser needs is in this one string, so the page
// works offline and from a host with no route to anywhere but the proxy.
#include "dashboard.hpp"

#include <fmt/format.h>

namespace portpool::proxy {

namespace {

// The page, with @WARN@ and @CRIT@ where the thresholds go. The script builds the DOM with
// createElement and textContent only, so no figure from /stats is ever parsed as HTML.
// Element classes the tests read: section.dest[data-destination] and tr[data-source], each
// with .state (up/down), .used, .capacity, .level, and .conn-rate/.fail-rate per backend.
constexpr std::string_view page = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>portpool-proxy</title>
<style>
:root { --ok: #2e9d57; --warn: #e0a100; --crit: #d23b3b; --down: #d23b3b; --muted: #6b7280;
        --line: #e5e7eb; --bg: #f6f7f9; --card: #fff; --text: #111827; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       background: var(--bg); color: var(--text); }
header { display: flex; align-items: baseline; gap: 12px; padding: 12px 20px; background: #1f2937;
         color: #f9fafb; }
header h1 { margin: 0; font-size: 18px; font-weight: 600; }
header .mode { padding: 1px 8px; border-radius: 9px; background: #374151; font-size: 12px; }
header #status { margin-left: auto; font-size: 12px; color: #d1d5db; }
header #status.error { color: #fca5a5; font-weight: 600; }
main, #destinations { display: grid; gap: 14px; }
main { padding: 16px 20px; }
main.stale { opacity: .55; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: 10px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.dest { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; }
.dest.down { border-color: var(--down); }
.dest .head { display: flex; align-items: center; gap: 10px; margin-bottom: 8px; }
.dest h2 { margin: 0; font-size: 16px; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.muted { color: var(--muted); font-size: 12px; }
.state { display: inline-block; min-width: 44px; text-align: center; padding: 1px 8px;
         border-radius: 9px; font-size: 12px; font-weight: 600; color: #fff; }
.state.up { background: var(--ok); }
.state.down { background: var(--down); }
.level { font-size: 12px; font-weight: 600; }
.level.ok { color: var(--ok); } .level.warn { color: #a87800; } .level.crit { color: var(--crit); }
.bar { position: relative; height: 18px; background: #eef0f3; border: 1px solid #d6d9de;
       border-radius: 4px; overflow: hidden; min-width: 120px; }
.bar .fill { position: absolute; left: 0; top: 0; bottom: 0; background: var(--ok); }
.bar.warn .fill { background: var(--warn); }
.bar.crit .fill { background: var(--crit); }
.bar .mark { position: absolute; top: 0; bottom: 0; width: 2px; margin-left: -1px; }
.bar .mark.warn { background: #a87800; }
.bar .mark.crit { background: #8f1d1d; }
.bar .mark.high { width: 0; border-left: 2px dotted #374151; margin-left: -1px; }
.usage { display: grid; grid-template-columns: 1fr auto; gap: 12px; align-items: center; }
.figure { font-variant-numeric: tabular-nums; white-space: nowrap; }
.figure .used { font-weight: 600; }
dl.figs { display: grid; grid-template-columns: repeat(auto-fill, minmax(110px, 1fr)); gap: 4px 14px;
          margin: 10px 0 0; }
dl.figs div { display: flex; flex-direction: column; }
dl.figs dt { color: var(--muted); font-size: 12px; }
dl.figs dd { margin: 0; font-variant-numeric: tabular-nums; }
table.sources { width: 100%; border-collapse: collapse; margin-top: 10px; font-size: 13px; }
table.sources th { text-align: left; color: var(--muted); font-weight: 500; font-size: 12px;
                   border-bottom: 1px solid var(--line); padding: 3px 6px; }
table.sources td { border-bottom: 1px solid var(--line); padding: 3px 6px; font-variant-numeric: tabular-nums; }
table.sources td.bar-cell { width: 40%; }
table.sources td.name { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
footer { padding: 0 20px 16px; color: var(--muted); font-size: 12px; }
</style>
</head>
<body data-warn="@WARN@" data-crit="@CRIT@">
<header>
  <h1>portpool-proxy</h1><span class="mode" id="mode">&hellip;</span>
  <span id="status">loading /stats&hellip;</span>
</header>
<main id="main">
  <section class="cards" id="summary"></section>
  <div id="destinations"></div>
</main>
<footer id="legend"></footer>
<noscript>This page needs JavaScript; the same figures are at <a href="stats">/stats</a>.</noscript>
<script>
'use strict';
const WARN = Number(document.body.dataset.warn), CRIT = Number(document.body.dataset.crit);
const REFRESH_MS = 1000, FETCH_TIMEOUT_MS = 3000;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'style') e.style.cssText = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}
const num = n => Number(n).toLocaleString('en-US');
const percent = (used, cap) => cap > 0 ? used * 100 / cap : 0;
// The level /stats reports (the proxy's own, with its hysteresis), or, for figures
// without one (the clients bar), the level the thresholds give now.
const STATED = {OK: 'ok', WARNING: 'warn', CRITICAL: 'crit'};
function level(used, cap, stated) {
  if (stated in STATED) return STATED[stated];
  const p = percent(used, cap);
  return cap > 0 && p >= CRIT ? 'crit' : cap > 0 && p >= WARN ? 'warn' : 'ok';
}
// Per second between two samples; null on the first sample or when a counter went back
// (the proxy restarted).
function rate(now, before, seconds) {
  if (before === undefined || seconds <= 0 || now < before) return null;
  return (now - before) / seconds;
}
function perSecond(r) {
  if (r === null) return '\u2013';
  return r < 10 ? r.toFixed(1) : num(Math.round(r));
}
function bytesPerSecond(r) {
  if (r === null) return '\u2013';
  const units = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s'];
  let i = 0;
  while (r >= 1024 && i < units.length - 1) { r /= 1024; ++i; }
  return (i === 0 ? Math.round(r) : r.toFixed(1)) + ' ' + units[i];
}
const sum = o => Object.values(o || {}).reduce((a, b) => a + b, 0);

function bar(used, cap, high, stated) {
  const lv = level(used, cap, stated);
  const b = el('div', {class: 'bar ' + lv, role: 'meter', 'aria-valuemin': 0,
                       'aria-valuemax': cap, 'aria-valuenow': used,
                       title: num(used) + ' of ' + num(cap) + ' in use'});
  b.append(el('div', {class: 'fill', style: 'width:' + Math.min(100, percent(used, cap)) + '%'}));
  if (high !== undefined && cap > 0)
    b.append(el('div', {class: 'mark high', style: 'left:' + Math.min(100, percent(high, cap)) + '%',
                        title: 'high water ' + num(high)}));
  for (const [name, t] of [['warn', WARN], ['crit', CRIT]])
    if (t <= 100) b.append(el('div', {class: 'mark ' + name, style: 'left:' + t + '%',
                                      title: name + ' at ' + t + '%'}));
  return b;
}
function figure(used, cap) {
  return el('span', {class: 'figure'}, el('span', {class: 'used'}, num(used)), ' / ',
            el('span', {class: 'capacity'}, num(cap)),
            ' (' + percent(used, cap).toFixed(1) + '%) ');
}
function levelTag(used, cap, stated) {
  const lv = level(used, cap, stated);
  return el('span', {class: 'level ' + lv}, {ok: 'OK', warn: 'WARNING', crit: 'CRITICAL'}[lv]);
}
const stateTag = up => el('span', {class: 'state ' + (up ? 'up' : 'down')}, up ? 'up' : 'down');
function card(label, value, cls, ...extra) {
  return el('div', {class: 'card'}, el('div', {class: 'label'}, label),
            el('div', {class: 'value ' + cls}, value), ...extra);
}
function fig(label, value, cls) {
  return el('div', {}, el('dt', {}, label), el('dd', {class: cls}, value));
}

function renderSummary(s, before, seconds) {
  const c = s.connections, b = before ? before.connections : {};
  const up = s.destinations.filter(d => d.up).length;
  document.getElementById('summary').replaceChildren(
    card('clients open', num(c.active), 'clients-active',
         el('div', {class: 'muted maxconn'}, 'of ' + num(c.maxconn) + ' maxconn'),
         bar(c.active, c.maxconn)),
    card('new clients /s', perSecond(rate(c.total, b.total, seconds)), 'client-rate'),
    card('client failures /s', perSecond(rate(c.failed, b.failed, seconds)), 'client-fail-rate',
         el('div', {class: 'muted'}, num(c.failed) + ' in all')),
    card('backends up', up + ' / ' + s.destinations.length, 'backends-up'),
    card('idle timeouts', num(c.idle_timeouts), 'idle-timeouts'),
    card('accept errors', num(s.accept_errors), 'accept-errors'),
    card('open descriptors', num(s.open_fds), 'open-fds'),
    card('state', s.draining ? 'draining' : 'serving', 'draining'));
}

function renderDestination(d, old, seconds, mode) {
  const failures = sum(d.failures);
  const reasons = Object.entries(d.failures || {}).filter(([, n]) => n > 0)
                    .map(([r, n]) => r + ' ' + num(n)).join(', ');
  const section = el('section', {class: 'dest ' + (d.up ? 'up' : 'down'),
                                 'data-destination': d.destination},
    el('div', {class: 'head'}, el('h2', {}, d.destination), stateTag(d.up),
       levelTag(d.used, d.capacity, d.level), el('span', {class: 'muted'}, 'weight ' + d.weight)),
    el('div', {class: 'usage'}, bar(d.used, d.capacity, d.high_water, d.level),
       figure(d.used, d.capacity)),
    el('dl', {class: 'figs'},
       fig('open upstream', num(d.active), 'active'),
       fig('high water', num(d.high_water), 'high-water'),
       fig('connections /s', perSecond(rate(d.connections, old && old.connections, seconds)),
           'conn-rate'),
       fig('failures /s', perSecond(rate(failures, old && sum(old.failures), seconds)),
           'fail-rate'),
       fig('failures in all', num(failures) + (reasons ? ' (' + reasons + ')' : ''), 'failures'),
       fig('exhausted', num(d.exhausted), 'exhausted'),
       fig('conflicts', num(d.conflicts), 'conflicts'),
       fig('to backend', bytesPerSecond(rate(d.bytes_to_backend, old && old.bytes_to_backend,
                                             seconds)), 'to-backend'),
       fig('to clients', bytesPerSecond(rate(d.bytes_to_client, old && old.bytes_to_client,
                                             seconds)), 'to-client')));
  if (d.sources && d.sources.length) {
    const rows = d.sources.map(s => el('tr', {'data-source': s.source},
      el('td', {class: 'name'}, s.source), el('td', {}, stateTag(s.up)),
      el('td', {class: 'bar-cell'}, bar(s.used, s.capacity, s.high_water, s.level)),
      el('td', {}, figure(s.used, s.capacity), levelTag(s.used, s.capacity, s.level)),
      el('td', {class: 'high-water'}, num(s.high_water)),
      el('td', {class: 'conflicts'}, num(s.conflicts)),
      el('td', {class: 'quarantined'}, num(s.quarantined))));
    section.append(el('table', {class: 'sources'},
      el('thead', {}, el('tr', {}, ...['source', 'health', 'usage', 'used / capacity', 'high water',
                                       'conflicts', 'quarantined'].map(h => el('th', {}, h)))),
      el('tbody', {}, ...rows)));
  } else if (mode === 'kernel') {
    section.append(el('p', {class: 'muted'},
      'kernel mode: used = open upstream connections, capacity = the kernel\'s ephemeral range'));
  }
  return section;
}

let previous = null; // {at, stats}
function render(stats) {
  const at = performance.now();
  const seconds = previous ? (at - previous.at) / 1000 : 0;
  const before = previous ? previous.stats : null;
  const oldByName = new Map((before ? before.destinations : []).map(d => [d.destination, d]));
  document.getElementById('mode').textContent = stats.mode + ' mode';
  renderSummary(stats, before, seconds);
  document.getElementById('destinations').replaceChildren(...stats.destinations.map(
    d => renderDestination(d, oldByName.get(d.destination), seconds, stats.mode)));
  previous = {at, stats};
}
function status(text, error) {
  const s = document.getElementById('status');
  s.textContent = text;
  s.className = error ? 'error' : '';
  document.getElementById('main').className = error && previous ? 'stale' : '';
}
let updated = null; // when the figures shown were read
async function refresh() {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
  try {
    const res = await fetch('stats', {cache: 'no-store', signal: abort.signal});
    if (!res.ok) throw new Error('HTTP ' + res.status);
    render(await res.json());
    updated = new Date().toLocaleTimeString('en-GB');
    status('updated ' + updated, false);
  } catch (e) {
    status('cannot read /stats (' + (e.name === 'AbortError' ? 'timed out' : e.message) + ')' +
           (updated ? '; figures from ' + updated : ''), true);
  } finally {
    clearTimeout(timer);
    setTimeout(refresh, REFRESH_MS);
  }
}
document.getElementById('legend').textContent =
  'Bars: used of capacity, marks at warn ' + WARN + '% and crit ' + CRIT + '%, dotted mark at ' +
  'the high water. Rates between successive /stats samples, refreshed every ' +
  REFRESH_MS / 1000 + ' s.';
refresh();
</script>
</body>
</html>
)html";

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

} // namespace

std::string render_dashboard(const usage_thresholds& thresholds) {
  std::string out(page);
  // {} prints a double in its shortest exact form: 80, 82.5.
  replace_all(out, "@WARN@", fmt::format("{}", thresholds.warn_percent));
  replace_all(out, "@CRIT@", fmt::format("{}", thresholds.crit_percent));
  return out;
}

} // namespace portpool::proxy
