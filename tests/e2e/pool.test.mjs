// The worker pool in a real browser, with a stand-in worker: results come in input order, every
// file exactly once, and a worker whose engine traps fails that one file, is replaced, and the
// files it still had queued are done by its replacement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, root, serve } from './helpers.mjs';

test('a trapped worker fails its file, is replaced, and the batch goes on in order', { timeout: 60_000 }, async () => {
  const server = await serve(root);
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.origin}/tests/e2e/pool/index.html`);
    await page.waitForSelector('body[data-ready=yes]', { state: 'attached' });
    const traps = [5, 6, 23];
    const { seen, closed } = await page.evaluate((t) => window.runPool(t), traps);
    assert.deepEqual(seen.map((s) => s.index), [...Array(40).keys()], 'every file once, in order');
    for (const s of seen) {
      if (traps.includes(s.index)) assert.equal(s.status, 'failed', `file ${s.index}`);
      else assert.deepEqual([s.status, s.name], ['processed', `f${s.index}`], `file ${s.index}`);
    }
    const workers = new Set(seen.filter((s) => s.file).map((s) => s.file));
    assert.ok(workers.size >= 2 + traps.length, `trapped workers were replaced (${workers.size} workers)`);
    assert.equal(closed.length, 2, 'the live workers close their files at the end');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.stop();
  }
});
