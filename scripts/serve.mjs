// A static file server for www/ on 127.0.0.1, with the page's Content-Security-Policy.
// Usage: node scripts/serve.mjs [root] [port]   (PORT env also honoured; 0 picks a free port)
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import url from 'node:url';

const here = path.dirname(url.fileURLToPath(import.meta.url));
const root = path.resolve(process.argv[2] || path.join(here, '..', 'www'));
const port = Number(process.argv[3] ?? process.env.PORT ?? 8080);
// The page's own policy (one source: the meta tag in index.html), plus what only a header can say.
const page = fs.readFileSync(path.join(here, '..', 'www', 'index.html'), 'utf8');
export const CSP = `${/http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(page)[1]}; frame-ancestors 'none'`;
const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.webmanifest': 'application/manifest+json',
};

const server = http.createServer((req, res) => {
  const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  let file = path.join(root, rel);
  if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
  fs.readFile(file, (err, data) => {
    if (err) { res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found'); return; }
    res.writeHead(200, {
      'Content-Type': types[path.extname(file)] || 'application/octet-stream',
      'Content-Security-Policy': CSP,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
    res.end(data);
  });
});
server.listen(port, '127.0.0.1', () => {
  const { port: p } = server.address();
  console.log(`serving ${root} on http://127.0.0.1:${p}/`);
});
