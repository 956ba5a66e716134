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
const os = require("node:os");
const path = require("node:path");

const { chromium } = require(path.join(process.env.NODE_TOOLS, "node_modules", "playwright-core"));

async function main() {
  const url = process.env.DASHBOARD_URL;
  const wait = Number(process.env.WAIT_MS || "120000");
  const artifacts = process.env.ARTIFACTS;
  fs.mkdirSync(artifacts, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "spyops-demo-chromium-"));
  const result = { ok: false, steps: [] };
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1440, height: 1000 },
    locale: "en-US",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    const consoleErrors = [];
    page.on("console", (msg) => { if (msg.type() === "error") consoleErrors.push(msg.text()); });
    page.on("pageerror", (err) => consoleErrors.push(String(err)));
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
    result.ok = true;
  } catch (err) {
    result.error = String(err && err.stack ? err.stack : err);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(result.ok ? 0 : 1);
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ ok: false, error: String(err) }) + "\n");
  process.exit(1);
});
