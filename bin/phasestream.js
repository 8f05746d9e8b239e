#!/usr/bin/env node
// The CLI runs the compiled JavaScript in dist/ (`npm run build`, run by `npm ci` and `npm install`
// through `prepare`); during development `npm run dev -- <args>` runs the TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'phasestream: not built yet (dist/ is missing)\n  run `npm run build`, or `npm run dev -- <args>` for the sources\n',
  );
  process.exit(70);
}
await import(main.href);
