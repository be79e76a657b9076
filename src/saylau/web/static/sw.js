// The field app's service worker (served as /app/sw.js; the server puts VERSION and SHELL
// above this line). It keeps the app's page and files on the phone so that the app opens with
// no connection. It never touches /api/: the outbox (outbox.js) sends reports itself and keeps
// them until the server confirms them, so that nothing depends on a worker being alive.
const CACHE = `saylau-shell-${VERSION}`;
const PAGE = SHELL[0];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys
            .filter((k) => k.startsWith("saylau-shell-") && k !== CACHE)
            .map((k) => caches.delete(k)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms));
}

// the page: the network when it answers within a few seconds (a new language, a new version),
// else the copy kept on the phone
async function page(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await Promise.race([fetch(request), timeout(4000)]);
    if (response.ok && response.type === "basic") {
      await cache.put(PAGE, response.clone());
      return response;
    }
    return (await cache.match(PAGE)) || response;
  } catch (error) {
    const kept = await cache.match(PAGE);
    if (kept) return kept;
    throw error;
  }
}

// the files: the copy of this version, kept at install
async function file(request, path) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(path);
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await cache.put(path, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return;
  if (event.request.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith(page(event.request));
  } else if (SHELL.includes(url.pathname) && url.pathname !== PAGE) {
    event.respondWith(file(event.request, url.pathname));
  }
});
