// mfstack web UI: local times, timeline clicks, log search and paging, live updates.
"use strict";
(function () {
  var api = document.body.dataset.api || "/api";

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d)) return;
      t.title = t.textContent;
      t.textContent = d.toLocaleString();
    });
  }

  function duration(ms) {
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + "." + Math.floor((ms % 1000) / 100) + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + String(s % 60).padStart(2, "0") + "s";
    return Math.floor(s / 3600) + "h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + "m";
  }

  function timeline() {
    document.querySelectorAll(".bars[data-base]").forEach(function (svg) {
      svg.addEventListener("click", function (e) {
        if (e.target.dataset.t) location.href = svg.dataset.base + e.target.dataset.t;
      });
    });
  }

  function searchLog(box) {
    var input = box.querySelector(".logsearch"), count = box.querySelector(".logcount");
    if (!input) return;
    input.addEventListener("input", function () {
      var q = input.value.toLowerCase(), hits = 0;
      box.querySelectorAll(".log li").forEach(function (li) {
        var hit = q !== "" && li.textContent.toLowerCase().indexOf(q) >= 0;
        if (hit) hits++;
        li.classList.toggle("hit", hit);
        li.classList.toggle("miss", q !== "" && !hit);
      });
      count.textContent = q === "" ? "" : hits + (hits === 1 ? " match" : " matches");
    });
  }

  function moreLog(box) {
    var button = box.querySelector(".more"), page = 1, limit = 2000;
    if (!button) return;
    button.addEventListener("click", function () {
      page++;
      button.disabled = true;
      fetch(box.dataset.url + "&_limit=" + limit + "&_page=" + page)
        .then(function (r) { return r.json(); })
        .then(function (body) {
          var list = box.querySelector(".log");
          (body.data || []).forEach(function (row) {
            var li = document.createElement("li");
            li.textContent = row.line;
            list.appendChild(li);
          });
          button.disabled = false;
          if (list.children.length >= Number(box.dataset.total)) button.remove();
          box.querySelector(".logsearch").dispatchEvent(new Event("input"));
        })
        .catch(function () { button.disabled = false; });
    });
  }

  // Durations of running runs tick in the browser between updates.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-status=running][data-start]").forEach(function (el) {
      var cell = el.querySelector(".duration");
      if (cell) cell.textContent = duration(now - Number(el.dataset.start));
    });
  }

  // Live view: parts marked data-live are re-rendered by the server and swapped in place, so the
  // page shows exactly what a reload would. A change reported on the UI API's realtime channel
  // refreshes at once; while something runs (logs have no events) and while the channel is down,
  // the page also refreshes every few seconds.
  var live = document.getElementById("live"), failures = 0, socketOpen = false, pending = null, ws = null;
  function state(text, on) {
    live.hidden = false;
    live.className = "live " + (on ? "on" : "off");
    live.textContent = text;
  }
  function running() {
    return document.querySelector("[data-live] [data-status=running], [data-live][data-status=running]");
  }
  function wanted() {
    return running() || (!socketOpen && document.querySelector("[data-live=always]"));
  }
  function refresh() {
    return fetch(location.href)
      .then(function (r) { if (!r.ok) throw r; return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html"), known = {};
        document.querySelectorAll("[data-key]").forEach(function (el) { known[el.dataset.key] = 1; });
        document.querySelectorAll("[data-live][id]").forEach(function (old) {
          var next = fresh.getElementById(old.id);
          if (!next) return;
          old.replaceWith(next);
          next.querySelectorAll("[data-key]").forEach(function (el) {
            if (!known[el.dataset.key]) el.classList.add("new");
          });
          localTimes(next);
        });
        timeline();
        document.querySelectorAll(".logbox .logsearch").forEach(function (i) { i.dispatchEvent(new Event("input")); });
        failures = 0;
      })
      .catch(function () { failures++; state("offline, retrying", false); });
  }
  function poll() {
    var go = !document.hidden && wanted();
    (go ? refresh() : Promise.resolve()).then(function () {
      setTimeout(poll, Math.min(5000 * (failures + 1), 30000));
    });
  }
  function soon() {
    if (!pending) pending = setTimeout(function () { pending = null; refresh(); }, 300);
  }
  function connect() {
    var watch = (document.body.dataset.ws || "").split(" ").filter(Boolean);
    if (!watch.length || !window.WebSocket) return;
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + api + "/ws");
    ws.onopen = function () {
      socketOpen = true;
      state("live", true);
      watch.forEach(function (resource, i) {
        ws.send(JSON.stringify({ type: "SUBSCRIBE", uuid: "page-" + i, resource: resource }));
      });
    };
    ws.onmessage = function (m) { if (m.data !== "__pong__") soon(); };
    ws.onclose = function () {
      if (socketOpen) state("reconnecting", false);
      socketOpen = false;
      setTimeout(connect, 5000);
    };
  }
  if (document.querySelector("[data-live]")) {
    connect();
    setInterval(function () { if (ws && socketOpen) ws.send("__ping__"); }, 30000);
    poll();
  }

  localTimes(document);
  timeline();
  document.querySelectorAll(".logbox").forEach(function (box) { searchLog(box); moreLog(box); });
  setInterval(tick, 1000);
  window.mfstack = { api: api, localTimes: localTimes };
})();
