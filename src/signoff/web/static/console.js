// signoff console: progressive enhancement only; every page works without this file.
// No eval, no innerHTML of our own strings: the server renders (and escapes) all text.
(function () {
  "use strict";

  function countdown() {
    var el = document.getElementById("countdown");
    if (!el) { return; }
    var left = parseInt(el.getAttribute("data-seconds-left"), 10);
    if (!(left > 0)) { return; }
    var secs = el.querySelector(".secs");
    var timer = setInterval(function () {
      left -= 1;
      if (left <= 0) {
        clearInterval(timer);
        el.textContent = "You may decide now (the server has the last word).";
        return;
      }
      if (secs) { secs.textContent = String(left); }
    }, 1000);
  }

  function setCount(id, value) {
    var el = document.getElementById(id);
    if (el && typeof value === "number") { el.textContent = String(value); }
  }

  function liveInbox() {
    var box = document.getElementById("inbox");
    if (!box || !window.fetch) { return; }
    var status = document.getElementById("live-status");
    var busy = false;
    function refresh() {
      return fetch(window.location.href, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("inbox");
          var current = document.getElementById("inbox");
          if (fresh && current) {
            current.replaceWith(document.importNode(fresh, true));
            liveInbox();
          }
        });
    }
    function poll() {
      if (busy || document.hidden) { return; }
      busy = true;
      fetch(box.getAttribute("data-poll"), { credentials: "same-origin",
                                             headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { if (status) { status.textContent = "live updates paused"; } return; }
          setCount("count-pending", data.counts.pending);
          setCount("count-escalated", data.counts.escalated);
          setCount("count-post", data.counts.post_review);
          if (status) { status.textContent = "live"; }
          if (data.fingerprint !== box.getAttribute("data-fingerprint")) {
            clearInterval(timer);
            return refresh();
          }
        })
        .catch(function () { if (status) { status.textContent = "live updates paused"; } })
        .then(function () { busy = false; });
    }
    var timer = setInterval(poll, 3000);
    if (status) { status.textContent = "live"; }
  }

  document.addEventListener("DOMContentLoaded", function () {
    countdown();
    liveInbox();
  });
}());
