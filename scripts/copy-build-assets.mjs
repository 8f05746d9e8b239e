// `npm run build`: tsc compiles src/ to dist/; the files it does not compile are copied beside them
// (the live page's HTML and CSS, the plain-JavaScript worker bootstrap). An argument names another
// output folder (test/cli/package.test.ts builds into a temporary one).
import { copyFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = resolve(process.argv[2] ?? resolve(root, 'dist'));
for (const file of ['web/page/index.html', 'web/page/page.css', 'util/ts-worker-boot.mjs']) {
  copyFileSync(resolve(root, 'src', file), resolve(out, file));
}
