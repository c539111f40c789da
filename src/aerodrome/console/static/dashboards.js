"use strict";
// CloudWatch dashboards stored with PutDashboard, drawn as their widgets: metric widgets as line
// plots (view timeSeries) or numbers (view singleValue), text widgets as text.

route(/^\/dashboards$/, async (main) => {
  const reply = await call("cloudwatch", "ListDashboards", {});
  const list = reply.DashboardEntries || [];
  main.replaceChildren(h("h1", {}, "Dashboards"), h("section", {class: "panel"},
    list.length ? h("ul", {id: "dashboards"}, list.map((d) => h("li", {},
      h("a", {href: `#/dashboards/${encodeURIComponent(d.DashboardName)}`}, d.DashboardName),
      h("span", {class: "muted"}, ` updated ${when(d.LastModified)}`))))
      : h("p", {class: "empty"}, "No dashboards yet. Store one with PutDashboard (aws cloudwatch put-dashboard).")));
});

route(/^\/dashboards\/(.+)$/, async (main, name) => {
  const reply = await call("cloudwatch", "GetDashboard", {DashboardName: name});
  let body;
  try { body = JSON.parse(reply.DashboardBody || "{}"); } catch (_) { body = {widgets: []}; }
  const widgets = (body.widgets || []).slice().sort((a, b) => (a.y || 0) - (b.y || 0) || (a.x || 0) - (b.x || 0));
  const grid = h("div", {class: "dashboard grid"});
  const picker = h("select", {id: "range", "aria-label": "Time range"},
                   RANGES.map(([label, seconds]) => h("option", {value: seconds}, `Last ${label}`)));
  picker.value = sessionStorage.getItem("range") || "3600";
  main.replaceChildren(h("h1", {}, name), h("div", {class: "row"}, picker), grid);
  if (!widgets.length) grid.append(h("p", {class: "empty"}, "This dashboard has no widgets."));
  const boxes = widgets.map((w) => {
    const box = h("section", {class: "panel plot widget", "data-type": w.type});
    grid.append(box);
    return box;
  });
  async function draw() {
    await Promise.all(widgets.map((w, i) => drawWidget(boxes[i], w, Number(picker.value))));
  }
  picker.addEventListener("change", () => { sessionStorage.setItem("range", picker.value); draw(); });
  await draw();
  every(15, draw);
});

// CloudWatch's metric arrays: [namespace, name, dim, value, ..., {options}], where "." repeats the
// element above and "..." the leading elements of the metric above.
function expandMetrics(rows) {
  const out = [];
  let previous = [];
  for (const row of rows) {
    const options = row.length && typeof row[row.length - 1] === "object" ? row[row.length - 1] : {};
    let parts = typeof row[row.length - 1] === "object" ? row.slice(0, -1) : row.slice();
    if (parts[0] === "...") parts = previous.slice(0, Math.max(0, previous.length - (parts.length - 1))).concat(parts.slice(1));
    parts = parts.map((p, i) => (p === "." ? previous[i] : p));
    previous = parts;
    out.push({parts, options});
  }
  return out;
}

function widgetQueries(properties) {
  return expandMetrics(properties.metrics || []).map(({parts, options}, index) => {
    const id = options.id || `m${index}`;
    if (options.expression) return {id, label: options.label || options.expression, expression: options.expression};
    const [namespace, metricName, ...dims] = parts;
    const dimensions = [];
    for (let i = 0; i + 1 < dims.length; i += 2) dimensions.push({Name: dims[i], Value: String(dims[i + 1])});
    return {id, label: options.label || [metricName, ...dims.filter((_, i) => i % 2 === 1)].join(" "),
            stat: options.stat || properties.stat || "Average", period: options.period || properties.period,
            hidden: options.visible === false,
            metric: {Namespace: namespace, MetricName: metricName, Dimensions: dimensions}};
  });
}

async function drawWidget(box, widget, seconds) {
  const properties = widget.properties || {};
  const title = h("h2", {}, properties.title || (widget.type === "text" ? "" : "Metrics"));
  if (widget.type === "text") {
    box.replaceChildren(h("div", {class: "text"}, String(properties.markdown || "").replace(/[#*_`]/g, "")));
    return;
  }
  if (widget.type !== "metric") {
    box.replaceChildren(title, h("p", {class: "empty"}, `A ${widget.type} widget is not drawn here yet.`));
    return;
  }
  try {
    const queries = widgetQueries(properties);
    const end = Date.now(), start = end - seconds * 1000;
    const period = periodFor(seconds);
    const points = await metricData(queries, start, end, period);
    const shown = queries.filter((q) => !q.hidden);
    if (properties.view === "singleValue") {
      box.replaceChildren(title, h("div", {class: "row"}, shown.map((q) => {
        const list = points[q.id] || [];
        return h("div", {class: "single"}, h("div", {class: "muted"}, q.label),
                 h("div", {class: "number"}, list.length ? formatValue(list[list.length - 1][1]) : "—"));
      })));
    } else {
      box.replaceChildren(title, linePlot(shown.map((q) => ({label: q.label, points: points[q.id] || []})),
                                          {start, end, unit: "", width: box.clientWidth - 28}));
    }
  } catch (error) {
    box.replaceChildren(title, h("p", {class: "error"}, `${error.code}: ${error.message}`));
  }
}
