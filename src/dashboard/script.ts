/**
 * The dashboard's one script, shipped as text. It follows `api/events`
 * (Server-Sent Events) and draws the queues and the history with DOM calls;
 * names and labels only ever go into `textContent`.
 *
 * @module
 */

/** The page's script, served as `dashboard.js`. */
export const PAGE_SCRIPT: string = String.raw`"use strict";
(function () {
  var LIMIT = 200;
  var WAITERS_SHOWN = 25;
  var ORDER = { stuck: 0, slow: 1, ok: 2 };
  var state = {
    resources: new Map(), history: null, offset: 0, allowReset: false,
    error: null, live: false, dirty: true,
  };

  function byId(id) { return document.getElementById(id); }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function now() { return Date.now() + state.offset; }

  function two(n) { return n < 10 ? "0" + n : String(n); }
  function duration(ms) {
    if (ms === null || ms === undefined) return "–";
    if (ms < 0) ms = 0;
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 10000) return (ms / 1000).toFixed(1) + " s";
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + "m" + two(s % 60) + "s";
    return Math.floor(m / 60) + "h" + two(m % 60) + "m";
  }
  function since(user) { return (user.atLeast ? "≥ " : "") + duration(now() - user.since); }
  function ttlLeft(view, ttl) { return ttl < 0 ? null : Math.max(0, ttl - (now() - view.at)); }

  function oldestWait(view) { return view.waiters.length ? now() - view.waiters[0].since : -1; }
  function compare(a, b) {
    return (ORDER[a.health] - ORDER[b.health]) ||
      (oldestWait(b) - oldestWait(a)) ||
      (b.waiters.length - a.waiters.length) ||
      (b.size - a.size) ||
      (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0);
  }
  function matches(view, query) {
    if (!query) return true;
    if (view.resource.toLowerCase().indexOf(query) >= 0) return true;
    var users = (view.holder ? [view.holder] : []).concat(view.alsoHolding, view.waiters);
    return users.some(function (u) { return u.label.toLowerCase().indexOf(query) >= 0; });
  }

  function userRow(tag, className, user, role, time) {
    var row = el(tag, "user " + className);
    row.setAttribute("data-number", String(user.number));
    if (role) row.appendChild(el("span", "role", role));
    row.appendChild(el("span", "num", "#" + user.number));
    row.appendChild(el("span", "label", user.label));
    row.appendChild(el("span", "time", time));
    return row;
  }

  function deadText(view) {
    var dead = view.deadHead;
    var what = dead.cause === "gone"
      ? "Dead head #" + dead.number + ": its user is gone"
      : "Dead head? #" + dead.number + " is not renewing its lease";
    var left = dead.skipIn === null ? null : ttlLeft(view, dead.skipIn);
    var when = left === null ? "; skipped when someone next joins or on reset"
      : left === 0 ? "; skipped at the waiters' next check"
      : "; skipped in " + duration(left) + " unless renewed";
    return what + when + ".";
  }

  function placesText(places) {
    return (places.capacity === null ? "shared, no limit" : "capacity " + places.capacity) +
      ": " + places.holders + " holding" +
      (places.placesLeft === null ? "" : ", " + places.placesLeft + " left");
  }

  function card(view) {
    var card = el("article", "res " + view.health);
    card.setAttribute("data-resource", view.resource);
    card.setAttribute("data-health", view.health);
    var head = el("div", "res-head");
    head.appendChild(el("span", "badge " + view.health, view.health));
    head.appendChild(el("h3", "res-name", view.resource));
    head.appendChild(el("span", "counters",
      "turn #" + view.indicator + " · last #" + view.dispenser + " · " + view.size + " ticket" + (view.size === 1 ? "" : "s") +
      (view.places ? " · " + placesText(view.places) : "")));
    card.appendChild(head);
    card.appendChild(el("p", "reason", view.reason));
    if (view.holder) {
      [view.holder].concat(view.alsoHolding).forEach(function (user) {
        var lease = ttlLeft(view, user.ttl);
        card.appendChild(userRow("div", "holder", user, "holding",
          "held " + since(user) + (lease === null ? "" : " · lease " + duration(lease))));
      });
    } else {
      card.appendChild(el("p", "muted", view.size > 0 ? "Nobody alive holds the turn." : "Idle."));
    }
    if (view.deadHead) card.appendChild(el("p", "dead", deadText(view)));
    if (view.waiters.length) {
      var list = el("ol", "waiters");
      list.setAttribute("aria-label", "waiting, in ticket order");
      view.waiters.slice(0, WAITERS_SHOWN).forEach(function (user) {
        list.appendChild(userRow("li", "waiter", user, "", "waited " + since(user)));
      });
      card.appendChild(list);
      if (view.waiters.length > WAITERS_SHOWN) {
        card.appendChild(el("p", "more", "and " + (view.waiters.length - WAITERS_SHOWN) + " more waiting"));
      }
    }
    if (state.allowReset) {
      var actions = el("div", "actions");
      var button = el("button", "reset", "Reset…");
      button.type = "button";
      button.title = "Like turn reset: skip users that are gone, remove the counters if nobody is left";
      button.addEventListener("click", function () { reset(view.resource); });
      actions.appendChild(button);
      card.appendChild(actions);
    }
    return card;
  }

  function stat(value, label, className) {
    var box = el("div", "stat" + (className ? " " + className : ""));
    box.appendChild(el("b", "", value));
    box.appendChild(el("span", "", label));
    return box;
  }

  function renderSummary(all) {
    var counts = { stuck: 0, slow: 0, holding: 0, waiting: 0 };
    all.forEach(function (v) {
      if (v.health !== "ok") counts[v.health]++;
      if (v.holder) counts.holding++;
      counts.waiting += v.waiters.length;
    });
    var summary = byId("summary");
    summary.replaceChildren(
      stat(all.length, "queues"), stat(counts.holding, "holding"), stat(counts.waiting, "waiting"),
      stat(counts.slow, "slow", counts.slow ? "slow" : ""), stat(counts.stuck, "stuck", counts.stuck ? "stuck" : ""));
  }

  function renderResources() {
    var query = byId("search").value.trim().toLowerCase();
    var all = Array.from(state.resources.values());
    renderSummary(all);
    var shown = all.filter(function (v) { return matches(v, query); }).sort(compare);
    var list = byId("resources");
    var cards = shown.slice(0, LIMIT).map(card);
    if (!cards.length) cards = [el("p", "empty", all.length ? "No queue matches the search." : "No queues right now.")];
    list.replaceChildren.apply(list, cards);
    byId("shown").textContent = shown.length > LIMIT
      ? "worst " + LIMIT + " of " + shown.length + " shown; search to narrow"
      : shown.length + (query ? " matching" : "") + ", worst first";
  }

  function bars(values, className) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    // Always an hour wide, newest minute on the right.
    var slots = Math.max(values.length, 60);
    var first = slots - values.length;
    svg.setAttribute("viewBox", "0 0 " + slots * 6 + " 50");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    var max = Math.max.apply(null, values.map(function (v) { return v || 0; }).concat([1]));
    values.forEach(function (v, i) {
      if (!v) return;
      var rect = document.createElementNS(ns, "rect");
      var h = Math.max(1.5, (v / max) * 48);
      rect.setAttribute("x", String((first + i) * 6 + 0.5));
      rect.setAttribute("y", String(50 - h));
      rect.setAttribute("width", "5");
      rect.setAttribute("height", String(h));
      if (className) rect.setAttribute("class", className);
      svg.appendChild(rect);
    });
    return svg;
  }

  function chart(title, values, summary, className) {
    var box = el("div", "chart");
    var h = el("h3", "", title);
    h.appendChild(el("span", "", summary));
    box.appendChild(h);
    var svg = bars(values, className);
    svg.setAttribute("aria-label", title + ": " + summary);
    box.appendChild(svg);
    return box;
  }

  function renderHistory() {
    var history = state.history;
    if (!history) return;
    var minutes = history.minutes;
    var counts = function (kind) { return minutes.map(function (m) { return m.counts[kind]; }); };
    var last = minutes[minutes.length - 1];
    var troubles = minutes.map(function (m) { return m.counts.gaveUp + m.counts.crashes + m.counts.lapses + m.counts.resets; });
    var c = history.counts;
    byId("charts").replaceChildren(
      chart("Turns per minute", counts("grants"), (last ? last.counts.grants : 0) + " this minute"),
      chart("Waiting (most at once)", minutes.map(function (m) { return m.depth; }), (last ? last.depth : 0) + " this minute", "alt"),
      chart("Wait p95 per minute", minutes.map(function (m) { return m.waitP95; }), duration(history.times.wait.p95) + " overall"),
      chart("Timeouts, crashes, lapses, resets", troubles,
        c.gaveUp + " gave up · " + c.crashes + " crashed · " + c.lapses + " lapsed · " + c.resets + " resets", "bad"));
    var table = el("table");
    var head = el("tr");
    ["", "p50", "p95", "p99", "count"].forEach(function (t) { head.appendChild(el("th", "", t)); });
    table.appendChild(head);
    [["Wait", "wait"], ["Hold", "hold"], ["Handoff gap", "gap"]].forEach(function (pair) {
      var p = history.times[pair[1]];
      var row = el("tr");
      [pair[0], duration(p.p50), duration(p.p95), duration(p.p99), p.count].forEach(function (t) { row.appendChild(el("td", "", t)); });
      table.appendChild(row);
    });
    var box = el("div", "chart");
    box.appendChild(el("h3", "", "Times over the last " + minutes.length + " min"));
    box.appendChild(table);
    byId("times").replaceChildren(box);
    byId("history-span").textContent = "last " + minutes.length + " min";
    byId("source").textContent = "From the events and queue reads this dashboard has seen since it started at " +
      new Date(history.since).toLocaleString() + ", kept in memory for the last 60 minutes and lost when it stops. " +
      "For longer history, scrape the metrics.";
  }

  function render() {
    var error = byId("error");
    error.hidden = !state.error;
    error.textContent = state.error ? "Cannot read the queues: " + state.error : "";
    renderResources();
    renderHistory();
  }

  var scheduled = false;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(function () { scheduled = false; render(); });
  }

  function notice(text) {
    var box = byId("notice");
    box.textContent = text;
    box.hidden = false;
  }

  function reset(resource) {
    var ok = window.confirm("Reset \"" + resource + "\"?\n\nLike turn reset: skips users that are gone, " +
      "then removes the queue's counters if nobody is left. Live users keep their places.");
    if (!ok) return;
    fetch("api/reset", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ resource: resource }),
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.error || response.statusText);
        var r = body.results[0];
        notice(r.outcome === "missing" ? "No such queue: \"" + resource + "\"."
          : r.outcome === "in-use" ? "\"" + resource + "\" is in use by " + r.users + " user(s)."
          : "\"" + resource + "\" was reset.");
      });
    }).catch(function (error) { notice("Reset failed: " + error.message); });
  }

  function apply(message) {
    state.offset = message.now - Date.now();
    if ("error" in message) state.error = message.error;
    (message.changed || []).forEach(function (v) { state.resources.set(v.resource, v); });
    (message.gone || []).forEach(function (name) { state.resources.delete(name); });
    if (message.history) state.history = message.history;
    schedule();
  }

  function setConnection(text, className) {
    var conn = byId("conn");
    conn.textContent = text;
    conn.className = "conn " + className;
  }

  function connect() {
    var source = new EventSource("api/events");
    source.addEventListener("snapshot", function (event) {
      var message = JSON.parse(event.data);
      state.resources = new Map();
      state.allowReset = message.allowReset;
      byId("rule").textContent = message.rule;
      byId("mode").textContent = message.allowReset
        ? "reset enabled (asks first; does what turn reset does)" : "read-only";
      setConnection("live", "live");
      apply(message);
    });
    source.addEventListener("update", function (event) { apply(JSON.parse(event.data)); });
    source.addEventListener("error", function () {
      setConnection(source.readyState === EventSource.CLOSED ? "disconnected" : "reconnecting", "down");
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    });
  }

  byId("search").addEventListener("input", schedule);
  setInterval(schedule, 1000);
  connect();
})();
`;
