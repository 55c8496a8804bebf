// Offline support: the app's own files are cached on install and served from the cache.
// The service worker never touches anything but the app's own files.
// ASSETS lists every file of the app; an end-to-end test checks it against www/.
const CACHE = 'dcm-deid-v9';
const ASSETS = ['./', 'index.html', 'style.css', 'sw.js',
  'client/main.js', 'client/pool.js', 'client/run.js', 'client/files.js', 'client/sink.js',
  'client/views/options.js', 'client/views/key.js', 'client/views/results.js', 'client/views/download.js',
  'client/views/pixels.js', 'client/views/prereview.js',
  'client/studio/studio.js', 'client/studio/masks.js', 'client/studio/viewer.js', 'client/studio/tags.js',
  'shared/protocol.js', 'shared/scratch.js', 'shared/engine.js', 'shared/jpegls.js', 'shared/jpeg2000.js', 'worker/deid.js', 'worker/view.js',
  'pkg/dicom_deid.js', 'pkg/dicom_deid_bg.wasm', 'pkg/text-detection.onnx', 'pkg/text-reader.onnx',
  'pkg/charls.mjs', 'pkg/charls.wasm', 'pkg/openjpeg.mjs', 'pkg/openjpeg.wasm'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});
self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});
self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin) return;
  // Network first (so a rebuilt app is picked up), the cache when offline.
  e.respondWith(fetch(e.request).then((r) => {
    const copy = r.clone();
    if (r.ok) caches.open(CACHE).then((c) => c.put(e.request, copy));
    return r;
  }).catch(() => caches.match(e.request, { ignoreSearch: true })));
});
