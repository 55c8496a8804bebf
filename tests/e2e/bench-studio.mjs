// Browser benchmark of the review studio's grid: for a folder of N images, the time to the first
// thumbnail and to the last, the longest main-thread task while they come in (Long Tasks API,
// tasks over 50 ms), and the page's JS heap once every tile is in (thumbnails only; full images
// are rendered on demand in the viewer worker). Usage: node tests/e2e/bench-studio.mjs DIR
// (BENCH_WORKERS=N, default 2).
import { launch, serve, walkFiles } from './helpers.mjs';

const dir = process.argv[2];
const workers = Number(process.env.BENCH_WORKERS || 2);
const files = walkFiles(dir).length;
const server = await serve();
const browser = await launch();
try {
  const page = await (await browser.newContext({ viewport: { width: 1920, height: 1080 } })).newPage();
  await page.goto(`${server.origin}/?direct=0&sw=0&workers=${workers}`);
  await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
  await page.setInputFiles('#pick-folder', dir);
  await page.evaluate(() => {
    window.longest = 0;
    window.longTasks = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) { window.longTasks++; window.longest = Math.max(window.longest, e.duration); }
    }).observe({ type: 'longtask', buffered: false });
  });
  const heapBefore = await page.evaluate(() => performance.memory.usedJSHeapSize);
  const t0 = Date.now();
  await page.click('#studio-open');
  await page.waitForSelector('.tile', { timeout: 600_000 });
  const first = (Date.now() - t0) / 1000;
  await page.waitForSelector('body[data-studio=ready]', { timeout: 600_000 });
  const all = (Date.now() - t0) / 1000;
  const { longest, longTasks, heap } = await page.evaluate(() => ({
    longest: window.longest, longTasks: window.longTasks, heap: performance.memory.usedJSHeapSize,
  }));
  // The viewer's cost in wasm: opening the first image, its first render, and a re-render with
  // another window (what each step of a window drag costs), on the page's own instance.
  const viewer = await page.evaluate(async () => {
    const m = await import('./pkg/dicom_deid.js');
    const bytes = new Uint8Array(await document.getElementById('pick-folder').files[0].arrayBuffer());
    let t = performance.now();
    const v = new m.Viewer(bytes);
    const open = performance.now() - t;
    t = performance.now();
    v.render(0, NaN, NaN, false);
    const first = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < 20; i++) v.render(0, 40 + i * 10, 400 + i * 20, false);
    const again = (performance.now() - t) / 20;
    const info = v.info();
    v.free();
    return { open, first, again, size: `${info.width}×${info.height}` };
  });
  console.log(`viewer (wasm, main-thread instance), ${viewer.size}: open ${viewer.open.toFixed(1)} ms, ` +
    `first render ${viewer.first.toFixed(1)} ms, re-render with a new window ${viewer.again.toFixed(1)} ms`);
  console.log(`${files} images, ${workers} workers: first thumbnail ${first.toFixed(2)} s, all ${all.toFixed(2)} s ` +
    `(${(files / all).toFixed(0)} images/s); main-thread tasks over 50 ms: ${longTasks}, longest ${longest.toFixed(0)} ms; ` +
    `JS heap +${((heap - heapBefore) / 1e6).toFixed(1)} MB`);
} finally {
  await browser.close();
  server.stop();
}
