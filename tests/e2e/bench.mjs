// Browser benchmark: the generated set through 1 worker and N workers in headless Chromium.
// Reports MB/s and the page's peak JS heap (sampled every 50 ms over CDP; worker heaps are
// separate and not included). Usage: node tests/e2e/bench.mjs DIR
import fs from 'node:fs';
import path from 'node:path';
import { launch, serve } from './helpers.mjs';

const dir = process.argv[2];
const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
const mb = files.reduce((s, f) => s + fs.statSync(f).size, 0) / 1e6;
const server = await serve();
const browser = await launch();
const cores = Number(process.env.BENCH_WORKERS || 2);
try {
  for (const workers of [1, cores]) {
    const page = await browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(`${server.origin}/?direct=0&sw=0&workers=${workers}`);
    await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
    await page.setInputFiles('#pick-files', files);
    let peak = 0, sampling = true;
    const sample = (async () => {
      while (sampling) {
        const { metrics } = await cdp.send('Performance.getMetrics');
        peak = Math.max(peak, metrics.find((m) => m.name === 'JSHeapUsedSize').value);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const t0 = Date.now();
    await page.click('#start');
    await page.waitForSelector('body[data-state=done]', { timeout: 600_000 });
    const secs = (Date.now() - t0) / 1000;
    sampling = false;
    await sample;
    console.log(`browser workers=${workers}: ${files.length} files, ${mb.toFixed(1)} MB in ${secs.toFixed(2)} s = ` +
      `${(mb / secs).toFixed(1)} MB/s, ${(files.length / secs).toFixed(1)} files/s, peak page JS heap ${(peak / 1e6).toFixed(1)} MB`);
    await page.close();
  }
} finally {
  await browser.close();
  server.stop();
}
