import { writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import type { ReplayResult } from "../../layers/domain/replay/replay-result.js";
import { CHROMIUM_INSTALL_HINT, chromiumArgs, findChromium } from "../../local/report/chromium.js";
import { renderReplayReport } from "../../local/report/html-report.js";
import { FIXTURE_POLICIES, replayResultFixture } from "../fixtures/replay-result.js";
import { tempDataDir } from "../helpers/temp-data-dir.js";

/**
 * The replay report opened in headless Chromium (Debian's `chromium`, driven by playwright-core):
 * it loads without console errors or warnings and draws every chart. Without a Chromium this
 * fails, saying how to install one: the report is only tested where a browser runs it.
 */

/**
 * The little of the DOM the functions run in the page use: tsconfig has no DOM lib (it would
 * make `document` type-check in server code too), so this file declares just that.
 */
interface PageCanvas {
  readonly id: string;
  readonly tagName: string;
  readonly width: number;
  readonly height: number;
  getBoundingClientRect(): { readonly width: number; readonly height: number };
  getContext(kind: "2d"): {
    getImageData(x: number, y: number, w: number, h: number): { readonly data: Uint8ClampedArray };
  } | null;
}
declare const document: {
  readonly body: { readonly dataset: Readonly<Record<string, string | undefined>> };
  getElementById(id: string): PageCanvas | null;
};

let launched: Promise<Browser> | undefined;

/**
 * The browser, launched on first use. Without a Chromium every test fails (not skips) with
 * how to install one.
 */
function theBrowser(): Promise<Browser> {
  launched ??= (async () => {
    const executablePath = findChromium();
    if (executablePath === undefined) {
      throw new Error(`No Chromium found to test the HTML report in. ${CHROMIUM_INSTALL_HINT}`);
    }
    return chromium.launch({ executablePath, args: chromiumArgs() });
  })();
  return launched;
}

afterAll(async () => {
  const browser = await launched?.catch(() => undefined);
  await browser?.close();
});

interface OpenedReport {
  readonly page: Page;
  /** Console errors and warnings, uncaught page errors and dialogs (an injected alert). */
  readonly problems: string[];
}

async function openReport(result: ReplayResult): Promise<OpenedReport> {
  const file = path.join(tempDataDir(), "replay.html");
  writeFileSync(file, renderReplayReport(result));
  const page = await (await theBrowser()).newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("dialog", (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => document.body.dataset.chartsReady !== undefined, null, {
    timeout: 30_000,
  });
  return { page, problems };
}

/** Per canvas: its drawn size and how many of its pixels were painted. */
async function canvases(page: Page, ids: readonly string[]) {
  return page.evaluate((wanted) => {
    return wanted.map((id) => {
      const canvas = document.getElementById(id);
      if (canvas === null || canvas.tagName !== "CANVAS") return { id, found: false };
      const box = canvas.getBoundingClientRect();
      const pixels = canvas.getContext("2d")?.getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; pixels !== undefined && i < pixels.length; i += 4) {
        if ((pixels[i] ?? 0) > 0) painted++;
      }
      return {
        id,
        found: true,
        width: canvas.width,
        height: canvas.height,
        boxWidth: box.width,
        boxHeight: box.height,
        painted,
      };
    });
  }, ids);
}

describe("the replay report in headless Chromium", () => {
  it("draws all seven charts of a five-policy, two-pool replay with no console errors", async () => {
    const { page, problems } = await openReport(replayResultFixture());
    const ids = [
      "capacity-cpu",
      "capacity-gpu",
      "tier-denied",
      "tier-delayed",
      "tradeoff",
      "fan-1",
      "fan-2",
    ];

    expect(problems).toEqual([]);
    expect(await page.evaluate(() => document.body.dataset.chartsReady)).toBe(String(ids.length));
    expect(await page.locator("canvas").evaluateAll((all) => all.map((c) => c.id))).toEqual(ids);
    for (const canvas of await canvases(page, ids)) {
      expect(canvas, canvas.id).toMatchObject({ found: true });
      expect(canvas.width, canvas.id).toBeGreaterThan(0);
      expect(canvas.height, canvas.id).toBeGreaterThan(0);
      expect(canvas.boxWidth, canvas.id).toBeGreaterThan(0);
      expect(canvas.boxHeight, canvas.id).toBeGreaterThan(0);
      expect(canvas.painted, canvas.id).toBeGreaterThan(1_000);
    }
    const policies = await page.locator("#policy-summary tbody th").allTextContents();
    expect(policies).toEqual([...FIXTURE_POLICIES]);
    await page.close();
  });

  it("renders with no fans, a pool without a timeline and hostile names, running no injected script", async () => {
    const base = replayResultFixture();
    const hostile = "</script><script>alert(1)</script>";
    const { page, problems } = await openReport({
      ...base,
      mapping: [...base.mapping, `<img src=x onerror="alert(2)">`],
      policies: base.policies.map((p, i) => (i === 0 ? { ...p, name: hostile } : p)),
      timelines: base.timelines.filter((t) => t.pool === "cpu"),
      forecastFans: [],
    });

    expect(problems).toEqual([]);
    expect(await page.evaluate(() => document.body.dataset.chartsReady)).toBe("4");
    expect(await page.locator("canvas").evaluateAll((all) => all.map((c) => c.id))).toEqual([
      "capacity-cpu",
      "tier-denied",
      "tier-delayed",
      "tradeoff",
    ]);
    await expect(page.locator(".no-data").allTextContents()).resolves.toEqual([
      "No data. No timeline was recorded for this pool.",
      "No data: the replay recorded no forecast fans.",
    ]);
    expect(await page.locator("#policy-summary tbody th").first().textContent()).toBe(hostile);
    expect(await page.locator("ul.mapping li").last().textContent()).toBe(
      `<img src=x onerror="alert(2)">`,
    );
    await page.close();
  });
});
