// The script of the replay report page (html-report.ts inlines it after Chart.js). It reads the
// chart specs report-charts.ts built from the JSON in #replay-data, draws each on the canvas with
// the spec's id, then sets document.body.dataset.chartsReady to the number of charts drawn so a
// test (or a screenshot tool) knows when the page is complete. Plain ES2020, no modules.
(() => {
  const MINUTE_MS = 60_000;
  const HOUR_MS = 60 * MINUTE_MS;
  const DAY_MS = 24 * HOUR_MS;
  /** Time-axis steps, aligned to UTC (epoch multiples), from which each axis picks one. */
  const TIME_STEPS_MS = [
    5 * MINUTE_MS,
    15 * MINUTE_MS,
    30 * MINUTE_MS,
    HOUR_MS,
    3 * HOUR_MS,
    6 * HOUR_MS,
    12 * HOUR_MS,
    DAY_MS,
    2 * DAY_MS,
    7 * DAY_MS,
    14 * DAY_MS,
    28 * DAY_MS,
  ];
  const MAX_TIME_TICKS = 10;

  const data = JSON.parse(document.getElementById("replay-data").textContent);

  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family =
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
  Chart.defaults.color = "#374151";
  Chart.defaults.plugins.legend.labels.boxWidth = 12;

  const pad = (n) => String(n).padStart(2, "0");

  function formatTime(ms, withMinutes) {
    const d = new Date(ms);
    const day = `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    return withMinutes ? `${day} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}` : day;
  }

  function formatFullTime(ms) {
    return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
  }

  function formatNumber(value, digits) {
    return value === null || value === undefined
      ? "–"
      : value.toLocaleString("en-US", { maximumFractionDigits: digits });
  }

  /** A linear x axis of epoch milliseconds with ticks on round UTC times. */
  function timeAxis(minMs, maxMs) {
    const span = Math.max(maxMs - minMs, MINUTE_MS);
    const step =
      TIME_STEPS_MS.find((s) => span / s <= MAX_TIME_TICKS) ?? TIME_STEPS_MS.at(-1) ?? DAY_MS;
    return {
      type: "linear",
      min: minMs,
      max: maxMs,
      title: { display: true, text: "time (UTC)" },
      afterBuildTicks: (scale) => {
        const ticks = [];
        for (let t = Math.ceil(scale.min / step) * step; t <= scale.max; t += step) {
          ticks.push({ value: t });
        }
        scale.ticks = ticks;
      },
      ticks: { maxRotation: 0, callback: (value) => formatTime(value, step < DAY_MS) },
    };
  }

  function points(series) {
    return series.values.map((y, i) => ({ x: series.startMs + i * series.stepMs, y }));
  }

  function line(label, series, color, extra) {
    return {
      label,
      data: points(series),
      borderColor: color,
      backgroundColor: color,
      borderWidth: 1.5,
      pointRadius: 0,
      pointHitRadius: 4,
      spanGaps: false,
      ...extra,
    };
  }

  /** Colour with alpha, from #rrggbb. */
  function alpha(hex, a) {
    const n = Number.parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  }

  const timeTooltip = {
    mode: "nearest",
    axis: "x",
    intersect: false,
    callbacks: {
      title: (items) => (items.length > 0 ? formatFullTime(items[0].parsed.x) : ""),
      label: (item) =>
        item.dataset.label ? `${item.dataset.label}: ${formatNumber(item.parsed.y, 2)} vCPU` : "",
    },
  };

  function timelineConfig(spec) {
    const datasets = spec.datasets.map((d) => {
      if (d.role === "demand") {
        return line(d.label, d.series, d.color, {
          borderWidth: 2,
          backgroundColor: alpha(d.color, 0.08),
          fill: "origin",
        });
      }
      return line(d.label, d.series, d.color, {
        hidden: d.hidden,
        borderDash: d.role === "held" ? [4, 3] : [],
      });
    });
    return {
      type: "line",
      data: { datasets },
      options: {
        parsing: false,
        normalized: true,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: timeAxis(spec.xMinMs, spec.xMaxMs),
          y: { beginAtZero: true, title: { display: true, text: "vCPU" } },
        },
        plugins: { tooltip: timeTooltip },
      },
    };
  }

  const FAN_COLOR = "#2563eb";

  function fanConfig(spec) {
    const datasets = [];
    spec.bands.forEach((band, i) => {
      // Widest band first, palest; each upper edge fills down to its lower edge (the dataset before).
      const shade = alpha(FAN_COLOR, 0.14 + 0.12 * i);
      const name = `${Math.round((band.upperLevel - band.lowerLevel) * 100)}% interval (${band.lowerLevel}–${band.upperLevel})`;
      datasets.push(line("", band.lower, shade, { borderWidth: 0, fill: false }));
      datasets.push(line(name, band.upper, shade, { borderWidth: 0, fill: "-1" }));
    });
    if (spec.median !== null) {
      datasets.push(line("median forecast", spec.median, FAN_COLOR, { borderWidth: 2 }));
    }
    datasets.push(line("history", spec.history, "#6b7280", { borderWidth: 1.5 }));
    datasets.push(line("actual", spec.actual, "#111827", { borderWidth: 1.5, borderDash: [5, 3] }));
    return {
      type: "line",
      data: { datasets },
      options: {
        parsing: false,
        normalized: true,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: timeAxis(spec.xMinMs, spec.xMaxMs),
          y: { beginAtZero: true, title: { display: true, text: "vCPU" } },
        },
        plugins: {
          legend: { labels: { filter: (item) => item.text !== "" } },
          tooltip: { ...timeTooltip, filter: (item) => item.dataset.label !== "" },
        },
      },
    };
  }

  function tierBarsConfig(spec) {
    return {
      type: "bar",
      data: {
        labels: spec.tiers,
        datasets: spec.datasets.map((d) => ({
          label: d.label,
          data: d.percents,
          backgroundColor: d.color,
          counts: d.counts,
          requests: d.requests,
        })),
      },
      options: {
        scales: {
          x: { title: { display: true, text: "tier" } },
          y: {
            beginAtZero: true,
            title: { display: true, text: `${spec.metric} (% of the tier's requests)` },
            ticks: { callback: (value) => `${value}%` },
          },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: (item) => {
                const i = item.dataIndex;
                const count = formatNumber(item.dataset.counts[i], 0);
                const of = formatNumber(item.dataset.requests[i], 0);
                return `${item.dataset.label}: ${formatNumber(item.parsed.y, 3)}% (${count} of ${of})`;
              },
            },
          },
        },
      },
    };
  }

  /** Writes each point's policy name beside it (Chart.js has no point labels of its own). */
  const pointLabels = {
    id: "pointLabels",
    afterDatasetsDraw(chart) {
      const { ctx } = chart;
      ctx.save();
      ctx.font = `600 12px ${Chart.defaults.font.family}`;
      ctx.textBaseline = "bottom";
      chart.data.datasets.forEach((dataset, i) => {
        const meta = chart.getDatasetMeta(i);
        if (meta.hidden) return;
        ctx.fillStyle = dataset.borderColor;
        for (const point of meta.data) {
          if (!point.skip) ctx.fillText(dataset.label, point.x + 8, point.y - 4);
        }
      });
      ctx.restore();
    },
  };

  function tradeoffConfig(spec) {
    return {
      type: "scatter",
      data: {
        datasets: spec.points.map((p) => ({
          label: p.policy,
          data: [{ x: p.capacityHours, y: p.deniedPercent }],
          backgroundColor: p.color,
          borderColor: p.color,
          pointRadius: 6,
          pointHoverRadius: 8,
          point: p,
        })),
      },
      options: {
        layout: { padding: { right: 60, top: 16 } },
        scales: {
          x: { grace: "5%", title: { display: true, text: "capacity (vCPU-hours)" } },
          y: {
            beginAtZero: true,
            grace: "10%",
            title: { display: true, text: "denied (% of requests)" },
            ticks: { callback: (value) => `${value}%` },
          },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: (item) => {
                const p = item.dataset.point;
                return [
                  p.policy,
                  `capacity: ${formatNumber(p.capacityHours, 1)} vCPU-hours`,
                  `cost: $${formatNumber(p.cost, 2)}`,
                  `denied: ${formatNumber(p.deniedPercent, 3)}% (${formatNumber(p.denied, 0)} of ${formatNumber(p.requests, 0)})`,
                ];
              },
            },
          },
        },
      },
      plugins: [pointLabels],
    };
  }

  const configs = {
    timeline: timelineConfig,
    fan: fanConfig,
    tierBars: tierBarsConfig,
    tradeoff: tradeoffConfig,
  };

  let drawn = 0;
  for (const spec of data.charts) {
    const canvas = document.getElementById(spec.id);
    if (!(canvas instanceof HTMLCanvasElement)) {
      throw new Error(`The report has no canvas with id "${spec.id}" for a ${spec.kind} chart.`);
    }
    const chart = new Chart(canvas, configs[spec.kind](spec));
    // Chart.js logs (not throws) when it cannot draw; count only charts that have a canvas.
    if (chart.canvas === canvas) drawn += 1;
  }
  document.body.dataset.chartsReady = String(drawn);
})();
