/**
 * The dashboard's page and style sheet, shipped inside the module as text so
 * the page works with no build step, no CDN and no internet. Everything that
 * varies (names, labels, numbers) is filled in by the script with
 * `textContent`, never as markup.
 *
 * @module
 */

/** The page. It loads `dashboard.css` and `dashboard.js` from beside itself. */
export const PAGE_HTML: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>turn dashboard</title>
<link rel="icon" href="favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="dashboard.css">
<script src="dashboard.js" defer></script>
</head>
<body>
<header class="top">
  <h1><span class="logo" aria-hidden="true"></span>turn</h1>
  <span id="conn" class="conn" role="status">connecting</span>
  <input id="search" type="search" placeholder="Search resources and labels" aria-label="Search resources and labels" autocomplete="off" spellcheck="false">
</header>
<main>
<p id="error" class="error" role="alert" hidden></p>
<p id="notice" class="notice" role="status" hidden></p>
<section id="summary" class="summary" aria-label="Summary"></section>
<section aria-labelledby="queues-title">
  <h2 id="queues-title">Queues <small id="shown"></small></h2>
  <div id="resources" class="resources"></div>
</section>
<section class="history" aria-labelledby="history-title">
  <h2 id="history-title">History <small id="history-span"></small></h2>
  <div id="charts" class="charts"></div>
  <div id="times" class="times"></div>
</section>
</main>
<footer>
  <p><b>Health.</b> <span id="rule"></span></p>
  <p><b>History.</b> <span id="source"></span></p>
  <p><a href="metrics">Prometheus metrics</a> · <span id="mode"></span></p>
</footer>
</body>
</html>
`;

/** A small icon: two squares taking turns. */
export const FAVICON_SVG: string =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect x="1" y="5" width="6" height="6" rx="1.5" fill="#2f8f5b"/><rect x="9" y="5" width="6" height="6" rx="1.5" fill="#c98a14"/></svg>`;

/** The style sheet: light and dark by the system's setting, phone-sized first. */
export const PAGE_CSS: string = `:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --panel: #ffffff; --text: #1b1f24; --muted: #5b6573; --line: #dde1e6;
  --ok: #2f8f5b; --ok-bg: #e5f4ec; --slow: #9a6700; --slow-bg: #fff3d6;
  --stuck: #c62828; --stuck-bg: #fde8e8; --accent: #2563eb; --bar: #6b8fd6; --bar2: #c98a14;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1216; --panel: #171b21; --text: #e6e9ee; --muted: #97a1ae; --line: #2a3039;
    --ok: #5cc98c; --ok-bg: #15301f; --slow: #f0b429; --slow-bg: #33280d;
    --stuck: #ff6b6b; --stuck-bg: #3a1717; --accent: #7aa2ff; --bar: #6f8fd0; --bar2: #e0a53a;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
main, footer { max-width: 1200px; margin: 0 auto; padding: 0 12px; }
.top { position: sticky; top: 0; z-index: 1; display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: center;
  padding: 10px 12px; background: var(--panel); border-bottom: 1px solid var(--line); }
.top h1 { margin: 0; font-size: 20px; display: flex; align-items: center; gap: 8px; }
.logo { width: 18px; height: 18px; border-radius: 4px; background: linear-gradient(90deg, var(--ok) 0 45%, transparent 45% 55%, var(--bar2) 55%); }
.conn { font-size: 13px; color: var(--muted); }
.conn::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; background: var(--slow); }
.conn.live::before { background: var(--ok); }
.conn.down::before { background: var(--stuck); }
#search { flex: 1 1 220px; min-width: 0; font: inherit; padding: 7px 10px; border-radius: 8px;
  border: 1px solid var(--line); background: var(--bg); color: var(--text); }
h2 { font-size: 16px; margin: 18px 0 8px; }
h2 small { font-weight: normal; color: var(--muted); font-size: 13px; }
.error, .notice { margin: 12px 0 0; padding: 8px 12px; border-radius: 8px; }
.error { background: var(--stuck-bg); color: var(--stuck); }
.notice { background: var(--panel); border: 1px solid var(--line); }
.summary { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 12px; }
.stat { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 6px 12px; min-width: 92px; }
.stat b { display: block; font-size: 20px; font-variant-numeric: tabular-nums; }
.stat span { color: var(--muted); font-size: 12px; }
.stat.stuck b { color: var(--stuck); } .stat.slow b { color: var(--slow); }
.resources { display: grid; gap: 10px; grid-template-columns: repeat(auto-fill, minmax(min(100%, 340px), 1fr)); }
.res { background: var(--panel); border: 1px solid var(--line); border-left: 4px solid var(--ok); border-radius: 10px; padding: 10px 12px; min-width: 0; }
.res.slow { border-left-color: var(--slow); } .res.stuck { border-left-color: var(--stuck); }
.res-head { display: flex; align-items: baseline; gap: 8px; flex-wrap: wrap; }
.res-name { margin: 0; font-size: 15px; overflow-wrap: anywhere; flex: 1 1 auto; min-width: 0; }
.badge { font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 999px; background: var(--ok-bg); color: var(--ok); }
.badge.slow { background: var(--slow-bg); color: var(--slow); } .badge.stuck { background: var(--stuck-bg); color: var(--stuck); }
.counters, .reason, .muted { color: var(--muted); font-size: 13px; }
.reason { margin: 2px 0 6px; }
.user { display: grid; grid-template-columns: auto 1fr auto; gap: 2px 8px; align-items: baseline; padding: 3px 0; }
.num { font-variant-numeric: tabular-nums; color: var(--muted); font-size: 13px; }
.label { overflow-wrap: anywhere; min-width: 0; }
.time { font-variant-numeric: tabular-nums; font-size: 13px; color: var(--muted); white-space: nowrap; }
.holder { border-bottom: 1px dashed var(--line); margin-bottom: 2px; }
.holder:last-child { border-bottom: 0; }
.holder .label { font-weight: 600; }
.role { grid-column: 1 / -1; font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.waiters { list-style: none; margin: 0; padding: 0; }
.dead { margin: 6px 0 0; padding: 4px 8px; border-radius: 6px; background: var(--stuck-bg); color: var(--stuck); font-size: 13px; }
.more { font-size: 13px; color: var(--muted); padding-top: 4px; }
.actions { display: flex; justify-content: flex-end; margin-top: 6px; }
button { font: inherit; font-size: 13px; padding: 3px 10px; border-radius: 6px; border: 1px solid var(--line);
  background: var(--bg); color: var(--text); cursor: pointer; }
button:hover { border-color: var(--stuck); color: var(--stuck); }
.charts { display: grid; gap: 10px; grid-template-columns: repeat(auto-fill, minmax(min(100%, 260px), 1fr)); }
.chart { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 8px 10px; }
.chart h3 { margin: 0 0 4px; font-size: 13px; font-weight: 600; display: flex; flex-wrap: wrap; justify-content: space-between; gap: 0 8px; }
.chart h3 span { color: var(--muted); font-weight: normal; }
.chart svg { display: block; width: 100%; height: 56px; }
.chart rect { fill: var(--bar); } .chart rect.alt { fill: var(--bar2); } .chart rect.bad { fill: var(--stuck); }
.times { display: grid; gap: 10px; margin-top: 10px; grid-template-columns: repeat(auto-fill, minmax(min(100%, 380px), 1fr)); }
.times table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 13px; }
.times th, .times td { text-align: right; padding: 2px 4px; white-space: nowrap; }
.times th:first-child, .times td:first-child { text-align: left; }
.times th { color: var(--muted); font-weight: normal; }
.empty { color: var(--muted); padding: 16px 0; }
footer { color: var(--muted); font-size: 13px; padding-bottom: 24px; margin-top: 18px; border-top: 1px solid var(--line); }
footer a { color: var(--accent); }
`;
