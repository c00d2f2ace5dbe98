// miakit live: draws what the server sends over /ws (see miakit/live/server.py) and answers each
// step it has drawn ({"shown": seq, "page_ms": its own time from receiving the step}) so the server can time
// glass to page. No build step.
"use strict";
(function () {
  const COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45"];
  const SPAN_S = 20;
  const $ = (id) => document.getElementById(id);
  let muscles = [];
  const series = [];  // {t, predicted: {}, measured: {}}

  function fmt(v) { return v === null || v === undefined ? "–" : Number(v).toFixed(3); }

  function hello(msg) {
    muscles = msg.muscles;
    $("source").textContent = msg.source;
    $("model").textContent = `${msg.model} (${msg.checkpoint}, window ${msg.window} steps)` + (msg.units ? `, ${msg.units}` : "");
    document.body.classList.toggle("with-measured", !!msg.measured);
    const body = document.querySelector("#muscles tbody");
    body.textContent = "";
    muscles.forEach((m, k) => {
      const row = document.createElement("tr");
      row.dataset.muscle = m;
      row.innerHTML = `<td><span class="swatch" style="background:${COLOURS[k % COLOURS.length]}"></span>${m}</td>` +
        `<td class="predicted" data-value="">–</td><td class="measured" data-value="">–</td>`;
      body.appendChild(row);
    });
  }

  function step(msg) {
    if (msg.image) $("video").src = msg.image;
    const table = $("muscles");
    for (const row of table.querySelectorAll("tbody tr")) {
      const m = row.dataset.muscle;
      const p = msg.predicted[m];
      const cell = row.querySelector("td.predicted");
      cell.dataset.value = p === null || p === undefined ? "" : String(p);
      cell.textContent = fmt(p);
      const mc = row.querySelector("td.measured");
      const mv = msg.measured ? msg.measured[m] : null;
      mc.dataset.value = mv === null || mv === undefined ? "" : String(mv);
      mc.textContent = fmt(mv);
    }
    table.dataset.seq = String(msg.seq);
    table.dataset.index = String(msg.index);
    table.dataset.t = String(msg.t);
    const s = msg.stats;
    $("person").textContent = msg.person + (msg.tracked === 1 ? " (identity uncertain)" : msg.tracked === 2 ? " (lost)" : "");
    $("latency").textContent = s.latency_ms_median === null ? "–" :
      `${s.latency_ms_median} ms median, ${s.latency_ms_p95} ms 95th percentile (capture to this page)`;
    $("rate").textContent = `${s.rate_hz} Hz (${s.steps} steps, ${s.frames} frames read)`;
    $("dropped").textContent = `${s.dropped} steps` + (s.not_shown ? `, ${s.not_shown} not shown (page behind)` : "");
    $("dropped").dataset.value = String(s.dropped);
    $("gaps").textContent = s.reconnecting ? "stream lost: reconnecting…" :
      (s.gaps.length ? s.gaps.map((g) => `${g[0].toFixed(1)}–${g[1].toFixed(1)} s`).join(", ") : "none");
    series.push({ t: msg.t, predicted: msg.predicted, measured: msg.measured || {} });
    while (series.length && series[0].t < msg.t - SPAN_S) series.shift();
    draw(s.gaps);
  }

  function range(key, m) {
    let lo = Infinity, hi = -Infinity;
    for (const p of series) { const v = p[key][m]; if (v !== null && v !== undefined) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }
    return hi > lo ? [lo, hi] : [lo - 1, lo + 1];
  }

  function draw(gaps) {
    const c = $("chart"), g = c.getContext("2d");
    const w = c.width, h = c.height;
    g.clearRect(0, 0, w, h);
    if (!series.length) return;
    const end = series[series.length - 1].t, x = (t) => w - (end - t) / SPAN_S * w;
    g.fillStyle = "rgba(255,80,80,0.15)";
    for (const [a, b] of gaps || []) g.fillRect(x(a), 0, Math.max(2, x(b) - x(a)), h);
    const band = h / Math.max(1, muscles.length);
    muscles.forEach((m, k) => {
      for (const [key, dash] of [["predicted", []], ["measured", [4, 3]]]) {
        const [lo, hi] = range(key, m);
        g.strokeStyle = COLOURS[k % COLOURS.length];
        g.setLineDash(dash);
        g.beginPath();
        let pen = false;
        for (const p of series) {
          const v = p[key][m];
          if (v === null || v === undefined) { pen = false; continue; }
          const y = band * (k + 1) - 2 - (v - lo) / (hi - lo) * (band - 4);
          if (pen) g.lineTo(x(p.t), y); else g.moveTo(x(p.t), y);
          pen = true;
        }
        g.stroke();
      }
    });
    g.setLineDash([]);
  }

  function connect() {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    ws.onopen = () => { $("status").textContent = "live"; $("status").dataset.state = "live"; };
    ws.onclose = () => { $("status").textContent = "disconnected, retrying…"; $("status").dataset.state = "closed"; setTimeout(connect, 1000); };
    ws.onmessage = (event) => {
      const received = performance.now();
      const msg = JSON.parse(event.data);
      if (msg.type === "hello") hello(msg);
      else if (msg.type === "step") {
        if (msg.image) {
          $("video").onload = () => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ shown: msg.seq, page_ms: performance.now() - received })); };
        }
        step(msg);
      } else if (msg.type === "error" || msg.type === "end") {
        $("status").textContent = msg.message; $("status").dataset.state = msg.type === "end" ? "closed" : "error";
      }
    };
  }
  connect();
})();
