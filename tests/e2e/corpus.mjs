// Extended browser run (optional, `node tests/e2e/corpus.mjs DIR KEYFILE NATIVE_OUT [SCRIPT]`): the
// page de-identifies a whole folder of real files with the TCIA preset and Clean Pixel Data (images
// at risk that no mask covers released; with SCRIPT, that pixel script too, so that its masks are
// decoded and painted); every file in the zip must equal the native CLI's output for the same key
// and script (NATIVE_OUT), and the counts must match.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, readZip, serve, walkFiles } from './helpers.mjs';

const [dir, keyFile, nativeOut, script] = process.argv.slice(2);
const server = await serve();
const browser = await launch();
let failures = 0;
try {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (e) => { failures++; console.log('page error:', e.message); });
  // Worker errors and a worker that goes away are what a stalled run would otherwise hide.
  page.on('console', (m) => { if (m.type() === 'error') console.log('console error:', m.text()); });
  page.on('worker', (w) => w.on('close', () => console.log(`a worker closed (${w.url().split('/').pop()})`)));
  await page.goto(`${server.origin}/?direct=0&sw=0`);
  await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
  await page.setInputFiles('#pick-folder', dir);
  await page.check('input[name=preset][value=tcia]');
  await page.check('#opt-clean_pixel_data');
  await page.check('input[name=at-risk][value=release]');
  if (script) await page.setInputFiles('#pixel-scripts', script);
  await page.setInputFiles('#key-import', keyFile);
  await page.waitForFunction(() => /fingerprint/.test(document.getElementById('key-status').textContent));
  const t0 = Date.now();
  await page.click('#start');
  await waitForEnd(page);
  console.log(`browser: ${await page.textContent('#summary')} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  const zipPath = path.join(os.tmpdir(), `corpus-${process.pid}.zip`);
  await download.saveAs(zipPath);
  const entries = readZip(fs.readFileSync(zipPath));
  fs.rmSync(zipPath);
  const native = walkFiles(nativeOut).filter((f) => f.endsWith('.dcm'));
  const inZip = [...entries.keys()].filter((n) => n.endsWith('.dcm'));
  // The one known difference: a JPEG 2000 codestream that the page's decoder (OpenJPEG from npm)
  // would not give as the CLI's does, or any when that codec is not loaded, is held back there
  // (the summary says how many, with the reason).
  const summary = await page.textContent('#summary');
  const noJ2k = [...summary.matchAll(/(\d+) × [^;]*?JPEG 2000[^;]*?; use the command-line tool/g)].reduce((n, m) => n + Number(m[1]), 0);
  if (inZip.length + noJ2k !== native.length) { failures++; console.log(`zip has ${inZip.length} files (+${noJ2k} held back for JPEG 2000), CLI wrote ${native.length}`); }
  let missing = 0;
  for (const n of native) {
    const b = entries.get(n);
    if (!b) { missing++; continue; }
    if (!b.equals(fs.readFileSync(path.join(nativeOut, n)))) { failures++; console.log(`differs: ${n}`); }
  }
  if (missing !== noJ2k) { failures++; console.log(`${missing} CLI outputs missing from the zip, ${noJ2k} explained`); }
  console.log(`${native.length} files compared with the CLI, ${failures} failures`);
} catch (err) {
  failures++;
  console.log(err.message);
} finally {
  await browser.close();
  server.stop();
}
process.exit(failures ? 1 : 0);

/**
 * Waits until the run ends. A critical residual-PHI finding opens a dialog that waits for the
 * user, a failed run says why in the progress line, and a run whose progress stops moving for
 * STALL_MS is stalled: each fails at once with what the page shows (counts and the kinds of
 * findings, never a value) instead of waiting out a timeout.
 */
async function waitForEnd(page) {
  const STALL_MS = 300_000;
  let last = '', since = Date.now();
  for (;;) {
    const ended = await page.waitForSelector('body[data-state]:not([data-state=running]), #residual-dialog[open]', { timeout: 15_000 })
      .then(() => true, () => false);
    const progress = await page.textContent('#progress-text');
    if (ended) {
      if (await page.isVisible('#residual-dialog[open]')) {
        console.log(`residual-PHI check, critical findings:\n${await page.textContent('#residual-lines')}`);
        await page.click('#residual-discard');
        throw new Error('the page held the output back (critical residual-PHI findings, above)');
      }
      const state = await page.getAttribute('body', 'data-state');
      if (state !== 'done') throw new Error(`the run ended ${state}: ${progress}`);
      return;
    }
    if (progress !== last) [last, since] = [progress, Date.now()];
    else if (Date.now() - since > STALL_MS) throw new Error(`the run stalled for ${STALL_MS / 1000} s at: ${progress}`);
  }
}
