// tos-pool dashboard: plain JavaScript, no dependencies, same-origin requests only.
// Amounts arrive as decimal strings of atomic units (8 decimals) and are formatted with BigInt,
// never through floating point. Everything shown from the server goes through textContent.
"use strict";

const API = "/api/v1";
const COIN = 100000000n;
const state = { stats: null, chart: [], page: { blocks: 0, payments: 0 }, miner: null, ws: null, topics: new Set() };

// ---- small helpers ----
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "href") e.setAttribute("href", v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  return e;
}
function setText(id, text) { const e = $(id); if (e) e.textContent = text; }

function tos(atomic) {
  if (atomic == null) return "–";
  let v = BigInt(atomic);
  const neg = v < 0n; if (neg) v = -v;
  const frac = (v % COIN).toString().padStart(8, "0").replace(/0{1,6}$/, "");
  return (neg ? "-" : "") + (v / COIN).toString() + "." + frac.padEnd(2, "0") + " TOS";
}
function hashrate(hs) {
  if (hs == null) return "–";
  let v = Number(hs);
  const units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s"];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return (i === 0 ? v.toFixed(0) : v.toFixed(2)) + " " + units[i];
}
function big(d) {
  if (d == null) return "–";
  const n = Number(d);
  return n >= 1e6 ? n.toExponential(3) : d;
}
function effort(bp) { return bp == null ? "–" : (Number(bp) / 100).toFixed(2) + " %"; }
function ago(ms) {
  if (!ms) return "–";
  const s = Math.max(0, Math.round((Date.now() - Number(ms)) / 1000));
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  if (s < 86400) return Math.round(s / 3600) + " h ago";
  return Math.round(s / 86400) + " d ago";
}
function short(s, n = 10) { return s && s.length > 2 * n + 1 ? s.slice(0, n) + "…" + s.slice(-n) : (s || ""); }
function status(s) { return el("span", { class: "status " + (s || "") }, s || "in progress"); }

async function get(path) {
  const r = await fetch(API + path, { headers: { Accept: "application/json" } });
  let body = null;
  try { body = await r.json(); } catch (_) { body = { error: r.statusText }; }
  if (!r.ok) { const e = new Error(body && body.error ? body.error : "HTTP " + r.status); e.status = r.status; throw e; }
  return body;
}

function table(headers, rows, empty) {
  if (!rows.length) return el("p", { class: "muted" }, empty || "Nothing yet.");
  const t = el("table", { class: "table" });
  const head = el("tr");
  for (const h of headers) head.append(el("th", { class: (h.num ? "num " : "") + (h.narrow ? "hide-narrow" : "") }, h.label));
  t.append(el("thead", {}, head));
  const body = el("tbody");
  for (const r of rows) {
    const tr = el("tr");
    r.forEach((c, i) => tr.append(el("td", { class: (headers[i].num ? "num " : "") + (headers[i].narrow ? "hide-narrow" : "") }, c)));
    body.append(tr);
  }
  t.append(body);
  return t;
}
function fill(id, node) { const e = $(id); e.replaceChildren(node); }

// ---- SVG chart (own code: a line and an area over the points) ----
function chart(id, points) {
  const box = $(id);
  const W = 600, H = 160;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  for (let i = 1; i < 4; i++) {
    const g = document.createElementNS(ns, "line");
    g.setAttribute("class", "grid"); g.setAttribute("x1", 0); g.setAttribute("x2", W);
    g.setAttribute("y1", (H * i) / 4); g.setAttribute("y2", (H * i) / 4);
    svg.append(g);
  }
  const vals = points.map((p) => Number(p.hashrate));
  const max = Math.max(1, ...vals) * 1.1;
  const n = Math.max(2, points.length);
  const xy = vals.map((v, i) => [(i / (n - 1)) * W, H - (v / max) * H]);
  if (xy.length) {
    const line = xy.map(([x, y]) => x.toFixed(1) + "," + y.toFixed(1)).join(" ");
    const area = document.createElementNS(ns, "polygon");
    area.setAttribute("class", "area");
    area.setAttribute("points", `0,${H} ${line} ${xy[xy.length - 1][0].toFixed(1)},${H}`);
    const pl = document.createElementNS(ns, "polyline");
    pl.setAttribute("class", "line");
    pl.setAttribute("points", line);
    svg.append(area, pl);
  }
  const span = points.length ? points[points.length - 1].t_ms - points[0].t_ms : 0;
  const when = (t) => span > 12 * 3600000
    ? new Date(t).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })
    : new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const labels = el("div", { class: "chart-labels" },
    el("span", {}, points.length ? when(points[0].t_ms) : ""),
    el("span", {}, "max " + hashrate(Math.max(0, ...vals))),
    el("span", {}, points.length ? when(points[points.length - 1].t_ms) : ""));
  box.replaceChildren(svg, labels);
  box.dataset.points = String(points.length);
}

// ---- overview ----
function showStats(s) {
  // Blocks are also refreshed when the pool's count moves (whether or not a bus event said so).
  const moved = state.stats && state.stats.blocks_found !== s.blocks_found;
  state.stats = s;
  if (moved && current() === "overview") loadRecentBlocks();
  setText("pool-hashrate", hashrate(s.hashrate["10m"]));
  setText("pool-hashrate-windows", `1 h ${hashrate(s.hashrate["1h"])} · 24 h ${hashrate(s.hashrate["24h"])}`);
  setText("pool-miners", `${s.miners} / ${s.workers}`);
  setText("pool-effort", effort(s.round.effort_bp));
  setText("pool-round", "round work " + big(s.round.work));
  const n = s.network;
  setText("net-hashrate", hashrate(n.hashrate));
  setText("net-info", `height ${n.height ?? "–"} · difficulty ${big(n.difficulty)} · nodes ${n.nodes_healthy}/${n.nodes}`);
  if (s.pool) {
    setText("pool-fee", s.pool.fee_percent + " %");
    setText("pool-schemes", s.pool.schemes.join(", ") + " (default " + s.pool.default_scheme + ")");
    setText("foot-network", s.pool.network);
    showStart(s.pool);
  }
  const v = s.verifier;
  setText("pool-verifier", v.using_gpu ? "GPU" : "CPU");
  setText("pool-verifier-detail", `mode ${v.mode} · ${v.shares_per_second} shares/s` + (v.gpu_out_of_service ? " · GPU out of service" : ""));
  setText("stats-updated", "updated " + new Date(s.updated_ms).toLocaleTimeString() + ` · ${s.shares_accepted} shares accepted · ${s.connections} connections`);
  // The live chart: the per-minute history again, at most every 15 s (a stats message carries
  // 10-minute averages, not per-minute points).
  if (Date.now() - (state.chartAt || 0) > 15000 && current() === "overview") loadChart();
}

async function loadChart() {
  state.chartAt = Date.now();
  try {
    const h = await get("/pool/hashrate?hours=1");
    state.chart = h.points;
    chart("hashrate-chart", state.chart);
  } catch (e) { fill("hashrate-chart", el("p", { class: "muted" }, "chart unavailable: " + e.message)); }
}

async function loadOverview() {
  try {
    const s = await get("/pool/stats");
    if (!state.stats || s.updated_ms >= state.stats.updated_ms) showStats(s);
  } catch (e) { setText("stats-updated", "statistics unavailable: " + e.message); }
  loadChart();
  loadRecentBlocks();
  loadRecentPayments();
}

function blockRows(items) {
  return items.map((b) => [
    el("a", { href: "#/blocks/" + b.hash }, String(b.height)), status(b.status), effort(b.effort_bp),
    b.reward == null ? "–" : tos(b.reward), short(b.finder.address, 6) + "." + b.finder.worker, ago(b.found_ms),
    String(b.confirmations),
  ]);
}
const BLOCK_HEADERS = [{ label: "Height" }, { label: "Status" }, { label: "Effort", num: true }, { label: "Reward", num: true },
  { label: "Finder", narrow: true }, { label: "Found" }, { label: "Conf.", num: true, narrow: true }];

async function loadRecentBlocks() {
  try { fill("overview-blocks", table(BLOCK_HEADERS, blockRows((await get("/blocks?limit=5")).items), "No blocks found yet.")); }
  catch (e) { fill("overview-blocks", el("p", { class: "error" }, e.message)); }
}
function payoutRows(items) {
  return items.map((p) => [status(p.status), tos(p.total), String(p.recipients), p.tx_hash ? short(p.tx_hash, 8) : "–", ago(p.created_ms)]);
}
const PAYOUT_HEADERS = [{ label: "Status" }, { label: "Total", num: true }, { label: "Recipients", num: true, narrow: true },
  { label: "Transaction" }, { label: "Created" }];
async function loadRecentPayments() {
  try { fill("overview-payments", table(PAYOUT_HEADERS, payoutRows((await get("/payments?limit=5")).items), "No payments yet.")); }
  catch (e) { fill("overview-payments", el("p", { class: "error" }, e.message)); }
}

// ---- blocks and payments ----
function pager(id, kind, page, total, load) {
  const pages = Math.max(1, Math.ceil(total / 20));
  const prev = el("button", { type: "button" }, "‹ Newer");
  const next = el("button", { type: "button" }, "Older ›");
  prev.disabled = page <= 0; next.disabled = page + 1 >= pages;
  prev.onclick = () => { state.page[kind] = page - 1; load(); };
  next.onclick = () => { state.page[kind] = page + 1; load(); };
  $(id).replaceChildren(prev, el("span", { class: "muted" }, `page ${page + 1} of ${pages} · ${total} total`), next);
}
async function loadBlocks() {
  const page = state.page.blocks;
  try {
    const r = await get(`/blocks?limit=20&offset=${page * 20}`);
    fill("blocks-table", table(BLOCK_HEADERS, blockRows(r.items), "No blocks found yet."));
    pager("blocks-pager", "blocks", page, r.total, loadBlocks);
  } catch (e) { fill("blocks-table", el("p", { class: "error" }, e.message)); }
}
async function loadCredits(hash) {
  $("block-credits-panel").hidden = false;
  setText("credits-hash", short(hash, 12));
  try {
    const c = await get(`/blocks/${encodeURIComponent(hash)}/credits`);
    const rows = c.credits.map((l) => [short(l.address, 8), tos(l.stored), tos(l.computed), l.difference === "0" ? "–" : l.difference,
      l.shares.map((s) => `${s.scheme} ${(s.ppm / 10000).toFixed(2)} %`).join(", ")]);
    const info = el("p", { class: "sub" }, `status ${c.status} · reward ${c.reward ? tos(c.reward) : "–"} · pool fee ${c.pool_fee ? tos(c.pool_fee) : "–"} · effort ${effort(c.effort_bp)}`);
    const notes = el("ul", { class: "events" }, ...c.notes.map((n) => el("li", {}, n)), ...c.differences.map((d) => el("li", { class: "error" }, d)));
    $("block-credits").replaceChildren(info, table([{ label: "Miner" }, { label: "Credited", num: true }, { label: "Recomputed", num: true },
      { label: "Diff.", num: true }, { label: "Share", narrow: true }], rows, "Nothing credited for this block."), notes);
  } catch (e) { fill("block-credits", el("p", { class: "error" }, e.message)); }
}
async function loadPayments() {
  const page = state.page.payments;
  try {
    const r = await get(`/payments?limit=20&offset=${page * 20}`);
    fill("payments-table", table(PAYOUT_HEADERS, payoutRows(r.items), "No payments yet."));
    pager("payments-pager", "payments", page, r.total, loadPayments);
  } catch (e) { fill("payments-table", el("p", { class: "error" }, e.message)); }
}

// ---- miner ----
async function loadMiner(address) {
  state.miner = address;
  setText("miner-address", address);
  $("miner-error").hidden = true;
  resubscribe();
  let m;
  try { m = await get("/miners/" + encodeURIComponent(address)); }
  catch (e) {
    $("miner-body").hidden = true;
    const err = $("miner-error");
    err.hidden = false;
    err.textContent = e.status === 404 ? "No shares from this address yet. Start mining (see Start mining) and check back in a minute." : e.message;
    return;
  }
  if (state.miner !== address) return;
  $("miner-body").hidden = false;
  setText("miner-balance", tos(m.balance));
  setText("miner-threshold", "paid out from " + tos(m.payout_threshold) + (m.payout_threshold_custom ? " (your own threshold)" : ""));
  setText("miner-immature", tos(m.immature));
  setText("miner-paid", tos(m.paid));
  setText("miner-pending", "pending " + tos(m.pending));
  setText("miner-hashrate", hashrate(m.hashrate["10m"]));
  setText("miner-hashrate-windows", `1 h ${hashrate(m.hashrate["1h"])} · 24 h ${hashrate(m.hashrate["24h"])}`);
  fill("miner-workers", table([{ label: "Worker" }, { label: "10 min", num: true }, { label: "1 h", num: true, narrow: true },
    { label: "24 h", num: true, narrow: true }, { label: "Last share" }],
  m.workers.map((w) => [w.name, hashrate(w.hashrate["10m"]), hashrate(w.hashrate["1h"]), hashrate(w.hashrate["24h"]), ago(w.last_share_ms)]), "No worker in the last 24 hours."));
  fill("miner-payments", table([{ label: "Status" }, { label: "Amount", num: true }, { label: "Transaction" }, { label: "Created" }],
    m.payments.map((p) => [status(p.status), tos(p.amount), p.tx_hash ? short(p.tx_hash, 8) : "–", ago(p.created_ms)]), "No payouts yet."));
  fill("miner-earnings", table([{ label: "Day (UTC)" }, { label: "Credited", num: true }],
    m.daily_earnings.slice().reverse().map((d) => [new Date(d.day_ms).toISOString().slice(0, 10), tos(d.amount)]), "No credits yet."));
  try { chart("miner-chart", (await get("/miners/" + encodeURIComponent(address) + "/hashrate?hours=24")).points); }
  catch (e) { fill("miner-chart", el("p", { class: "muted" }, e.message)); }
  loadMinerCredits(address);
}
async function loadMinerCredits(address) {
  const rows = [];
  try {
    const blocks = (await get("/blocks?limit=10")).items.filter((b) => b.status === "immature" || b.status === "mature");
    for (const b of blocks) {
      const c = await get(`/blocks/${b.hash}/credits`);
      const line = c.credits.find((l) => l.address === address);
      if (line) rows.push([el("a", { href: "#/blocks/" + b.hash }, String(b.height)), status(c.status), tos(line.stored), effort(c.effort_bp)]);
    }
    fill("miner-credits", table([{ label: "Block" }, { label: "Status" }, { label: "Credited", num: true }, { label: "Effort", num: true }], rows,
      "No credits in the last 10 blocks."));
  } catch (e) { fill("miner-credits", el("p", { class: "error" }, e.message)); }
}

// ---- getting started ----
function showStart(p) {
  const host = location.hostname || "POOL_HOST";
  const example = (p.network === "mainnet" ? "tos1" : "tst1") + "YOUR_ADDRESS";
  setText("start-command", `tosminer --cpu -P stratum+tcp://${host}:${p.stratum_port} -u ${example}.worker1 -p x`);
  const ports = [el("tr", {}, el("td", {}, el("code", {}, `stratum+tcp://${host}:${p.stratum_port}`)), el("td", {}, "TCP"))];
  if (p.stratum_tls_port) {
    $("start-tls").hidden = false;
    setText("start-command-tls", `tosminer --cpu -P stratum+ssl://${host}:${p.stratum_tls_port} -u ${example}.worker1 -p x`);
    ports.push(el("tr", {}, el("td", {}, el("code", {}, `stratum+ssl://${host}:${p.stratum_tls_port}`)), el("td", {}, "TLS")));
  }
  $("start-ports").replaceChildren(...ports);
  setText("start-schemes", `Offered: ${p.schemes.join(", ")}; without a choice you mine ${p.default_scheme}. Choose with the password, e.g. -p scheme=solo.`);
  const solo = p.schemes.find((s) => s !== p.default_scheme);
  const cmdSolo = $("start-command-solo");
  if (solo) { cmdSolo.hidden = false; cmdSolo.textContent = `tosminer --cpu -P stratum+tcp://${host}:${p.stratum_port} -u ${example}.worker1 -p scheme=${solo}`; }
  setText("start-payout", p.payouts_enabled ? `Balances are paid automatically from ${tos(p.payout_threshold)}; pool fee ${p.fee_percent} %.` : "Automatic payouts are off on this pool.");
}

// ---- operator (admin API on the admin listener) ----
const KEY = "tos-pool-admin-key";
async function admin(method, path, body) {
  const key = sessionStorage.getItem(KEY);
  const headers = { Accept: "application/json" };
  if (key) headers.Authorization = "Bearer " + key;
  if (body) headers["Content-Type"] = "application/json";
  const r = await fetch("/admin/v1" + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  let j = null; try { j = await r.json(); } catch (_) { j = null; }
  return { status: r.status, body: j };
}
async function loadOperator() {
  const note = $("operator-note");
  let r;
  try { r = await admin("GET", "/status"); } catch (e) { note.textContent = "Admin API unreachable: " + e.message; return; }
  if (r.status === 404) {
    note.textContent = "This is the public listener: the operator page works on the pool's admin address (the admin API's own listen address, loopback by default). Open this dashboard there.";
    $("operator-body").hidden = true;
    return;
  }
  if (r.status === 401 || r.status === 403) {
    note.textContent = sessionStorage.getItem(KEY) ? "The admin API refused this key." : "Enter an admin API key.";
    $("operator-body").hidden = true;
    return;
  }
  if (r.status !== 200 || !r.body) { note.textContent = "Admin API answered " + r.status; return; }
  note.textContent = "";
  $("operator-body").hidden = false;
  const s = r.body;
  const v = s.verifier || {};
  setText("op-verifier-mode", v.mode || "–");
  setText("op-verifier-gpu", v.using_gpu ? "· on the GPU" : "· on the CPU");
  const detail = Object.entries(v).filter(([k]) => k !== "mode" && k !== "using_gpu").map(([k, x]) => `${k}: ${typeof x === "object" ? JSON.stringify(x) : x}`);
  setText("op-verifier-detail", detail.join(" · "));
  for (const b of $("op-verifier-buttons").querySelectorAll("button")) b.classList.toggle("current", b.dataset.mode === v.mode);
  fill("op-nodes", table([{ label: "Node" }, { label: "Health" }, { label: "Topoheight", num: true }],
    (s.nodes || []).map((n) => [n.url, n.healthy ? "healthy" : "down", String(n.topoheight ?? "–")]), "No nodes."));
  const sp = s.spool || {};
  setText("op-spool", String(sp.depth ?? "–"));
  setText("op-spool-detail", sp.in_outage ? "database outage: shares go to the spool" : "writing to the database");
}
async function switchVerifier(mode) {
  const r = await admin("POST", "/verifier", { mode });
  setText("op-verifier-result", r.status === 200 ? `switched to ${mode}` : `refused (${r.status}): ${r.body && r.body.error ? r.body.error : ""}`);
  loadOperator();
}

// ---- live feed ----
function addEvent(topic, data) {
  const list = $("events");
  if (list.firstElementChild && list.firstElementChild.classList.contains("muted")) list.replaceChildren();
  const what = data.event.replace(/_/g, " ");
  const detail = data.height != null ? ` at height ${data.height}` : data.total ? ` ${tos(data.total)} to ${data.recipients}` : "";
  list.prepend(el("li", {}, `${new Date().toLocaleTimeString()} · ${what}${detail}` + (data.finder ? ` by ${short(data.finder, 6)}.${data.worker}` : "")));
  while (list.children.length > 20) list.lastElementChild.remove();
}
function resubscribe() {
  const ws = state.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  const want = new Set(["stats", "blocks", "payments"]);
  if (state.miner) want.add("miner:" + state.miner);
  const drop = [...state.topics].filter((t) => !want.has(t));
  ws.send(JSON.stringify({ subscribe: [...want], unsubscribe: drop }));
}
function connect(delay = 1000) {
  const live = $("live-status");
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + API + "/ws");
  state.ws = ws;
  ws.onopen = () => { delay = 1000; live.dataset.state = "connected"; live.textContent = "connected"; resubscribe(); };
  ws.onmessage = (m) => {
    let msg; try { msg = JSON.parse(m.data); } catch (_) { return; }
    if (msg.subscribed) { state.topics = new Set(msg.subscribed); return; }
    if (msg.topic === "stats") {
      live.dataset.state = "live"; live.textContent = "live";
      showStats(msg.data);
    } else if (msg.data && msg.data.event) {
      addEvent(msg.topic, msg.data);
      if (msg.topic === "blocks") { loadRecentBlocks(); if (current() === "blocks") loadBlocks(); }
      if (msg.topic === "payments") { loadRecentPayments(); if (current() === "payments") loadPayments(); }
      if (msg.topic.startsWith("miner:") && state.miner && current() === "miner") loadMiner(state.miner);
    }
  };
  ws.onclose = () => {
    live.dataset.state = "down"; live.textContent = "reconnecting";
    setTimeout(() => connect(Math.min(delay * 2, 30000)), delay);
  };
}

// ---- routing ----
function current() { return (location.hash.replace(/^#\/?/, "").split("/")[0]) || "overview"; }
function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  const view = parts[0] || "overview";
  const known = ["overview", "blocks", "payments", "miner", "start", "operator"];
  const v = known.includes(view) ? view : "overview";
  for (const k of known) $("view-" + k).hidden = k !== v;
  for (const a of $("nav").querySelectorAll("a")) a.classList.toggle("active", a.dataset.view === v);
  if (v !== "miner" && state.miner) { state.miner = null; resubscribe(); }
  if (v === "overview") loadOverview();
  if (v === "blocks") { loadBlocks(); if (parts[1]) loadCredits(decodeURIComponent(parts[1])); else $("block-credits-panel").hidden = true; }
  if (v === "payments") loadPayments();
  if (v === "miner" && parts[1]) loadMiner(decodeURIComponent(parts.slice(1).join("/")));
  if (v === "operator") loadOperator();
  if (v === "start" && !state.stats) loadOverview();
}

$("lookup").addEventListener("submit", (e) => {
  e.preventDefault();
  const a = $("lookup-address").value.trim();
  if (a) location.hash = "#/miner/" + encodeURIComponent(a);
});
$("operator-key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const k = $("operator-key").value.trim();
  if (k) sessionStorage.setItem(KEY, k);
  $("operator-key").value = "";
  loadOperator();
});
$("operator-forget").addEventListener("click", () => { sessionStorage.removeItem(KEY); loadOperator(); });
for (const b of $("op-verifier-buttons").querySelectorAll("button")) b.addEventListener("click", () => switchVerifier(b.dataset.mode));
window.addEventListener("hashchange", route);
route();
connect();
