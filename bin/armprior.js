#!/usr/bin/env node
// The CLI runs from the build (npm ci builds it through the `prepare` script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'armprior: the build is missing; run `npm ci` (or `npm run build`) in the armprior folder first\n',
  );
  process.exit(1);
}
await import(entry.href);
