// The baregrad viz page: reads data.json (Profiler.viz_data()) and draws the schedule list, the graph cut into
// kernels, the selected kernel's program and source, and the timeline. Plain DOM and SVG, no libraries.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 120, NODE_H = 34, GAP_X = 18, GAP_Y = 34;
const COLLAPSE_ABOVE = 150; // a graph with more nodes opens as one box per kernel
const state = { data: null, sid: null, kernel: null, collapsed: false, view: { x: 20, y: 20, k: 1 },
                stats: new Map(), tl: null, tlRects: [] };

function el(tag, attrs, text) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function colour(k) { return k < 0 ? "#d9dde3" : `hsl(${(k * 137.508) % 360}, 62%, ${k % 2 ? 70 : 80}%)`; }
function kernelKey(name, hash) { return name + "|" + hash; }

function fmtTime(us) {
  if (us >= 1e6) return (us / 1e6).toFixed(3) + " s";
  if (us >= 1e3) return (us / 1e3).toFixed(3) + " ms";
  return us.toFixed(2) + " µs";
}

// ---- data ----
function indexEvents() {
  for (const e of state.data.events) {
    if (e.cat !== "kernel" || e.track === "host") continue;
    const key = kernelKey(e.name, e.args.source_hash || "");
    const s = state.stats.get(key) || { calls: 0, total: 0, flops: 0, bytes: 0, first: e };
    s.calls += 1; s.total += e.dur; s.flops += e.args.flops || 0; s.bytes += e.args.bytes || 0;
    state.stats.set(key, s);
  }
  const realizes = new Map();
  for (const e of state.data.events) {
    if (e.cat === "realize") realizes.set(e.args.schedule, (realizes.get(e.args.schedule) || 0) + 1);
  }
  state.realizes = realizes;
}

function statsOf(kernel) { return state.stats.get(kernelKey(kernel.name, kernel.source_hash)); }

// ---- sidebar ----
function renderSidebar() {
  const root = document.getElementById("schedules");
  root.textContent = "";
  for (const s of state.data.schedules) {
    if (!s.kernels.length) continue; // a realize that launched nothing (all views of realized buffers)
    const det = el("details", { "data-sid": s.sid });
    if (state.data.schedules.filter(x => x.kernels.length).length <= 8) det.open = true;
    const times = state.realizes.get(s.sid) || 0;
    const sum = el("summary", {}, `#${s.sid} ${s.device} · ${s.kernels.length} kernels · ×${times}`);
    sum.addEventListener("click", () => selectSchedule(s.sid));
    det.appendChild(sum);
    const ul = el("ul");
    s.kernels.forEach((k, i) => {
      const st = statsOf(k);
      const li = el("li", { class: "kernel", "data-sid": s.sid, "data-k": i, title: k.reason });
      li.appendChild(el("span", { class: "swatch", style: `background:${colour(i)}` }));
      li.appendChild(el("span", { class: "name" }, k.name));
      li.appendChild(el("span", { class: "time" }, st ? fmtTime(st.total) : ""));
      li.addEventListener("click", () => selectKernel(s.sid, i));
      ul.appendChild(li);
    });
    det.appendChild(ul);
    root.appendChild(det);
  }
}

function applySearch() {
  const q = document.getElementById("search").value.trim().toLowerCase();
  for (const det of document.querySelectorAll("#schedules details")) {
    const s = state.data.schedules[+det.dataset.sid];
    let shown = 0;
    for (const li of det.querySelectorAll("li.kernel")) {
      const k = s.kernels[+li.dataset.k];
      const ops = s.nodes.filter(n => n.kernel === +li.dataset.k).map(n => n.op).join(" ").toLowerCase();
      const hit = !q || k.name.toLowerCase().includes(q) || k.source_hash.startsWith(q) || ops.includes(q) ||
                  k.reason.toLowerCase().includes(q);
      li.style.display = hit ? "" : "none";
      shown += hit ? 1 : 0;
    }
    det.style.display = shown ? "" : "none";
    if (q && shown) det.open = true;
  }
}

// ---- graph ----
function layout(nodes, edges) {
  // longest-path layering, iterative (Kahn): inputs on the left, outputs on the right
  const indeg = new Map(nodes.map(n => [n.id, 0])), out = new Map(nodes.map(n => [n.id, []]));
  for (const [a, b] of edges) { indeg.set(b, indeg.get(b) + 1); out.get(a).push(b); }
  const rank = new Map(), queue = nodes.filter(n => indeg.get(n.id) === 0).map(n => n.id);
  for (const id of queue) rank.set(id, 0);
  for (let i = 0; i < queue.length; i++) {
    const a = queue[i];
    for (const b of out.get(a)) {
      rank.set(b, Math.max(rank.get(b) || 0, rank.get(a) + 1));
      indeg.set(b, indeg.get(b) - 1);
      if (indeg.get(b) === 0) queue.push(b);
    }
  }
  const rows = [];
  for (const n of nodes) {
    const r = rank.get(n.id) || 0;
    (rows[r] = rows[r] || []).push(n);
  }
  const pos = new Map();
  rows.forEach((row, r) => {
    row.sort((a, b) => (a.kernel - b.kernel) || (a.id - b.id));
    row.forEach((n, i) => pos.set(n.id, { x: r * (NODE_W + GAP_Y), y: i * (NODE_H + GAP_X) }));
  });
  return pos;
}

function graphModel(s) {
  if (!state.collapsed) {
    const nodes = s.nodes.map(n => ({ id: n.id, kernel: n.kernel, label: n.op, point: n.point,
      sub: `${n.dtype}[${n.shape.join(",")}]`, title: `${n.op} ${n.dtype}[${n.shape}] ${n.arg}` }));
    const edges = [];
    for (const n of s.nodes) for (const src of n.src) edges.push([src, n.id]);
    return { nodes, edges };
  }
  const nodes = s.kernels.map((k, i) => ({ id: i, kernel: i, label: k.name,
    sub: `${s.nodes.filter(n => n.kernel === i).length} ops`, title: k.reason }));
  const hasInputs = s.nodes.some(n => n.kernel < 0);
  if (hasInputs) nodes.push({ id: -1, kernel: -1, label: "inputs", sub: "buffers", title: "input buffers" });
  const seen = new Set(), edges = [];
  const byId = new Map(s.nodes.map(n => [n.id, n]));
  for (const n of s.nodes) {
    for (const src of n.src) {
      const a = byId.get(src).kernel, b = n.kernel;
      if (a !== b && b >= 0 && !seen.has(a + ">" + b)) { seen.add(a + ">" + b); edges.push([a, b]); }
    }
  }
  return { nodes, edges };
}

function renderGraph() {
  const vp = document.getElementById("viewport");
  vp.textContent = "";
  const s = state.data.schedules[state.sid];
  if (!s) return;
  document.getElementById("graph-title").textContent =
    `schedule #${s.sid} on ${s.device}: ${s.kernels.length} kernels, ${s.nodes.length} ops` +
    (s.nodes.length ? "" : " (graph not recorded)");
  document.getElementById("collapse").textContent = state.collapsed ? "every op" : "kernels only";
  const { nodes, edges } = graphModel(s);
  const pos = layout(nodes, edges);
  state.placed = nodes.map(n => ({ kernel: n.kernel, ...pos.get(n.id) }));
  const kernelOf = new Map(nodes.map(n => [n.id, n.kernel]));
  // an edge out of another kernel's output is a cut; out of a node two kernels share, it is recomputation
  const isOutput = new Map(nodes.map(n => [n.id, state.collapsed || n.point]));
  const edgeLayer = el("svg:g"), nodeLayer = el("svg:g");
  for (const [a, b] of edges) {
    const p = pos.get(a), q = pos.get(b);
    if (!p || !q) continue;
    const ka = kernelOf.get(a), kb = kernelOf.get(b);
    const boundary = ka !== kb && ka >= 0 && isOutput.get(a);
    const x1 = p.x + NODE_W, y1 = p.y + NODE_H / 2, x2 = q.x, y2 = q.y + NODE_H / 2;
    const path = el("svg:path", { class: "edge" + (boundary ? " boundary" : ""),
      d: `M${x1},${y1} C${x1 + GAP_Y / 2},${y1} ${x2 - GAP_Y / 2},${y2} ${x2},${y2}` });
    if (boundary) {
      const k = s.kernels[ka];
      path.appendChild(el("svg:title", {}, `kernel boundary: ${k.name} ends here because ${k.reason}`));
    }
    edgeLayer.appendChild(path);
  }
  for (const n of nodes) {
    const p = pos.get(n.id);
    const g = el("svg:g", { class: "node", transform: `translate(${p.x},${p.y})`, "data-kernel": n.kernel });
    g.appendChild(el("svg:rect", { width: NODE_W, height: NODE_H, rx: 5, fill: colour(n.kernel) }));
    g.appendChild(el("svg:text", { x: 6, y: 14 }, n.label.slice(0, 17)));
    g.appendChild(el("svg:text", { x: 6, y: 28 }, n.sub.slice(0, 18)));
    g.appendChild(el("svg:title", {}, n.title));
    if (n.kernel >= 0) g.addEventListener("click", ev => { ev.stopPropagation(); selectKernel(state.sid, n.kernel); });
    nodeLayer.appendChild(g);
  }
  vp.appendChild(edgeLayer);
  vp.appendChild(nodeLayer);
  highlightGraph();
  fitGraph(null, true);
  centreOnKernel();
}

function centreOnKernel() {
  // bring the selected kernel's boxes into view (a big graph opens at its top-left corner)
  if (!state.kernel || state.kernel.sid !== state.sid || !state.placed) return;
  const mine = state.placed.filter(p => p.kernel === state.kernel.k);
  if (!mine.length) return;
  const svg = document.getElementById("graph"), v = state.view;
  const cx = mine.reduce((a, p) => a + p.x, 0) / mine.length + NODE_W / 2;
  const cy = mine.reduce((a, p) => a + p.y, 0) / mine.length + NODE_H / 2;
  const w = svg.clientWidth || 800, h = svg.clientHeight || 400;
  const box = document.getElementById("viewport").getBBox();
  if (box.width * v.k <= w && box.height * v.k <= h) return; // all of it is on screen already
  v.x = w / 2 - cx * v.k; v.y = h / 2 - cy * v.k;
  applyView();
}

function highlightGraph() {
  const k = state.kernel && state.kernel.sid === state.sid ? state.kernel.k : null;
  for (const g of document.querySelectorAll("#viewport .node")) {
    const mine = k !== null && +g.dataset.kernel === k;
    g.classList.toggle("selected", mine);
    g.classList.toggle("dim", k !== null && !mine);
  }
}

function applyView() {
  const v = state.view;
  document.getElementById("viewport").setAttribute("transform", `translate(${v.x},${v.y}) scale(${v.k})`);
}

function fitGraph(ev, readable) {
  const svg = document.getElementById("graph"), vp = document.getElementById("viewport");
  const box = vp.getBBox(), w = svg.clientWidth || 800, h = svg.clientHeight || 400;
  if (!box.width || !box.height) { state.view = { x: 20, y: 20, k: 1 }; applyView(); return; }
  let k = Math.min(2, Math.max(0.02, Math.min((w - 40) / box.width, (h - 40) / box.height)));
  if (readable) k = Math.max(k, 0.6); // opening a graph: legible labels first, the user zooms out or fits
  state.view = { k, x: 20 - box.x * k, y: (h - box.height * k) / 2 - box.y * k };
  applyView();
}

function zoomGraph(factor, cx, cy) {
  const v = state.view, k = Math.min(8, Math.max(0.01, v.k * factor));
  v.x = cx - (cx - v.x) * (k / v.k); v.y = cy - (cy - v.y) * (k / v.k); v.k = k;
  applyView();
}

function bindGraph() {
  const svg = document.getElementById("graph");
  svg.addEventListener("wheel", ev => {
    ev.preventDefault();
    const r = svg.getBoundingClientRect();
    zoomGraph(ev.deltaY < 0 ? 1.15 : 1 / 1.15, ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });
  let drag = null;
  svg.addEventListener("mousedown", ev => { drag = { x: ev.clientX, y: ev.clientY }; });
  window.addEventListener("mouseup", () => { drag = null; });
  window.addEventListener("mousemove", ev => {
    if (!drag) return;
    state.view.x += ev.clientX - drag.x; state.view.y += ev.clientY - drag.y;
    drag = { x: ev.clientX, y: ev.clientY };
    applyView();
  });
  const centre = () => [svg.clientWidth / 2, svg.clientHeight / 2];
  document.getElementById("zoom-in").addEventListener("click", () => zoomGraph(1.3, ...centre()));
  document.getElementById("zoom-out").addEventListener("click", () => zoomGraph(1 / 1.3, ...centre()));
  document.getElementById("fit").addEventListener("click", fitGraph);
  document.getElementById("collapse").addEventListener("click", () => { state.collapsed = !state.collapsed; renderGraph(); });
}

// ---- selection ----
function selectSchedule(sid) {
  if (state.sid === sid) return;
  state.sid = sid;
  const s = state.data.schedules[sid];
  state.collapsed = s.nodes.length > COLLAPSE_ABOVE || s.nodes.length === 0;
  for (const sum of document.querySelectorAll("#schedules summary")) {
    sum.classList.toggle("current", +sum.parentElement.dataset.sid === sid);
  }
  renderGraph();
}

function selectKernel(sid, k) {
  selectSchedule(sid);
  state.kernel = { sid, k };
  const s = state.data.schedules[sid], kernel = s.kernels[k], st = statsOf(kernel);
  for (const li of document.querySelectorAll("li.kernel")) {
    li.classList.toggle("selected", +li.dataset.sid === sid && +li.dataset.k === k);
  }
  const det = document.querySelector(`#schedules details[data-sid="${sid}"]`);
  if (det) det.open = true;
  const info = document.getElementById("kernel-info");
  info.textContent = "";
  info.appendChild(el("b", {}, kernel.name));
  info.appendChild(document.createTextNode(` · schedule #${sid} · source `));
  info.appendChild(el("code", {}, kernel.source_hash || "-"));
  if (st) {
    const a = st.first.args;
    const rate = st.total > 0 ? ` · ${(st.flops / st.total / 1e3).toFixed(2)} GFLOP/s · ` +
      `${(st.bytes / st.total / 1e3).toFixed(2)} GB/s` : "";
    info.appendChild(document.createTextNode(` · ${st.calls} calls, ${fmtTime(st.total)} total${rate}`));
    if (a.shapes) info.appendChild(el("div", {}, "buffers: " + a.shapes.map((sh, i) =>
      `${(a.dtypes || [])[i] || ""}[${sh.join(",")}]`).join(", ") +
      (a.launch && a.launch.length ? " · launch " + a.launch.map(l => `grid ${l.grid} block ${l.block}`).join("; ") : "")));
  }
  info.appendChild(el("div", { class: "reason" }, "boundary: " + kernel.reason));
  document.getElementById("program").textContent = kernel.program;
  document.getElementById("source").textContent = kernel.source;
  highlightGraph();
  centreOnKernel();
  drawTimeline();
}

function selectByQuery(q) {
  const m = /^(\d+):(\d+)$/.exec(q);
  if (m) { selectKernel(+m[1], +m[2]); return; }
  for (const s of state.data.schedules) {
    const i = s.kernels.findIndex(k => k.name === q);
    if (i >= 0) { selectKernel(s.sid, i); return; }
  }
}

// ---- timeline ----
function timelineRows() {
  const rows = [], index = new Map();
  const rowOf = e => {
    const key = e.track === "host" ? "host " + ({ compile: "compile", kernel: "launch", schedule: "schedule", rewrite: "schedule" }[e.cat] || "realize")
                                   : `${e.track} ${e.cat === "copy" ? "copies" : "kernels"}`;
    if (!index.has(key)) { index.set(key, rows.length); rows.push(key); }
    return index.get(key);
  };
  const spans = [], memory = new Map(); // device -> [[ts, live bytes], ...]
  for (const e of state.data.events) {
    if (e.cat === "alloc" || e.cat === "free") {
      if (!memory.has(e.track)) memory.set(e.track, []);
      memory.get(e.track).push([e.ts, e.args.live]);
      continue;
    }
    if (!(e.dur > 0)) continue;
    spans.push({ e, row: rowOf(e) });
  }
  const memRows = [];
  for (const [device, points] of memory) {
    memRows.push({ row: rows.length, device, points, max: points.reduce((a, p) => Math.max(a, p[1]), 1) });
    rows.push(`${device} live bytes`);
  }
  return { rows, spans, memRows };
}

function drawTimeline() {
  const svg = document.getElementById("timeline");
  svg.textContent = "";
  if (!state.tl) return;
  const { rows, spans, memRows, t0, t1 } = state.tl;
  const w = svg.clientWidth || 1000, labelW = 130, rowH = 18, top = 16;
  const scale = (w - labelW - 10) / Math.max(t1 - t0, 1e-3);
  document.getElementById("timeline-range").textContent = `${fmtTime(t0)} – ${fmtTime(t1)}`;
  for (let i = 0; i <= 8; i++) {
    const t = t0 + (t1 - t0) * i / 8, x = labelW + (t - t0) * scale;
    svg.appendChild(el("svg:text", { class: "tick", x, y: 11 }, fmtTime(t)));
    svg.appendChild(el("svg:line", { x1: x, x2: x, y1: top, y2: top + rows.length * rowH, stroke: "#e3e6eb" }));
  }
  rows.forEach((name, r) => svg.appendChild(el("svg:text", { class: "track-label", x: 4, y: top + r * rowH + 13 }, name)));
  for (const m of memRows) { // live bytes as a step line, scaled to the most live on that device
    const y0 = top + m.row * rowH + rowH - 2, hgt = rowH - 4;
    let d = "", last = null;
    for (const [ts, live] of m.points) {
      const x = labelW + (Math.min(Math.max(ts, t0), t1) - t0) * scale, y = y0 - hgt * live / m.max;
      d += last === null ? `M${x},${y}` : `H${x}V${y}`;
      last = y;
    }
    if (d) {
      const path = el("svg:path", { d: d + `H${w - 10}`, fill: "none", stroke: "#3a7d44", "stroke-width": 1.5 });
      path.appendChild(el("svg:title", {}, `${m.device}: up to ${(m.max / 1048576).toFixed(2)} MiB live`));
      svg.appendChild(path);
    }
  }
  const sel = state.kernel ? state.data.schedules[state.kernel.sid].kernels[state.kernel.k] : null;
  const kernelIndex = kernelLookup();
  let drawn = 0;
  for (const { e, row } of spans) {
    if (e.ts + e.dur < t0 || e.ts > t1) continue;
    const x = labelW + (e.ts - t0) * scale, width = Math.max(e.dur * scale, 1);
    if (width < 1.5 && drawn > 20000) continue; // hundreds of thousands of tiny spans: draw the visible ones
    const found = e.cat === "kernel" ? kernelIndex.get(kernelKey(e.name, e.args.source_hash || "")) : null;
    const fill = found ? colour(found[1]) : { realize: "#9fb4d8", rewrite: "#e3b6cf", schedule: "#c7b6e3", compile: "#f0b27a",
                                              copy: "#8fd1a8", jit: "#e3c567" }[e.cat] || "#ccc";
    const isSel = sel && found && e.name === sel.name && (e.args.source_hash || "") === sel.source_hash;
    const r = el("svg:rect", { class: "ev" + (isSel ? " selected" : ""), x, y: top + row * rowH + 2, width,
                               height: rowH - 4, fill });
    r.appendChild(el("svg:title", {}, `${e.name} (${e.cat}) ${fmtTime(e.dur)}` +
      (e.args.flops !== undefined ? ` · ${e.args.flops} FLOP · ${e.args.bytes} B` : "") +
      (e.args["% peak GB/s"] !== undefined ? ` · ${e.args["% peak GB/s"]}% of peak GB/s` : "") +
      (e.args["% peak GFLOP/s"] !== undefined ? ` · ${e.args["% peak GFLOP/s"]}% of peak GFLOP/s` : "")));
    if (found) r.addEventListener("click", () => selectKernel(found[0], found[1]));
    svg.appendChild(r);
    drawn++;
  }
}

function kernelLookup() {
  if (!state.kernelIndex) {
    state.kernelIndex = new Map();
    for (const s of state.data.schedules) {
      s.kernels.forEach((k, i) => {
        const key = kernelKey(k.name, k.source_hash);
        if (!state.kernelIndex.has(key)) state.kernelIndex.set(key, [s.sid, i]);
      });
    }
  }
  return state.kernelIndex;
}

function fitTimeline() {
  const { rows, spans, memRows } = timelineRows();
  let t0 = Infinity, t1 = -Infinity;
  for (const { e } of spans) { t0 = Math.min(t0, e.ts); t1 = Math.max(t1, e.ts + e.dur); }
  if (!isFinite(t0)) { t0 = 0; t1 = 1; }
  state.tl = { rows, spans, memRows, t0, t1 };
  drawTimeline();
}

function bindTimeline() {
  const svg = document.getElementById("timeline");
  let pending = false;
  const redraw = () => { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; drawTimeline(); }); } };
  svg.addEventListener("wheel", ev => {
    ev.preventDefault();
    const tl = state.tl, r = svg.getBoundingClientRect(), labelW = 130;
    const frac = Math.min(1, Math.max(0, (ev.clientX - r.left - labelW) / (r.width - labelW - 10)));
    const at = tl.t0 + (tl.t1 - tl.t0) * frac, f = ev.deltaY < 0 ? 0.8 : 1.25;
    tl.t0 = at - (at - tl.t0) * f; tl.t1 = at + (tl.t1 - at) * f;
    redraw();
  }, { passive: false });
  let drag = null;
  svg.addEventListener("mousedown", ev => { drag = ev.clientX; });
  window.addEventListener("mouseup", () => { drag = null; });
  window.addEventListener("mousemove", ev => {
    if (drag === null) return;
    const tl = state.tl, per = (tl.t1 - tl.t0) / Math.max(svg.clientWidth - 140, 1), dt = (ev.clientX - drag) * per;
    tl.t0 -= dt; tl.t1 -= dt; drag = ev.clientX;
    redraw();
  });
  document.getElementById("tl-fit").addEventListener("click", fitTimeline);
}

// ---- start ----
async function main() {
  const response = await fetch("data.json");
  state.data = await response.json();
  indexEvents();
  const kernels = state.data.schedules.reduce((n, s) => n + s.kernels.length, 0);
  const launches = [...state.stats.values()].reduce((n, s) => n + s.calls, 0);
  const total = [...state.stats.values()].reduce((n, s) => n + s.total, 0);
  document.getElementById("summary").textContent =
    `${state.data.schedules.length} schedules · ${kernels} kernels · ${launches} launches · ` +
    `${fmtTime(total)} kernel time`;
  renderSidebar();
  bindGraph();
  bindTimeline();
  document.getElementById("search").addEventListener("input", applySearch);
  fitTimeline();
  const first = state.data.schedules.find(s => s.kernels.length);
  if (first) selectSchedule(first.sid);
  const q = new URLSearchParams(location.search).get("kernel");
  if (q) selectByQuery(q);
  window.addEventListener("resize", () => { drawTimeline(); });
  document.body.dataset.ready = "1";
}

main().catch(err => {
  document.getElementById("summary").textContent = "could not load the profile: " + err;
  throw err;
});
