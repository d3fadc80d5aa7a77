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

// One streamed request (GET /v1/search?stream=true: JSON lines): stage 1's coarse moments are
// shown at once, then each refined line and the final answer update the same cards in place.
// A newer search drops the stream, which closes the request and stops its work on the server.
let searchSeq = 0;
async function search(q) {
  q = q.trim(); if (!q) return;
  current.query = q;
  const k = $("k").value, seq = ++searchSeq;
  const url = new URL(location.href); url.searchParams.set("q", q); history.replaceState(null, "", url);
  $("status").textContent = "Searching…";
  const fail = (message) => { if (seq === searchSeq) { $("status").textContent = "Error: " + message; $("results").innerHTML = ""; } };
  let r;
  try { r = await fetch("/v1/search?q=" + encodeURIComponent(q) + "&k=" + k + "&stream=true", { credentials: "same-origin" }); }
  catch (e) { fail(e.message); return; }
  if (!r.ok) {
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (r.status === 401) { $("auth").style.display = "flex"; }
    fail((body && body.error && body.error.message) || ("HTTP " + r.status)); return;
  }
  const reader = r.body.getReader(), decoder = new TextDecoder();
  let buffer = "", last = null;
  for (;;) {
    let chunk;
    try { chunk = await reader.read(); } catch (e) { if (!last || last.event !== "done") fail(e.message); return; }
    buffer += decoder.decode(chunk.value || new Uint8Array(), { stream: !chunk.done });
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).trim(); buffer = buffer.slice(nl + 1);
      if (!line) continue;
      if (seq !== searchSeq) { reader.cancel().catch(() => {}); return; }
      last = JSON.parse(line);
      onSearchEvent(q, last);
    }
    if (chunk.done) break;
  }
  if (seq === searchSeq && (!last || (last.event !== "done" && last.event !== "error"))) fail("the answer stopped before its end");
}

function onSearchEvent(q, e) {
  if (e.event === "coarse") {
    showMoments(q, e.moments, e.moments.length + " moments for “" + q + "” in " + (e.seconds * 1000).toFixed(0) +
      " ms (stage 1 " + e.stage1_ms.toFixed(0) + " ms) · coarse, refining…");
  } else if (e.event === "refined") {
    // The refined moments of some videos: each takes the place of a coarse card it overlaps.
    const cards = Array.from(document.querySelectorAll("#results .card"));
    for (const m of e.moments) {
      const card = cards.find(c => c.moment && c.moment.video_id === m.video_id && !c.moment.refined &&
        c.moment.start < m.end && m.start < c.moment.end);
      if (card) fillCard(card, m, cards.indexOf(card), q, true);
    }
    $("status").textContent = $("status").textContent.replace(/refining….*$/, "refining… (" + e.videos.length + " videos refined)");
  } else if (e.event === "done") {
    const res = e.search;
    showMoments(q, res.moments, res.moments.length + " moments for “" + q + "” in " + (res.seconds * 1000).toFixed(0) + " ms" +
      " (stage 1 " + res.stage1_ms.toFixed(0) + " ms, stage 2 " + res.stage2_ms.toFixed(0) + " ms, " + res.p_frames + " P-frames, " +
      res.frame_cache_hits + " from the frame tier, " + res.decoded_frames + " decoded)" + (res.refined ? "" : " · some coarse: P-frame budget reached"));
  } else if (e.event === "error") {
    $("status").textContent = "Error: " + e.error.message + (document.querySelector("#results .card") ? " (coarse moments shown)" : "");
  }
}

// "More like this": the moment's middle frame (its stored or reconstructed feature) as the query.
async function like(m) {
  const k = $("k").value, seq = ++searchSeq, t = (m.start + m.end) / 2;
  current.query = "";
  $("status").textContent = "Searching for moments like " + m.name + " at " + fmt(t) + "…";
  try {
    const res = await api("/v1/search", { like: { video_id: m.video_id, time: t }, k: +k });
    if (seq === searchSeq) showMoments("like " + m.name + " @ " + fmt(t), res.moments, res.moments.length + " moments like " + m.name + " @ " + fmt(t) +
      " in " + (res.seconds * 1000).toFixed(0) + " ms" + (res.refined ? "" : " · some coarse: P-frame budget reached"), false);
  } catch (e) { if (seq === searchSeq) $("status").textContent = "Error: " + e.message; }
}

// The cards of `moments`, in place: card i shows moment i (a card already there keeps its
// element, so a refined answer updates what the user is looking at instead of redrawing it).
function showMoments(q, moments, status, curves = true) {
  $("status").textContent = status;
  const box = $("results");
  if (!moments.length) { box.innerHTML = '<div class="empty">No moments. Is anything indexed?</div>'; return; }
  box.querySelectorAll(".empty").forEach(e => e.remove());
  const cards = Array.from(box.querySelectorAll(".card"));
  moments.forEach((m, i) => {
    let card = cards[i];
    if (!card) { card = document.createElement("div"); box.appendChild(card); }
    fillCard(card, m, i, q, curves);
  });
  cards.slice(moments.length).forEach(c => c.remove());
}

// Each video's similarity curve for the query, asked once however often its cards change.
const curveCache = {};
function curveOf(q, id) {
  const key = id + "\n" + q;
  if (!curveCache[key]) curveCache[key] = api("/v1/videos/" + id + "/curve?q=" + encodeURIComponent(q));
  return curveCache[key];
}

// Shows moment `m` as rank i in `card`: marked coarse (stage 1's I-frame boundaries) or refined;
// a card whose moment changed from coarse to refined flashes once.
function fillCard(card, m, i, q, curves) {
  const was = card.moment;
  const same = was && was.video_id === m.video_id && was.start === m.start && was.end === m.end && was.refined === m.refined;
  card.moment = m;
  card.className = "card " + (m.refined ? "refined" : "coarse") + (card.classList.contains("active") ? " active" : "") +
    (was && !was.refined && m.refined ? " changed" : "");
  if (same) { card.querySelector(".rank").textContent = "#" + (i + 1); return; }
  const img = card.querySelector(".thumb img");
  card.innerHTML =
    '<div class="thumb"><img loading="lazy" alt=""><span class="rank">#' + (i + 1) + '</span>' +
    '<span class="state">' + (m.refined ? "refined" : "coarse") + '</span>' +
    '<span class="time">' + fmt(m.start) + '–' + fmt(m.end) + (m.refined ? '' : ' ≈') + '</span></div>' +
    '<div class="meta"><div class="name" title="' + esc(m.path) + '">' + esc(m.name) + '</div>' +
    '<div class="row"><span>' + fmt(m.start) + ' – ' + fmt(m.end) + ' (' + (m.end - m.start).toFixed(1) + ' s)</span>' +
    '<span>score <span class="score">' + m.score.toFixed(3) + '</span></span></div>' +
    '<canvas class="spark"></canvas><button class="ghost like" type="button" style="padding:2px 8px;font-size:12px;margin-top:6px">more like this</button></div>';
  // The same thumbnail URL keeps its loaded picture instead of asking for it again.
  const thumb = card.querySelector(".thumb img");
  if (img && img.getAttribute("src") === m.thumbnail) thumb.replaceWith(img); else thumb.src = m.thumbnail;
  card.querySelector("button.like").onclick = (e) => { e.stopPropagation(); like(m); };
  card.onclick = () => { document.querySelectorAll(".card.active").forEach(c => c.classList.remove("active")); card.classList.add("active"); play(card.moment); };
  const canvas = card.querySelector("canvas");
  if (curves) Promise.all([curveOf(q, m.video_id), videoInfo(m.video_id)])
    .then(([c, v]) => { if (card.moment === m) drawSpark(canvas, c.points, m, v.duration); }).catch(() => {});
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
