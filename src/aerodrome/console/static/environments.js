"use strict";
// The environments list and an environment's page, with its actions.

async function allEnvironments() {
  const names = [];
  let token;
  do {
    const reply = await call("mwaa", "ListEnvironments", token ? {NextToken: token} : {});
    names.push(...reply.Environments);
    token = reply.NextToken;
  } while (token);
  const found = await Promise.all(names.map((Name) => call("mwaa", "GetEnvironment", {Name})
    .then((r) => r.Environment, () => null)));
  return found.filter(Boolean);
}

// Workers running now per environment: the latest NumWorkers + NumAdditionalWorkers of the last 10 minutes.
async function workersNow(names) {
  if (!names.length) return {};
  const queries = names.flatMap((name, i) => ["NumWorkers", "NumAdditionalWorkers"].map((metric, j) => ({
    id: `w${i}_${j}`, stat: "Maximum",
    metric: {Namespace: "AWS/MWAA", MetricName: metric, Dimensions: [{Name: "Environment", Value: name}]}})));
  const end = Date.now();
  const points = await metricData(queries.slice(0, 500), end - 600000, end, 60);
  const out = {};
  names.forEach((name, i) => {
    const last = (id) => { const l = points[id] || []; return l.length ? l[l.length - 1][1] : null; };
    const base = last(`w${i}_0`), more = last(`w${i}_1`);
    out[name] = base === null ? null : base + (more || 0);
  });
  return out;
}

async function schedulesOf(name) {
  try { return (await ext("GET", `/environments/${encodeURIComponent(name)}/schedules`)).Schedules || []; }
  catch (_) { return null; }
}

const COLUMNS = [["Name", (e) => e.Name], ["Status", (e) => e.Status], ["Airflow", (e) => e.AirflowVersion],
                 ["Class", (e) => e.EnvironmentClass], ["Workers now (min–max)", (e) => e.workersNow ?? -1],
                 ["Last update", (e) => (e.LastUpdate || {}).CreatedAt || ""], ["Schedules", (e) => (e.schedules || []).length]];

route(/^\/$/, async (main) => {
  const filter = h("input", {type: "search", id: "filter", placeholder: "Filter by name, status, version or class",
                             "aria-label": "Filter environments", size: 36, value: sessionStorage.getItem("filter") || ""});
  const body = h("tbody", {id: "environments"});
  const table = h("table", {class: "list"}, h("thead", {}, h("tr", {}, COLUMNS.map(([label], index) =>
    h("th", {class: index >= 5 ? "opt" : null, scope: "col"},
      h("button", {onclick: () => sortBy(index), "aria-label": `Sort by ${label}`}, label))))), body);
  const summary = h("p", {class: "muted", id: "list-summary", "aria-live": "polite"});
  let rows = [], sort = {index: 0, down: false};
  function sortBy(index) { sort = {index, down: sort.index === index ? !sort.down : false}; draw(); }
  function draw() {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const key = COLUMNS[sort.index][1];
    const shown = rows.filter((e) => words.every((w) => [e.Name, e.Status, e.AirflowVersion, e.EnvironmentClass]
      .join(" ").toLowerCase().includes(w)))
      .sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (sort.down ? -1 : 1));
    body.replaceChildren(...shown.map(row));
    summary.textContent = rows.length ? `${shown.length} of ${rows.length} environments` : "";
    if (!rows.length) body.append(h("tr", {}, h("td", {colspan: 7, class: "empty"}, "No environments yet. ",
                                                     h("a", {href: "#/create"}, "Create one"), ".")));
    else if (!shown.length) body.append(h("tr", {}, h("td", {colspan: 7, class: "empty"}, "No environment matches the filter.")));
  }
  function row(e) {
    const update = e.LastUpdate || {};
    return h("tr", {"data-name": e.Name},
      h("td", {}, h("a", {href: `#/env/${encodeURIComponent(e.Name)}`}, e.Name)),
      h("td", {}, badge(e.Status)),
      h("td", {}, e.AirflowVersion), h("td", {}, e.EnvironmentClass),
      h("td", {}, `${e.workersNow ?? "–"} (${e.MinWorkers}–${e.MaxWorkers})`),
      h("td", {class: "opt"}, update.Status ? `${update.Status} ${when(update.CreatedAt)}` : "—",
        update.Error ? h("div", {class: "error"}, update.Error.ErrorMessage || update.Error.ErrorCode) : null),
      h("td", {class: "opt"}, e.schedules === null ? "—" : (e.schedules || []).map((s) => h("div", {}, `${s.Kind}: ${s.Cron} ${s.Timezone || ""}`))));
  }
  async function load() {
    const found = await allEnvironments();
    const [workers, schedules] = await Promise.all([workersNow(found.map((e) => e.Name)).catch(() => ({})),
                                                    Promise.all(found.map((e) => schedulesOf(e.Name)))]);
    rows = found.map((e, i) => ({...e, workersNow: workers[e.Name], schedules: schedules[i]}));
    draw();
  }
  filter.addEventListener("input", () => { sessionStorage.setItem("filter", filter.value); draw(); });
  main.replaceChildren(h("h1", {}, "Environments", h("a", {class: "button", href: "#/create"}, "Create environment")),
                       h("section", {class: "panel"}, h("div", {class: "row"}, filter, summary), h("div", {class: "scroll"}, table)));
  await load();
  every(5, () => load().catch(() => {}));
});

function specList(e) {
  const logging = Object.entries(e.LoggingConfiguration || {}).filter(([, v]) => v && v.Enabled)
    .map(([k, v]) => `${k.replace("Logs", "")} (${v.LogLevel})`).join(", ");
  const entries = [["ARN", e.Arn], ["Airflow version", e.AirflowVersion], ["Class", e.EnvironmentClass],
    ["Workers", `${e.MinWorkers}–${e.MaxWorkers}`], ["Schedulers", e.Schedulers], ["Web server", e.WebserverUrl],
    ["Access mode", e.WebserverAccessMode], ["Bucket", e.SourceBucketArn], ["DAGs", e.DagS3Path],
    ["Requirements", e.RequirementsS3Path], ["Plugins", e.PluginsS3Path], ["Startup script", e.StartupScriptS3Path],
    ["Execution role", e.ExecutionRoleArn], ["Logs", logging || "none"], ["Created", when(e.CreatedAt)],
    ["Configuration", Object.entries(e.AirflowConfigurationOptions || {}).map(([k, v]) => `${k}=${v}`).join("\n")]];
  return h("dl", {class: "spec"}, entries.filter(([, v]) => v !== undefined && v !== "")
    .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
}

function snapshotItem(snapshot) {
  const into = h("input", {"aria-label": `New environment from ${snapshot.id}`, placeholder: "new environment name", size: 18});
  const load = async (event) => {
    event.preventDefault();
    if (!into.value.trim()) return;
    try {
      await ext("POST", `/snapshots/${encodeURIComponent(snapshot.id)}/load`, {Into: into.value.trim()});
      notice(`Loading ${snapshot.id} into the new environment ${into.value.trim()}.`);
    } catch (error) { failed(error); }
  };
  return h("li", {}, h("div", {}, `${snapshot.id} — ${when(snapshot.created)}, ${formatValue((snapshot.sizeBytes || 0) / 1048576)} MiB`),
           h("form", {class: "row", onsubmit: load}, into, h("button", {type: "submit"}, "Load into new environment")));
}

// The environment's schedules, with a form to add one and a button to remove each (a PUT of the new list).
function scheduleEditor(path, list, reload) {
  const plain = (s) => ({Kind: s.Kind, Cron: s.Cron, Timezone: s.Timezone, ...(s.Keep ? {Keep: s.Keep} : {})});
  const save = async (next, message) => {
    try { await ext("PUT", `${path}/schedules`, {Schedules: next.map(plain)}); notice(message); reload(); }
    catch (error) { failed(error); }
  };
  const kind = h("select", {"aria-label": "Schedule kind", id: "schedule-kind"},
                 ["hibernate", "resume", "snapshot"].map((k) => h("option", {value: k}, k)));
  const cron = h("input", {"aria-label": "Cron expression", id: "schedule-cron", placeholder: "0 19 * * 1-5", size: 14, required: true});
  const tz = h("input", {"aria-label": "Time zone", id: "schedule-tz", value: zone, size: 16});
  const keep = h("input", {"aria-label": "Snapshots to keep", type: "number", min: 1, value: 7, size: 4});
  const form = h("form", {class: "row", onsubmit: (event) => {
    event.preventDefault();
    const added = {Kind: kind.value, Cron: cron.value.trim(), Timezone: tz.value.trim() || "UTC",
                   ...(kind.value === "snapshot" ? {Keep: Number(keep.value)} : {})};
    save([...list, added], `Schedule added: ${added.Kind} at "${added.Cron}".`);
  }}, kind, cron, tz, keep, h("button", {type: "submit"}, "Add"));
  return h("div", {},
    list.length ? h("ul", {}, list.map((s, i) => h("li", {},
      `${s.Kind} at "${s.Cron}" ${s.Timezone || "UTC"}${s.Keep ? `, keep ${s.Keep}` : ""}; next ${when(s.NextFire)} `,
      h("button", {"aria-label": `Remove the ${s.Kind} schedule`, onclick: async () => {
        if (await confirmAction("Remove this schedule?", `${s.Kind} at "${s.Cron}"`, "Remove"))
          save(list.filter((_, j) => j !== i), "Schedule removed.");
      }}, "Remove"))))
      : h("p", {class: "empty"}, "No schedules."),
    form);
}

function eventLine(event) {
  const d = event.detail || {};
  const kind = event["detail-type"];
  let text;
  if (kind === "MWAA Environment Status Change") text = `${d.previousStatus || "—"} → ${d.status}`;
  else if (kind === "Aerodrome Environment Scaling") text = `workers ${d.from} → ${d.to} (queued ${d.queued ?? "?"}, running ${d.running ?? "?"})`;
  else text = Object.entries(d).filter(([k]) => !["name", "arn", "time", "environment"].includes(k))
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
  return h("li", {}, h("span", {class: "muted"}, when(event.time)), " ", h("strong", {}, kind.replace(/^(MWAA|Aerodrome) /, "")), " ", text);
}

route(/^\/env\/([^/]+)$/, async (main, name) => {
  const path = `/environments/${encodeURIComponent(name)}`;
  const header = h("h1", {});
  const actionsRow = h("div", {});
  const errorBox = h("div", {});
  const specBox = h("section", {class: "panel"});
  const events = {status: h("ul", {class: "timeline", id: "timeline"}), scale: h("ul", {class: "timeline", id: "scaling"}),
                  sync: h("ul", {class: "timeline", id: "syncs"})};
  const snapshots = h("div", {id: "snapshots"}), schedules = h("div", {id: "schedules"}), alarms = h("div", {id: "alarms"});
  const importErrors = h("div", {id: "import-errors"});
  let current = null;

  async function act(label, work, success) {
    try { await work(); notice(success); await load(); } catch (error) { failed(error); }
  }
  const actions = {
    open: async () => {
      const popup = window.open("about:blank", "_blank");
      try {
        const token = await call("mwaa", "CreateWebLoginToken", {Name: name});
        const url = `${Console.state.webScheme}://${token.WebServerHostname}/aws_mwaa/aws-console-sso?login=true#${token.WebToken}`;
        if (popup) popup.location = url; else location.assign(url);
      } catch (error) { if (popup) popup.close(); failed(error); }
    },
    hibernate: async () => {
      if (await confirmAction(`Hibernate ${name}?`, "Its schedulers stop, running tasks finish, then every process stops; the database and files stay.", "Hibernate"))
        act("hibernate", () => ext("POST", `${path}/hibernate`, {Force: false}), `${name} is hibernating.`);
    },
    resume: () => act("resume", () => ext("POST", `${path}/resume`, {}), `${name} is resuming.`),
    remove: async () => {
      if (await confirmAction(`Delete ${name}?`, "Its processes, database and files are removed. This cannot be undone.", "Delete"))
        act("delete", () => call("mwaa", "DeleteEnvironment", {Name: name}), `${name} is being deleted.`);
    },
    snapshot: () => act("snapshot", () => ext("POST", `${path}/snapshots`, {}), "Snapshot saved."),
  };

  function buttons(status) {
    const available = status === "AVAILABLE" || status === "UPDATE_FAILED";
    return h("div", {class: "row", id: "actions"},
      h("button", {class: "primary", id: "open-ui", onclick: actions.open, disabled: !available}, "Open Airflow UI"),
      h("a", {class: "button", href: `#/env/${encodeURIComponent(name)}/logs`, id: "logs-link"}, "Logs"),
      h("a", {class: "button", href: `#/env/${encodeURIComponent(name)}/update`, id: "update-link"}, "Update"),
      h("button", {id: "hibernate", onclick: actions.hibernate, disabled: !available}, "Hibernate"),
      h("button", {id: "resume", onclick: actions.resume, disabled: status !== "HIBERNATED"}, "Resume"),
      h("button", {id: "save-snapshot", onclick: actions.snapshot, disabled: !available}, "Save snapshot"),
      h("button", {class: "danger", id: "delete", onclick: actions.remove}, "Delete"));
  }

  async function load() {
    const e = (await call("mwaa", "GetEnvironment", {Name: name})).Environment;
    if (!current || current.Status !== e.Status) {
      header.replaceChildren(name, badge(e.Status));
      actionsRow.replaceChildren(buttons(e.Status));
    }
    current = e;
    const error = (e.LastUpdate || {}).Error;
    errorBox.replaceChildren(error ? h("div", {class: "errorbox", id: "last-error", role: "alert"},
      h("strong", {}, `Last update ${e.LastUpdate.Status}: ${error.ErrorCode || ""}`), h("pre", {}, error.ErrorMessage || "")) : "");
    specBox.replaceChildren(h("h2", {}, "Specification"), specList(e));
    const reply = await ext("GET", "/events", undefined, {environment: name}).catch(() => ({events: []}));
    const all = (reply.events || []).slice().reverse();
    for (const [key, type] of [["status", "MWAA Environment Status Change"], ["scale", "Aerodrome Environment Scaling"],
                               ["sync", "Aerodrome Bundle Sync"]]) {
      const list = all.filter((ev) => ev["detail-type"] === type || (key === "status" && ev["detail-type"] === "Aerodrome Environment Hibernation"));
      events[key].replaceChildren(...(list.length ? list.slice(0, 200).map(eventLine) : [h("li", {class: "empty"}, "None yet.")]));
    }
  }

  async function loadSide() {
    loadImportErrors();
    const [snaps, scheds, alarmReply] = await Promise.all([
      ext("GET", "/snapshots", undefined, {environment: name}).catch((e) => e),
      ext("GET", `${path}/schedules`).catch((e) => e),
      call("cloudwatch", "DescribeAlarms", {}).catch((e) => e)]);
    snapshots.replaceChildren(snaps instanceof Error ? h("p", {class: "error"}, snaps.message)
      : (snaps.Snapshots || []).length ? h("ul", {}, snaps.Snapshots.map(snapshotItem))
      : h("p", {class: "empty"}, "No snapshots."));
    schedules.replaceChildren(scheds instanceof Error ? h("p", {class: "error"}, scheds.message)
      : scheduleEditor(path, scheds.Schedules || [], loadSide));
    if (alarmReply instanceof Error) { alarms.replaceChildren(h("p", {class: "error"}, alarmReply.message)); return; }
    const mine = (alarmReply.MetricAlarms || []).filter((a) => (a.Dimensions || []).some((d) => d.Name === "Environment" && d.Value === name));
    alarms.replaceChildren(mine.length ? h("ul", {}, mine.map((a) => h("li", {}, badge(a.StateValue), " ", a.AlarmName,
      h("div", {class: "muted"}, a.StateReason || "")))) : h("p", {class: "empty"}, "No alarms on this environment."));
  }

  async function loadImportErrors() {
    if (!current || current.Status !== "AVAILABLE") { importErrors.replaceChildren(); return; }
    try {
      const reply = await call("mwaa", "InvokeRestApi", {Name: name, Path: "/importErrors", Method: "GET"});
      const found = (reply.RestApiResponse || {}).import_errors || [];
      importErrors.replaceChildren(found.length
        ? h("div", {class: "errorbox"}, h("strong", {}, `${found.length} DAG file(s) fail to import`),
            found.map((e) => h("div", {}, h("div", {}, e.filename), h("pre", {}, e.stack_trace || ""))))
        : h("p", {class: "muted"}, "No import errors."));
    } catch (error) { importErrors.replaceChildren(h("p", {class: "muted"}, `Import errors: ${error.message}`)); }
  }

  main.replaceChildren(header, actionsRow, errorBox, plotsPanel(name),
    h("div", {class: "grid"},
      h("section", {class: "panel"}, h("h2", {}, "Status timeline"), events.status),
      h("section", {class: "panel"}, h("h2", {}, "Workers and scaling"), events.scale),
      h("section", {class: "panel"}, h("h2", {}, "DAG sync"), importErrors, events.sync)),
    h("div", {class: "grid"},
      h("section", {class: "panel"}, h("h2", {}, "Snapshots"), snapshots),
      h("section", {class: "panel"}, h("h2", {}, "Schedules"), schedules),
      h("section", {class: "panel"}, h("h2", {}, "Alarms"), alarms)),
    specBox);
  await load();
  loadSide();
  every(4, () => load().catch(() => {}));
  every(30, () => loadSide().catch(() => {}));
});
