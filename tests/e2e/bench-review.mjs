// Browser benchmark of the review reports: the time the page takes to make the element inventory
// and the values to review of a folder, against the time it takes to de-identify the same folder
// (both with the TCIA preset, N workers). Usage: node tests/e2e/bench-review.mjs DIR
// (BENCH_WORKERS=N, default 2). Prints files/s and the ratio.
import { launch, serve, walkFiles } from './helpers.mjs';

const dir = process.argv[2];
const workers = Number(process.env.BENCH_WORKERS || 2);
const files = walkFiles(dir).length;
const server = await serve();
const browser = await launch();
try {
  const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
  await page.goto(`${server.origin}/?direct=0&sw=0&workers=${workers}`);
  await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
  await page.setInputFiles('#pick-folder', dir);
  await page.check('input[name=preset][value=tcia]');
  const timed = async (button, state) => {
    const t0 = Date.now();
    await page.click(button);
    await page.waitForSelector(`body[data-state=${state}]`, { timeout: 600_000 });
    return (Date.now() - t0) / 1000;
  };
  const inventory = await timed('#inventory', 'inventoried');
  const run = await timed('#start', 'done');
  const rate = (s) => (files / s).toFixed(0);
  console.log(`${files} files, ${workers} workers: inventory ${inventory.toFixed(2)} s (${rate(inventory)} files/s), ` +
    `de-identification ${run.toFixed(2)} s (${rate(run)} files/s); inventory / run = ${(inventory / run).toFixed(2)}`);
} finally {
  await browser.close();
  server.stop();
}
