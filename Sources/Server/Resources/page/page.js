// The search page's script (Sources/Server/Documents/SearchPage.swift inlines it into index.html when served).
"use strict";
const $ = (id) => document.getElementById(id);
let current = { query: "", video: null, moment: null, frames: [], curve: [], dense: false };

function esc(s) { return String(s).replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"}[c])); }
function fmt(t) { t = Math.round(Math.max(0, t) * 10) / 10; const m = Math.floor(t / 60); const s = (t - 60 * m).toFixed(1); return m + ":" + (s.length < 4 ? "0" : "") + s; }

// Reads authenticate with the HttpOnly session cookie (see the #auth form); the page never
// keeps the token itself.
async function api(path, payload) {
  const init = payload === undefined ? { credentials: "same-origin" }
    : { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) };
  const r = await fetch(path, init);
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (r.status === 401) { $("auth").style.display = "flex"; }
  if (!r.ok) { throw new Error((body && body.error && body.error.message) || ("HTTP " + r.status)); }
  return body;
}

// Trades the token for a session cookie (HttpOnly, SameSite=Strict) set by the server.
$("auth").addEventListener("submit", async (e) => {
  e.preventDefault();
  const token = $("token").value.trim();
  $("token").value = "";
  const r = await fetch("/v1/session", { method: "POST", headers: { "Authorization": "Bearer " + token }, credentials: "same-origin" });
  if (!r.ok) { $("status").textContent = "That token was not accepted."; return; }
  $("auth").style.display = "none";
  loadLibrary(); if ($("q").value) search($("q").value);
});

function drawSpark(canvas, points, moment, duration) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 240, h = canvas.clientHeight || 34;
  canvas.width = w * dpr; canvas.height = h * dpr;
  const g = canvas.getContext("2d"); g.scale(dpr, dpr);
  g.clearRect(0, 0, w, h);
  g.fillStyle = "#f0f2f7"; g.fillRect(0, 0, w, h);
  if (!points.length) return;
  const T = Math.max(duration || 0, points[points.length - 1].time + 0.5, 0.001);
  if (moment) { g.fillStyle = "rgba(242,163,58,.35)"; g.fillRect(moment.start / T * w, 0, Math.max(2, (moment.end - moment.start) / T * w), h); }
  let lo = Infinity, hi = -Infinity;
  for (const p of points) { lo = Math.min(lo, p.score); hi = Math.max(hi, p.score); }
  const span = (hi - lo) || 1;
  g.beginPath(); g.strokeStyle = "#2453c9"; g.lineWidth = 1.5;
  points.forEach((p, i) => { const x = p.time / T * w, y = h - 3 - (p.score - lo) / span * (h - 6); i ? g.lineTo(x, y) : g.moveTo(x, y); });
  g.stroke();
}

const videoCache = {};
async function videoInfo(id) {
  if (!videoCache[id]) videoCache[id] = api("/v1/videos/" + id);
  return videoCache[id];
}

// Coarse moments (stage 1 only) at once, then the refined ones replace them when they arrive.
let searchSeq = 0;
async function search(q) {
  q = q.trim(); if (!q) return;
  current.query = q;
  const k = $("k").value, seq = ++searchSeq;
  const url = new URL(location.href); url.searchParams.set("q", q); history.replaceState(null, "", url);
  $("status").textContent = "Searching…";
  const base = "/v1/search?q=" + encodeURIComponent(q) + "&k=" + k;
  try {
    const coarse = await api(base + "&refine=false");
    if (seq === searchSeq) showMoments(q, coarse, "coarse, refining…");
  } catch (e) {}
  let res;
  try { res = await api(base); }
  catch (e) { if (seq === searchSeq) { $("status").textContent = "Error: " + e.message; $("results").innerHTML = ""; } return; }
  if (seq === searchSeq) showMoments(q, res, res.refined ? "" : "some coarse: P-frame budget reached");
}

// "More like this": the moment's middle frame (its stored or reconstructed feature) as the query.
async function like(m) {
  const k = $("k").value, seq = ++searchSeq, t = (m.start + m.end) / 2;
  current.query = "";
  $("status").textContent = "Searching for moments like " + m.name + " at " + fmt(t) + "…";
  try {
    const res = await api("/v1/search", { like: { video_id: m.video_id, time: t }, k: +k });
    if (seq === searchSeq) showMoments("like " + m.name + " @ " + fmt(t), res, res.refined ? "" : "some coarse: P-frame budget reached", false);
  } catch (e) { if (seq === searchSeq) $("status").textContent = "Error: " + e.message; }
}

function showMoments(q, res, note, curves = true) {
  $("status").textContent = res.moments.length + " moments for “" + q + "” in " + (res.seconds * 1000).toFixed(0) + " ms" +
    " (stage 1 " + res.stage1_ms.toFixed(0) + " ms, stage 2 " + res.stage2_ms.toFixed(0) + " ms, " + res.p_frames + " P-frames, " +
    res.frame_cache_hits + " from the frame tier, " + res.decoded_frames + " decoded)" + (note ? " · " + note : "");
  const box = $("results"); box.innerHTML = "";
  if (!res.moments.length) { box.innerHTML = '<div class="empty">No moments. Is anything indexed?</div>'; return; }
  res.moments.forEach((m, i) => {
    const card = document.createElement("div");
    card.className = "card";
    card.innerHTML =
      '<div class="thumb"><img loading="lazy" alt="" src="' + esc(m.thumbnail) + '"><span class="rank">#' + (i + 1) + '</span>' +
      '<span class="time">' + fmt(m.start) + '–' + fmt(m.end) + (m.refined ? '' : ' ≈') + '</span></div>' +
      '<div class="meta"><div class="name" title="' + esc(m.path) + '">' + esc(m.name) + '</div>' +
      '<div class="row"><span>' + fmt(m.start) + ' – ' + fmt(m.end) + ' (' + (m.end - m.start).toFixed(1) + ' s)</span>' +
      '<span>score <span class="score">' + m.score.toFixed(3) + '</span></span></div>' +
      '<canvas class="spark"></canvas><button class="ghost like" type="button" style="padding:2px 8px;font-size:12px;margin-top:6px">more like this</button></div>';
    card.querySelector("button.like").addEventListener("click", (e) => { e.stopPropagation(); like(m); });
    card.addEventListener("click", () => { document.querySelectorAll(".card.active").forEach(c => c.classList.remove("active")); card.classList.add("active"); play(m); });
    box.appendChild(card);
    const canvas = card.querySelector("canvas");
    if (curves) Promise.all([api("/v1/videos/" + m.video_id + "/curve?q=" + encodeURIComponent(q)), videoInfo(m.video_id)])
      .then(([c, v]) => drawSpark(canvas, c.points, m, v.duration)).catch(() => {});
  });
}

async function openVideo(id, moment) {
  const v = await videoInfo(id);
  current.video = v; current.moment = moment || null; current.dense = false;
  $("vtitle").textContent = v.name;
  $("vinfo").innerHTML = '<span>' + fmt(v.duration) + ' · ' + v.frames + ' frames at ' + v.fps + ' fps · N=' + v.n +
    ' (' + v.i_frames + ' I / ' + (v.frames - v.i_frames) + ' P) · ' + esc(v.status) + '</span>';
  // The timeline comes in pages (next_cursor); a few suffice to draw it.
  let fr = await api("/v1/videos/" + id + "/frames");
  current.frames = fr.frames;
  for (let pages = 1; fr.next_cursor && pages < 10; pages++) {
    fr = await api("/v1/videos/" + id + "/frames?cursor=" + encodeURIComponent(fr.next_cursor));
    current.frames = current.frames.concat(fr.frames);
  }
  current.curve = [];
  if (current.query) {
    try { current.curve = (await api("/v1/videos/" + id + "/curve?q=" + encodeURIComponent(current.query))).points; } catch (e) {}
  }
  drawTimeline();
  const player = $("player");
  const src = "/v1/videos/" + id + "/media";
  if (!player.src.endsWith(src)) { player.src = src; }
  return v;
}

async function play(m) {
  await openVideo(m.video_id, m);
  const player = $("player");
  const go = () => { player.currentTime = m.start; player.play().catch(() => {}); };
  if (player.readyState >= 1) go(); else player.addEventListener("loadedmetadata", go, { once: true });
}

function drawTimeline() {
  const c = $("timeline"), v = current.video; if (!v) return;
  const dpr = window.devicePixelRatio || 1, w = c.clientWidth || 380, h = c.clientHeight || 92;
  c.width = w * dpr; c.height = h * dpr;
  const g = c.getContext("2d"); g.scale(dpr, dpr);
  g.clearRect(0, 0, w, h);
  const T = Math.max(v.duration, 0.001);
  const m = current.moment;
  if (m) { g.fillStyle = "rgba(242,163,58,.30)"; g.fillRect(m.start / T * w, 0, Math.max(2, (m.end - m.start) / T * w), h); }
  // Frame ticks: I tall and dark, P short and light.
  const base = h - 4;
  for (const f of current.frames) {
    const x = f.time / T * w;
    g.fillStyle = f.kind === "I" ? "#2453c9" : "#9db4ee";
    const th = f.kind === "I" ? 18 : 10;
    g.fillRect(x - 0.75, base - th, 1.5, th);
  }
  g.fillStyle = "#c8cfdd"; g.fillRect(0, base, w, 1);
  // Similarity curve above the ticks.
  const pts = current.curve;
  if (pts.length) {
    let lo = Infinity, hi = -Infinity;
    for (const p of pts) { lo = Math.min(lo, p.score); hi = Math.max(hi, p.score); }
    const span = (hi - lo) || 1, top = 6, bot = base - 24;
    g.beginPath(); g.strokeStyle = current.dense ? "#0d8a5f" : "#2453c9"; g.lineWidth = 1.6;
    pts.forEach((p, i) => { const x = p.time / T * w, y = bot - (p.score - lo) / span * (bot - top); i ? g.lineTo(x, y) : g.moveTo(x, y); });
    g.stroke();
    g.fillStyle = "#6b7385"; g.font = "10px system-ui"; g.fillText((current.dense ? "dense" : "I-frame") + " similarity", 4, 12);
  }
  const t = $("player").currentTime;
  if (!isNaN(t) && $("player").src) { g.fillStyle = "#e0433a"; g.fillRect(t / T * w - 1, 0, 2, h); }
}

$("timeline").addEventListener("click", (e) => {
  const v = current.video; if (!v) return;
  const r = e.target.getBoundingClientRect();
  $("player").currentTime = (e.clientX - r.left) / r.width * v.duration;
});
$("player").addEventListener("timeupdate", drawTimeline);
$("denseBtn").addEventListener("click", async () => {
  const v = current.video; if (!v || !current.query) return;
  try { current.curve = (await api("/v1/videos/" + v.id + "/curve?dense=true&q=" + encodeURIComponent(current.query))).points; current.dense = true; drawTimeline(); }
  catch (e) { $("vinfo").textContent = e.message; }
});

async function loadLibrary() {
  try {
    const [lib, h] = await Promise.all([api("/v1/videos"), api("/healthz")]);
    $("library").innerHTML = lib.videos.map(v =>
      '<a href="?video=' + v.id + '" data-id="' + v.id + '" title="' + esc(v.path) + '">' + esc(v.name) +
      ' <span class="st">' + fmt(v.duration) + ' · ' + esc(v.status) + '</span></a>').join("") || '<span class="st">empty store</span>';
    $("library").querySelectorAll("a").forEach(a => a.addEventListener("click", (e) => { e.preventDefault(); openVideo(+a.dataset.id); }));
    $("stats").textContent = h.ready_videos + " videos · " + h.model + " · " + h.embed_dim + "-d";
  } catch (e) { $("library").textContent = e.message; }
}

$("f").addEventListener("submit", (e) => { e.preventDefault(); search($("q").value); });
window.addEventListener("resize", () => { drawTimeline(); });

(async function init() {
  const params = new URLSearchParams(location.search);
  if (params.get("k")) $("k").value = params.get("k");
  await loadLibrary();
  const q = params.get("q");
  if (q) { $("q").value = q; await search(q); }
  const vid = params.get("video");
  if (vid) { openVideo(+vid); }
  else {
    // Show the best moment in the player and its frame timeline.
    const first = document.querySelector(".card");
    if (first) first.click();
  }
})();
