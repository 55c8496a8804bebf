// End-to-end: the page in headless Chromium de-identifies a folder (real files, a text file and
// a broken file) with the TCIA preset and an imported key; outside the browser the zip is
// checked against the native CLI's output for the same key and options, for planted PHI, and
// for the page's network traffic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { launch, readZip, root, serve, walkFiles } from './helpers.mjs';

const MARKER = 'SMITH_JOHN_MRN998877';

function fixtures() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-e2e-'));
  const dir = path.join(tmp, 'in', MARKER);
  fs.mkdirSync(path.join(dir, 'series 2'), { recursive: true });
  const data = path.join(root, 'tests', 'data');
  const dcm = fs.readdirSync(data).filter((f) => f.endsWith('.dcm'));
  dcm.forEach((f, i) => fs.copyFileSync(path.join(data, f), path.join(dir, i % 2 ? 'series 2' : '', `${MARKER}_${i}.dcm`)));
  fs.writeFileSync(path.join(dir, `notes_${MARKER}.dcm`), 'Patient John Smith, MRN 998877, called on Tuesday.\n');
  const good = fs.readFileSync(path.join(data, dcm[0]));
  fs.writeFileSync(path.join(dir, 'broken.dcm'), good.subarray(0, Math.floor(good.length / 2)));
  const key = path.join(tmp, 'project.key');
  fs.writeFileSync(key, '5a'.repeat(32) + '\n');
  return { tmp, input: path.join(tmp, 'in'), dir, key, count: dcm.length };
}

test('browser app de-identifies a folder like the CLI, with no request once started and no PHI left', { timeout: 180_000 }, async () => {
  const fx = fixtures();
  const exe = path.join(root, 'target', 'release', 'dcm-deid');
  const nativeOut = path.join(fx.tmp, 'native');
  const link = path.join(fx.tmp, 'linkage');
  try {
    execFileSync(exe, ['deidentify', fx.input, '-o', nativeOut, '--preset', 'tcia', '--key', fx.key, '--linkage', link], { stdio: 'pipe' });
  } catch (e) {
    assert.equal(e.status, 1, 'the CLI exits 1 because one file is broken');
  }
  const server = await serve();
  const browser = await launch();
  try {
    const context = await browser.newContext({ acceptDownloads: true });
    const requests = [];
    context.on('request', (r) => requests.push(r.url()));
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // Small scratch files (100 kB), so that outputs span several of them as in a large run.
    await page.goto(`${server.origin}/?direct=0&rotate=100000`);
    await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });

    await page.setInputFiles('#pick-folder', fx.dir);
    await page.waitForFunction(() => /files, .* selected/.test(document.getElementById('file-count').textContent));
    const countText = await page.textContent('#file-count');
    assert.match(countText, new RegExp(`^${fx.count + 2} files`));
    await page.check('input[name=preset][value=tcia]');
    await page.setInputFiles('#key-import', fx.key);
    await page.waitForFunction(() => /fingerprint 5a5a5a5a/.test(document.getElementById('key-status').textContent));

    const before = requests.length;
    await page.click('#start');
    await page.waitForSelector('body[data-state=done]', { timeout: 120_000 });
    const during = requests.slice(before);
    assert.deepEqual(during, [], 'no request once processing started');
    for (const u of requests) assert.equal(new URL(u).origin, server.origin, `request to another origin: ${u}`);

    const summary = await page.textContent('#summary');
    assert.match(summary, new RegExp(`${fx.count + 2} files: ${fx.count} de-identified, 1 skipped, 1 failed`));
    assert.match(summary, /Failed: 1 × malformed DICOM/);
    await page.screenshot({ path: path.join(root, 'target', 'e2e-results.png'), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
    const zipPath = path.join(fx.tmp, 'browser.zip');
    await download.saveAs(zipPath);
    const entries = readZip(fs.readFileSync(zipPath));

    // Same files, byte for byte, as the native CLI.
    const native = walkFiles(nativeOut).filter((f) => f.endsWith('.dcm'));
    const browserDcm = [...entries.keys()].filter((n) => n.endsWith('.dcm')).sort();
    assert.equal(browserDcm.length, fx.count);
    assert.deepEqual(browserDcm, native);
    for (const n of native) {
      assert.ok(entries.get(n).equals(fs.readFileSync(path.join(nativeOut, n))), `${n} differs from the CLI output`);
    }
    // No planted or original identifier survives in names or bytes.
    const originals = fs.readFileSync(path.join(link, 'linkage.csv'), 'utf8').trim().split('\n').slice(1)
      .map((l) => l.split(',')[3]).filter((id) => id && id.length > 3);
    assert.ok(originals.length > 0);
    for (const [name, bytes] of entries) {
      assert.ok(!name.includes('MRN998877') && !name.includes('SMITH'), name);
      assert.ok(!bytes.includes(Buffer.from(MARKER)), `${name} holds the marker`);
      for (const id of originals) assert.ok(!bytes.includes(Buffer.from(id)), `${name} holds an original patient ID`);
    }
    // The audit accounts for every input.
    const lines = entries.get('audit.jsonl').toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
    const s = lines.at(-1);
    assert.equal(s.record, 'summary');
    assert.deepEqual([s.found, s.deidentified, s.skipped, s.failed], [fx.count + 2, fx.count, 1, 1]);
    assert.equal(lines.length, fx.count + 1);
    assert.ok(entries.has('audit.csv'));
    // The review files: the same final review as the CLI's (one library), a sample, a log row.
    assert.ok(entries.get('final_review-noPHI.csv').equals(fs.readFileSync(path.join(nativeOut, 'final_review-noPHI.csv'))));
    const sample = entries.get('review_sample-noPHI.csv').toString().trim().split('\n');
    assert.equal(sample.length - 1, Math.min(fx.count, 30));
    const log = entries.get('deid_log-noPHI.csv').toString().trim().split('\n');
    assert.equal(log.length, 2);
    assert.match(log[1], new RegExp(`,${fx.count + 2},${fx.count},0,0,1,1,`));
    assert.match(await page.textContent('#review-note'), /inspect its \d+ randomly chosen files?/);

    // The linkage download is separate and labelled.
    const [ld] = await Promise.all([page.waitForEvent('download'), page.click('#linkage')]);
    assert.equal(ld.suggestedFilename(), 'linkage-CONTAINS-PHI.zip');
    const lp = path.join(fx.tmp, 'linkage.zip');
    await ld.saveAs(lp);
    const lz = readZip(fs.readFileSync(lp));
    assert.ok(lz.get('linkage.csv').toString().includes(MARKER));
    assert.ok(lz.get('patid_mapping.csv').toString().startsWith('id_old,id_new,issuer\n'));
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await browser.close();
    server.stop();
    fs.rmSync(fx.tmp, { recursive: true, force: true });
  }
});

test('cancel stops at once and the page can run again', { timeout: 120_000 }, async () => {
  const fx = fixtures();
  const lung = fs.readFileSync(path.join(root, 'tests', 'data', 'lung.dcm'));
  for (let i = 0; i < 400; i++) fs.writeFileSync(path.join(fx.dir, `copy${i}.dcm`), lung);
  const server = await serve();
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.origin}/?direct=0&workers=1`);
    await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
    await page.setInputFiles('#pick-folder', fx.dir);
    await page.click('#start');
    await page.click('#cancel');
    await page.waitForSelector('body[data-state=cancelled]');
    assert.match(await page.textContent('#progress-text'), /Cancelled/);
    await page.waitForSelector('body[data-ready=yes]');
    await page.click('#start');
    await page.waitForSelector('body[data-state=done]', { timeout: 60_000 });
    // The copies are one SOP instance: one output, the rest reported as duplicates.
    const text = await page.textContent('#summary');
    assert.match(text, new RegExp(`${fx.count} de-identified, 401 skipped, 1 failed`));
    assert.match(text, /400 × duplicate: identical to another input/);
  } finally {
    await browser.close();
    server.stop();
    fs.rmSync(fx.tmp, { recursive: true, force: true });
  }
});

test('dropped files are taken, and the app works offline once loaded', { timeout: 120_000 }, async () => {
  const server = await serve();
  const browser = await launch();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.origin}/?direct=0`);
    await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
    // Keyboard: the drop zone is focusable and Enter opens the folder chooser.
    const [chooser] = await Promise.all([
      page.waitForEvent('filechooser', { timeout: 60_000 }),
      page.locator('#drop').press('Enter'),
    ]);
    assert.ok(chooser.isMultiple());
    // A lookup table that cannot be read stops the run before it starts, with the reason.
    await page.setInputFiles('#lookup', { name: 'ids.csv', mimeType: 'text/csv', buffer: Buffer.from('only-one-column\n') });
    await page.setInputFiles('#pick-files', path.join(root, 'tests', 'data', 'lung.dcm'));
    await page.click('#start');
    await page.waitForFunction(() => /Cannot start: lookup table/.test(document.getElementById('progress-text').textContent));
    await page.setInputFiles('#lookup', []);
    // Offline: the service worker serves the app; the engine starts without the network.
    await context.setOffline(true);
    await page.reload();
    await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
    // A drop of two files (one DICOM, one not) through the drop zone.
    const dcm = [...fs.readFileSync(path.join(root, 'tests', 'data', 'lung.dcm'))];
    await page.evaluate((bytes) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(bytes)], 'lung.dcm'));
      dt.items.add(new File(['hello'], 'readme.txt'));
      const zone = document.getElementById('drop');
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, dcm);
    await page.waitForFunction(() => /^2 files/.test(document.getElementById('file-count').textContent));
    await page.click('#start');
    await page.waitForSelector('body[data-state=done]', { timeout: 60_000 });
    assert.match(await page.textContent('#summary'), /2 files: 1 de-identified, 1 skipped, 0 failed/);
  } finally {
    await browser.close();
    server.stop();
  }
});

test('a zip saved straight to disk equals the CLI output and leaves no scratch file', { timeout: 180_000 }, async () => {
  const fx = fixtures();
  const nativeOut = path.join(fx.tmp, 'native');
  try {
    execFileSync(path.join(root, 'target', 'release', 'dcm-deid'),
      ['deidentify', fx.input, '-o', nativeOut, '--preset', 'tcia', '--key', fx.key], { stdio: 'pipe' });
  } catch (e) {
    assert.equal(e.status, 1);
  }
  const server = await serve();
  const browser = await launch();
  try {
    const page = await browser.newPage();
    // The save dialog cannot be answered headless: the picker hands out a file in OPFS instead,
    // whose writable stream behaves like the chosen file's.
    await page.addInitScript(() => {
      window.showSaveFilePicker = async () =>
        (await navigator.storage.getDirectory()).getFileHandle('saved.zip', { create: true });
    });
    await page.goto(`${server.origin}/?rotate=100000`);
    await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
    assert.ok(await page.isChecked('#direct'), 'saving straight to disk is the default');
    await page.setInputFiles('#pick-folder', fx.dir);
    await page.check('input[name=preset][value=tcia]');
    await page.setInputFiles('#key-import', fx.key);
    await page.waitForFunction(() => /fingerprint 5a5a5a5a/.test(document.getElementById('key-status').textContent));
    await page.click('#start');
    await page.waitForSelector('body[data-state=done]', { timeout: 120_000 });
    assert.match(await page.textContent('#summary'), /The zip was saved as saved\.zip/);
    const { zip, scratch } = await page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const bytes = new Uint8Array(await (await (await root.getFileHandle('saved.zip')).getFile()).arrayBuffer());
      let left = [];
      try {
        for await (const [name] of (await root.getDirectoryHandle('dcm-deid-scratch')).entries()) left.push(name);
      } catch { left = []; }
      return { zip: Array.from(bytes), scratch: left };
    });
    assert.deepEqual(scratch, [], 'no scratch file is left');
    const entries = readZip(Buffer.from(zip));
    const native = walkFiles(nativeOut).filter((f) => f.endsWith('.dcm'));
    assert.deepEqual([...entries.keys()].filter((n) => n.endsWith('.dcm')).sort(), native);
    for (const n of native) assert.ok(entries.get(n).equals(fs.readFileSync(path.join(nativeOut, n))), n);
    assert.ok(entries.has('audit.jsonl') && entries.has('audit.csv'));
  } finally {
    await browser.close();
    server.stop();
    fs.rmSync(fx.tmp, { recursive: true, force: true });
  }
});

test('with Clean Pixel Data, an image at risk is held back, counted, and its original offered apart', { timeout: 180_000 }, async () => {
  const data = path.join(root, 'tests', 'data');
  const exe = path.join(root, 'target', 'release', 'dcm-deid');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-e2e-px-'));
  const key = path.join(tmp, 'k');
  fs.writeFileSync(key, '5a'.repeat(32) + '\n');
  const q = path.join(tmp, 'held');
  try {
    execFileSync(exe, ['deidentify', data, '-o', path.join(tmp, 'native'), '--clean-pixel-data', '--detect-text', '--key', key, '--quarantine', q], { stdio: 'pipe' });
  } catch { /* exit status 1 only if a file failed */ }
  const cliHeld = fs.readdirSync(q).filter((f) => f.endsWith('.dcm'));
  assert.ok(cliHeld.length > 0, 'tests/data holds an image at risk (a secondary capture)');
  const server = await serve();
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
    await page.goto(`${server.origin}/?direct=0&sw=0`);
    await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
    await page.setInputFiles('#pick-folder', data);
    await page.check('input[name=preset][value=basic]');
    assert.equal(await page.isVisible('#pixel-settings'), false, 'pixel settings hidden while the option is off');
    await page.check('#opt-clean_pixel_data');
    assert.equal(await page.isVisible('#pixel-settings'), true);
    assert.equal(await page.isChecked('#detect-text'), true, 'text detection is on with Clean Pixel Data');
    await page.setInputFiles('#key-import', key);
    await page.waitForFunction(() => /fingerprint 5a5a5a5a/.test(document.getElementById('key-status').textContent));
    await page.click('#start');
    await page.waitForSelector('body[data-state=done]', { timeout: 120_000 });
    assert.match(await page.textContent('#summary'), new RegExp(`${cliHeld.length} held back`));
    await page.screenshot({ path: path.join(root, 'target', 'e2e-held-back.png'), fullPage: true });
    // The zip stays readable with the held-back lines in its audit.
    const [zipDl] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
    const zipPath = path.join(tmp, 'out.zip');
    await zipDl.saveAs(zipPath);
    const audit = readZip(fs.readFileSync(zipPath)).get('audit.jsonl').toString();
    assert.equal(audit.split('\n').filter((l) => l.includes('"record":"quarantined"')).length, cliHeld.length);
    const [heldDl] = await Promise.all([page.waitForEvent('download'), page.click('#quarantine')]);
    assert.match(heldDl.suggestedFilename(), /CONTAINS-PHI/);
    const heldPath = path.join(tmp, 'held.zip');
    await heldDl.saveAs(heldPath);
    const held = readZip(fs.readFileSync(heldPath));
    for (const name of cliHeld) assert.ok(held.get(name).equals(fs.readFileSync(path.join(q, name))), `${name}: the original, named as the CLI names it`);
    assert.match(held.get('README.txt').toString(), /^CONTAINS PATIENT DATA/);
  } finally {
    await browser.close();
    server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/** The shared corpus's JPEG-LS files this test masks: multi-frame palette ultrasound, RGB with
 * sample interleave (25 frames), near-lossless MR, and WG04's MR1 (a 0x00 before EOI). */
const JPEG_LS = ['gh-dcm4che/jpeg-ls-Palette.dcm', 'gh-highdicom/sm_image_jpegls.dcm',
  'gh-rsna-anonymizer/test_dcm_files/JPEG-LS_Lossy.dcm', 'gh-dicom-test-files/WG04/JLSL/MR1_JLSL',
  'gh-dicom-test-files/WG04/JLSN/CT1_JLSN'];

/** Runs the page on `input` with Basic, Clean Pixel Data, the pixel script `script` and the key;
 * resolves to the saved zip's entries and the summary text. `www` is the folder served. */
async function cleanPixelRun(input, script, key, www) {
  const server = await serve(www);
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.origin}/?direct=0&sw=0`);
    await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
    await page.setInputFiles('#pick-folder', input);
    await page.check('input[name=preset][value=basic]');
    await page.check('#opt-clean_pixel_data');
    await page.uncheck('#detect-text'); // masks come from the script here; detection has its own tests
    await page.setInputFiles('#pixel-scripts', script);
    await page.setInputFiles('#key-import', key);
    await page.waitForFunction(() => /fingerprint 5a5a5a5a/.test(document.getElementById('key-status').textContent));
    const t0 = Date.now();
    await page.click('#start');
    await page.waitForSelector('body[data-state=done]', { timeout: 240_000 });
    const seconds = (Date.now() - t0) / 1000;
    const summary = await page.textContent('#summary');
    const [zipDl] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
    const zipPath = path.join(path.dirname(key), `page-${Date.now()}.zip`);
    await zipDl.saveAs(zipPath);
    assert.deepEqual(errors, []);
    return { entries: readZip(fs.readFileSync(zipPath)), summary, seconds };
  } finally {
    await browser.close();
    server.stop();
  }
}

/**
 * Corpus files of one codec the page decodes with a codec from npm: with Clean Pixel Data and a
 * rectangle on every image, the CLI masks every one (written in `tsOut`) and the page gives the
 * CLI's bytes; with the codec's loader (`loader`, in pkg/) removed, every image is held back with
 * `reason`, never passed and never a trap.
 */
async function codecParity(t, { label, files, tsOut, loader, reason }) {
  const corpus = path.join(root, '..', 'shared', 'corpus');
  if (!files.every((f) => fs.existsSync(path.join(corpus, f)))) return t.skip('no ../shared/corpus');
  const exe = path.join(root, 'target', 'release', 'dcm-deid');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-e2e-codec-'));
  try {
    const input = path.join(tmp, 'in');
    fs.mkdirSync(input);
    files.forEach((f, i) => fs.copyFileSync(path.join(corpus, f), path.join(input, `${i}.dcm`)));
    const script = path.join(tmp, 'all.script');
    fs.writeFileSync(script, '{ true }\n(5,3,21,8)\n');
    const key = path.join(tmp, 'k');
    fs.writeFileSync(key, '5a'.repeat(32) + '\n');
    const nativeOut = path.join(tmp, 'native');
    const t0 = Date.now();
    execFileSync(exe, ['deidentify', input, '-o', nativeOut, '--preset', 'basic', '--clean-pixel-data', '--pixel-script', script, '--key', key], { stdio: 'pipe' });
    const cliSeconds = (Date.now() - t0) / 1000;
    const native = walkFiles(nativeOut).filter((f) => f.endsWith('.dcm'));
    assert.equal(native.length, files.length, 'the CLI masks every file');
    const audit = fs.readFileSync(path.join(nativeOut, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const masked = audit.filter((r) => r.pixels?.masked);
    assert.equal(masked.length, files.length);
    for (const r of masked) assert.equal(r.pixels.masked.transfer_syntax_out, tsOut);

    const run = await cleanPixelRun(input, script, key);
    console.log(`${label}: CLI ${cliSeconds.toFixed(1)} s, page ${run.seconds.toFixed(1)} s for ${files.length} files`);
    assert.match(run.summary, new RegExp(`${files.length} de-identified, 0 skipped, 0 failed, 0 held back`));
    const pageDcm = [...run.entries.keys()].filter((n) => n.endsWith('.dcm')).sort();
    assert.deepEqual(pageDcm, native, run.summary);
    for (const n of native) assert.ok(run.entries.get(n).equals(fs.readFileSync(path.join(nativeOut, n))), `${n} differs from the CLI output`);

    const www = path.join(tmp, 'www');
    fs.cpSync(path.join(root, 'www'), www, { recursive: true });
    fs.rmSync(path.join(www, 'pkg', loader));
    const bare = await cleanPixelRun(input, script, key, www);
    assert.match(bare.summary, new RegExp(`0 de-identified, 0 skipped, 0 failed, ${files.length} held back`));
    assert.match(bare.summary, reason);
    assert.equal([...bare.entries.keys()].filter((n) => n.endsWith('.dcm')).length, 0);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

test('with Clean Pixel Data, JPEG-LS images are masked in the page byte for byte as the CLI masks them, and held back without the codec', { timeout: 600_000 }, (t) => codecParity(t, {
  label: 'JPEG-LS', files: JPEG_LS, tsOut: '1.2.840.10008.1.2.4.80', loader: 'charls.mjs',
  reason: /no JPEG-LS decoder is loaded in this page/,
}));

/** The shared corpus's JPEG 2000 files this test masks: WG04's lossless 16-bit signed CT
 * (512 x 512), lossy (4.91) CT and RGB (756 x 486, 8-bit colour), a small lossy NM, and the
 * corpus's one HTJ2K file (4.201). */
const JPEG_2000 = ['gh-dicom-test-files/WG04/J2KR/CT1_J2KR', 'gh-dicom-test-files/WG04/J2KI/CT2_J2KI',
  'gh-dicom-test-files/WG04/J2KI/VL1_J2KI', 'gh-dicognito/orig_data/test_burned_in_annotation_default/burned_in_yes.dcm',
  'gh-dicom-swift-synthetic/DecoderParity/htj2k_lossless_parity.dcm'];

test('with Clean Pixel Data, JPEG 2000 and HTJ2K images are masked in the page byte for byte as the CLI masks them, and held back without the codec', { timeout: 600_000 }, (t) => codecParity(t, {
  // Written decoded, as the CLI writes every image the codec registry decodes.
  label: 'JPEG 2000', files: JPEG_2000, tsOut: '1.2.840.10008.1.2.1', loader: 'openjpeg.mjs',
  reason: /no JPEG 2000 decoder is loaded in this page \(OpenJPEG\); use the command-line tool/,
}));

test('a study written under two pseudonyms is a warning on the page, worded as the CLI words it', { timeout: 180_000 }, async () => {
  // Two files of one study whose Patient IDs disagree (one digit): two pseudonyms, one study.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-e2e-split-'));
  const input = path.join(tmp, 'in');
  fs.mkdirSync(input);
  const lung = fs.readFileSync(path.join(root, 'tests', 'data', 'lung.dcm'));
  const id = 'ACRIN-FLT-Breast_076';
  const other = Buffer.from(lung);
  for (let at = lung.indexOf(id); at >= 0; at = lung.indexOf(id, at + 1)) other.write('7', at + id.length - 1, 'latin1');
  assert.notDeepEqual(other, lung);
  fs.writeFileSync(path.join(input, 'a.dcm'), lung);
  fs.writeFileSync(path.join(input, 'b.dcm'), other);
  const key = path.join(tmp, 'k');
  fs.writeFileSync(key, '5a'.repeat(32) + '\n');
  const exe = path.join(root, 'target', 'release', 'dcm-deid');
  const cli = execFileSync(exe, ['deidentify', input, '-o', path.join(tmp, 'native'), '--key', key], { stdio: 'pipe' }).toString();
  const cliWarning = cli.split('\n').find((l) => l.startsWith('warning: 1 study was'));
  assert.ok(cliWarning, cli);
  const server = await serve();
  const browser = await launch();
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.origin}/?direct=0&sw=0`);
    await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
    await page.setInputFiles('#pick-folder', input);
    await page.setInputFiles('#key-import', key);
    await page.waitForFunction(() => /fingerprint 5a5a5a5a/.test(document.getElementById('key-status').textContent));
    await page.click('#start');
    await page.waitForSelector('body[data-state=done]', { timeout: 120_000 });
    assert.equal(await page.isVisible('#summary-warnings'), true);
    assert.equal(await page.isVisible('#quarantine'), false, 'nothing held back: no held-back download');
    assert.equal(await page.textContent('#summary-warnings'), `Warning: ${cliWarning.slice('warning: '.length)}.`);
    await page.screenshot({ path: path.join(root, 'target', 'e2e-split-study.png'), fullPage: true });
  } finally {
    await browser.close();
    server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('the page makes the same element inventory as the CLI, and an edited pre-review overrides the profile', { timeout: 180_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-e2e-inventory-'));
  const input = path.join(tmp, 'in');
  fs.mkdirSync(input);
  for (const f of ['lung.dcm', 'mr_implicit_vr_le.dcm', 'sr_tid1500_measurement_report.dcm']) {
    fs.copyFileSync(path.join(root, 'tests', 'data', f), path.join(input, f));
  }
  const exe = path.join(root, 'target', 'release', 'dcm-deid');
  const cliDir = path.join(tmp, 'cli');
  execFileSync(exe, ['inventory', input, '-o', cliDir, '--preset', 'tcia'], { stdio: 'pipe' });
  const server = await serve();
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
    await page.goto(`${server.origin}/?direct=0&sw=0`);
    await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
    await page.setInputFiles('#pick-folder', input);
    await page.check('input[name=preset][value=tcia]');
    await page.click('#inventory');
    await page.waitForSelector('body[data-state=inventoried]', { timeout: 120_000 });
    assert.match(await page.textContent('#inventory-text'), /^3 files examined\.$/);
    const save = async (id) => {
      const [d] = await Promise.all([page.waitForEvent('download'), page.click(id)]);
      const p = path.join(tmp, d.suggestedFilename());
      await d.saveAs(p);
      return fs.readFileSync(p, 'utf8');
    };
    // One library: the same inventory, byte for byte.
    assert.equal(await save('#inventory-save'), fs.readFileSync(path.join(cliDir, 'inventory-noPHI.csv'), 'utf8'));
    const pre = await save('#prereview-save');
    const cliPre = fs.readFileSync(path.join(cliDir, 'pre_review-PHI.csv'), 'utf8');
    // The first file is named by its path as given: relative in the page, as typed for the CLI.
    const strip = (t) => t.split('\n').map((l) => l.replace(/,"?[^,]*\.dcm"?,/, ',FILE,')).join('\n');
    assert.equal(strip(pre), strip(cliPre));
    await page.screenshot({ path: path.join(root, 'target', 'e2e-inventory.png'), fullPage: true });

    // The curator replaces the study description of the lung CT in the page's editor; the run
    // follows the decision.
    const lines = pre.trim().split('\n');
    const row = lines.findIndex((l) => l.startsWith('"<(0008,1030)>"'));
    assert.ok(row > 0, 'the study description is a value to review');
    await page.click('#prereview-editor summary');
    await page.fill('#prereview-filter', '(0008,1030)');
    const rows = page.locator('#prereview-table tr', { hasText: 'StudyDescription' });
    assert.ok(await rows.count() >= 1);
    const editorRow = rows.first(); // the editor lists the rows in the file's order
    await editorRow.locator('input[aria-label=replacement]').fill('REVIEWED DESCRIPTION');
    await editorRow.locator('input[aria-label=replacement]').press('Tab');
    await page.click('#decisions-use');
    assert.match(await page.textContent('#decisions-text'), /^1 decisions will apply/);
    await page.screenshot({ path: path.join(root, 'target', 'e2e-prereview-editor.png'), fullPage: true });
    await page.click('#start');
    await page.waitForSelector('body[data-state=done]', { timeout: 120_000 });
    const [d] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
    const zipPath = path.join(tmp, 'out.zip');
    await d.saveAs(zipPath);
    const entries = readZip(fs.readFileSync(zipPath));
    const dcm = [...entries.entries()].filter(([n]) => n.endsWith('.dcm'));
    assert.ok(dcm.some(([, b]) => b.includes(Buffer.from('REVIEWED DESCRIPTION'))));
    const finalReview = entries.get('final_review-noPHI.csv').toString();
    assert.match(finalReview, /"<\(0008,1030\)>",StudyDescription,LO,,C,<REVIEWED DESCRIPTION>/);
    assert.match(await page.textContent('#verification'), /^Residual-PHI check: 0 critical/);
    assert.ok(entries.has('residual_phi-noPHI.csv'));

    // A careless decision writes the patient's ID into the description: the residual-PHI check
    // finds it, the save stops behind a warning, and discarding it saves nothing.
    lines[row] = lines[row].replace(/,,,,$/, ',,seen for ACRIN-FLT-Breast_076,,');
    const careless = path.join(tmp, 'decisions-2.csv');
    fs.writeFileSync(careless, lines.join('\n') + '\n');
    await page.setInputFiles('#overrides', careless);
    await page.click('#start');
    await page.waitForSelector('#residual-dialog[open]', { timeout: 120_000 });
    assert.match(await page.textContent('#residual-lines'), /critical/);
    assert.ok(!(await page.textContent('#residual-lines')).includes('ACRIN'), 'no identifying text');
    await page.screenshot({ path: path.join(root, 'target', 'e2e-residual-dialog.png'), fullPage: true });
    await page.click('#residual-discard');
    await page.waitForSelector('body[data-state=held]', { timeout: 30_000 });
    assert.match(await page.textContent('#verification'), /^Residual-PHI check: [1-9]\d* critical/);
    assert.equal(await page.isVisible('#save'), false, 'nothing to save');
    const [dd] = await Promise.all([page.waitForEvent('download'), page.click('#residual-detail')]);
    assert.equal(dd.suggestedFilename(), 'residual_phi-detail-PHI.csv');
  } finally {
    await browser.close();
    server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a file that vanishes after it was picked fails as unreadable, on both read paths, and the batch goes on', { timeout: 180_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-e2e-gone-'));
  const input = path.join(tmp, 'in');
  fs.mkdirSync(input);
  const data = path.join(root, 'tests', 'data');
  const dcm = fs.readdirSync(data).filter((f) => f.endsWith('.dcm'));
  for (const f of dcm) fs.copyFileSync(path.join(data, f), path.join(input, f));
  // One file read whole, one past the split size (64 MB) read around its Pixel Data.
  const small = path.join(input, 'gone-small.dcm');
  fs.copyFileSync(path.join(data, 'lung.dcm'), small);
  const large = path.join(input, 'gone-large.dcm');
  execFileSync('python3', [path.join(root, 'scripts', 'gen_big.py'), large, '70'], { stdio: 'pipe' });
  const server = await serve();
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.origin}/?direct=0&sw=0&workers=1`);
    await page.waitForSelector('body[data-ready=yes]', { timeout: 60_000 });
    await page.setInputFiles('#pick-folder', input);
    await page.waitForFunction((n) => document.getElementById('file-count').textContent.startsWith(`${n} files`), dcm.length + 2);
    // Gone after the pick, as when a drive is unplugged: the browser's reads now fail.
    fs.rmSync(small);
    fs.rmSync(large);
    await page.click('#start');
    await page.waitForSelector('body[data-state=done]', { timeout: 120_000 });
    const summary = await page.textContent('#summary');
    assert.match(summary, new RegExp(`${dcm.length + 2} files: ${dcm.length} de-identified, 0 skipped, 2 failed`));
    assert.match(summary, /Failed: 2 × cannot read the file/);
    assert.doesNotMatch(summary, /internal error/, 'a failed read is no engine failure');
    const [zipDl] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
    const zipPath = path.join(tmp, 'out.zip');
    await zipDl.saveAs(zipPath);
    const zip = readZip(fs.readFileSync(zipPath));
    assert.equal([...zip.keys()].filter((n) => n.endsWith('.dcm')).length, dcm.length);
    const lines = zip.get('audit.jsonl').toString().trim().split('\n').map((l) => JSON.parse(l));
    const s = lines.find((l) => l.record === 'summary');
    assert.equal(s.failed, 2, 'both counted in the audit (by reason: a name may hold PHI)');
    assert.deepEqual(Object.values(s.failed_reasons), [2]);
    assert.match(Object.keys(s.failed_reasons)[0], /^cannot read the file/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
