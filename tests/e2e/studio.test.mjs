// The review studio in headless Chromium: an ultrasound image with bright text-like bars is
// flagged on its tile, a mask drawn on it with the mouse is painted in the saved output (checked
// here, outside the browser, against the input's pixels), the tag view shows Patient's Name
// replaced, the sample queue is the same for the same seed, a keyboard-only review marks every
// image, and the sign-off reaches the de-identification log. Screenshots of each view at
// 1280×800 and 1920×1080 go to target/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, readZip, root, serve } from './helpers.mjs';

const ROWS = 48, COLS = 64;
/** Where the test draws its mask (half-open, image pixels): it holds the "text". */
const MASK = { x0: 4, y0: 2, x1: 40, y1: 9 };

/** One explicit VR little endian element. */
function element(group, elem, vr, value) {
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const v = typeof value === 'string' ? Buffer.from(value.length % 2 ? value + (vr === 'UI' ? '\0' : ' ') : value, 'latin1') : value;
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(v.length, 8);
  else head.writeUInt16LE(v.length, 6);
  return Buffer.concat([head, v]);
}

const us16 = (n) => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };

/** The test image: a gradient with bright bars ("text") inside MASK on every third row. */
function pixels() {
  const p = Buffer.alloc(ROWS * COLS);
  for (let y = 0; y < ROWS; y++) {
    for (let x = 0; x < COLS; x++) {
      const text = x >= MASK.x0 && x < MASK.x1 && y >= MASK.y0 && y < MASK.y1 && y % 3 !== 0;
      p[y * COLS + x] = text ? 250 : 20 + ((x * 3 + y * 2) % 120);
    }
  }
  return p;
}

/** A small ultrasound file (explicit VR little endian) made here. */
function ultrasound() {
  const sop = '1.2.826.0.1.3680043.8.498.77001';
  const body = Buffer.concat([
    element(0x0008, 0x0016, 'UI', '1.2.840.10008.5.1.4.1.1.6.1'),
    element(0x0008, 0x0018, 'UI', sop),
    element(0x0008, 0x0020, 'DA', '20240102'),
    element(0x0008, 0x0060, 'CS', 'US'),
    element(0x0008, 0x0070, 'LO', 'ACME'),
    element(0x0008, 0x1090, 'LO', 'Sono 9'),
    element(0x0010, 0x0010, 'PN', 'STUDIO^PATIENT'),
    element(0x0010, 0x0020, 'LO', 'STUDIO-77'),
    element(0x0020, 0x000d, 'UI', '1.2.826.0.1.3680043.8.498.77002'),
    element(0x0020, 0x000e, 'UI', '1.2.826.0.1.3680043.8.498.77003'),
    element(0x0020, 0x0011, 'IS', '1'),
    element(0x0028, 0x0002, 'US', us16(1)),
    element(0x0028, 0x0004, 'CS', 'MONOCHROME2'),
    element(0x0028, 0x0010, 'US', us16(ROWS)),
    element(0x0028, 0x0011, 'US', us16(COLS)),
    element(0x0028, 0x0100, 'US', us16(8)),
    element(0x0028, 0x0101, 'US', us16(8)),
    element(0x0028, 0x0102, 'US', us16(7)),
    element(0x0028, 0x0103, 'US', us16(0)),
    element(0x7fe0, 0x0010, 'OB', pixels()),
  ]);
  const metaBody = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', '1.2.840.10008.5.1.4.1.1.6.1'),
    element(0x0002, 0x0003, 'UI', sop),
    element(0x0002, 0x0010, 'UI', '1.2.840.10008.1.2.1'),
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(metaBody.length);
  const meta = Buffer.concat([element(0x0002, 0x0000, 'UL', length), metaBody]);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), meta, body]);
}

/** The Pixel Data value of an explicit VR little endian file (8-bit, defined length). */
function pixelData(file) {
  const at = file.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
  assert.ok(at > 0, 'Pixel Data found');
  const len = file.readUInt32LE(at + 8);
  return file.subarray(at + 12, at + 12 + len);
}

function fixtures() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-studio-'));
  const dir = path.join(tmp, 'in');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'us.dcm'), ultrasound());
  const data = path.join(root, 'tests', 'data');
  for (const f of fs.readdirSync(data).filter((n) => n.endsWith('.dcm'))) fs.copyFileSync(path.join(data, f), path.join(dir, f));
  fs.writeFileSync(path.join(tmp, 'k'), '5a'.repeat(32) + '\n');
  return { tmp, dir, key: path.join(tmp, 'k') };
}

async function shots(page, name, show) {
  for (const [w, h] of [[1280, 800], [1920, 1080]]) {
    await page.setViewportSize({ width: w, height: h });
    if (show) await page.locator(show).evaluate((e) => e.scrollIntoView());
    await page.waitForTimeout(150);
    await page.screenshot({ path: path.join(root, 'target', `e2e-studio-${name}-${w}x${h}.png`) });
  }
}

test('the studio flags an image at risk, a mask drawn with the mouse is painted in the output, and the review is logged', { timeout: 240_000 }, async () => {
  const { tmp, dir, key } = fixtures();
  const server = await serve();
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 } })).newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.origin}/?direct=0&sw=0`);
    await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
    await page.setInputFiles('#pick-folder', dir);
    await page.check('input[name=preset][value=basic]');
    await page.setInputFiles('#key-import', key);
    await page.waitForFunction(() => /fingerprint 5a5a5a5a/.test(document.getElementById('key-status').textContent));

    await page.click('#studio-open');
    await page.waitForSelector('body[data-studio=ready]', { timeout: 60_000 });
    const n = fs.readdirSync(dir).length;
    assert.equal(await page.locator('.tile').count(), n, 'one tile per input');
    const us = page.locator('.tile[data-input$="us.dcm"]');
    const flags = (await us.getAttribute('data-flags')).split(' ');
    assert.ok(flags.includes('at-risk'), `flags: ${flags}`);
    // With Clean Pixel Data off, the page suggests it; turned on, the image would be held back.
    assert.equal(await page.isVisible('#studio-suggest'), true);
    await shots(page, 'grid', '#studio-open');
    await page.click('#studio-turn-on');
    assert.equal(await page.isChecked('#opt-clean_pixel_data'), true);
    // The masks drawn here are what this test checks; text detection has tests of its own.
    await page.uncheck('#detect-text');

    // A keyboard-only review: every tile marked ok from the keyboard, then one undone and redone.
    await page.locator('.tile').first().focus();
    for (let i = 0; i < n; i++) await page.keyboard.press('1');
    assert.match(await page.textContent('#studio-count'), new RegExp(`Reviewed ${n} of ${n}`));
    await page.keyboard.press('u');
    assert.match(await page.textContent('#studio-count'), new RegExp(`Reviewed ${n - 1} of ${n}`));
    await page.keyboard.press('1');
    // One input excluded: not run, but counted, audited and listed at its place in input order.
    const order = await page.locator('.tile').evaluateAll((ts) => ts.map((t) => t.dataset.input));
    const excludedAt = order.findIndex((p) => !p.endsWith('us.dcm'));
    await page.locator('.tile').nth(excludedAt).focus();
    await page.keyboard.press('x');
    assert.equal(await page.locator('.tile').nth(excludedAt).getAttribute('data-mark'), 'exclude');

    // Open the ultrasound from the keyboard, draw a mask with the mouse, apply it to the image.
    await us.focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog#viewer[open]');
    await page.waitForFunction(() => /hold it back/.test(document.getElementById('mask-note').textContent), null, { timeout: 30_000 });
    await page.check('input[name=tool][value=mask]');
    const box = await page.locator('#viewer-canvas').boundingBox();
    const screen = (x, y) => [box.x + (x / COLS) * box.width, box.y + (y / ROWS) * box.height];
    await page.mouse.move(...screen(MASK.x0, MASK.y0));
    await page.mouse.down();
    await page.mouse.move(...screen(20, 5), { steps: 3 });
    await page.mouse.move(...screen(MASK.x1, MASK.y1), { steps: 3 });
    await page.mouse.up();
    await page.click('#mask-apply');
    await page.waitForFunction(() => /will paint 1 region/.test(document.getElementById('mask-note').textContent));
    await shots(page, 'viewer');

    // The tags, before and after.
    await page.click('#tab-tags');
    await page.waitForSelector('#tags-table tr[data-path="<(0010,0010)>"]', { timeout: 30_000 });
    const name = page.locator('#tags-table tr[data-path="<(0010,0010)>"]');
    const cells = await name.locator('td').allTextContents();
    assert.equal(cells[3], 'STUDIO^PATIENT');
    assert.ok(!cells[4].includes('STUDIO'), `after: ${cells[4]}`);
    assert.match(await name.getAttribute('class'), /change-changed/);
    await shots(page, 'tags');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog#viewer', { state: 'hidden' });
    assert.match(await us.getAttribute('data-flags'), /\bmasked\b/);

    // The sample queue: the same seed, the same files.
    const sampled = async (seed) => {
      await page.fill('#sample-seed', String(seed));
      await page.click('#sample-draw');
      return page.$$eval('.tile[data-flags~="sample"]', (ts) => ts.map((t) => t.dataset.input).sort());
    };
    const first = await sampled(42);
    assert.ok(first.length >= Math.min(n, 30) && first.length <= n);
    assert.deepEqual(await sampled(42), first);
    await page.selectOption('#studio-filter', 'all');

    await page.fill('#reviewer', 'R. Viewer');
    await page.click('#sign-off');
    assert.match(await page.textContent('#sign-off-text'), /Signed off by R\. Viewer/);

    await page.click('#start');
    await page.waitForSelector('body[data-state=done]', { timeout: 120_000 });
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
    const zipPath = path.join(tmp, 'out.zip');
    await dl.saveAs(zipPath);
    const zip = readZip(fs.readFileSync(zipPath));
    const audit = zip.get('audit.jsonl').toString().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.deepEqual(audit.filter((r) => r.record === 'excluded').map((r) => r.input_number), [excludedAt + 1]);
    const totals = audit.find((r) => r.record === 'summary');
    assert.deepEqual([totals.found, totals.excluded], [n, 1]);
    assert.match(await page.textContent('#summary'), /, 1 excluded by the reviewer \(not processed\)/);
    const listed = await page.$$eval('#table tbody tr', (rs) => rs.map((r) => [...r.cells].map((c) => c.textContent)));
    assert.ok(listed.some(([p, status]) => p === order[excludedAt] && status === 'excluded'), JSON.stringify(listed));
    const usOut = audit.find((r) => r.pixels?.masked)?.output_name;
    assert.ok(usOut, 'the ultrasound was masked');
    const out = pixelData(zip.get(usOut));
    const input = pixels();
    for (let y = 0; y < ROWS; y++) {
      for (let x = 0; x < COLS; x++) {
        const inside = x >= MASK.x0 && x < MASK.x1 && y >= MASK.y0 && y < MASK.y1;
        const i = y * COLS + x;
        assert.equal(out[i], inside ? 0 : input[i], `pixel ${x},${y}`);
      }
    }
    const log = zip.get('deid_log-noPHI.csv').toString();
    assert.match(log, /R\. Viewer/);
    assert.match(log, /studio: \d+ of \d+ images reviewed/);
    assert.match(log, /,42,/, 'the sample seed');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('the viewer shows a JPEG 2000 image with Clean Pixel Data off (its codec is loaded for the viewer)', { timeout: 120_000 }, async (t) => {
  const j2k = path.join(root, '..', 'shared', 'corpus', 'gh-dicom-test-files', 'WG04', 'J2KR', 'CT1_J2KR');
  if (!fs.existsSync(j2k)) return t.skip('no ../shared/corpus');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-studio-j2k-'));
  const dir = path.join(tmp, 'in');
  fs.mkdirSync(dir);
  fs.copyFileSync(j2k, path.join(dir, 'ct.dcm'));
  const server = await serve();
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.origin}/?direct=0&sw=0`);
    await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
    await page.setInputFiles('#pick-folder', dir);
    await page.check('input[name=preset][value=basic]');
    assert.equal(await page.isChecked('#opt-clean_pixel_data'), false);
    await page.click('#studio-open');
    await page.waitForSelector('body[data-studio=ready]', { timeout: 60_000 });
    await page.locator('.tile').first().focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog#viewer[open]');
    // Rendered: the 512 x 512 canvas holds the CT slice (many grey levels), or the viewer says why not.
    const shown = await page.waitForFunction(() => {
      const error = document.getElementById('viewer-error').textContent;
      if (error) return { error };
      const c = document.getElementById('viewer-canvas');
      if (c.width !== 512) return null;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const levels = new Set();
      for (let i = 0; i < d.length; i += 4) levels.add(d[i]);
      return levels.size > 50 ? { levels: levels.size } : null;
    }, null, { timeout: 30_000 }).then((h) => h.jsonValue());
    assert.equal(shown.error, undefined, shown.error);
    assert.ok(shown.levels > 50);
    await page.screenshot({ path: path.join(root, 'target', 'e2e-studio-viewer-j2k.png') });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
