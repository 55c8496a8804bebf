// JPEG 2000 decode time in Chromium (`node tests/e2e/bench-j2k.mjs FILE...`): the page's decoder
// (OpenJPEG from npm, www/shared/jpeg2000.js, as the workers install it) on the first frame of
// each single-frame file, in the page's main thread; median of 5 decodes after one warm-up.
import fs from 'node:fs';
import { launch, serve } from './helpers.mjs';

/** The frame of a single-frame encapsulated file: its fragments after the offset table, joined. */
function frame(file) {
  const b = fs.readFileSync(file);
  let q = b.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42])) + 12;
  const parts = [];
  for (let first = true; q < b.length; first = false) {
    const tag = b.readUInt32LE(q), len = b.readUInt32LE(q + 4);
    if (tag === 0xe0ddfffe) break;
    if (!first) parts.push(b.subarray(q + 8, q + 8 + len));
    q += 8 + len;
  }
  return Buffer.concat(parts);
}

const server = await serve();
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(`${server.origin}/?direct=0&sw=0`);
  const load = await page.evaluate(async () => {
    const t0 = performance.now();
    await (await import('/shared/jpeg2000.js')).installJpeg2000();
    return performance.now() - t0;
  });
  console.log(`codec load (fetch + compile): ${load.toFixed(0)} ms`);
  for (const file of process.argv.slice(2)) {
    const r = await page.evaluate(async (b64) => {
      const stream = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const times = [];
      let out;
      for (let i = 0; i < 6; i++) {
        const t0 = performance.now();
        out = globalThis.dcmDeidJpeg2000.decode(stream);
        times.push(performance.now() - t0);
      }
      const sorted = times.slice(1).sort((a, b) => a - b);
      const { pixels, ...info } = out;
      return { ms: sorted[2], bytes: pixels.length, info };
    }, frame(file).toString('base64'));
    console.log(`${file}: ${r.info.width}x${r.info.height}x${r.info.componentCount} ${r.info.bitsPerSample}-bit: ${r.ms.toFixed(1)} ms`);
  }
} finally {
  await browser.close();
  server.stop();
}
