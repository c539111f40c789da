"use strict";
// The logs view: one of the environment's CloudWatch Logs groups, a filter pattern (FilterLogEvents'
// own language) and a live tail that asks again every 2 s for what arrived since the last event.
const LOG_TYPES = [["Task", "Task"], ["Scheduler", "Scheduler"], ["DAGProcessing", "DAG processing"],
                   ["WebServer", "Web server"], ["Worker", "Worker"]];
const MAX_ROWS = 2000;

route(/^\/env\/([^/]+)\/logs$/, async (main, name) => {
  const group = h("select", {id: "log-group", "aria-label": "Log group"},
                  LOG_TYPES.map(([type, label]) => h("option", {value: `airflow-${name}-${type}`}, label)));
  const filter = h("input", {id: "log-filter", type: "search", placeholder: "Filter pattern, e.g. ERROR or \"exact words\"",
                             "aria-label": "Filter pattern", size: 40});
  const since = h("select", {id: "log-since", "aria-label": "From"},
                  RANGES.map(([label, seconds]) => h("option", {value: seconds}, `Last ${label}`)));
  since.value = "3600";
  const tail = h("input", {type: "checkbox", id: "log-tail", checked: true});
  const rows = h("tbody", {id: "log-rows"});
  const status = h("p", {class: "muted", id: "log-status", "aria-live": "polite"});
  const seen = new Set();
  let newest = 0, generation = 0;

  function append(events) {
    for (const event of events) {
      if (seen.has(event.eventId)) continue;
      seen.add(event.eventId);
      newest = Math.max(newest, event.timestamp);
      rows.append(h("tr", {}, h("td", {class: "time"}, when(event.timestamp)),
                    h("td", {class: "opt muted stream"}, event.logStreamName), h("td", {class: "message"}, event.message)));
    }
    while (rows.children.length > MAX_ROWS) rows.firstChild.remove();
  }

  async function fetchEvents(startMs, mine) {
    const input = {logGroupName: group.value, startTime: startMs, limit: 1000};
    if (filter.value.trim()) input.filterPattern = filter.value.trim();
    const events = [];
    let token;
    for (let page = 0; page < 10; page++) {
      const reply = await call("logs", "FilterLogEvents", token ? {...input, nextToken: token} : input);
      if (mine !== generation) return null;  // the person changed the question meanwhile
      events.push(...(reply.events || []));
      token = reply.nextToken;
      if (!token) break;
    }
    return events.sort((a, b) => a.timestamp - b.timestamp);
  }

  async function search() {
    const mine = ++generation;
    rows.replaceChildren();
    seen.clear();
    newest = 0;
    status.textContent = "Searching…";
    try {
      const events = await fetchEvents(Date.now() - Number(since.value) * 1000, mine);
      if (events === null) return;
      append(events);
      rows.dataset.filter = filter.value.trim();  // what the rows answer
      status.textContent = events.length ? `${events.length} event${events.length === 1 ? "" : "s"}` : "No events match in this range.";
    } catch (error) {
      status.textContent = "";
      if (error.code === "ResourceNotFoundException") status.textContent = "This log group has no events yet (is its logging enabled?).";
      else failed(error);
    }
  }

  async function follow() {
    if (!tail.checked || status.textContent === "Searching…") return;
    const mine = generation;
    try {
      const events = await fetchEvents(newest || Date.now() - Number(since.value) * 1000, mine);
      if (events === null) return;
      const before = seen.size;
      append(events);
      if (seen.size > before) status.textContent = `${seen.size} event${seen.size === 1 ? "" : "s"}, following`;
    } catch (_) { /* the next round asks again */ }
  }

  let typing;
  filter.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(search, 400); });
  group.addEventListener("change", search);
  since.addEventListener("change", search);
  main.replaceChildren(
    h("h1", {}, h("a", {href: `#/env/${encodeURIComponent(name)}`}, name), "Logs"),
    h("section", {class: "panel"},
      h("div", {class: "row"}, group, filter, since, h("label", {class: "check"}, tail, "Live tail")),
      status,
      h("div", {class: "scroll"}, h("table", {class: "logs"},
        h("thead", {}, h("tr", {}, h("th", {}, "Time"), h("th", {class: "opt"}, "Stream"), h("th", {}, "Message"))), rows))));
  await search();
  every(2, follow);
});
