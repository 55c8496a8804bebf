// Shared helpers for the browser tests: static server, Chromium launch, zip reading.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import url from 'node:url';

export const root = path.resolve(path.dirname(url.fileURLToPath(import.meta.url)), '..', '..');

/** Starts scripts/serve.mjs for `dir` (www/ by default) on a free port; resolves to {origin, stop}. */
export function serve(dir = path.join(root, 'www')) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(root, 'scripts', 'serve.mjs'), dir, '0']);
    p.stdout.on('data', (d) => {
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(String(d));
      if (m) resolve({ origin: `http://127.0.0.1:${m[1]}`, stop: () => p.kill() });
    });
    p.on('error', reject);
    p.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
}

/** Launches Debian's Chromium headless, with a fresh profile and no background networking. */
export async function launch() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--enable-precise-memory-info'],
  });
}

/** Reads a zip (stored or deflated entries) into a Map name → Buffer. */
export function readZip(buf) {
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('no end of central directory');
  let count = buf.readUInt16LE(eocd + 10);
  let cd = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cd === 0xffffffff) {
    const loc = eocd - 20;
    const z64 = Number(buf.readBigUInt64LE(loc + 8));
    count = Number(buf.readBigUInt64LE(z64 + 32));
    cd = Number(buf.readBigUInt64LE(z64 + 48));
  }
  const out = new Map();
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(cd) !== 0x02014b50) throw new Error('bad central directory');
    const method = buf.readUInt16LE(cd + 10);
    let csize = buf.readUInt32LE(cd + 20);
    const nlen = buf.readUInt16LE(cd + 28), xlen = buf.readUInt16LE(cd + 30), clen = buf.readUInt16LE(cd + 32);
    let off = buf.readUInt32LE(cd + 42);
    const name = buf.subarray(cd + 46, cd + 46 + nlen).toString('utf8');
    const extra = buf.subarray(cd + 46 + nlen, cd + 46 + nlen + xlen);
    if (extra.length >= 4 && extra.readUInt16LE(0) === 1) {
      let p = 4;
      if (buf.readUInt32LE(cd + 24) === 0xffffffff) p += 8;
      if (csize === 0xffffffff) { csize = Number(extra.readBigUInt64LE(p)); p += 8; }
      if (off === 0xffffffff) off = Number(extra.readBigUInt64LE(p));
    }
    const lnlen = buf.readUInt16LE(off + 26), lxlen = buf.readUInt16LE(off + 28);
    const data = buf.subarray(off + 30 + lnlen + lxlen, off + 30 + lnlen + lxlen + csize);
    out.set(name, method === 8 ? zlib.inflateRawSync(data) : Buffer.from(data));
    cd += 46 + nlen + xlen + clen;
  }
  return out;
}

export function walkFiles(dir, base = dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walkFiles(p, base));
    else out.push(path.relative(base, p));
  }
  return out.sort();
}

/** Chromium with a persistent profile in a temporary folder (OPFS on disk, as for a real user);
 * resolves to {context, close}. */
export async function launchPersistent() {
  const { chromium } = await import('playwright-core');
  const os = await import('node:os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-profile-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--enable-precise-memory-info'],
  });
  return { context, close: async () => { await context.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}
