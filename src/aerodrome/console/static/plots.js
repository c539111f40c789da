"use strict";
// Line plots drawn as SVG, and GetMetricData queries for them.
const COLORS = ["#0b62c4", "#d4561b", "#1a7f37", "#8250df", "#bf3989", "#9a6700", "#0a7d8c", "#57606a"];
const RANGES = [["5 minutes", 300], ["15 minutes", 900], ["1 hour", 3600], ["6 hours", 21600], ["24 hours", 86400], ["7 days", 604800]];

// CloudWatch takes 1, 5, 10, 30 or a multiple of 60 seconds; about 150 points per range.
function periodFor(seconds) {
  const wanted = seconds / 150;
  for (const step of [1, 5, 10, 30, 60]) if (wanted <= step) return step;
  return Math.ceil(wanted / 60) * 60;
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function formatValue(value) {
  if (Math.abs(value) >= 1e9) return (value / 1e9).toFixed(1) + "G";
  if (Math.abs(value) >= 1e6) return (value / 1e6).toFixed(1) + "M";
  if (Math.abs(value) >= 1e4) return (value / 1e3).toFixed(0) + "k";
  return Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 2 : 1);
}

// series: [{label, points: [[ms, value], ...]}], drawn over [start, end] (ms).
function linePlot(series, {start, end, unit, width: shown}) {
  const width = Math.max(280, Math.round(shown || 600)), height = 200, left = 44, right = 10, top = 10, bottom = 24;
  const values = series.flatMap((s) => s.points.map((p) => p[1]));
  if (!values.length) return h("p", {class: "empty"}, "No data points in this range yet.");
  const high = niceMax(Math.max(...values, 0));
  const x = (t) => left + (width - left - right) * (t - start) / Math.max(1, end - start);
  const y = (v) => top + (height - top - bottom) * (1 - v / high);
  const svg = h("svg", {viewBox: `0 0 ${width} ${height}`, role: "img",
                        "aria-label": `${series.map((s) => s.label).join(", ")} (${unit || ""})`});
  for (let i = 0; i <= 4; i++) {
    const v = high * i / 4;
    svg.append(h("line", {class: "gridline", x1: left, x2: width - right, y1: y(v), y2: y(v)}),
               h("text", {x: left - 4, y: y(v) + 3, "text-anchor": "end"}, formatValue(v)));
  }
  for (let i = 0; i <= 4; i++) {
    const t = start + (end - start) * i / 4;
    svg.append(h("text", {x: x(t), y: height - 6, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle"},
                 clock(new Date(t), end - start <= 900000)));
  }
  svg.append(h("line", {class: "axis", x1: left, x2: left, y1: top, y2: height - bottom}),
             h("line", {class: "axis", x1: left, x2: width - right, y1: height - bottom, y2: height - bottom}));
  series.forEach((s, index) => {
    const color = COLORS[index % COLORS.length];
    const inside = s.points.filter((p) => p[0] >= start && p[0] <= end);
    if (inside.length > 1) {
      svg.append(h("polyline", {class: "line", stroke: color,
                                points: inside.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ")}));
    }
    for (const [t, v] of inside) {
      svg.append(h("circle", {class: "pt", cx: x(t).toFixed(1), cy: y(v).toFixed(1), r: 2.2, fill: color},
                   h("title", {}, `${s.label}: ${formatValue(v)}${unit ? " " + unit : ""} at ${when(t)}`)));
    }
  });
  const legend = h("div", {class: "legend"}, series.map((s, i) => {
    const last = s.points.length ? s.points[s.points.length - 1][1] : null;
    const item = h("span", {}, `${s.label}${last === null ? "" : " " + formatValue(last)}`);
    item.style.color = COLORS[i % COLORS.length];
    return item;
  }));
  return h("div", {}, svg, legend);
}

// queries: [{id, label, metric: {Namespace, MetricName, Dimensions}, stat} | {id, label, expression}]
async function metricData(queries, startMs, endMs, period) {
  const input = {
    StartTime: new Date(startMs).toISOString(), EndTime: new Date(endMs).toISOString(), ScanBy: "TimestampAscending",
    MetricDataQueries: queries.map((q) => q.expression
      ? {Id: q.id, Label: q.label, Expression: q.expression, Period: period}
      : {Id: q.id, Label: q.label, MetricStat: {Metric: q.metric, Period: period, Stat: q.stat || "Average"}}),
  };
  const points = {};
  let token;
  do {
    const reply = await call("cloudwatch", "GetMetricData", token ? {...input, NextToken: token} : input);
    for (const result of reply.MetricDataResults || []) {
      const list = points[result.Id] || (points[result.Id] = []);
      (result.Timestamps || []).forEach((t, i) => list.push([Date.parse(t), result.Values[i]]));
    }
    token = reply.NextToken;
  } while (token);
  for (const list of Object.values(points)) list.sort((a, b) => a[0] - b[0]);
  return points;
}

function environmentPlots(name) {
  const env = {Name: "Environment", Value: name};
  const mwaa = (MetricName, extra, stat, label) => ({label, stat, metric: {Namespace: "AWS/MWAA", MetricName, Dimensions: [env, ...extra]}});
  const clusters = ["Scheduler", "WebServer", "BaseWorker", "AdditionalWorker"];
  return [
    {key: "cpu", title: "CPU per cluster", unit: "%",
     series: clusters.map((c) => mwaa("CPUUtilization", [{Name: "Cluster", Value: c}], "Average", c))},
    {key: "memory", title: "Memory per cluster", unit: "%",
     series: clusters.map((c) => mwaa("MemoryUtilization", [{Name: "Cluster", Value: c}], "Average", c))},
    {key: "tasks", title: "Queued and running tasks", unit: "tasks",
     series: [mwaa("QueuedTasks", [{Name: "Queue", Value: "default"}], "Maximum", "Queued"),
              mwaa("RunningTasks", [{Name: "Queue", Value: "default"}], "Maximum", "Running")]},
    {key: "workers", title: "Workers", unit: "workers",
     series: [mwaa("NumWorkers", [], "Maximum", "Base worker"), mwaa("NumAdditionalWorkers", [], "Maximum", "Additional workers")]},
    {key: "heartbeat", title: "Scheduler heartbeat", unit: "beats",
     series: [{label: "Heartbeats", stat: "Sum",
               metric: {Namespace: "AmazonMWAA", MetricName: "SchedulerHeartbeat", Dimensions: [env, {Name: "Function", Value: "Scheduler"}]}}]},
    {key: "database", title: "Database connections", unit: "connections",
     series: [mwaa("DatabaseConnections", [{Name: "Database", Value: "WRITER"}], "Maximum", "Connections")]},
  ];
}

// The plots panel of an environment: a range picker and every plot, refreshed every 10 s.
function plotsPanel(name) {
  const plots = environmentPlots(name);
  const picker = h("select", {id: "range", "aria-label": "Time range"},
                   RANGES.map(([label, seconds]) => h("option", {value: seconds}, `Last ${label}`)));
  picker.value = sessionStorage.getItem("range") || "900";
  const boxes = plots.map((p) => h("div", {class: "plot", id: `plot-${p.key}`}, h("h2", {}, p.title), h("p", {class: "empty"}, "Loading…")));
  const updated = h("span", {class: "muted", id: "plots-updated"});
  async function refresh() {
    const seconds = Number(picker.value);
    const end = Date.now(), start = end - seconds * 1000, period = periodFor(seconds);
    const queries = plots.flatMap((p, i) => p.series.map((s, j) => ({...s, id: `p${i}s${j}`})));
    try {
      const points = await metricData(queries, start, end, period);
      plots.forEach((p, i) => {
        const series = p.series.map((s, j) => ({label: s.label, points: points[`p${i}s${j}`] || []}));
        boxes[i].replaceChildren(h("h2", {}, p.title), linePlot(series, {start, end, unit: p.unit, width: boxes[i].clientWidth}));
      });
      updated.textContent = `Updated ${clock(new Date())}, every 10 s; ${period} s per point`;
    } catch (error) {
      boxes.forEach((b) => b.replaceChildren(h("p", {class: "error"}, `${error.code}: ${error.message}`)));
    }
  }
  picker.addEventListener("change", () => { sessionStorage.setItem("range", picker.value); refresh(); });
  refresh();
  every(10, refresh);
  return h("section", {class: "panel", "aria-labelledby": "plots-title"},
    h("div", {class: "row"}, h("h2", {id: "plots-title"}, "Monitoring"), picker, updated),
    h("div", {class: "grid"}, boxes));
}
