// Wages's service worker: the installed app opens when the network is gone.
//
// - The app's code (`/pkg/`, every file named by its hash) comes from this worker's cache
//   once fetched; this release's first files are fetched when the worker installs, and a
//   new release's worker drops the old release's files.
// - Pages come from the network. The last MAX_PAGES pages the person viewed are kept, and
//   shown when the network is gone, marked as offline with the time they were fetched.
//   A page never viewed shows the list of kept ones instead of the browser's error page.
// - Nothing else is touched: the API, server functions and live streams go to the network.
// - The login page (where logging out lands) forgets the kept pages.
//
// The server fills in RELEASE, BASE and SHELL when it serves this file.

const RELEASE = __RELEASE__;
const BASE = __BASE__;
const SHELL = __SHELL__;

const CODE = `wages-code-${RELEASE}`;
const PAGES = 'wages-pages';
const MAX_PAGES = 30;
const KEPT_AT = 'x-wages-kept-at';

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CODE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('wages-code-') && key !== CODE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !(url.pathname === BASE || url.pathname.startsWith(`${BASE}/`))) return;
  if (url.pathname.startsWith(`${BASE}/pkg/`)) {
    event.respondWith(code(request));
  } else if (request.mode === 'navigate') {
    event.respondWith(page(request));
  }
});

async function code(request) {
  const cached = await caches.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await (await caches.open(CODE)).put(request, response.clone());
  return response;
}

async function page(request) {
  const pages = await caches.open(PAGES);
  const login = new URL(request.url).pathname === `${BASE}/login`;
  if (login) {
    // Logged out (or about to log in as someone else): nothing of the last person stays.
    for (const key of await pages.keys()) await pages.delete(key);
  }
  let response;
  try {
    response = await fetch(request);
  } catch (offline) {
    return keptPage(request);
  }
  if (!login && response.ok && (response.headers.get('content-type') || '').startsWith('text/html')) {
    const body = await response.clone().text();
    const headers = { 'content-type': 'text/html; charset=utf-8', [KEPT_AT]: new Date().toISOString() };
    await pages.put(request.url, new Response(body, { headers }));
    const keys = await pages.keys();
    for (const old of keys.slice(0, Math.max(0, keys.length - MAX_PAGES))) await pages.delete(old);
  }
  return response;
}

// The page as it was last fetched, marked as offline; or the list of kept pages.
async function keptPage(request) {
  const pages = await caches.open(PAGES);
  const kept = await pages.match(request.url);
  if (kept) {
    const when = new Date(kept.headers.get(KEPT_AT) || Date.now());
    const said = `Offline: this page as it was at ${when.toLocaleString()}`;
    const html = (await kept.text()).replace('<body>', `<body data-offline="${escape(said)}">`);
    return new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } });
  }
  const links = (await pages.keys())
    .map((key) => new URL(key.url))
    .map((url) => `<li><a href="${escape(url.pathname + url.search)}">${escape(decodeURIComponent(url.pathname.slice(BASE.length) || '/'))}</a></li>`)
    .join('');
  const html = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Offline · Wages</title>
<style>body{font-family:system-ui,sans-serif;margin:0;background:#f6f3ef;color:#2b2118}header{background:#2b2118;color:#f1e6da;padding:.75rem 1rem;font-weight:700}main{padding:1rem;max-width:40rem}a{color:#b5651d}li{margin:.5rem 0}</style>
</head><body><header>◉ Wages</header><main data-testid="offline-list"><h1>Offline</h1>
<p>The network is gone and this page was not kept on this device.</p>
${links ? `<p>Pages kept on this device:</p><ul>${links}</ul>` : '<p>No page is kept on this device yet.</p>'}
</main></body></html>`;
  return new Response(html, { status: 503, headers: { 'content-type': 'text/html; charset=utf-8' } });
}

function escape(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
