// connect.cjs drives the connect page in Debian's Chromium with
// playwright-core (both installed by infra/testenv/install-tools.sh;
// nothing here downloads a browser), one scenario at a time, and reports
// what the page showed. It asserts nothing: the Go test
// (infra/bucketlink/connect_browser_test.go) does.
//
// Usage: node connect.cjs CONFIG.json, with CONFIG {playwright, chromium,
// screenshots}; then one scenario per line on stdin, each answered by one
// JSON line on stdout, in a fresh browser context of one browser.
// A scenario: {url, name, mobile, provider, auth, fields: {id: value},
// cors: bool, save: bool, expectBanner: bool, rotate: bool, guidanceOnly:
// bool (stop after step 1 and the fields), guidanceBucket and
// guidancePrefix: the bucket and prefix whose grant step 1 must show once
// the fields are filled; accessMode: the access chosen in step 1;
// skipChecks: bool (a method the page checks on save only)}. A rotate scenario (a session of purpose rotate)
// leaves the provider and method as the page shows them, and reports the
// heading and the fields the page filled in.
"use strict";

const fs = require("fs");
const path = require("path");
const readline = require("readline");

async function main() {
  const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const { chromium } = require(cfg.playwright);
  // launch() starts Chromium with a fresh temporary --user-data-dir of its
  // own (Playwright refuses one in args) and removes it on close.
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const lines = readline.createInterface({ input: process.stdin });
    for await (const line of lines) {
      if (!line.trim()) continue;
      let out;
      try {
        out = await scenario(browser, Object.assign({ screenshots: cfg.screenshots }, JSON.parse(line)));
      } catch (err) {
        out = { error: String(err && err.stack || err) };
      }
      process.stdout.write(JSON.stringify(out) + "\n");
    }
  } finally {
    await browser.close();
  }
}

async function scenario(browser, sc) {
  const context = await browser.newContext({
    viewport: sc.mobile ? { width: 375, height: 740 } : { width: 1100, height: 900 },
    isMobile: !!sc.mobile,
    hasTouch: !!sc.mobile,
  });
  const out = { name: sc.name, console: [], requests: [], shots: [], timings: {} };
  const t0 = Date.now();
  try {
    const page = await context.newPage();
    page.on("console", (m) => out.console.push(m.type() + ": " + m.text()));
    page.on("pageerror", (e) => out.console.push("pageerror: " + e.message));
    page.on("request", (r) => out.requests.push(r.method() + " " + r.url().replace(/[?#].*$/, "")));
    let n = 0;
    const shot = async (state) => {
      out.timings[state] = Date.now() - t0;
      const file = path.join(sc.screenshots, sc.name + "-" + String(++n).padStart(2, "0") + "-" + state + ".png");
      await page.screenshot({ path: file, fullPage: true });
      out.shots.push(file);
    };
    const text = (sel) => page.locator(sel).innerText();
    await page.goto(sc.url);
    if (sc.expectBanner) {
      await page.locator("#banner").waitFor({ state: "visible", timeout: 10000 });
      out.banner = await text("#banner");
      out.formHidden = await page.locator("#connect").isHidden();
      out.url = page.url();
      await shot("refused");
      return out;
    }
    await page.locator("#connect").waitFor({ state: "visible", timeout: 10000 });
    out.url = page.url(); // the fragment must be gone
    out.focused = await page.evaluate(() => document.activeElement.id);
    if (sc.rotate) {
      out.heading = await text("h1");
      out.prefilled = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll("#connect input, #connect select")]
        .filter((el) => el.value).map((el) => [el.id, el.value])));
      out.providerDisabled = await page.locator("#provider").isDisabled();
    } else {
      await page.selectOption("#provider", sc.provider);
      await page.selectOption("#auth", sc.auth);
      if (sc.accessMode) await page.selectOption("#access_mode", sc.accessMode);
    }
    // Keyboard: the order Tab walks from the provider.
    await page.focus("#provider");
    out.tabOrder = [];
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press("Tab");
      out.tabOrder.push(await page.evaluate(() => document.activeElement.id || document.activeElement.tagName + "." + document.activeElement.className));
    }
    // Step 1's grant, as setup-info wrote it for this provider and method.
    const guidanceFor = await page.evaluate(() => [document.getElementById("provider").value + "/" + document.getElementById("auth").value,
      document.getElementById("access_mode").value]);
    await page.waitForFunction(([f, m]) => {
      const g = document.getElementById("guidance");
      return g.dataset.state === "ready" && g.dataset.for === f && g.dataset.mode === m;
    }, guidanceFor, { timeout: 10000 });
    out.guidance = await text("#guidance");
    out.inputs = await page.evaluate(() => [...document.querySelectorAll("#fields input, #fields textarea")].map((el) => el.id + ":" + (el.type || "textarea")));
    for (const [id, v] of Object.entries(sc.fields)) await page.fill("#" + id, v);
    if (sc.guidanceBucket) {
      await page.waitForFunction(([b, p]) => {
        const g = document.getElementById("guidance");
        return g.dataset.state === "ready" && g.dataset.bucket === b && g.dataset.prefix === p;
      }, [sc.guidanceBucket, sc.guidancePrefix || ""], { timeout: 10000 });
      out.guidanceFilled = await text("#guidance");
    }
    out.labels = await page.evaluate(() => [...document.querySelectorAll("#connect input, #connect select, #connect textarea")]
      .filter((el) => !document.querySelector('label[for="' + el.id + '"]')).map((el) => el.id));
    out.overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
    if (sc.guidanceOnly) {
      await shot("guidance");
      return out;
    }
    await shot("filled");

    // 3. The checks, started from the keyboard.
    if (sc.skipChecks) {
      out.checksDisabled = await page.locator("#run-checks").isDisabled();
    } else {
      await page.focus("#run-checks");
      await page.keyboard.press("Enter");
      await page.locator("#checks li.running").first().waitFor({ timeout: 5000 }).catch(() => {});
      out.sawRunning = await page.locator("#checks li.running").count();
      await shot("checking");
      await page.waitForFunction(() => /good|bad/.test(document.getElementById("checks-status").className), null, { timeout: 60000 });
      out.checksStatus = await text("#checks-status");
      out.checksOK = await page.evaluate(() => document.getElementById("checks-status").classList.contains("good"));
      out.checks = await page.evaluate(() => [...document.querySelectorAll("#checks li")].map((li) => li.dataset.check + "=" + li.className));
      out.fieldErrors = await fieldErrors(page);
      await shot("checked");
    }

    // 4. The browser's CORS test.
    if (sc.cors) {
      await page.click("#run-cors");
      await page.waitForFunction(() => /good|bad/.test(document.getElementById("cors-status").className), null, { timeout: 30000 });
      out.corsStatus = await text("#cors-status");
      out.corsOK = await page.evaluate(() => document.getElementById("cors-status").classList.contains("good"));
      out.corsFix = (await page.locator("#cors-fix").isVisible()) ? await text("#cors-fix") : "";
      out.corsServer = (await page.locator("#cors-server").isVisible()) ? await text("#cors-server") : "";
      await shot("cors");
    }

    // 5. Save.
    if (sc.save) {
      await page.click("#save");
      await page.waitForFunction(() => /good|bad/.test(document.getElementById("save-status").className), null, { timeout: 60000 });
      out.saveStatus = await text("#save-status");
      out.saved = await page.evaluate(() => document.getElementById("save-status").classList.contains("good"));
      out.fieldErrors = await fieldErrors(page);
      out.banner = (await page.locator("#banner").isVisible()) ? await text("#banner") : "";
      out.focusedAfterSave = await page.evaluate(() => document.activeElement.id);
      out.invalid = await page.evaluate(() => [...document.querySelectorAll('[aria-invalid="true"]')].map((el) => el.id));
      await shot("saved");
    }
    return out;
  } finally {
    await context.close();
  }
}

// fieldErrors are the visible error lines, by the field they belong to.
function fieldErrors(page) {
  return page.evaluate(() => Object.fromEntries([...document.querySelectorAll(".error")]
    .filter((e) => !e.hidden && e.textContent).map((e) => [e.id.replace(/^err-/, ""), e.textContent])));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack || err) + "\n");
  process.exit(1);
});
