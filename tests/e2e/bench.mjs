// Browser benchmark: in one headless Chromium session (persistent profile, so OPFS is on disk as
// for a real user), the time the page takes to de-identify a folder against the time a page
// needs merely to read every byte of the same folder (4 Files at a time, the faster of the two
// plain ways measured; taken before and after the runs, the mean is the baseline). Runs with 1
// worker and with N; reports the ratio, the gain of N workers, the page's peak JS heap (CDP,
// sampled every 50 ms) and the longest main-thread task during the run (Long Tasks API).
// Usage: node tests/e2e/bench.mjs DIR [DIR...]   (BENCH_WORKERS=N, default 2)
import fs from 'node:fs';
import path from 'node:path';
import { launchPersistent, serve, walkFiles } from './helpers.mjs';

const workers = Number(process.env.BENCH_WORKERS || 2);
const server = await serve();
const { context, close } = await launchPersistent();

async function readAll(page) {
  return page.evaluate(async () => {
    const files = [...document.getElementById('pick-folder').files];
    const t0 = performance.now();
    let next = 0, bytes = 0;
    const lane = async () => {
      while (next < files.length) bytes += (await files[next++].arrayBuffer()).byteLength;
    };
    await Promise.all([lane(), lane(), lane(), lane()]);
    return { secs: (performance.now() - t0) / 1000, bytes };
  });
}

async function deidentify(page, n) {
  await page.goto(`${server.origin}/?direct=0&sw=0&workers=${n}`);
  await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
  return page;
}

async function run(page, cdp) {
  let peak = 0, sampling = true;
  const sample = (async () => {
    while (sampling) {
      const { metrics } = await cdp.send('Performance.getMetrics');
      peak = Math.max(peak, metrics.find((m) => m.name === 'JSHeapUsedSize').value);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const secs = await page.evaluate(async () => {
    window.longest = 0;
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.longest = Math.max(window.longest, e.duration);
    }).observe({ type: 'longtask' });
    const t0 = performance.now();
    document.getElementById('start').click();
    await new Promise((resolve) => {
      const check = () => (document.body.dataset.state === 'done' ? resolve() : setTimeout(check, 10));
      check();
    });
    return (performance.now() - t0) / 1000;
  });
  sampling = false;
  await sample;
  const longest = await page.evaluate(() => window.longest);
  const summary = await page.textContent('#summary');
  return { secs, peak, longest, summary };
}

try {
  for (const dir of process.argv.slice(2)) {
    const files = walkFiles(dir);
    const mb = files.reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0) / 1e6;
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await deidentify(page, 1);
    await page.setInputFiles('#pick-folder', dir);
    await readAll(page); // warm the page cache
    const before = await readAll(page);
    const results = {};
    for (const n of [1, workers]) {
      await deidentify(page, n);
      await page.setInputFiles('#pick-folder', dir);
      results[n] = await run(page, cdp);
    }
    const after = await readAll(page);
    const read = (before.secs + after.secs) / 2;
    console.log(`${path.basename(dir)}: ${files.length} files, ${mb.toFixed(1)} MB; read only ${read.toFixed(2)} s ` +
      `(${before.secs.toFixed(2)} / ${after.secs.toFixed(2)})`);
    for (const n of [1, workers]) {
      const r = results[n];
      console.log(`  workers=${n}: ${r.secs.toFixed(2)} s = ${(mb / r.secs).toFixed(1)} MB/s, ${(r.secs / read).toFixed(2)}× read, ` +
        `peak page heap ${(r.peak / 1e6).toFixed(1)} MB, longest main-thread task ${r.longest.toFixed(0)} ms`);
    }
    console.log(`  ${workers} workers vs 1: ${(results[1].secs / results[workers].secs).toFixed(2)}×; ${results[workers].summary}`);
    await page.close();
  }
} finally {
  await close();
  server.stop();
}
