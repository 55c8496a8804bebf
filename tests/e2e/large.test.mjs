// Files of any size: generated multi-frame CTs of 3 GB (native: a native value cannot pass 4 GB),
// 5 GB (encapsulated, with an Extended Offset Table), 1 GB (encapsulated, with a basic offset
// table) and 1.2 GB (Deflated Explicit VR Little Endian: inflated and deflated as it streams, past
// the 1 GB the page can read whole) de-identified by the CLI and by the page in headless Chromium
// (persistent profile: OPFS on disk). Each output is read by pydicom (header) and its Pixel Data
// compared with the input's, chunk by chunk (scripts/check_big.py); the page's output must be the
// CLI's, byte for byte. Times and the memory figures go to BENCHMARKS.md (tests/e2e/bench-large.mjs).
// With Clean Pixel Data (sizes ending in m) a rectangle is painted on every frame as the frames
// are copied: check_big.py checks each frame (0 inside, the input outside), and again the page's
// output must be the CLI's. LARGE_SIZES=1000,... narrows the sizes (MB) for a quick run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { launchPersistent, root, serve, walkFiles } from './helpers.mjs';

const SETS = (process.env.LARGE_SIZES ?? '3000,5000e,1000e,1000m,1000em,1200d').split(',').map((s) => ({
  mb: parseInt(s, 10), encapsulated: s.includes('e'), masked: s.endsWith('m'), deflated: s.includes('d'),
}));
// A rectangle every frame gets (CTP script syntax: a rule that always matches; CTP paints
// width + 1 by height + 1 pixels, so the script says one less).
const RECT = [40, 10, 300, 50];
const SCRIPT = `{ true }\n(${RECT[0]},${RECT[1]},${RECT[2] - RECT[0] - 1},${RECT[3] - RECT[1] - 1})\n`;

const py = (script, ...args) => execFileSync('python3', [path.join(root, 'scripts', script), ...args], { encoding: 'utf8' });

for (const { mb, encapsulated, masked, deflated } of SETS) {
  const kind = encapsulated ? 'encapsulated' : deflated ? 'deflated' : 'native';
  const what = `${kind} file${masked ? ', masked frame by frame,' : ''}`;
  test(`a ${mb} MB ${what} streams through the CLI and the page`, { timeout: 900_000 }, async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-large-'));
    const input = path.join(tmp, 'in');
    fs.mkdirSync(input);
    const file = path.join(input, 'big.dcm');
    py('gen_big.py', file, String(mb), ...(encapsulated ? ['--encapsulated'] : []), ...(deflated ? ['--deflated'] : []));
    const key = path.join(tmp, 'k');
    fs.writeFileSync(key, '5a'.repeat(32) + '\n');
    const script = path.join(tmp, 'all.script');
    fs.writeFileSync(script, SCRIPT);
    const check = masked ? [`--masked=${RECT.join(',')}`] : [];
    const server = await serve();
    const { context, close } = await launchPersistent();
    try {
      const cli = path.join(tmp, 'cli');
      execFileSync(path.join(root, 'target', 'release', 'dcm-deid'),
        ['deidentify', input, '-o', cli, '--key', key, '--preset', 'tcia',
          ...(masked ? ['--clean-pixel-data', '--pixel-script', script] : [])], { stdio: 'pipe' });
      const [name] = walkFiles(cli).filter((f) => f.endsWith('.dcm'));
      const cliOut = path.join(cli, name);
      assert.match(py('check_big.py', file, cliOut, ...check), /^ok:/);

      const page = await context.newPage();
      await page.goto(`${server.origin}/?direct=0&sw=0`);
      await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
      await page.setInputFiles('#pick-folder', input);
      await page.check('input[name=preset][value=tcia]');
      await page.setInputFiles('#key-import', key);
      await page.waitForFunction(() => /fingerprint 5a5a5a5a/.test(document.getElementById('key-status').textContent));
      if (masked) {
        await page.check('#opt-clean_pixel_data');
        // Text detection on thousands of frames would take the test's time; masks come from
        // the script.
        await page.uncheck('#detect-text');
        await page.setInputFiles('#pixel-scripts', script);
      }
      await page.click('#start');
      await page.waitForSelector('body[data-state=done]', { timeout: 600_000 });
      assert.match(await page.textContent('#summary'), /^1 file: 1 de-identified/);
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
      const zip = path.join(tmp, 'page.zip');
      await dl.saveAs(zip);
      assert.match(py('check_big.py', file, name, zip, `--same-as=${cliOut}`, ...check), /^ok:/);
    } finally {
      await close();
      server.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}
