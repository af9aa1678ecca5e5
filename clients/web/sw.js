// The app's service worker: the app shell is cached under a versioned name, so the app starts offline.
// The build replaces @AKT_APP_BUILD@ with a hash of every other file (server/embed_web.cmake): any change
// to the app makes a new worker, which caches the new shell and then drops older app caches. IndexedDB
// (drafts, edits, records) is never touched here: an update cannot lose work.
'use strict';
const BUILD = '@AKT_APP_BUILD@';
const CACHE = 'akt-app-' + BUILD;
const SHELL = ['./', 'index.html', 'app.css', 'i18n.js', 'store.js', 'photos.js', 'engine.js', 'sync.js', 'app.js',
               'manifest.webmanifest', 'icon.svg'];
const OPTIONAL = ['forms.js', 'forms.wasm'];  // the rule engine, when the server was built with it

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL.map((p) => new Request(p, { cache: 'reload' })));
    for (const p of OPTIONAL) {
      try {
        const r = await fetch(new Request(p, { cache: 'reload' }));
        if (r.ok) await cache.put(p, r);
      } catch (e) { /* not built with the engine */ }
    }
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith('akt-app-') && name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

// App files: from the cache (the network only when missing). The API (/v1/...) is never cached.
self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith('/app/')) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(req, { ignoreSearch: true }) || (req.mode === 'navigate' ? await cache.match('./') : undefined);
    if (hit) return hit;
    return fetch(req);
  })());
});
