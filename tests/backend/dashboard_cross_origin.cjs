// The built dashboard (spyops dashboard build) in Debian's Chromium, served from its own origin with
// the headers of staticwebapp.config.json, talking to the backend on another origin: it goes live
// (WebSocket across origins), loads history (CORS), shows a signal posted to the backend, and breaks
// no CSP rule. The same bundle served from an origin the backend does not list gets neither the
// history nor the stream. Prints one JSON result line; exits 1 on failure.
//
// Environment: SITE_URL (allowed origin), OTHER_SITE_URL (not allowed), BACKEND_URL, TOKEN,
// SIGNAL_JSON, NODE_TOOLS, CHROMIUM.
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const { chromium } = require(path.join(process.env.NODE_TOOLS, "node_modules", "playwright-core"));

async function main() {
  const signal = JSON.parse(process.env.SIGNAL_JSON);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "spyops-chromium-"));
  const result = { ok: false, steps: [] };
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    const consoleErrors = [];
    page.on("console", (msg) => { if (msg.type() === "error") consoleErrors.push(msg.text()); });
    page.on("pageerror", (err) => consoleErrors.push(String(err)));
    const response = await page.goto(process.env.SITE_URL, { waitUntil: "load", timeout: 30000 });
    result.site_csp = response.headers()["content-security-policy"];
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 30000 });
    result.steps.push("live");
    await page.waitForSelector("[data-signal-id]", { timeout: 10000 });
    result.history_rows = await page.locator("#signals tr[data-signal-id]").count();
    result.page_origin = await page.evaluate(() => window.location.origin);
    result.api_base = await page.evaluate(() => window.SPYOPS_CONFIG.apiBase);
    result.docs_link = await page.locator("#api-docs").getAttribute("href");

    const posted = await fetch(process.env.BACKEND_URL + "/v1/signals", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + process.env.TOKEN },
      body: JSON.stringify(signal),
    });
    if (posted.status !== 200) throw new Error("POST /v1/signals answered " + posted.status);
    await page.waitForSelector(`[data-signal-id="${signal.id}"]`, { timeout: 5000 });
    result.steps.push("live-signal");
    result.console_errors = consoleErrors.slice();

    // The same bundle from an origin the backend does not list: blocked by the browser (CORS) and
    // by the backend (the stream's Origin check).
    const other = await context.newPage();
    const otherErrors = [];
    other.on("console", (msg) => { if (msg.type() === "error") otherErrors.push(msg.text()); });
    await other.goto(process.env.OTHER_SITE_URL, { waitUntil: "load", timeout: 30000 });
    await other.waitForTimeout(4000);
    result.other = {
      state: await other.locator("#conn").getAttribute("data-state"),
      history_rows: await other.locator("#signals tr[data-signal-id]").count(),
      cors_blocked: otherErrors.some((text) => text.includes("CORS")),
    };
    result.steps.push("other-origin-refused");
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
