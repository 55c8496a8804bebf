// Clean Pixel Data cost by transfer syntax in the browser (`node tests/e2e/bench-pixels.mjs [WORD]`):
// the wasm library in Chromium's main thread, with the JPEG-LS and JPEG 2000 codecs from npm as the
// workers install them, on the corpus files of each syntax that `scripts/pixel_bench.py` measures
// natively (WORD keeps the syntaxes whose name holds it). Each file is de-identified under Basic
// alone and under Basic + Clean Pixel Data with a script that masks a 100×30 band of every frame
// (images at risk released), best of 3; "masking per frame" is the difference over the frames.
import fs from 'node:fs';
import path from 'node:path';
import { launch, root, serve } from './helpers.mjs';

const corpus = path.join(root, '..', 'shared', 'corpus');
const SYNTAXES = [
  'Explicit VR Little Endian', 'Explicit VR Big Endian', 'JPEG Baseline (Process 1)',
  'JPEG Extended (Process 2 and 4)', 'RLE Lossless',
  'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])',
  'JPEG 2000 Image Compression', 'JPEG-LS Lossless Image Compression',
  'JPEG-LS Lossy (Near-Lossless) Image Compression', '1.2.840.10008.1.2.4.111',
];
const SKIP = new Set(['SR', '(DICOMDIR)', 'SEG', 'PR', 'KO', 'RTSTRUCT']);

/** MANIFEST.csv rows (quoted fields with commas allowed) as objects. */
function manifest() {
  const split = (line) => line.match(/("([^"]|"")*"|[^,]*)(,|$)/g).map((f) => f.replace(/,$/, '').replace(/^"|"$/g, ''));
  const [head, ...lines] = fs.readFileSync(path.join(corpus, 'MANIFEST.csv'), 'utf8').trim().split('\n');
  const names = split(head);
  return lines.map((l) => Object.fromEntries(split(l).map((v, i) => [names[i], v])));
}

const groups = new Map();
for (const r of manifest()) {
  if (SKIP.has(r.modality) || !SYNTAXES.includes(r.transfer_syntax)) continue;
  if (process.argv[2] && !r.transfer_syntax.includes(process.argv[2])) continue;
  if (!groups.has(r.transfer_syntax)) groups.set(r.transfer_syntax, []);
  groups.get(r.transfer_syntax).push({ path: r.path, frames: Number(r.frames || 1) });
}

const server = await serve();
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.route('**/corpus/**', (route) => {
    const rel = decodeURIComponent(new URL(route.request().url()).pathname.slice('/corpus/'.length));
    route.fulfill({ body: fs.readFileSync(path.join(corpus, rel)) });
  });
  await page.goto(`${server.origin}/?direct=0&sw=0`);
  await page.evaluate(async () => {
    const lib = await import('/pkg/dicom_deid.js');
    await lib.default();
    await Promise.all([(await import('/shared/jpegls.js')).installJpegLs(),
      (await import('/shared/jpeg2000.js')).installJpeg2000()]);
    const key = new Uint8Array(32).fill(7);
    const script = { name: 'band', text: '{ true } (0,0,99,29)\n' };
    globalThis.bench = {
      plain: new lib.Deidentifier({}, key, undefined, undefined, undefined),
      masking: new lib.Deidentifier({ clean_pixel_data: true }, key, undefined,
        { scripts: [script], release_unmasked: true }, undefined),
    };
  });
  console.log('| input syntax | files | frames | Basic | + masking | masking per frame | ratio | masked |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [ts, files] of groups) {
    const r = await page.evaluate(async (paths) => {
      const best = (d, bytes) => {
        let ms = Infinity, masked = false;
        for (let i = 0; i < 3; i++) {
          const t0 = performance.now();
          const out = d.deidentify(bytes);
          ms = Math.min(ms, performance.now() - t0);
          masked = Boolean(out.result?.record?.pixels?.masked);
        }
        return { ms, masked };
      };
      let plain = 0, masking = 0, masked = 0;
      for (const p of paths) {
        const bytes = new Uint8Array(await (await fetch(`/corpus/${encodeURIComponent(p)}`)).arrayBuffer());
        plain += best(globalThis.bench.plain, bytes).ms;
        const m = best(globalThis.bench.masking, bytes);
        masking += m.ms;
        masked += m.masked ? 1 : 0;
      }
      return { plain, masking, masked };
    }, files.map((f) => f.path));
    const frames = files.reduce((n, f) => n + f.frames, 0);
    const perFrame = (r.masking - r.plain) / frames;
    console.log(`| ${ts} | ${files.length} | ${frames} | ${r.plain.toFixed(0)} ms | ${r.masking.toFixed(0)} ms | ${perFrame.toFixed(2)} ms | ${(r.masking / r.plain).toFixed(1)}× | ${r.masked} |`);
  }
} finally {
  await browser.close();
  server.stop();
}
