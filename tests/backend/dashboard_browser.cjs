// Drives Debian's Chromium (headless, by path; no browser download) with playwright-core:
// open the dashboard, wait until it is live, post a signal to the API, see it on the page within
// one second, see an order's status change and a fill's late commission, switch to Spanish, save screenshots, then survive a backend restart (it prints
// {"event":"restart-server"} and the test restarts the backend). The last line printed is the JSON
// result; exits 1 on failure.
//
// Environment: BASE_URL, TOKEN, SIGNAL_JSON (the signal to post), ORDER_UPDATES_JSON (an order's
// status updates to post), COMMISSION_JSON (a seeded fill with its commission), ARTIFACTS (screenshot folder),
// NODE_TOOLS (tools/node, where playwright-core is installed), CHROMIUM (default /usr/bin/chromium).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const { runInChromium } = require(path.join(__dirname, "..", "chromium_runner.cjs"));

const base = process.env.BASE_URL;
const signal = JSON.parse(process.env.SIGNAL_JSON);
const artifacts = process.env.ARTIFACTS;
fs.mkdirSync(artifacts, { recursive: true });

runInChromium(async ({ page, result, consoleErrors }) => {
  await page.goto(base + "/dashboard/", { waitUntil: "load", timeout: 30000 });
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 30000 });
  result.steps.push("live");
  await page.waitForSelector("[data-signal-id]", { timeout: 10000 }); // history loaded
  result.history_rows = await page.locator("#signals tr[data-signal-id]").count();

  async function post(route, body) {
    const response = await fetch(base + route, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + process.env.TOKEN },
      body: JSON.stringify(body),
    });
    if (response.status !== 200) throw new Error("POST " + route + " answered " + response.status);
  }

  const posted = Date.now();
  await post("/v1/signals", signal);
  await page.waitForSelector(`[data-signal-id="${signal.id}"]`, { timeout: 1000 });
  result.signal_visible_ms = Date.now() - posted;
  result.steps.push("signal-visible");

  // The bot reports an order as it changes, and a fill again when its commission arrives:
  // the orders table shows the order's latest status, the fill row its commission.
  const fillRow = '#fills tr[data-fill-id="f2"] td:last-child';
  result.commission_before = (await page.locator(fillRow).textContent()).trim();
  for (const update of JSON.parse(process.env.ORDER_UPDATES_JSON)) {
    await post("/v1/orders", update);
    await page.waitForSelector(`#orders tr[data-order-ref="${update.order_ref}"] .status-${update.status}`, { timeout: 2000 });
  }
  result.order_status = (await page.locator('#orders tr[data-order-ref="order-3"] .status').textContent()).trim();
  result.order_rows = await page.locator("#orders tr[data-order-ref]").count();
  await post("/v1/executions", JSON.parse(process.env.COMMISSION_JSON));
  await page.waitForFunction(
    (selector) => document.querySelector(selector).textContent.trim() === "0.65", fillRow, { timeout: 2000 });
  result.commission_after = (await page.locator(fillRow).textContent()).trim();
  result.steps.push("order-and-commission");
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(artifacts, "dashboard-en.png"), fullPage: true });

  await page.click("#lang");
  await page.waitForFunction(() => document.documentElement.lang === "es", null, { timeout: 5000 });
  result.spanish = {
    signals_title: await page.locator('[data-i18n="signals.title"]').first().textContent(),
    connection: await page.locator("#conn-text").textContent(),
    rule: await page.locator(`[data-signal-id="${signal.id}"] .tag`).textContent(),
    button: await page.locator("#lang").textContent(),
  };
  await page.screenshot({ path: path.join(artifacts, "dashboard-es.png"), fullPage: true });
  result.steps.push("spanish");
  await page.click('.seg-btn[data-mode="iv"]');
  await page.waitForTimeout(200);
  await page.screenshot({ path: path.join(artifacts, "dashboard-es-iv.png"), fullPage: true });
  // The backend goes away and comes back: the page says so, reconnects by itself, and shows
  // what was stored meanwhile.
  process.stdout.write(JSON.stringify({ event: "restart-server" }) + "\n");
  await page.waitForSelector('#conn[data-state="reconnecting"], #conn[data-state="connecting"]', { timeout: 30000 });
  result.steps.push("reconnecting");
  result.reconnecting_text = await page.locator("#conn-text").textContent();
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 60000 });
  result.steps.push("live-again");
  await page.waitForSelector(`[data-signal-id="${process.env.SIGNAL_AFTER_RESTART_ID}"]`, { timeout: 15000 });
  result.steps.push("caught-up");
  // Browsers log failed WebSocket connections while the server is down; that is expected.
  result.console_errors = consoleErrors.filter((text) => !text.includes("WebSocket connection to"));
}, { viewport: { width: 1440, height: 1000 }, locale: "en-US" });
