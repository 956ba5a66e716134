// The spyops dashboard: loads history through the read endpoints, then follows the live stream
// (/v1/stream) and reconnects by itself with exponential backoff. English and Spanish.
"use strict";
(function () {
  const MAX_ROWS = 200;
  const ANOMALY_WINDOW_MS = 30 * 60 * 1000; // signals younger than this mark the chart
  const CONFIG = window.SPYOPS_CONFIG || {};
  // A built copy names the backend (another origin); otherwise the API is the page's own origin.
  const API = CONFIG.apiBase
    ? new URL(CONFIG.apiBase).href
    : new URL("../", document.baseURI).href.replace(/\/dashboard\/?$/, "/");
  const apiUrl = (path) => new URL(path, API).href;
  const I18N = window.SPYOPS_I18N;

  const state = {
    lang: localStorage.getItem("spyops.lang") || ((navigator.language || "en").startsWith("es") ? "es" : "en"),
    signals: [], orders: [], fills: [], chain: null, positions: null, daily: [],
    mode: "mid", conn: "connecting", retryIn: 0, layout: null,
  };

  const $ = (id) => document.getElementById(id);

  function t(key, vars) {
    const table = I18N[state.lang] || I18N.en;
    let text = key in table ? table[key] : (I18N.en[key] || key);
    for (const [name, value] of Object.entries(vars || {})) text = text.replace("{" + name + "}", value);
    return text;
  }

  const locale = () => (state.lang === "es" ? "es-ES" : "en-US");
  const money = (v) => new Intl.NumberFormat(locale(), { style: "currency", currency: "USD" }).format(v);
  const num = (v, digits = 2) => new Intl.NumberFormat(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);
  const time = (iso) => new Date(iso).toLocaleTimeString(locale(), { timeZone: "America/New_York", hour12: false });
  const contractText = (c) => `${c.underlying} ${c.strike} ${t("right." + c.right)}`;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else if (k.startsWith("data-")) node.setAttribute(k, v); else node[k] = v;
    }
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  function signed(v) {
    return el("span", { class: v > 0 ? "pos" : v < 0 ? "neg" : "" }, money(v));
  }

  // --- rendering ------------------------------------------------------------------------------
  function renderStatic() {
    document.documentElement.lang = state.lang;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    $("lang").textContent = t("lang.switch");
    $("lang").setAttribute("aria-label", t("lang.label"));
    $("lang").title = t("lang.label");
  }

  function fill(tbody, rows, emptyKey, columns) {
    tbody.replaceChildren();
    if (!rows.length) {
      tbody.append(el("tr", { class: "empty" }, el("td", { colSpan: columns }, t(emptyKey))));
      return;
    }
    for (const row of rows) tbody.append(row);
  }

  function renderSignals() {
    $("signals-count").textContent = state.signals.length;
    fill($("signals"), state.signals.map((s) => el("tr", { "data-signal-id": s.id, class: s.fresh ? "fresh" : "" },
      el("td", {}, time(s.event_time)),
      el("td", {}, el("span", { class: "tag" }, t("rule." + s.rule))),
      el("td", {}, contractText(s.culprit)),
      el("td", { class: "num" }, money(s.edge)),
      el("td", { class: "num" }, num(s.score)))), "signals.empty", 5);
  }

  function renderOrders() {
    $("orders-count").textContent = state.orders.length;
    fill($("orders"), state.orders.map((o) => el("tr", { "data-order-id": o.id, "data-order-ref": o.order_ref, class: o.fresh ? "fresh" : "" },
      el("td", {}, time(o.time)),
      el("td", {}, contractText(o.contract)),
      el("td", { class: o.side === "BUY" ? "pos" : "neg" }, t("side." + o.side)),
      el("td", { class: "num" }, o.filled ? `${o.filled}/${o.quantity}` : o.quantity),
      el("td", { class: "num" }, o.limit_price == null ? "MKT" : num(o.limit_price)),
      el("td", { title: o.reason || "" }, el("span", { class: "status status-" + o.status }, t("status." + o.status))))),
    "orders.empty", 6);
  }

  function renderFills() {
    $("fills-count").textContent = state.fills.length;
    fill($("fills"), state.fills.map((f) => el("tr", { "data-fill-id": f.id, class: f.fresh ? "fresh" : "" },
      el("td", {}, time(f.time)),
      el("td", {}, contractText(f.contract)),
      el("td", { class: f.side === "BUY" ? "pos" : "neg" }, t("side." + f.side)),
      el("td", { class: "num" }, f.quantity),
      el("td", { class: "num" }, num(f.price)),
      el("td", { class: "num" }, num(f.commission)))), "fills.empty", 6);
  }

  function renderLedger() {
    const p = state.positions;
    fill($("positions"), (p ? p.items : []).map((x) => el("tr", {},
      el("td", {}, contractText(x.contract)),
      el("td", { class: "num " + (x.quantity > 0 ? "pos" : "neg") }, x.quantity),
      el("td", { class: "num" }, num(x.average_cost)),
      el("td", { class: "num" }, signed(x.realized_pnl)))), "positions.empty", 4);
    fill($("daily"), state.daily.slice().reverse().map((d) => el("tr", {},
      el("td", {}, d.day),
      el("td", { class: "num" }, d.fills),
      el("td", { class: "num" }, signed(d.realized_pnl)),
      el("td", { class: "num" }, signed(d.net_pnl)))), "daily.empty", 4);
    const today = new Intl.DateTimeFormat("en-CA", { timeZone: "America/New_York" }).format(new Date());
    const todayRow = state.daily.find((d) => d.day === today);
    $("kpi-today").replaceChildren(signed(todayRow ? todayRow.net_pnl : 0));
    $("kpi-realized").replaceChildren(p ? signed(p.realized_pnl) : "—");
    $("kpi-commissions").textContent = p ? money(p.commissions) : "—";
    $("kpi-open").textContent = p ? p.items.length : "—";
  }

  function renderChain() {
    const chain = state.chain;
    const info = $("chain-info");
    if (chain) {
      info.removeAttribute("data-i18n");
      info.textContent = t("chain.info", {
        u: chain.underlying, exp: chain.expiry, spot: num((chain.spot_bid + chain.spot_ask) / 2),
        time: time(chain.ts), n: chain.quotes.length,
      });
    }
    const cutoff = Date.now() - ANOMALY_WINDOW_MS;
    const chainTime = chain ? new Date(chain.ts).getTime() - ANOMALY_WINDOW_MS : cutoff;
    const anomalies = state.signals
      .filter((s) => new Date(s.event_time).getTime() >= Math.min(cutoff, chainTime))
      .map((s) => ({ strike: s.culprit.strike, right: s.culprit.right, expiry: s.culprit.expiry }));
    state.layout = window.SpyopsChain.draw($("chain-canvas"), chain, anomalies, state.mode, t);
  }

  function renderConn() {
    const conn = $("conn");
    conn.className = "conn conn-" + state.conn;
    conn.dataset.state = state.conn;
    const text = $("conn-text");
    text.removeAttribute("data-i18n");
    text.textContent = state.conn === "reconnecting" ? t("conn.reconnecting", { s: state.retryIn }) : t("conn." + state.conn);
  }

  function renderAll() {
    renderStatic();
    renderConn();
    renderSignals();
    renderOrders();
    renderFills();
    renderLedger();
    renderChain();
  }

  // --- data -----------------------------------------------------------------------------------
  // Keep one row per key (orders: one per order_ref, its latest update), newest first.
  function upsert(list, item, timeKey, key = "id") {
    const at = list.findIndex((x) => x[key] === item[key]);
    if (at >= 0) {
      if (list[at][timeKey] > item[timeKey]) return; // an older update arriving late
      list[at] = item;
    } else list.push(item);
    list.sort((a, b) => (a[timeKey] < b[timeKey] ? 1 : a[timeKey] > b[timeKey] ? -1 : 0));
    if (list.length > MAX_ROWS) list.length = MAX_ROWS;
  }

  async function getJson(path) {
    const response = await fetch(apiUrl(path), { headers: { Accept: "application/json" } });
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(path + ": HTTP " + response.status);
    return response.json();
  }

  let ledgerTimer = null;
  function refreshLedgerSoon() {
    clearTimeout(ledgerTimer);
    ledgerTimer = setTimeout(loadLedger, 250);
  }

  async function loadLedger() {
    const [positions, daily] = await Promise.all([getJson("v1/positions"), getJson("v1/pnl/daily")]);
    state.positions = positions;
    state.daily = daily ? daily.items : [];
    renderLedger();
  }

  async function loadHistory() {
    const [signals, orders, fills, chain] = await Promise.all([
      getJson("v1/signals?limit=100"), getJson("v1/orders?limit=100"), getJson("v1/executions?limit=100"),
      getJson("v1/chain/latest?underlying=SPY"),
    ]);
    for (const s of signals.items) upsert(state.signals, s, "event_time");
    for (const o of orders.items) upsert(state.orders, o, "time", "order_ref");
    for (const f of fills.items) upsert(state.fills, f, "time");
    if (chain) state.chain = chain;
    await loadLedger();
    renderAll();
  }

  function fresh(item) {
    item.fresh = true; // highlighted once, when it arrives live
    setTimeout(() => { item.fresh = false; }, 2000);
    return item;
  }

  function onMessage(message) {
    const data = message.data;
    if (message.type === "signal") { upsert(state.signals, fresh(data), "event_time"); renderSignals(); renderChain(); }
    else if (message.type === "order") { upsert(state.orders, fresh(data), "time", "order_ref"); renderOrders(); }
    else if (message.type === "execution") { upsert(state.fills, fresh(data), "time"); renderFills(); refreshLedgerSoon(); }
    else if (message.type === "chain") {
      if (!state.chain || state.chain.underlying !== data.underlying || data.ts >= state.chain.ts) { state.chain = data; renderChain(); }
    }
  }

  // --- live stream with reconnect -------------------------------------------------------------
  let socket = null, attempt = 0, keepalive = null, countdown = null;

  function connect() {
    const url = apiUrl("v1/stream").replace(/^http/, "ws");
    socket = new WebSocket(url);
    socket.onopen = () => {
      attempt = 0;
      state.conn = "live";
      renderConn();
      keepalive = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send("ping"), 25000);
      loadHistory().catch((err) => console.warn("history reload failed", err)); // fill what the gap missed
    };
    socket.onmessage = (event) => {
      try { onMessage(JSON.parse(event.data)); } catch (err) { console.warn("bad stream message", err); }
    };
    socket.onclose = () => {
      clearInterval(keepalive);
      scheduleReconnect();
    };
    socket.onerror = () => socket.close();
  }

  function scheduleReconnect() {
    attempt += 1;
    const base = Math.min(500 * Math.pow(2, attempt - 1), 15000);
    const delay = base / 2 + Math.random() * base / 2; // jitter: dashboards do not reconnect in lockstep
    state.conn = navigator.onLine === false ? "offline" : "reconnecting";
    const due = Date.now() + delay;
    clearInterval(countdown);
    const tick = () => {
      state.retryIn = Math.max(0, Math.ceil((due - Date.now()) / 1000));
      renderConn();
    };
    tick();
    countdown = setInterval(tick, 500);
    setTimeout(() => { clearInterval(countdown); state.conn = "connecting"; renderConn(); connect(); }, delay);
  }

  // --- controls -------------------------------------------------------------------------------
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "es" ? "en" : "es";
    localStorage.setItem("spyops.lang", state.lang);
    renderAll();
  });
  for (const button of document.querySelectorAll(".seg-btn")) {
    button.addEventListener("click", () => {
      state.mode = button.dataset.mode;
      for (const b of document.querySelectorAll(".seg-btn")) b.classList.toggle("active", b === button);
      renderChain();
    });
  }
  const canvas = $("chain-canvas");
  canvas.addEventListener("mousemove", (event) => {
    const rect = canvas.getBoundingClientRect();
    const p = window.SpyopsChain.hit(state.layout, event.clientX - rect.left, event.clientY - rect.top);
    const tip = $("chain-tip");
    if (!p) { tip.hidden = true; return; }
    tip.hidden = false;
    tip.textContent = t("chain.tip", {
      right: t("right." + p.right), strike: p.strike, bid: num(p.bid), ask: num(p.ask), mid: num(p.mid),
      iv: p.iv == null ? "—" : num(p.iv * 100, 1) + "%",
    });
    tip.style.left = Math.min(event.clientX - rect.left + 12, rect.width - 260) + "px";
    tip.style.top = event.clientY - rect.top + 12 + "px";
  });
  canvas.addEventListener("mouseleave", () => { $("chain-tip").hidden = true; });
  window.addEventListener("resize", renderChain);
  window.addEventListener("online", () => { if (socket && socket.readyState !== WebSocket.OPEN) renderConn(); });
  setInterval(() => {
    $("clock").textContent = new Date().toLocaleTimeString(locale(), { timeZone: "America/New_York", hour12: false }) + " NY";
  }, 1000);

  $("api-docs").href = apiUrl("docs"); // the backend's, wherever the dashboard is served from
  renderAll();
  loadHistory().catch((err) => console.warn("history load failed", err)); // even if the stream is blocked
  connect();
})();
