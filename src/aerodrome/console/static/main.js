"use strict";
// Sign-in (an access key, or single sign-on), who is signed in, and the start of the router.

function showSignIn(main) {
  document.getElementById("nav").hidden = true;
  document.getElementById("who").replaceChildren();
  const message = h("p", {class: "error", id: "signin-error", role: "alert"});
  const form = h("form", {id: "signin", onsubmit: async (event) => {
    event.preventDefault();
    message.textContent = "";
    try {
      await request("POST", "/console/api/sign-in", {AccessKeyId: form.key.value, SecretAccessKey: form.secret.value});
      await loadSession();
      render();
    } catch (error) { message.textContent = error.message; }
  }},
    h("label", {}, "Access key id", h("input", {name: "key", id: "key", autocomplete: "username", required: true})),
    h("label", {}, "Secret access key",
      h("input", {name: "secret", id: "secret", type: "password", autocomplete: "current-password", required: true})),
    h("button", {class: "primary", type: "submit"}, "Sign in"));
  main.replaceChildren(h("section", {class: "panel signin"},
    h("h1", {}, "Sign in to Aerodrome"), form, message,
    Console.state.sso ? h("p", {}, h("a", {class: "button", href: "/console/sso", id: "sso"}, "Sign in with single sign-on")) : null,
    h("p", {class: "muted"}, "The console acts with temporary credentials of your principal; what its policies allow is what you can do here.")));
  form.key.focus();
}

async function loadSession() {
  try {
    const session = await request("GET", "/console/api/session");
    Object.assign(Console.state, session);
  } catch (error) {
    Console.state.csrf = null;
    Console.state.sso = Boolean(error.data && error.data.sso);
    if (error.status === 403) notice(error.message, true);
  }
  if (Console.state.csrf === undefined) Console.state.csrf = null;
  const who = document.getElementById("who");
  if (Console.state.csrf) {
    document.getElementById("nav").hidden = false;
    who.replaceChildren(
      h("span", {id: "principal", title: "The principal the console acts as"},
        Console.state.person ? `${Console.state.person} (${Console.state.principal})` : Console.state.principal),
      h("button", {id: "sign-out", onclick: async () => {
        try { await request("POST", "/console/api/sign-out"); } catch (_) { /* signed out either way */ }
        Console.state.csrf = null;
        location.hash = "#/";
        render();
      }}, "Sign out"));
  }
}

window.addEventListener("hashchange", render);
window.addEventListener("DOMContentLoaded", async () => { await loadSession(); render(); });
