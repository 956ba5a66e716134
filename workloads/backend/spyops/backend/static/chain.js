// The chain chart: mid price or Black-Scholes implied volatility by strike, calls and puts, the
// spot, and markers on strikes that recent signals flagged. Plain canvas, no library.
"use strict";
(function () {
  const COLORS = { call: "#4cc2ff", put: "#ffa94d", spot: "#9aa4b2", anomaly: "#ff4d6d", grid: "#263040", text: "#9aa4b2" };

  // --- New York time and option maths ------------------------------------------------------
  function nyOffsetMinutes(date) {
    const parts = new Intl.DateTimeFormat("en-US", {
      timeZone: "America/New_York", hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }).formatToParts(date);
    const get = (type) => Number(parts.find((p) => p.type === type).value);
    const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
    return Math.round((asUtc - date.getTime()) / 60000);
  }

  // 16:00 New York on the expiry date: when a 0DTE option stops trading.
  function expiryClose(expiry) {
    const guess = new Date(expiry + "T16:00:00Z");
    return new Date(guess.getTime() - nyOffsetMinutes(guess) * 60000);
  }

  function normCdf(x) {
    // Abramowitz-Stegun 7.1.26, |error| < 7.5e-8: plenty for a chart.
    const t = 1 / (1 + 0.2316419 * Math.abs(x));
    const d = 0.3989422804014327 * Math.exp(-x * x / 2);
    const p = d * t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
    return x > 0 ? 1 - p : p;
  }

  function bsPrice(right, spot, strike, years, vol) {
    const sd = vol * Math.sqrt(years);
    const d1 = (Math.log(spot / strike) + 0.5 * sd * sd) / sd;
    const d2 = d1 - sd;
    return right === "C" ? spot * normCdf(d1) - strike * normCdf(d2) : strike * normCdf(-d2) - spot * normCdf(-d1);
  }

  // Implied volatility by bisection (rates ~0 over hours); null when the price is outside the
  // no-arbitrage bounds (that is itself an anomaly, and the chart shows a gap).
  function impliedVol(right, price, spot, strike, years) {
    const intrinsic = Math.max(right === "C" ? spot - strike : strike - spot, 0);
    if (!(price > intrinsic) || years <= 0) return null;
    let lo = 1e-4, hi = 20;
    if (bsPrice(right, spot, strike, years, hi) < price) return null;
    for (let i = 0; i < 80; i++) {
      const mid = (lo + hi) / 2;
      if (bsPrice(right, spot, strike, years, mid) > price) hi = mid; else lo = mid;
    }
    return (lo + hi) / 2;
  }

  function chainSeries(chain) {
    const spot = (chain.spot_bid + chain.spot_ask) / 2;
    const minutesLeft = Math.max((expiryClose(chain.expiry) - new Date(chain.ts)) / 60000, 1);
    const years = minutesLeft / (60 * 24 * 365);
    const points = { C: [], P: [] };
    for (const q of chain.quotes) {
      if (!(q.bid > 0 || q.ask > 0)) continue;
      const mid = q.bid > 0 && q.ask > 0 ? (q.bid + q.ask) / 2 : Math.max(q.bid, q.ask);
      const iv = impliedVol(q.right, mid, spot, q.strike, years);
      points[q.right].push({ strike: q.strike, mid, iv, bid: q.bid, ask: q.ask });
    }
    points.C.sort((a, b) => a.strike - b.strike);
    points.P.sort((a, b) => a.strike - b.strike);
    return { spot, points, minutesLeft };
  }

  function niceStep(span, target) {
    const raw = span / Math.max(target, 1);
    const pow = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * pow) return m * pow;
    return 10 * pow;
  }

  // --- drawing --------------------------------------------------------------------------------
  function draw(canvas, chain, anomalies, mode, t) {
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth, height = canvas.clientHeight;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const layout = { left: 56, right: 16, top: 14, bottom: 36, width, height, mode, series: null };
    if (!chain) return layout;
    const series = chainSeries(chain);
    layout.series = series;
    const value = (p) => (mode === "iv" ? (p.iv == null ? null : p.iv * 100) : p.mid);
    const all = [...series.points.C, ...series.points.P];
    const ys = all.map(value).filter((v) => v != null && isFinite(v));
    if (!all.length || !ys.length) return layout;
    const xMin = Math.min(...all.map((p) => p.strike)), xMax = Math.max(...all.map((p) => p.strike));
    let yMin = mode === "iv" ? Math.min(...ys) : 0, yMax = Math.max(...ys);
    if (yMax - yMin < 1e-9) { yMax += 1; yMin = Math.max(0, yMin - 1); }
    const pad = (yMax - yMin) * 0.08;
    yMax += pad; if (mode === "iv") yMin = Math.max(0, yMin - pad);
    const plotW = width - layout.left - layout.right, plotH = height - layout.top - layout.bottom;
    const sx = (x) => layout.left + ((x - xMin) / Math.max(xMax - xMin, 1e-9)) * plotW;
    const sy = (y) => layout.top + (1 - (y - yMin) / (yMax - yMin)) * plotH;
    Object.assign(layout, { sx, sy, xMin, xMax, yMin, yMax, value });

    // grid and axes
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = COLORS.text;
    ctx.strokeStyle = COLORS.grid;
    ctx.lineWidth = 1;
    const yStep = niceStep(yMax - yMin, 5);
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (let y = Math.ceil(yMin / yStep) * yStep; y <= yMax; y += yStep) {
      ctx.beginPath(); ctx.moveTo(layout.left, sy(y)); ctx.lineTo(width - layout.right, sy(y)); ctx.stroke();
      ctx.fillText(y.toFixed(yStep < 1 ? 2 : Number.isInteger(yStep) ? 0 : 1), layout.left - 6, sy(y));
    }
    const xStep = niceStep(xMax - xMin, Math.max(2, Math.floor(plotW / 70)));
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (let x = Math.ceil(xMin / xStep) * xStep; x <= xMax; x += xStep) {
      ctx.beginPath(); ctx.moveTo(sx(x), layout.top); ctx.lineTo(sx(x), layout.top + plotH); ctx.stroke();
      ctx.fillText(String(x), sx(x), layout.top + plotH + 5);
    }
    ctx.fillText(t("chain.axis.strike"), layout.left + plotW / 2, height - 14);
    ctx.save();
    ctx.translate(12, layout.top + plotH / 2); ctx.rotate(-Math.PI / 2);
    ctx.fillText(t(mode === "iv" ? "chain.axis.iv" : "chain.axis.mid"), 0, -6);
    ctx.restore();

    // spot
    if (series.spot >= xMin && series.spot <= xMax) {
      ctx.strokeStyle = COLORS.spot; ctx.setLineDash([4, 4]);
      ctx.beginPath(); ctx.moveTo(sx(series.spot), layout.top); ctx.lineTo(sx(series.spot), layout.top + plotH); ctx.stroke();
      ctx.setLineDash([]);
    }

    // curves (a gap where IV is undefined)
    for (const [right, color] of [["C", COLORS.call], ["P", COLORS.put]]) {
      ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = 2;
      ctx.beginPath();
      let pen = false;
      for (const p of series.points[right]) {
        const v = value(p);
        if (v == null) { pen = false; continue; }
        if (pen) ctx.lineTo(sx(p.strike), sy(v)); else ctx.moveTo(sx(p.strike), sy(v));
        pen = true;
      }
      ctx.stroke();
      for (const p of series.points[right]) {
        const v = value(p);
        if (v == null) continue;
        ctx.beginPath(); ctx.arc(sx(p.strike), sy(v), 2.2, 0, 2 * Math.PI); ctx.fill();
      }
    }

    // anomalies: a ring on the flagged contract's point, or a tick on the axis when it has no point
    ctx.strokeStyle = COLORS.anomaly; ctx.fillStyle = COLORS.anomaly; ctx.lineWidth = 2;
    for (const a of anomalies) {
      if (a.expiry !== chain.expiry || a.strike < xMin || a.strike > xMax) continue;
      const p = series.points[a.right].find((q) => q.strike === a.strike);
      const v = p ? value(p) : null;
      const y = v == null ? layout.top + plotH - 6 : sy(v);
      ctx.beginPath(); ctx.arc(sx(a.strike), y, 7, 0, 2 * Math.PI); ctx.stroke();
      ctx.beginPath(); ctx.moveTo(sx(a.strike), layout.top + plotH); ctx.lineTo(sx(a.strike), layout.top + plotH - 8); ctx.stroke();
    }
    return layout;
  }

  // The quote nearest the pointer, for the tooltip.
  function hit(layout, x, y) {
    if (!layout || !layout.series || !layout.sx) return null;
    let best = null, bestD = 14 * 14;
    for (const right of ["C", "P"]) {
      for (const p of layout.series.points[right]) {
        const v = layout.value(p);
        if (v == null) continue;
        const dx = layout.sx(p.strike) - x, dy = layout.sy(v) - y, d = dx * dx + dy * dy;
        if (d < bestD) { bestD = d; best = Object.assign({ right }, p); }
      }
    }
    return best;
  }

  window.SpyopsChain = { draw, hit, impliedVol, bsPrice, expiryClose, nyOffsetMinutes };
})();
