// Builds the viewer page (`armprior view`, issue #6) into dist/viewer: src/viewer/page/main.ts
// bundled with three.js by esbuild into one ES module, plus index.html and style.css. Everything
// the page loads comes from the package, so it works offline (no CDN).
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const page = join(root, 'src', 'viewer', 'page');
const out = join(root, 'dist', 'viewer');
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [join(page, 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  // three.js's licence stays in the bundle; no source map, to keep the package small.
  legalComments: 'eof',
  logLevel: 'warning',
  tsconfig: join(page, 'tsconfig.json'),
});
for (const file of ['index.html', 'style.css']) copyFileSync(join(page, file), join(out, file));
