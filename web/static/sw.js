/* Keeps the shell and its scripts available offline; API calls always go to the network.
   The shell names its files with their content hash (?v=), so a cached copy
   of one URL never goes stale: network first for the shell, cache first for
   versioned files. */
var CACHE = 'nx-shell-v2';
self.addEventListener('install', function (e) {
  e.waitUntil(caches.open(CACHE).then(function (c) { return c.add('/'); }).then(function () { return self.skipWaiting(); }));
});
self.addEventListener('activate', function (e) {
  e.waitUntil(caches.keys().then(function (ks) { return Promise.all(ks.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); })); }).then(function () { return self.clients.claim(); }));
});
function keep(req, r) {
  if (r.ok) { var copy = r.clone(); caches.open(CACHE).then(function (c) { c.put(req, copy); }); }
  return r;
}
self.addEventListener('fetch', function (e) {
  var u = new URL(e.request.url);
  if (e.request.method !== 'GET' || u.origin !== location.origin || u.pathname.indexOf('/api/') === 0) return;
  if (u.pathname.indexOf('/static/') === 0 && u.searchParams.get('v')) {
    e.respondWith(caches.match(e.request).then(function (hit) {
      return hit || fetch(e.request).then(function (r) { return keep(e.request, r); });
    }));
  } else if (u.pathname === '/' || u.pathname.indexOf('/static/') === 0) {
    e.respondWith(fetch(e.request).then(function (r) { return keep(e.request, r); }).catch(function () {
      return caches.match(e.request).then(function (r) { return r || caches.match('/'); });
    }));
  }
});
