// Shared by the browser tests' scripts: runs one scenario in Debian's Chromium (headless, by path;
// no browser download) driven by playwright-core, in a throwaway profile. The scenario gets the page
// and fills `result`; its steps go to result.steps. The last line printed is the JSON result, and the
// process exits 1 if the scenario threw (its error is in result.error).
//
// Environment: NODE_TOOLS (tools/node, where playwright-core is installed), CHROMIUM (default
// /usr/bin/chromium).
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const { chromium } = require(path.join(process.env.NODE_TOOLS, "node_modules", "playwright-core"));

// Quiet and deterministic: no network of its own, no updates, no sync, no QUIC.
const ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

// options: viewport and locale for the context (Playwright's defaults when absent).
function runInChromium(scenario, options = {}) {
  async function main() {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "spyops-chromium-"));
    const result = { ok: false, steps: [] };
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      headless: true,
      ...options,
      args: ARGS,
    });
    try {
      const page = context.pages()[0] || (await context.newPage());
      const consoleErrors = [];
      page.on("console", (msg) => { if (msg.type() === "error") consoleErrors.push(msg.text()); });
      page.on("pageerror", (err) => consoleErrors.push(String(err)));
      await scenario({ page, context, result, consoleErrors });
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
}

module.exports = { runInChromium };
