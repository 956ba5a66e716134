// The built dashboard (spyops dashboard build) in Debian's Chromium, served from its own origin with
// the headers of staticwebapp.config.json, talking to the backend on another origin: it goes live
// (WebSocket across origins), loads history (CORS), shows a signal posted to the backend, and breaks
// no CSP rule. The same bundle served from an origin the backend does not list gets neither the
// history nor the stream. Prints one JSON result line; exits 1 on failure.
//
// Environment: SITE_URL (allowed origin), OTHER_SITE_URL (not allowed), BACKEND_URL, TOKEN,
// SIGNAL_JSON, NODE_TOOLS, CHROMIUM.
"use strict";
const path = require("node:path");

const { runInChromium } = require(path.join(__dirname, "..", "chromium_runner.cjs"));

const signal = JSON.parse(process.env.SIGNAL_JSON);

runInChromium(async ({ page, context, result, consoleErrors }) => {
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
});
