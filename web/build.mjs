// Bundles the dashboard for the queuedaemon binary: src/main.js (preact,
// htm, uPlot) into app.js and src/app.css (with uPlot's stylesheet) into
// app.css, both minified, and src/index.html naming them, all into the folder
// given by --outdir. CMake runs it (core/CMakeLists.txt) and then embeds the
// three files (web/embed_assets.cmake). Prints the sizes, raw and gzipped.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const at = process.argv.indexOf('--outdir');
if (at < 0 || !process.argv[at + 1]) {
  console.error('usage: node build.mjs --outdir DIR');
  process.exit(2);
}
const outdir = process.argv[at + 1];
mkdirSync(outdir, { recursive: true });

await build({
  entryPoints: { app: join(here, 'src/main.js') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  outdir,
  legalComments: 'none',
  logLevel: 'warning',
});
await build({
  entryPoints: { app: join(here, 'src/app.css') },
  bundle: true,
  minify: true,
  outdir,
  logLevel: 'warning',
});
// index.html names each asset with its content's hash (app.js?v=HASH):
// the assets are then cached for good (ServeDashboard sends them immutable)
// and a new binary's page still loads its own.
let page = readFileSync(join(here, 'src/index.html'), 'utf8');
for (const name of ['app.js', 'app.css']) {
  const hash = createHash('sha256').update(readFileSync(join(outdir, name))).digest('hex');
  page = page.replace(`/assets/${name}"`, `/assets/${name}?v=${hash.slice(0, 16)}"`);
}
writeFileSync(join(outdir, 'index.html'), page);

let raw = 0;
let gz = 0;
for (const name of ['index.html', 'app.js', 'app.css']) {
  const bytes = readFileSync(join(outdir, name));
  raw += bytes.length;
  gz += gzipSync(bytes, { level: 9 }).length;
}
console.log(`dashboard bundle: ${raw} bytes, ${gz} gzipped`);
