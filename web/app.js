// CodeInsight web view: live updates over the server's WebSocket protocol and small conveniences. Every page
// is complete without this script; it only keeps a page current without a reload and adds the copy buttons.
(function () {
  "use strict";

  var body = document.body;
  var liveBadge = document.getElementById("live");

  function words(value) {
    return (value || "").split(" ").filter(function (word) { return word.length > 0; });
  }

  // ----- Copy a fix -----
  function showCopyButtons(root) {
    var buttons = root.querySelectorAll("button.copy");
    for (var i = 0; i < buttons.length; i++) buttons[i].hidden = false;
  }
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.copy") : null;
    if (!button) return;
    copyText(button.getAttribute("data-copy") || "").then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy diff"; }, 1500);
    });
  });
  showCopyButtons(document);

  // ----- Live updates -----
  var user = body.getAttribute("data-user");
  var runs = words(body.getAttribute("data-live-runs"));
  var jobs = words(body.getAttribute("data-live-jobs"));
  if (!user || (runs.length === 0 && jobs.length === 0) || !("WebSocket" in window)) return;

  var socket = null;
  var attempt = 0;
  var stopped = false;
  var refreshTimer = null;
  var lastRefresh = 0;
  var refreshing = false;

  function setLive(state) {
    if (!liveBadge) return;
    liveBadge.hidden = false;
    liveBadge.className = state === "live" ? "live" : "live off";
    liveBadge.textContent = state === "live" ? "Live" : (state === "done" ? "Up to date" : "Reconnecting…");
  }

  // Swap the page's content for a fresh render of the same URL: counts, rows and findings change in place.
  function refresh() {
    refreshTimer = null;
    if (refreshing) { scheduleRefresh(); return; }
    refreshing = true;
    lastRefresh = Date.now();
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html");
        var content = fresh.getElementById("content");
        var current = document.getElementById("content");
        if (!content || !current) return;
        var open = openDetails(current);
        current.innerHTML = content.innerHTML;
        restoreDetails(current, open);
        showCopyButtons(current);
        var verdict = current.querySelector("#verdict, #status");
        if (verdict) { verdict.classList.remove("flash"); void verdict.offsetWidth; verdict.classList.add("flash"); }
        var stillRuns = words(fresh.body.getAttribute("data-live-runs"));
        var stillJobs = words(fresh.body.getAttribute("data-live-jobs"));
        if (stillRuns.length === 0 && stillJobs.length === 0) {
          stopped = true;
          setLive("done");
          if (socket) socket.close(1000, "done");
        } else {
          var added = stillRuns.filter(function (id) { return runs.indexOf(id) < 0; });
          runs = stillRuns;
          jobs = stillJobs;
          added.forEach(function (id) { send({ type: "subscribe", run_id: id }); });
        }
      })
      .catch(function () { /* the next event or reconnect refreshes again */ })
      .then(function () { refreshing = false; });
  }

  function scheduleRefresh() {
    if (refreshTimer !== null) return;
    var wait = Math.max(250, 1500 - (Date.now() - lastRefresh));
    refreshTimer = setTimeout(refresh, wait);
  }

  // Remember which collapsible sections the reader closed (or opened) across a refresh.
  function openDetails(root) {
    var state = {};
    var all = root.querySelectorAll("details > summary");
    for (var i = 0; i < all.length; i++) state[all[i].textContent.replace(/\s+\d+$/, "")] = all[i].parentNode.open;
    return state;
  }
  function restoreDetails(root, state) {
    var all = root.querySelectorAll("details > summary");
    for (var i = 0; i < all.length; i++) {
      var key = all[i].textContent.replace(/\s+\d+$/, "");
      if (Object.prototype.hasOwnProperty.call(state, key)) all[i].parentNode.open = state[key];
    }
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function onUpdate(update) {
    var row = document.getElementById("job-" + update.job_id);
    if (row) {
      row.setAttribute("data-status", update.status);
      var badge = row.querySelector(".status");
      if (badge) { badge.textContent = update.status; badge.className = "status s-" + update.status; }
    }
    scheduleRefresh();
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/" + encodeURIComponent(user));
    socket.onopen = function () {
      var reconnected = attempt > 0;
      attempt = 0;
      setLive("live");
      runs.forEach(function (id) { send({ type: "subscribe", run_id: id }); });
      jobs.forEach(function (id) { send({ type: "subscribe", job_id: id }); });
      // Events sent while the socket was down are not replayed to the page: read it afresh.
      if (reconnected) scheduleRefresh();
    };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      if (message.type === "job_update") onUpdate(message);
    };
    socket.onclose = function () {
      socket = null;
      if (stopped) return;
      setLive("reconnecting");
      // Backoff with jitter: 1 s, 2 s, 4 s … up to 30 s.
      var delay = Math.min(30000, 1000 * Math.pow(2, attempt)) * (0.75 + Math.random() * 0.5);
      attempt += 1;
      setTimeout(connect, delay);
    };
  }

  connect();
})();
