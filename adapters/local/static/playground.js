// Looplink playground: submit forms without reloading and show new messages as they arrive.
// Without this script every form still works (the server redirects back to the page).
(function () {
  "use strict";
  var main = document.querySelector("main.conv");
  if (!main) return;
  var me = main.getAttribute("data-as");
  var conv = main.getAttribute("data-conv");
  var list = document.getElementById("messages");
  var panel = document.getElementById("panel");
  var live = document.getElementById("live");
  var seq = 0;
  var submits = 0; // the latest form submission; its answer sets the panel even if messages moved on // newer responses win over older ones

  function say(text) {
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 30);
  }

  function focusKey() {
    var el = document.activeElement;
    return el && list.contains(el) ? el.getAttribute("data-focus-key") : null;
  }

  function restoreFocus(key) {
    if (!key) return;
    var el = list.querySelector('[data-focus-key="' + key + '"]');
    if (el) el.focus();
  }

  function replaceMessages(html) {
    var key = focusKey();
    var before = list.querySelectorAll("li").length;
    list.innerHTML = html;
    restoreFocus(key);
    return list.querySelectorAll("li").length - before;
  }

  function lastNoteText() {
    var notes = list.querySelectorAll("li.note");
    if (!notes.length) return "";
    var text = notes[notes.length - 1].querySelector(".msg-text, .msg-title");
    return text ? text.textContent.trim() : "";
  }

  function freshNonce() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID().replace(/-/g, "");
    return String(Date.now()) + String(Math.random()).slice(2);
  }

  function submitForm(form, submitter) {
    // Forms that stay on the page (chat box, quick actions, run now) need a new delivery id
    // each time; a message's buttons and an open form are re-rendered with fresh ones, and
    // keep theirs so that a double click is handled once.
    var nonce = form.querySelector('input[name="nonce"]');
    if (nonce && !list.contains(form) && !panel.contains(form)) nonce.value = freshNonce();
    var data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    var mine = ++seq;
    var mySubmit = ++submits;
    var busy = submitter || form.querySelector("button[type=submit]");
    if (busy) busy.setAttribute("aria-busy", "true");
    var isComposer = form.id === "composer";
    var notesBefore = list.querySelectorAll("li.note").length;
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: new URLSearchParams(data),
      credentials: "same-origin",
      headers: { "X-Playground": "fetch", "Accept": "application/json" }
    }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (out) {
      if (mySubmit !== submits) return; // a later submission answers instead
      // A message delivered meanwhile (a live update) may have refreshed the list already:
      // then fetch it again rather than show this older copy, but the panel is this answer's.
      if (mine === seq) replaceMessages(out.messages); else refresh();
      panel.innerHTML = out.panel;
      var invalid = panel.querySelector("[aria-invalid=true]");
      var firstField = panel.querySelector("input:not([type=hidden]), textarea, select");
      if (invalid) {
        invalid.focus();
        say("Please check the form: " + (panel.querySelector(".error") || {}).textContent);
      } else if (firstField) {
        firstField.focus();
        panel.scrollIntoView({ block: "nearest" });
        var h = panel.querySelector("h3");
        say((h ? h.textContent : "A form") + " is open.");
      } else {
        var input = document.getElementById("say");
        if (isComposer) input.value = "";
        if (isComposer || !document.activeElement || document.activeElement === document.body) {
          input.focus();
        }
        var last = list.lastElementChild;
        if (last) last.scrollIntoView({ block: "nearest" });
        if (list.querySelectorAll("li.note").length > notesBefore) say(lastNoteText());
      }
    }).catch(function () {
      say("Looplink did not answer. Is the server still running?");
    }).finally(function () {
      if (busy) busy.removeAttribute("aria-busy");
    });
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var action = form.getAttribute("action") || "";
    if (form.method.toLowerCase() !== "post" || action.indexOf("/play/") !== 0) return;
    ev.preventDefault();
    var busy = ev.submitter || form.querySelector("button[type=submit]");
    if (busy && busy.getAttribute("aria-busy") === "true") return; // already on its way
    submitForm(form, ev.submitter);
  });

  function refresh() {
    var mine = ++seq;
    var url = "/play/messages?as=" + encodeURIComponent(me) + "&conv=" + encodeURIComponent(conv);
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.text();
    }).then(function (html) {
      if (mine !== seq) return;
      var nearBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
      if (replaceMessages(html) > 0) {
        say("New message in this conversation.");
        if (nearBottom && list.lastElementChild) list.lastElementChild.scrollIntoView({ block: "nearest" });
      }
    }).catch(function () { /* the next event or a reload will catch up */ });
  }

  function markUnread(key) {
    var link = document.querySelector('.convs a[data-conv="' + key + '"] .badge');
    if (link) {
      link.hidden = false;
      say("New message in " + link.parentNode.textContent.replace("new", "").trim() + ".");
    }
  }

  if (window.EventSource) {
    var source = new EventSource("/play/events?as=" + encodeURIComponent(me));
    var status = document.getElementById("live-status");
    var setStatus = function (state, text) {
      document.body.setAttribute("data-live", state);
      if (status) { status.setAttribute("data-state", state); status.textContent = text; }
    };
    source.addEventListener("ready", function () { setStatus("on", "Live updates: on"); });
    source.addEventListener("delivered", function (ev) {
      var data = JSON.parse(ev.data);
      if (data.conv === conv) refresh();
      else markUnread(data.conv);
    });
    source.onerror = function () { setStatus("off", "Live updates: reconnecting…"); };
    window.addEventListener("pagehide", function () { source.close(); });
  }

  var first = panel.querySelector("[aria-invalid=true]") ||
    panel.querySelector("input:not([type=hidden]), textarea, select");
  if (first) first.focus();
})();
