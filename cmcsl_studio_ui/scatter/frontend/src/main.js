// Linked WebGL scatter views for cmcsl-studio (a Streamlit custom component).
//
// One iframe holds one regl-scatterplot per view (modality), all sharing one WebGL context.
// Coordinates travel once per (data, view) fingerprint: the Python side sends them in the
// `points` argument only when this frame asks for them (`need_points`) or on the first render
// of a fingerprint in a session; the frame keeps them in memory keyed by fingerprint and
// acknowledges with `have_points`. Every other render carries only small per-item arrays
// (colour codes, flags) and the palette.
//
// Events sent back (Streamlit.setComponentValue), all with {nonce, seq} so the Python side
// can apply each one once:
//   {event: "need_points", fingerprint}      the frame lacks the coordinates of `fingerprint`
//   {event: "have_points", fingerprint}      the frame has them (stop sending)
//   {event: "click", ids: [i], view}         a point was clicked
//   {event: "select", ids: [...], view}      a lasso selected these points
import { frameGate, hold, release } from "./frames.js"; // first: gates the animation frames of everything below
import createScatterplot, { createRenderer } from "regl-scatterplot";
import { Streamlit } from "streamlit-component-lib/dist/streamlit.js";

const NONCE = Math.random().toString(36).slice(2, 10);
const RING_COLOR = "rgba(0, 0, 0, 0.45)"; // thin, like the Plotly views had: thousands can disagree
const RING_COLOR_MANY = "rgba(0, 0, 0, 0.2)";
const SEED_OUTLINE = "#111111";

const cache = new Map(); // fingerprint -> {n, views: [{x, y}], names}
const state = {
  seq: 0,
  fp: null,
  plots: [],
  renderer: null,
  requested: new Map(),
  acked: new Set(),
  outbox: [],
  lastLassoEnd: -1e9,
  lastKey: null,
  pending: null, // latest render args waiting to be applied
  busy: false,
  mode: "panZoom",
  codes: null,
  flags: null,
  seedIdx: [],
  ringIdx: [],
  selection: [],
  selectedBytes: null,
  labelNames: null,
  thumbUrl: null,
  mouse: [0, 0],
};

const debug = {
  nonce: NONCE,
  renders: 0,
  total: 0,
  tooltip: "",
  draws: 0,
  ready: false,
  fingerprint: null,
  highlighted: [],
  selected: [],
  events: [],
  pointsReceived: 0,
  applyMs: [],
  lastDraw: null,
  frames: frameGate, // frameGate.parkedNow(): animation frames parked while idle (tests check it)
  // what regl-scatterplot itself holds in a view (tests check that the views are linked)
  hoveredIn(view) {
    return state.plots[view] ? state.plots[view].sp.get("hoveredPoint") : null;
  },
  selectedIn(view) {
    return state.plots[view] ? Array.from(state.plots[view].sp.get("selectedPoints") || []) : null;
  },
  // an item drawn inside the plot with no other item within `px` pixels (clickable alone), not in `exclude`
  isolated(view, px = 8, exclude = []) {
    const p = state.plots[view];
    if (!p) return null;
    const map = screenMap(p);
    if (!map) return null;
    const [xs, ys] = map;
    const skip = new Set(exclude);
    const grid = new Map();
    const pos = [];
    for (let i = 0; i < p.data.x.length; i += 1) {
      const sx = xs(p.data.x[i]);
      const sy = ys(p.data.y[i]);
      pos.push([sx, sy]);
      const k = `${Math.floor(sx / px)},${Math.floor(sy / px)}`;
      if (!grid.has(k)) grid.set(k, []);
      grid.get(k).push(i);
    }
    for (let i = 0; i < pos.length; i += 1) {
      const [sx, sy] = pos[i];
      if (skip.has(i) || sx < 2 * px || sy < 2 * px || sx > p.width - 2 * px || sy > p.height - 2 * px) continue;
      const gx = Math.floor(sx / px);
      const gy = Math.floor(sy / px);
      let alone = true;
      for (let dx = -1; dx <= 1 && alone; dx += 1) {
        for (let dy = -1; dy <= 1 && alone; dy += 1) {
          for (const j of grid.get(`${gx + dx},${gy + dy}`) || []) {
            if (j !== i && Math.hypot(pos[j][0] - sx, pos[j][1] - sy) < px) { alone = false; break; }
          }
        }
      }
      if (alone) return i;
    }
    return null;
  },
  camera(view) {
    const p = state.plots[view];
    return p ? { distance: p.sp.get("cameraDistance"), width: p.width, height: p.height, fits: p.fits || 0 } : null;
  },
  extremes(view) {
    return state.plots[view] ? state.plots[view].ref : null;
  },
  screenPosition(view, i) {
    const p = state.plots[view];
    if (!p) return null;
    const [x, y] = p.sp.getScreenPosition(i);
    const r = p.canvas.getBoundingClientRect();
    return [r.left + x, r.top + y];
  },
};
window.__scatter = debug;

function send(event, extra) {
  // Every value carries all events the Python side has not acknowledged yet (args.ack_seq):
  // a value that replaces another before a rerun picked it up loses nothing.
  state.seq += 1;
  const item = { event, seq: state.seq, ...extra };
  debug.events.push(item);
  if (debug.events.length > 50) debug.events.shift();
  state.outbox.push(item);
  if (state.outbox.length > 50) state.outbox.shift();
  Streamlit.setComponentValue({ nonce: NONCE, seq: state.seq, events: state.outbox });
}

function copyBytes(u8) {
  // Streamlit hands bytes args over as Uint8Array views that may be unaligned: copy once.
  return u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength);
}

function decodePoints(args) {
  const m = args.view_names.length;
  const n = args.n;
  const f = new Float32Array(copyBytes(args.points));
  if (f.length !== m * n * 2) throw new Error(`points: expected ${m * n * 2} floats, got ${f.length}`);
  const views = [];
  for (let v = 0; v < m; v += 1) {
    const x = new Float32Array(n);
    const y = new Float32Array(n);
    const off = v * n * 2;
    for (let i = 0; i < n; i += 1) {
      x[i] = f[off + 2 * i];
      y[i] = f[off + 2 * i + 1];
    }
    views.push({ x, y });
  }
  return { n, views, names: args.names || null };
}

function decodeCodes(args, m, n) {
  // One code array shared by all views (n codes) or one per view (m * n codes).
  const buf = copyBytes(args.color);
  const all = args.color_width === 2 ? new Uint16Array(buf) : new Uint8Array(buf);
  if (all.length === n) return Array.from({ length: m }, () => all);
  if (all.length !== m * n) throw new Error(`color: expected ${n} or ${m * n} codes, got ${all.length}`);
  return Array.from({ length: m }, (_, v) => all.subarray(v * n, (v + 1) * n));
}

function setStatus(text) {
  document.getElementById("status").textContent = text;
}

function frameHeight() {
  Streamlit.setFrameHeight(document.getElementById("root").scrollHeight + 4);
}

function defaultPointSize(n) {
  if (n > 50000) return 2;
  if (n > 10000) return 3;
  return 4;
}

// ---------------------------------------------------------------- plots
function destroyPlots() {
  for (const p of state.plots) p.sp.destroy();
  state.plots = [];
  document.getElementById("views").innerHTML = "";
}

function makeRenderer(width, height) {
  // One WebGL context for all views, its canvas the size of the largest view: regl-scatterplot
  // draws a view there and copies it onto the view's own canvas, so every pixel beyond the views'
  // size would be cleared, drawn and copied on every frame for nothing (by default the renderer's
  // canvas is the whole frame; with software WebGL that copy dominated the cost of a redraw).
  if (state.renderer) state.renderer.destroy();
  const dpr = window.devicePixelRatio || 1;
  const canvas = document.createElement("canvas");
  canvas.width = Math.ceil(width * dpr);
  canvas.height = Math.ceil(height * dpr);
  state.renderer = createRenderer({ canvas });
  state.rendererSize = [width, height];
}

function buildPlots(data, args) {
  destroyPlots();
  const holder = document.getElementById("views");
  const size = args.point_size || defaultPointSize(data.n);
  // all views' elements first, so that each plot has its final width when its scatterplot is made
  const made = args.view_names.map((name) => {
    const view = document.createElement("div");
    view.className = "view";
    const title = document.createElement("div");
    title.className = "view-title";
    title.textContent = name;
    const plot = document.createElement("div");
    plot.className = "plot";
    plot.style.height = `${args.height}px`;
    const canvas = document.createElement("canvas");
    const overlay = document.createElement("canvas");
    overlay.className = "overlay";
    plot.append(canvas, overlay);
    view.append(title, plot);
    holder.append(view);
    return { name, plot, canvas, overlay };
  });
  const widest = Math.max(50, ...made.map(({ plot }) => plot.clientWidth));
  if (!state.renderer || state.rendererSize[0] < widest || state.rendererSize[1] !== args.height) {
    makeRenderer(widest, args.height);
  }
  made.forEach(({ name, plot, canvas, overlay }, v) => {
    const width = Math.max(50, plot.clientWidth);
    const height = args.height;
    const sp = createScatterplot({
      renderer: state.renderer,
      canvas,
      width,
      height,
      backgroundColor: "#ffffff",
      pointSize: [size, size * 2.2],
      sizeBy: "valueB",
      colorBy: "valueA",
      pointColor: args.palette,
      pointColorActive: "#000000",
      pointColorHover: "#ff7f0e",
      pointOutlineWidth: 2,
      pointSizeSelected: 2,
      opacity: 0.85,
      lassoColor: "#31333f",
      lassoMinDelay: 10,
      showReticle: false,
      reticleColor: [1, 0.5, 0.05, 0.6],
      mouseMode: state.mode,
      deselectOnDblClick: true,
      // the data fill [-0.95, 0.95]^2; a plot narrower than high must step back to show all of x
      cameraDistance: Math.max(1, height / width),
    });
    const p = { v, name, sp, canvas, overlay, plot, data: data.views[v], width, height, inLasso: false, spatialIndex: null, ref: extremes(data.views[v]) };
    sp.subscribe("view", () => scheduleOverlay(p));
    sp.subscribe("pointover", (i) => onHover(v, i));
    sp.subscribe("pointout", () => onHover(v, null));
    sp.subscribe("lassoStart", () => { p.inLasso = true; });
    sp.subscribe("select", ({ points }) => onSelect(v, Array.from(points)));
    sp.subscribe("deselect", () => onDeselect(v));
    plot.addEventListener("mousemove", (e) => { state.mouse = [e.clientX, e.clientY]; });
    plot.addEventListener("mouseleave", () => hideTooltip());
    state.plots.push(p);
    sizeOverlay(p);
  });
  state.fp = args.fingerprint;
  debug.fingerprint = args.fingerprint;
  debug.total = data.n;
  debug.highlighted = state.plots.map(() => null);
  state.selection = [];
  state.selectedBytes = null;
  state.lastKey = null;
}

function resizePlots() {
  // false when a view outgrew the renderer's canvas: the caller rebuilds the views
  for (const p of state.plots) {
    const width = Math.max(50, p.plot.clientWidth);
    if (width > state.rendererSize[0]) return false;
    if (width !== p.width) {
      p.width = width;
      p.sp.set({ width });
      fitView(p);
      sizeOverlay(p);
      scheduleOverlay(p);
    }
  }
  return true;
}

function fitView(p) {
  // show all of [-1, 1]^2 whatever the plot's aspect ratio (the camera sees y in [-d, d])
  p.fits = (p.fits || 0) + 1;
  p.sp.set({ cameraTarget: [0, 0], cameraDistance: Math.max(1, p.height / p.width) });
}

function sizeOverlay(p) {
  const dpr = window.devicePixelRatio || 1;
  p.overlay.width = Math.round(p.width * dpr);
  p.overlay.height = Math.round(p.height * dpr);
  p.overlay.style.width = `${p.width}px`;
  p.overlay.style.height = `${p.height}px`;
  p.ctx = p.overlay.getContext("2d");
  p.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
}

function scheduleOverlay(p) {
  if (p.overlayPending) return;
  p.overlayPending = true;
  requestAnimationFrame(() => {
    p.overlayPending = false;
    drawOverlay(p);
  });
}

function extremes({ x, y }) {
  // Items with the smallest/largest x and y: their screen positions give the view's affine map.
  let [x0, x1, y0, y1] = [0, 0, 0, 0];
  for (let i = 1; i < x.length; i += 1) {
    if (x[i] < x[x0]) x0 = i;
    if (x[i] > x[x1]) x1 = i;
    if (y[i] < y[y0]) y0 = i;
    if (y[i] > y[y1]) y1 = i;
  }
  return { x0, x1, y0, y1 };
}

function screenMap(p) {
  // regl-scatterplot's camera only pans and zooms here (no rotation): screen = a * ndc + b per axis.
  const { x, y } = p.data;
  const { x0, x1, y0, y1 } = p.ref;
  const sx0 = p.sp.getScreenPosition(x0);
  const sx1 = p.sp.getScreenPosition(x1);
  const sy0 = p.sp.getScreenPosition(y0);
  const sy1 = p.sp.getScreenPosition(y1);
  if (!sx0 || !sx1 || !sy0 || !sy1) return null;
  const ax = x[x1] > x[x0] ? (sx1[0] - sx0[0]) / (x[x1] - x[x0]) : 1;
  const ay = y[y1] > y[y0] ? (sy1[1] - sy0[1]) / (y[y1] - y[y0]) : 1;
  const bx = sx0[0] - ax * x[x0];
  const by = sy0[1] - ay * y[y0];
  return [(v) => ax * v + bx, (v) => ay * v + by];
}

function strokeCircles(p, idx, r, color, width) {
  const { ctx, data } = p;
  if (idx.length === 0 || !p.sp.get("isPointsDrawn")) return;
  const map = screenMap(p);
  if (!map) return;
  const [xs, ys] = map;
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  ctx.beginPath();
  for (const i of idx) {
    const px = xs(data.x[i]);
    const py = ys(data.y[i]);
    if (px < -r || py < -r || px > p.width + r || py > p.height + r) continue;
    ctx.moveTo(px + r, py);
    ctx.arc(px, py, r, 0, 2 * Math.PI);
  }
  ctx.stroke();
}

function drawOverlay(p) {
  if (!p.ctx) return;
  p.ctx.clearRect(0, 0, p.width, p.height);
  const size = p.sp.get("pointSize");
  const base = Array.isArray(size) ? size[0] : size;
  // lighter when many items disagree, so the colours stay readable
  const many = state.ringIdx.length > 0.25 * p.data.x.length;
  strokeCircles(p, state.ringIdx, base * 0.8 + 1.5, many ? RING_COLOR_MANY : RING_COLOR, 0.8);
  strokeCircles(p, state.seedIdx, base * 1.1 + 1, SEED_OUTLINE, 1.5);
}

// ---------------------------------------------------------------- interaction
function onHover(v, i) {
  state.plots.forEach((p, k) => {
    if (k !== v) p.sp.hover(i === null ? -1 : i, { showReticleOnce: i !== null, preventEvent: true });
  });
  debug.highlighted = state.plots.map(() => i);
  if (i === null) {
    hideTooltip();
    return;
  }
  const data = cache.get(state.fp);
  const name = data && data.names ? data.names[i] : `item ${i}`;
  const code = state.codes ? state.codes[v][i] : null;
  const label = state.labelNames && code !== null && code < state.labelNames.length ? `\n${state.plots[v].name}: ${state.labelNames[code]}` : "";
  const seed = state.flags && state.flags[i] & 1 ? " · seed" : "";
  const tip = document.getElementById("tooltip");
  document.getElementById("tooltip-text").textContent = `${name}${label}${seed}`;
  const img = document.getElementById("tooltip-img");
  const missing = document.getElementById("tooltip-nopic");
  if (state.thumbUrl) {
    // thumbnails are static files of the Streamlit server (same origin as this frame); an item whose
    // image could not be read has none: a placeholder says so (never a broken image)
    const base = window.location.pathname.split("/component/")[0];
    const src = `${base}/${state.thumbUrl}${i}.jpg`;
    if (img.dataset.src !== src) {
      img.dataset.src = src;
      img.hidden = true;
      missing.hidden = true;
      img.onload = () => { if (img.dataset.src === src) { img.hidden = false; placeTooltip(); } };
      img.onerror = () => { if (img.dataset.src === src) { img.hidden = true; missing.hidden = false; placeTooltip(); } };
      img.src = src;
    }
  } else {
    img.hidden = true;
    missing.hidden = true;
  }
  tip.hidden = false;
  placeTooltip();
  debug.tooltip = tip.innerText;
}

function placeTooltip() {
  const tip = document.getElementById("tooltip");
  const [mx, my] = state.mouse;
  tip.style.left = `${Math.max(0, Math.min(mx + 12, window.innerWidth - tip.offsetWidth - 4))}px`;
  const below = my + 14;
  tip.style.top = `${below + tip.offsetHeight > window.innerHeight ? Math.max(0, my - 10 - tip.offsetHeight) : below}px`;
}

function hideTooltip() {
  document.getElementById("tooltip").hidden = true;
}

function mirrorSelection(v, ids) {
  state.plots.forEach((p, k) => {
    if (k === v) return;
    if (ids.length) p.sp.select(ids, { preventEvent: true });
    else p.sp.deselect({ preventEvent: true });
  });
  state.selection = ids;
  debug.selected = ids;
}

function onSelect(v, ids) {
  const p = state.plots[v];
  const lasso = p.inLasso;
  p.inLasso = false;
  if (lasso) {
    mirrorSelection(v, ids);
    state.lastLassoEnd = performance.now();
    if (ids.length) send("select", { ids, view: p.name });
  } else if (performance.now() - state.lastLassoEnd < 400) {
    // the mouse-up that ended a lasso near its start also reads as a click: keep the lasso's selection
    state.plots[v].sp.select(state.selection, { preventEvent: true });
  } else {
    mirrorSelection(v, ids);
    if (ids.length === 1) send("click", { ids, view: p.name });
  }
}

function onDeselect(v) {
  state.plots[v].inLasso = false;
  mirrorSelection(v, []);
}

function setMode(mode) {
  state.mode = mode;
  for (const p of state.plots) p.sp.set({ mouseMode: mode });
  document.getElementById("mode-pan").classList.toggle("active", mode === "panZoom");
  document.getElementById("mode-lasso").classList.toggle("active", mode === "lasso");
}

document.getElementById("mode-pan").addEventListener("click", () => setMode("panZoom"));
document.getElementById("mode-lasso").addEventListener("click", () => setMode("lasso"));
document.getElementById("reset-view").addEventListener("click", () => {
  // fit [-1, 1]^2 into the plot's current size (reset() would restore the size at creation)
  for (const p of state.plots) fitView(p);
});
window.addEventListener("resize", () => {
  if (!resizePlots() && state.lastArgs) {
    state.lastKey = null; // views rebuilt: draw the last arguments again
    state.fp = null;
    state.pending = state.pending || state.lastArgs;
    pump();
  }
});

// ---------------------------------------------------------------- rendering Streamlit args
function sameBytes(a, b) {
  if (a === b) return true;
  if (!a || !b || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

function argsKey(a) {
  return { fp: a.fingerprint, color: a.color, flags: a.flags, selected: a.selected || null, rest: JSON.stringify([a.palette, a.label_names, a.height, a.point_size, a.view_names]) };
}

function sameArgs(k1, k2) {
  return k1.fp === k2.fp && k1.rest === k2.rest && sameBytes(k1.color, k2.color) && sameBytes(k1.flags, k2.flags) && sameBytes(k1.selected, k2.selected);
}

async function apply(args) {
  if (args.ack_nonce === NONCE) state.outbox = state.outbox.filter((e) => e.seq > args.ack_seq);
  const fp = args.fingerprint;
  let ack = false;
  if (args.points && args.points_fingerprint === fp) {
    if (!cache.has(fp)) {
      cache.set(fp, decodePoints(args));
      debug.pointsReceived += 1;
    }
    ack = true;
  }
  const data = cache.get(fp);
  if (!data) {
    setStatus("loading points…");
    const last = state.requested.get(fp);
    if (last === undefined || performance.now() - last > 3000) {
      state.requested.set(fp, performance.now());
      send("need_points", { fingerprint: fp });
    }
    frameHeight();
    return;
  }
  state.lastArgs = args;
  if (state.fp !== fp || state.plots.length !== args.view_names.length || !resizePlots()) {
    buildPlots(data, args);
  }
  if (ack && !state.acked.has(fp)) {
    state.acked.add(fp);
    send("have_points", { fingerprint: fp });
  }
  const key = argsKey(args);
  if (state.lastKey && sameArgs(state.lastKey, key)) {
    frameHeight();
    return; // the same render delivered again (Streamlit re-posts args on layout changes)
  }
  state.lastKey = key;

  const codes = decodeCodes(args, state.plots.length, data.n);
  const flags = new Uint8Array(copyBytes(args.flags));
  const seedW = new Float32Array(data.n);
  const seedIdx = [];
  const ringIdx = [];
  for (let i = 0; i < data.n; i += 1) {
    if (flags[i] & 1) {
      seedW[i] = 1;
      seedIdx.push(i);
    }
    if (flags[i] & 2) ringIdx.push(i);
  }
  state.codes = codes;
  state.flags = flags;
  state.seedIdx = seedIdx;
  state.ringIdx = ringIdx;
  state.labelNames = args.label_names || null;
  state.thumbUrl = args.thumb_url || null;

  if (args.selected && !sameBytes(args.selected, state.selectedBytes)) {
    state.selectedBytes = args.selected;
    state.selection = Array.from(new Uint32Array(copyBytes(args.selected)));
    debug.selected = state.selection;
  }
  let maxCode = 0;
  for (const c of codes) for (let i = 0; i < c.length; i += 1) if (c[i] > maxCode) maxCode = c[i];
  const palette = [];
  for (let k = 0; k <= Math.max(maxCode, args.palette.length - 1); k += 1) palette.push(args.palette[k % args.palette.length]);

  await Promise.all(
    state.plots.map(async (p) => {
      const paletteKey = palette.join(",");
      if (p.paletteKey !== paletteKey) {
        p.sp.set({ pointColor: palette }); // a set() redraws: only when the colours changed
        p.paletteKey = paletteKey;
      }
      await p.sp.draw(
        { x: p.data.x, y: p.data.y, z: codes[p.v], w: seedW },
        {
          zDataType: "categorical",
          wDataType: "categorical",
          preventFilterReset: true,
          spatialIndex: p.spatialIndex || undefined,
          select: state.selection.length ? state.selection : undefined,
        },
      );
      if (!p.spatialIndex) p.spatialIndex = p.sp.get("spatialIndex");
      drawOverlay(p);
    }),
  );
  setStatus(`${data.n.toLocaleString()} items · ${seedIdx.length} seeds`);
  frameHeight();
  debug.draws += 1;
  debug.ready = true;
  let sum = 0;
  codes.forEach((c, v) => { for (let i = 0; i < c.length; i += 1) sum += c[i] * ((i % 7) + 1) * (v + 1); });
  debug.lastDraw = { fingerprint: fp, codesChecksum: sum, seeds: seedIdx.length, rings: ringIdx.length, t: performance.now() };
}

async function pump() {
  if (state.busy) return;
  state.busy = true;
  try {
    while (state.pending) {
      const args = state.pending;
      state.pending = null;
      hold(); // animation frames flow until this render is drawn
      try {
        const t0 = performance.now();
        await apply(args);
        debug.applyMs.push(Math.round(performance.now() - t0));
        if (debug.applyMs.length > 20) debug.applyMs.shift();
      } catch (err) {
        console.error(err);
        setStatus(`error: ${err.message}`);
        debug.error = String(err && err.stack ? err.stack : err);
      } finally {
        release();
      }
    }
  } finally {
    state.busy = false;
  }
}

Streamlit.events.addEventListener(Streamlit.RENDER_EVENT, (event) => {
  debug.renders += 1;
  state.pending = event.detail.args;
  pump();
});
Streamlit.setComponentReady();
Streamlit.setFrameHeight(520);
