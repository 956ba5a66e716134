// Drives Debian's Chromium (headless, by path) with playwright-core against the running demo's
// dashboard: waits until the page is live and shows at least one signal that came through the
// platform (gateway -> detector -> outbox -> backend -> browser) and at least one fill of the
// bot's (gateway -> bot -> outbox -> backend -> browser), and saves a screenshot.
// The last line printed is the JSON result; exits 1 on failure.
//
// Environment: DASHBOARD_URL, ARTIFACTS (screenshot folder), NODE_TOOLS (tools/node),
// CHROMIUM (default /usr/bin/chromium), WAIT_MS (how long to wait for a signal and a fill).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const { runInChromium } = require(path.join(__dirname, "..", "chromium_runner.cjs"));

const url = process.env.DASHBOARD_URL;
const wait = Number(process.env.WAIT_MS || "120000");
const artifacts = process.env.ARTIFACTS;
fs.mkdirSync(artifacts, { recursive: true });

runInChromium(async ({ page, result, consoleErrors }) => {
  await page.goto(url, { waitUntil: "load", timeout: 30000 });
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 30000 });
  result.steps.push("live");
  await page.waitForSelector("#signals [data-signal-id]", { timeout: wait });
  result.steps.push("signal");
  await page.waitForSelector("#fills [data-fill-id]", { timeout: wait });
  result.steps.push("fill");
  // The leader's order status updates, and the commission IB reports after each fill.
  await page.waitForSelector("#orders [data-order-ref]", { timeout: wait });
  result.steps.push("order");
  await page.waitForFunction(() => [...document.querySelectorAll("#fills [data-fill-id] td:last-child")]
    .some((cell) => Number(cell.textContent) > 0), null, { timeout: wait });
  result.steps.push("commission");
  result.orders = await page.locator("#orders [data-order-ref]").count();
  result.signals = await page.locator("#signals [data-signal-id]").count();
  result.fills = await page.locator("#fills [data-fill-id]").count();
  result.first_signal_rule = await page.locator("#signals [data-signal-id] .tag").first().textContent();
  await page.screenshot({ path: path.join(artifacts, "demo-dashboard.png"), fullPage: true });
  result.console_errors = consoleErrors;
}, { viewport: { width: 1440, height: 1000 }, locale: "en-US" });
