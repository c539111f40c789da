"use strict";
// The console's small toolkit: elements, calls to the console's two API doors, notices, a
// confirmation dialog, times in the viewer's zone, and the hash router with its timers.
const Console = {state: {csrf: null, principal: null, person: null, webScheme: "https", sso: false},
                 routes: [], timers: []};

function h(tag, attrs, ...children) {
  const svg = ["svg", "g", "path", "line", "circle", "text", "rect", "title", "polyline"].includes(tag);
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, code, message, data) { super(message); this.status = status; this.code = code; this.data = data; }
}

async function request(method, path, body) {
  const headers = {"Content-Type": "application/json"};
  if (Console.state.csrf) headers["X-Console-Csrf"] = Console.state.csrf;
  const reply = await fetch(path, {method, headers, credentials: "same-origin",
                                   body: body === undefined ? undefined : JSON.stringify(body)});
  let data = {};
  try { data = await reply.json(); } catch (_) { data = {}; }
  if (!reply.ok) {
    if (reply.status === 401 && path !== "/console/api/sign-in" && path !== "/console/api/session") {
      Console.state.csrf = null;
      location.hash = "#/";
      render();
    }
    throw new ApiError(reply.status, data.code || "Error", data.message || `HTTP ${reply.status}`, data);
  }
  return data;
}

// MWAA, CloudWatch and CloudWatch Logs operations, as boto3 names them.
const call = (Service, Operation, Input) => request("POST", "/console/api/call", {Service, Operation, Input: Input || {}});
// The Aerodrome API (paths under /aerodrome/v1).
const ext = (Method, Path, Body, Query) => request("POST", "/console/api/ext", {Method, Path, Body, Query});

function notice(message, bad) {
  const box = document.getElementById("notice");
  box.replaceChildren(h("div", {class: bad ? "bad" : "", role: bad ? "alert" : null}, message));
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => box.replaceChildren(), bad ? 15000 : 6000);
}

function failed(error) { notice(`${error.code ? error.code + ": " : ""}${error.message}`, true); }

// Destructive actions ask first; resolves true when the person confirms.
function confirmAction(title, text, verb) {
  return new Promise((resolve) => {
    const dialog = h("dialog", {"aria-labelledby": "confirm-title"},
      h("h2", {id: "confirm-title"}, title), h("p", {}, text),
      h("div", {class: "row"},
        h("button", {class: "danger", id: "confirm-yes", onclick: () => { dialog.close(); resolve(true); }}, verb),
        h("button", {id: "confirm-no", onclick: () => { dialog.close(); resolve(false); }}, "Cancel")));
    dialog.addEventListener("cancel", () => resolve(false));
    dialog.addEventListener("close", () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector("#confirm-no").focus();
  });
}

const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
function when(value) {
  if (value === null || value === undefined || value === "") return "—";
  const date = typeof value === "number" ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value);
  return isNaN(date) ? String(value) : date.toLocaleString([], {dateStyle: "medium", timeStyle: "medium"});
}
function clock(date, seconds) {
  return date.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", second: seconds ? "2-digit" : undefined});
}

function statusClass(status) {
  if (["AVAILABLE"].includes(status)) return "ok";
  if (/FAILED|UNAVAILABLE|ROLLING_BACK/.test(status || "")) return "bad";
  if (/ING$/.test(status || "")) return "busy";
  return "";
}
function badge(status) { return h("span", {class: `badge ${statusClass(status)}`, "data-status": status}, status || "?"); }

// Routes: [regexp on the hash, render(main, ...groups)]; timers end when the page changes.
function route(pattern, view) { Console.routes.push([pattern, view]); }
function every(seconds, work) {
  const id = setInterval(() => { if (!document.hidden) work(); }, seconds * 1000);
  Console.timers.push(id);
}
async function render() {
  Console.timers.forEach(clearInterval);
  Console.timers = [];
  const main = document.getElementById("main");
  if (!Console.state.csrf) { showSignIn(main); return; }
  const hash = location.hash.replace(/^#/, "") || "/";
  for (const link of document.querySelectorAll("#nav a")) {
    const target = link.getAttribute("href").slice(1);
    link.toggleAttribute("aria-current", target === "/" ? hash === "/" || hash.startsWith("/env/") : hash.startsWith(target));
    if (link.hasAttribute("aria-current")) link.setAttribute("aria-current", "page");
  }
  for (const [pattern, view] of Console.routes) {
    const found = hash.match(pattern);
    if (found) {
      main.replaceChildren(h("p", {class: "empty"}, "Loading…"));
      try { await view(main, ...found.slice(1).map(decodeURIComponent)); }
      catch (error) { main.replaceChildren(h("div", {class: "errorbox", role: "alert"}, `${error.code || "Error"}: ${error.message}`)); }
      return;
    }
  }
  main.replaceChildren(h("p", {class: "empty"}, "Nothing here. "), h("a", {href: "#/"}, "Back to the environments"));
}
