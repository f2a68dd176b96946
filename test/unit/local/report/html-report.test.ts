import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ReplayResult } from "../../../../layers/domain/replay/replay-result.js";
import {
  jsonForScript,
  REPORT_DATA_ELEMENT_ID,
  renderReplayReport,
  writeReplayReport,
} from "../../../../local/report/html-report.js";
import type { ChartSpec } from "../../../../local/report/report-charts.js";
import { replayResultFixture } from "../../../fixtures/replay-result.js";
import { tempDataDir } from "../../../helpers/temp-data-dir.js";

const HOSTILE = "</script><script>alert(1)</script>";
const HOSTILE_HTML = `<img src=x onerror="alert(2)">`;

/** The fixture with hostile text in every string the report shows. */
function hostileResult(): ReplayResult {
  const base = replayResultFixture();
  const [policy, ...others] = base.policies;
  const [fan, ...otherFans] = base.forecastFans;
  return {
    ...base,
    trace: `/data/"><script>alert(3)</script>.csv`,
    format: HOSTILE_HTML,
    mapping: [HOSTILE_HTML, `app ${HOSTILE} <!-- comment`],
    policies: [
      {
        ...policy!,
        name: `<b>${HOSTILE}</b>`,
        byTier: { ...policy!.byTier, [HOSTILE]: policy!.byTier.free! },
      },
      ...others,
    ],
    forecastFans: [{ ...fan!, userId: HOSTILE, pool: HOSTILE_HTML }, ...otherFans],
    policyChanges: [{ at: base.start, tier: HOSTILE_HTML, cause: HOSTILE }],
  };
}

function dataOf(html: string): { charts: ChartSpec[] } {
  const open = `<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">`;
  const from = html.indexOf(open);
  expect(from).toBeGreaterThan(0);
  const to = html.indexOf("</script>", from);
  return JSON.parse(html.slice(from + open.length, to)) as { charts: ChartSpec[] };
}

describe("renderReplayReport", () => {
  it("escapes hostile user ids, names, mapping lines and paths so no markup or script gets in", () => {
    const html = renderReplayReport(hostileResult());

    // Exactly the report's own three scripts: the data, Chart.js and the page script.
    expect(html.match(/<script\b/gi)).toHaveLength(3);
    expect(html).not.toContain("alert(1)</script>");
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<b>");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(2)&quot;&gt;");
    expect(html).toContain("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("/data/&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;.csv");
    // The data element still carries the strings unchanged for the charts.
    const fan = dataOf(html).charts.find((c) => c.kind === "fan");
    expect(fan).toMatchObject({ userId: HOSTILE, pool: HOSTILE_HTML });
    const denied = dataOf(html).charts.find((c) => c.kind === "tierBars");
    expect(denied).toMatchObject({ tiers: ["premium", "standard", "free", HOSTILE] });
  });

  it("allows only its own inline scripts, by hash, and no network", () => {
    const html = renderReplayReport(replayResultFixture());
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1] ?? "";
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? "");
    expect(scripts).toHaveLength(2);
    for (const script of scripts) {
      const hash = createHash("sha256").update(script, "utf8").digest("base64");
      expect(csp).toContain(`'sha256-${hash}'`);
    }
    expect(csp).toContain("default-src 'none'");
    const scriptSrc = csp.split(";").find((d) => d.trim().startsWith("script-src")) ?? "";
    expect(scriptSrc.trim().split(/\s+/)).toHaveLength(3);
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)="https?:/);
  });

  it("draws seven charts for two pools, two fans and three tiers, in page order", () => {
    const { charts } = dataOf(renderReplayReport(replayResultFixture()));
    expect(charts.map((c) => c.id)).toEqual([
      "capacity-cpu",
      "capacity-gpu",
      "tier-denied",
      "tier-delayed",
      "tradeoff",
      "fan-1",
      "fan-2",
    ]);
    const html = renderReplayReport(replayResultFixture());
    for (const chart of charts) expect(html).toContain(`<canvas id="${chart.id}"`);
  });

  it('says "no data" for a pool without a timeline and when there are no forecast fans', () => {
    const base = replayResultFixture();
    const html = renderReplayReport({
      ...base,
      timelines: base.timelines.filter((t) => t.pool === "cpu"),
      forecastFans: [],
    });
    const { charts } = dataOf(html);
    expect(charts.map((c) => c.id)).toEqual([
      "capacity-cpu",
      "tier-denied",
      "tier-delayed",
      "tradeoff",
    ]);
    expect(html).toContain("No timeline was recorded for this pool.");
    expect(html).toContain("the replay recorded no forecast fans");
  });

  it("lists every policy in the summary table with its counts", () => {
    const result = replayResultFixture();
    const html = renderReplayReport(result);
    const rows = [
      ...html.matchAll(/<tr><th scope="row">([^<]*)<\/th>((?:<td>[^<]*<\/td>)+)<\/tr>/g),
    ];
    expect(rows.map((r) => r[1])).toEqual(["reactive", "patent", "quota", "shaper", "oracle"]);
    const shaper = result.policies.find((p) => p.name === "shaper")!;
    const cells = [...(rows[3]?.[2] ?? "").matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(cells.slice(0, 5)).toEqual(
      [shaper.requests, shaper.grantedNow, shaper.delayed, shaper.offered, shaper.denied].map((n) =>
        n.toLocaleString("en-US"),
      ),
    );
  });
});

describe("renderReplayReport: tier policy changes", () => {
  it("lists shaper's policy changes with their causes, oldest first", () => {
    const base = replayResultFixture();
    const html = renderReplayReport({
      ...base,
      policyChanges: [
        {
          at: base.start + 86_400,
          tier: "standard",
          cause: "forecast quantile 0.9 → 0.95: below target",
        },
        {
          at: base.start + 2 * 86_400,
          tier: "standard",
          cause: "forecast quantile 0.95 → 0.9: undone",
        },
      ],
    });
    const table = html.slice(html.indexOf('<table id="policy-changes">'));
    const causes = [...table.matchAll(/<td class="cause">([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(causes).toEqual([
      "forecast quantile 0.9 → 0.95: below target",
      "forecast quantile 0.95 → 0.9: undone",
    ]);
  });

  it("says when the Adapt step changed nothing, and has no such section without shaper", () => {
    const base = replayResultFixture();
    expect(renderReplayReport({ ...base, policyChanges: [] })).toContain(
      "The daily Adapt step changed no tier policy.",
    );
    const { policyChanges: _none, ...withoutShaper } = base;
    expect(renderReplayReport(withoutShaper)).not.toContain('id="section-policy-changes"');
  });
  it("lists why each policy denied, escaped, and leaves the section out when nothing was denied", () => {
    const base = replayResultFixture();
    const policies = base.policies.map((p) =>
      p.name === "shaper"
        ? {
            ...p,
            deniedReasons: [
              {
                kind: "reject: <pool> has # free",
                count: 3,
                critical: 2,
                example: "reject: <pool> has 4 free",
              },
            ],
          }
        : { ...p, deniedReasons: [] },
    );
    const html = renderReplayReport({ ...base, policies });
    const table = html.slice(html.indexOf('<table id="denied-reasons">'));
    expect(table).toContain(
      '<th scope="row">shaper</th><td>3</td><td>2</td><td class="cause">reject: &lt;pool&gt; has 4 free</td>',
    );
    const none = base.policies.map((p) => ({ ...p, deniedReasons: [] }));
    expect(renderReplayReport({ ...base, policies: none })).not.toContain('id="section-denials"');
  });
});

describe("jsonForScript", () => {
  it("leaves no character that could end or comment out a script element, and parses back", () => {
    const value = { s: "</script><!-- & \u2028\u2029 >", n: [1, null] };
    const json = jsonForScript(value);
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual(value);
  });
});

describe("writeReplayReport", () => {
  it("writes the report into a new folder, replaces an old one and leaves no temporary file", async () => {
    const dir = path.join(tempDataDir(), "reports");
    const file = path.join(dir, "replay.html");
    await writeReplayReport(replayResultFixture(), file);
    writeFileSync(file, "old");
    await writeReplayReport(replayResultFixture(), file);

    expect(readdirSync(dir)).toEqual(["replay.html"]);
    expect(readFileSync(file, "utf8")).toBe(renderReplayReport(replayResultFixture()));
  });
});
