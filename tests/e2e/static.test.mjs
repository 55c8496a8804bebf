// Checks on the static site that nothing else would catch: the service worker caches every file
// of the app (or the app breaks offline), and the Content-Security-Policy is the same in the
// README as in the page (scripts/serve.mjs reads it from the page).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { root, walkFiles } from './helpers.mjs';

const www = path.join(root, 'www');

test('the service worker caches every file of the app', () => {
  const sw = fs.readFileSync(path.join(www, 'sw.js'), 'utf8');
  const listed = new Set([...sw.match(/const ASSETS = \[([^\]]*)\]/s)[1].matchAll(/'([^']+)'/g)].map((m) => m[1]));
  const files = walkFiles(www).filter((f) => !f.startsWith('pkg/') || /^pkg\/(dicom_deid(_bg\.wasm|\.js)|text-(detection|reader)\.onnx|(charls|openjpeg)\.(mjs|wasm))$/.test(f));
  for (const f of files) assert.ok(listed.has(f), `${f} is not in sw.js ASSETS`);
  for (const f of listed) if (f !== './') assert.ok(files.includes(f), `sw.js lists ${f}, which does not exist`);
});

test('the README states the Content-Security-Policy of the page (the server reads it from the page)', () => {
  const html = fs.readFileSync(path.join(www, 'index.html'), 'utf8');
  const page = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)[1];
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  assert.ok(readme.includes(`\`Content-Security-Policy: ${page}\``), 'README states the page CSP');
});
