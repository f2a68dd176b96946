import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { ConfigError } from "../../layers/domain/errors.js";
import type { PolicyResult, ReplayResult } from "../../layers/domain/replay/replay-result.js";
import {
  buildReportCharts,
  type ChartSpec,
  chartsToDraw,
  MAX_FANS,
  percent,
  type ReportCharts,
  type TimelineChart,
} from "./report-charts.js";

/**
 * The HTML report of `shaper replay`: one self-contained file (Chart.js, the page script and the
 * data inlined; a Content-Security-Policy that allows only those scripts and no network) with
 * capacity vs demand per pool, denials and delays by tier, the cost/service trade-off, forecast
 * fans, a summary table of the policies and the trace mapping.
 */

/** The element holding the report's data; the page script reads it. */
export const REPORT_DATA_ELEMENT_ID = "replay-data";

/**
 * Renders a replay result as one self-contained HTML page. Every string from the result is
 * escaped; the data travels as JSON that cannot close its `<script>` element.
 *
 * @param result - What `shaper replay` measured.
 * @returns The page, UTF-8 text.
 * @throws {ConfigError} When the Chart.js bundle is not installed (run `npm ci`).
 * @example
 * ```ts
 * const html = renderReplayReport(result);
 * ```
 */
export function renderReplayReport(result: ReplayResult): string {
  const charts = buildReportCharts(result);
  const specs = chartsToDraw(charts);
  const chartJs = inlineScript(chartJsBundle(), "the Chart.js bundle");
  const pageScript = inlineScript(reportPageScript(), "local/report/report-page.js");
  const csp = [
    "default-src 'none'",
    `script-src ${[chartJs, pageScript].map(scriptHash).join(" ")}`,
    "style-src 'unsafe-inline'",
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; "); // Our constants and base64 hashes: nothing to escape in a "-quoted attribute.
  const title = `shaper replay: ${path.basename(result.trace) || result.trace}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
${runSummary(result)}
</header>
<main>
${policyTable(result.policies)}
${mappingSection(result.mapping)}
${timelineSection(charts)}
${tierSection(charts)}
${tradeoffSection(charts)}
${fanSection(charts)}
${denialSection(result.policies)}
${policyChangeSection(result.policyChanges)}
</main>
<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">${jsonForScript({ charts: specs })}</script>
<script>${chartJs}</script>
<script>${pageScript}</script>
</body>
</html>
`;
}

/**
 * Writes the report of `result` to `file` atomically: a temporary file beside it, then a rename,
 * so a reader never sees half a report. Creates the folder when missing.
 *
 * @param result - What `shaper replay` measured.
 * @param file - Where the report goes (overwritten).
 * @throws {ConfigError} When the Chart.js bundle is not installed (run `npm ci`).
 */
export async function writeReplayReport(result: ReplayResult, file: string): Promise<void> {
  const html = renderReplayReport(result);
  const target = path.resolve(file);
  await mkdir(path.dirname(target), { recursive: true });
  const temporary = `${target}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(temporary, html, "utf8");
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * JSON safe inside a `<script type="application/json">` element: `<`, `>` and `&` become
 * `\u003c`-style escapes (so no `</script>` or `<!--` can appear), as do U+2028 and U+2029.
 * `JSON.parse` of the element's text gives the value back unchanged.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** A script's text checked for what would end or confuse its `<script>` element. */
function inlineScript(source: string, what: string): string {
  if (/<\/script|<!--/i.test(source)) {
    throw new ConfigError(
      `${what} contains "</script" or "<!--", so it cannot be inlined in the report. ` +
        "Expected a script without them. Reinstall the package (npm ci) or report a bug.",
    );
  }
  return source;
}

/** The CSP source that allows exactly this inline script. */
function scriptHash(source: string): string {
  return `'sha256-${createHash("sha256").update(source, "utf8").digest("base64")}'`;
}

let chartJsCache: string | undefined;

/** Chart.js's UMD bundle from node_modules (read once per process). */
function chartJsBundle(): string {
  if (chartJsCache !== undefined) return chartJsCache;
  const require = createRequire(import.meta.url);
  let dist: string;
  try {
    // The package exports map hides dist/chart.umd*.js; its main entry sits in the same folder.
    dist = path.dirname(require.resolve("chart.js"));
  } catch (error) {
    throw new ConfigError(
      "Cannot find the chart.js package for the HTML report. Run `npm ci` in the shaper checkout.",
      { cause: error },
    );
  }
  const bundle = ["chart.umd.min.js", "chart.umd.js"]
    .map((name) => path.join(dist, name))
    .find((file) => existsSync(file));
  if (bundle === undefined) {
    throw new ConfigError(
      `No Chart.js UMD bundle (chart.umd.min.js or chart.umd.js) in ${dist}. ` +
        "Expected chart.js 4 as package.json pins it. Run `npm ci`.",
    );
  }
  chartJsCache = readFileSync(bundle, "utf8").replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");
  return chartJsCache;
}

let pageScriptCache: string | undefined;

function reportPageScript(): string {
  pageScriptCache ??= readFileSync(new URL("./report-page.js", import.meta.url), "utf8");
  return pageScriptCache;
}

function runSummary(result: ReplayResult): string {
  const days = (result.end - result.start) / 86_400;
  const rows: [string, string][] = [
    ["trace", `<code>${escapeHtml(result.trace)}</code>`],
    ["format", `<code>${escapeHtml(result.format)}</code>`],
    [
      "span",
      `${formatTime(result.start)} → ${formatTime(result.end)} (${formatNumber(days, 1)} days)`,
    ],
    ["scored from", `${formatTime(result.scoredFrom)} (after the warm-up)`],
    ["policies", escapeHtml(result.policies.map((p) => p.name).join(", ") || "none")],
  ];
  return `<dl class="run">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("")}</dl>`;
}

function policyTable(policies: readonly PolicyResult[]): string {
  if (policies.length === 0) {
    return section("summary", "Policies", `<p class="no-data">No policies were replayed.</p>`);
  }
  const columns: readonly [string, (p: PolicyResult) => string][] = [
    ["requests", (p) => formatNumber(p.requests, 0)],
    ["granted now", (p) => formatNumber(p.grantedNow, 0)],
    ["delayed", (p) => formatNumber(p.delayed, 0)],
    ["offered", (p) => formatNumber(p.offered, 0)],
    ["denied", (p) => formatNumber(p.denied, 0)],
    ["denied %", (p) => formatPercent(percent(p.denied, p.requests))],
    ["delay p99 (s)", (p) => formatNumber(p.delayP99Seconds, 1)],
    [
      "critical granted now",
      (p) =>
        formatPercent(p.criticalGrantedNowRate === null ? null : 100 * p.criticalGrantedNowRate),
    ],
    ["guarantee violations", (p) => formatNumber(p.guaranteeViolations, 0)],
    ["capacity (vCPU-h)", (p) => formatNumber(p.capacityHours, 1)],
    ["cost (USD)", (p) => formatNumber(p.cost, 2)],
    ["fairness", (p) => formatNumber(p.fairness, 3)],
  ];
  const head = `<tr><th scope="col">policy</th>${columns.map(([name]) => `<th scope="col">${name}</th>`).join("")}</tr>`;
  const body = policies
    .map(
      (p) =>
        `<tr><th scope="row">${escapeHtml(p.name)}</th>${columns.map(([, cell]) => `<td>${cell(p)}</td>`).join("")}</tr>`,
    )
    .join("\n");
  return section(
    "summary",
    "Policies",
    `<div class="table-wrap"><table id="policy-summary">
<thead>${head}</thead>
<tbody>
${body}
</tbody>
</table></div>
<p class="caption">Each scored request is counted once: granted now, delayed (within its patience),
offered (took an alternative) or denied (rejected, delayed beyond its patience, or declined an
offer). Fairness is Jain's index of per-user satisfaction (1 is perfectly even).</p>`,
  );
}

function mappingSection(mapping: readonly string[]): string {
  const body =
    mapping.length === 0
      ? `<p class="no-data">No mapping was recorded.</p>`
      : `<ul class="mapping">${mapping.map((line) => `<li>${escapeHtml(line)}</li>`).join("")}</ul>`;
  return section("mapping", "How the trace was read", body);
}

function timelineSection(charts: ReportCharts): string {
  const figures = charts.timelines.map((t) => {
    const heading = `Pool <code>${escapeHtml(t.pool)}</code>`;
    if (!("kind" in t)) return figure(heading, null, "No timeline was recorded for this pool.");
    return figure(heading, t, timelineCaption(t));
  });
  return section(
    "capacity",
    "Capacity vs demand",
    figures.length === 0 ? `<p class="no-data">No data.</p>` : figures.join("\n"),
  );
}

function timelineCaption(t: TimelineChart): string {
  const step = formatDuration(t.stepSeconds);
  const sampling =
    t.bucketSteps === 1
      ? `One point per ${step} step.`
      : `Each point is the maximum over ${formatDuration(t.stepSeconds * t.bucketSteps)} (${t.bucketSteps} steps of ${step}), so short peaks stay visible.`;
  return `Demand is the vCPU users asked for and ran, as if every request were granted at once (the same for every policy); each policy's line is its ready capacity. ${sampling} Dashed "held" lines (what each policy held) are hidden: click a legend entry to show one.`;
}

function tierSection(charts: ReportCharts): string {
  const body =
    charts.tierBars.length === 0
      ? `<p class="no-data">No data.</p>`
      : charts.tierBars
          .map((c) =>
            figure(
              c.metric === "denied" ? "Denied by tier" : "Delayed by tier",
              c,
              c.metric === "denied"
                ? "Share of each tier's requests denied (rejected, delayed beyond their patience, or declining an offer)."
                : "Share of each tier's requests that started later, within their patience.",
            ),
          )
          .join("\n");
  return section("tiers", "Denials and delays by tier", body);
}

function tradeoffSection(charts: ReportCharts): string {
  const body =
    charts.tradeoff === null
      ? `<p class="no-data">No data.</p>`
      : figure(
          "Capacity against denials",
          charts.tradeoff,
          "One point per policy: provisioned capacity over the scored span against the share of requests denied. Down and to the left is better. Hover a point for its cost.",
        );
  return section("tradeoff", "Cost/service trade-off", body);
}

function fanSection(charts: ReportCharts): string {
  if (charts.fans.length === 0) {
    return section(
      "forecasts",
      "Forecasts vs actuals",
      `<p class="no-data">No data: the replay recorded no forecast fans.</p>`,
    );
  }
  const figures = charts.fans.map((f) => {
    const trimmed =
      f.historyTrimmed > 0
        ? ` The last ${formatDuration((f.history.values.length * f.history.stepMs) / 1000)} of history is drawn.`
        : "";
    return figure(
      `User <code>${escapeHtml(f.userId)}</code>, pool <code>${escapeHtml(f.pool)}</code>, forecast from ${formatTime(f.forecastStartMs / 1000)}`,
      f,
      `Shaded: the forecast's quantile intervals; line: its median; grey: observed vCPU before the forecast; dashed: what happened.${trimmed}`,
    );
  });
  const more =
    charts.fansTotal > charts.fans.length
      ? `<p class="caption">Showing ${charts.fans.length} of ${charts.fansTotal} forecasts (at most ${MAX_FANS}).</p>`
      : "";
  return section("forecasts", "Forecasts vs actuals", `${figures.join("\n")}${more}`);
}

/** Why each policy denied what it denied, by kind of reason (only policies that denied anything). */
function denialSection(policies: readonly PolicyResult[]): string {
  const rows = policies.flatMap((p) =>
    p.deniedReasons.map(
      (r) =>
        `<tr><th scope="row">${escapeHtml(p.name)}</th><td>${r.count}</td><td>${r.critical}</td><td class="cause">${escapeHtml(r.example)}</td></tr>`,
    ),
  );
  if (rows.length === 0) return "";
  return section(
    "denials",
    "Why requests were denied",
    `<div class="table-wrap"><table id="denied-reasons">
<thead><tr><th scope="col">policy</th><th scope="col">denied</th><th scope="col">of them critical</th><th scope="col">reason (one example of its kind)</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table></div>
<p class="caption">Scored denials grouped by reason (numbers aside), most frequent first, up to
ten kinds per policy.</p>`,
  );
}

/** The tier policy changes shaper's feedback loop made, with their causes (when shaper ran). */
function policyChangeSection(changes: ReplayResult["policyChanges"]): string {
  if (changes === undefined) return "";
  if (changes.length === 0) {
    return section(
      "policy-changes",
      "Tier policy changes",
      `<p class="no-data">The daily Adapt step changed no tier policy.</p>`,
    );
  }
  const rows = changes
    .map(
      (c) =>
        `<tr><td>${escapeHtml(formatTime(c.at))}</td><th scope="row">${escapeHtml(c.tier)}</th><td class="cause">${escapeHtml(c.cause)}</td></tr>`,
    )
    .join("\n");
  return section(
    "policy-changes",
    "Tier policy changes",
    `<div class="table-wrap"><table id="policy-changes">
<thead><tr><th scope="col">at</th><th scope="col">tier</th><th scope="col">change and cause</th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>
<p class="caption">What shaper's daily Adapt step changed in each tier's forecast quantile and
headroom, and why (the cause as the change log records it).</p>`,
  );
}

function section(id: string, heading: string, body: string): string {
  return `<section id="section-${id}">\n<h2>${heading}</h2>\n${body}\n</section>`;
}

/** A chart (or "no data" when `chart` is null) with its heading and caption; heading is HTML. */
function figure(heading: string, chart: ChartSpec | null, caption: string): string {
  const plot =
    chart === null
      ? `<p class="no-data">No data. ${escapeHtml(caption)}</p>`
      : `<div class="chart"><canvas id="${escapeHtml(chart.id)}" role="img" aria-label="${escapeHtml(stripTags(heading))}"></canvas></div>\n<figcaption>${escapeHtml(caption)}</figcaption>`;
  return `<figure>\n<h3>${heading}</h3>\n${plot}\n</figure>`;
}

/** The text of a heading built by this module (its tags are our own `<code>`). */
function stripTags(html: string): string {
  return html
    .replace(/<[^>]*>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

function formatNumber(value: number, digits: number): string {
  if (!Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function formatPercent(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return "–";
  // Three decimals: 99.9 % and 99.95 % of critical requests must read differently.
  return `${formatNumber(value, 3).replace(/\.?0+$/, "")} %`;
}

/** Epoch seconds as `YYYY-MM-DD HH:MM UTC`. */
function formatTime(epochSeconds: number): string {
  if (!Number.isFinite(epochSeconds)) return "–";
  return `${new Date(epochSeconds * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function formatDuration(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

const STYLE = `
:root { color-scheme: light; --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --accent: #2563eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #f9fafb; }
header, main { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 1.6rem; margin: 0 0 12px; word-break: break-all; }
h2 { font-size: 1.25rem; margin: 0 0 12px; }
h3 { font-size: 1rem; margin: 0 0 8px; font-weight: 600; }
code { font: 0.9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f3f4f6; padding: 0 4px; border-radius: 3px; word-break: break-all; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 20px; margin: 20px 0; }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.run dt { color: var(--muted); }
dl.run dd { margin: 0; }
figure { margin: 0 0 28px; }
figure:last-child { margin-bottom: 0; }
figcaption, .caption { color: var(--muted); font-size: 0.875rem; margin-top: 6px; }
.chart { position: relative; height: 340px; }
.no-data { color: var(--muted); font-style: italic; padding: 24px; border: 1px dashed var(--line); border-radius: 6px; text-align: center; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
thead th { text-align: right; font-weight: 600; color: var(--muted); font-size: 0.85rem; vertical-align: bottom; white-space: normal; }
thead th:first-child, tbody th { text-align: left; }
td { text-align: right; }
tbody tr:hover { background: #f3f4f6; }
ul.mapping { margin: 0; padding-left: 20px; }
td.cause { text-align: left; white-space: normal; min-width: 24rem; }
ul.mapping li { font: 0.875rem/1.6 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre-wrap; word-break: break-word; }
`;
