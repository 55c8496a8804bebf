// Browser benchmark of the burned-in text detector (issue 12) in headless Chromium: each module
// Worker instantiates the wasm module, installs the model and runs `detectText` (every frame of a
// file, boxes merged) on the files; the time per frame with one worker (files in turn) and with N
// workers (a shared queue, wall time over frames). With --native FILE (the lines of
// `cargo run --release --example detect_text -- --json FILES...`) it checks that the page's boxes
// equal the CLI's, rectangle for rectangle and score for score: masks are made of them, and the
// page's output must equal the CLI's byte for byte.
//
// Usage: node tests/e2e/bench-detect.mjs [--pkg DIR] [--workers N] [--native FILE] FILE... | @LIST
// (--pkg: a wasm-bindgen output with text-detection.onnx and text-reader.onnx beside it, www/pkg by default).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, root, serve } from './helpers.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const [v] = args.splice(i, 2).slice(1);
  return v;
};
const pkg = path.resolve(opt('--pkg', path.join(root, 'www', 'pkg')));
const workers = Number(opt('--workers', 2));
const nativeFile = opt('--native', undefined);
// @LIST names a file of paths, one a line (paths with spaces).
const files = args.flatMap((a) => (a.startsWith('@')
  ? fs.readFileSync(a.slice(1), 'utf8').split('\n').filter(Boolean) : [a]));
if (files.length === 0) {
  console.error('usage: node tests/e2e/bench-detect.mjs [--pkg DIR] [--workers N] [--native FILE] FILE...');
  process.exit(2);
}

// A throwaway site: the module, the model, the files, a worker and an empty page (the server
// sends the page's Content-Security-Policy with every response).
const site = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-detect-'));
fs.mkdirSync(path.join(site, 'pkg'));
for (const f of ['dicom_deid.js', 'dicom_deid_bg.wasm', 'text-detection.onnx', 'text-reader.onnx']) {
  fs.copyFileSync(path.join(pkg, f), path.join(site, 'pkg', f));
}
fs.mkdirSync(path.join(site, 'files'));
files.forEach((f, i) => fs.copyFileSync(f, path.join(site, 'files', `${i}.dcm`)));
fs.writeFileSync(path.join(site, 'index.html'), '<!doctype html><title>bench</title>');
fs.writeFileSync(path.join(site, 'worker.js'), `
import init, { installTextModels, detectText } from './pkg/dicom_deid.js';
const ready = (async () => {
  await init();
  const t = performance.now();
  const model = async (name) => new Uint8Array(await (await fetch('pkg/' + name)).arrayBuffer());
  installTextModels(await model('text-detection.onnx'), await model('text-reader.onnx'));
  return performance.now() - t;
})();
onmessage = async (e) => {
  const load = await ready;
  if (e.data.url === undefined) { postMessage({ load }); return; }
  const bytes = new Uint8Array(await (await fetch(e.data.url)).arrayBuffer());
  const t = performance.now();
  try {
    const r = detectText(bytes);
    postMessage({ ms: performance.now() - t, ...r });
  } catch (err) {
    postMessage({ ms: performance.now() - t, error: String(err) });
  }
};
`);

const server = await serve(site);
const browser = await launch();
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${server.origin}/index.html`);
  const result = await page.evaluate(async ({ n, count }) => {
    const start = (k) => Array.from({ length: k }, () => new Worker('worker.js', { type: 'module' }));
    const ask = (w, msg) => new Promise((resolve) => { w.onmessage = (e) => resolve(e.data); w.postMessage(msg); });
    const url = (i) => `files/${i}.dcm`;
    // One worker, files in turn (after one warm-up file).
    const [one] = start(1);
    const load = (await ask(one, {})).load;
    await ask(one, { url: url(0) });
    const single = [];
    for (let i = 0; i < count; i++) single.push(await ask(one, { url: url(i) }));
    one.terminate();
    // n workers on a shared queue, wall time.
    const pool = start(n);
    await Promise.all(pool.map((w) => ask(w, {})));
    await Promise.all(pool.map((w) => ask(w, { url: url(0) })));
    let next = 0;
    const t = performance.now();
    await Promise.all(pool.map(async (w) => {
      while (next < count) await ask(w, { url: url(next++) });
    }));
    const wall = performance.now() - t;
    pool.forEach((w) => w.terminate());
    return { load, single, wall };
  }, { n: workers, count: files.length });

  const frames = result.single.reduce((s, r) => s + (r.frames || 0), 0);
  const ms = result.single.reduce((s, r) => s + r.ms, 0);
  console.log(`pkg ${pkg}`);
  console.log(`model load in a worker: ${result.load.toFixed(0)} ms`);
  console.log(`${files.length} files, ${frames} frames: one worker ${(ms / frames).toFixed(1)} ms/frame; ` +
    `${workers} workers ${(result.wall / frames).toFixed(1)} ms/frame (wall ${(result.wall / 1000).toFixed(2)} s)`);
  for (const [i, r] of result.single.entries()) {
    if (r.error) console.log(`  ${files[i]}: ${r.error}`);
  }
  if (nativeFile) compare(result.single, nativeFile);
} finally {
  await browser.close();
  server.stop();
  fs.rmSync(site, { recursive: true, force: true });
}

/** Compares the page's boxes with the CLI's, file by file; exits 1 on any difference. */
function compare(page, nativeFile) {
  const native = new Map(fs.readFileSync(nativeFile, 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l)).map((r) => [path.resolve(r.file), r]));
  let same = 0, boxes = 0;
  const differ = [];
  for (const [i, p] of page.entries()) {
    const n = native.get(path.resolve(files[i]));
    if (!n) { differ.push(`${files[i]}: not in ${nativeFile}`); continue; }
    const key = (b) => `${b.rect.x0},${b.rect.y0},${b.rect.x1},${b.rect.y1}@${Math.fround(b.score)}`;
    const a = (p.boxes || []).map(key).join(' ');
    const b = (n.boxes || []).map(key).join(' ');
    boxes += (n.boxes || []).length;
    if (a === b && !p.error === !n.error) same++;
    else differ.push(`${files[i]}:\n    page   ${a || p.error}\n    native ${b || n.error}`);
  }
  console.log(`boxes equal to the CLI's on ${same} of ${page.length} files (${boxes} boxes natively)`);
  for (const d of differ) console.log(`  differs: ${d}`);
  if (differ.length) process.exitCode = 1;
}
