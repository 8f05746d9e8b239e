import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pageDir = join(dirname(fileURLToPath(import.meta.url)), 'page');

export interface PageAsset {
  contentType: string;
  body: string;
}

let assets: Promise<Map<string, PageAsset>> | undefined;

/**
 * The page's files by URL path. The script is bundled with seisplotjs by esbuild in memory, once per
 * process (about a second), from the installed packages: nothing is fetched, and there is no build
 * step to forget.
 */
export function pageAssets(): Promise<Map<string, PageAsset>> {
  assets ??= (async () => {
    const bundle = await build({
      entryPoints: [join(pageDir, 'app.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['chrome110', 'firefox110'],
      minify: true,
      write: false,
      logLevel: 'silent',
    });
    return new Map([
      [
        '/',
        {
          contentType: 'text/html; charset=utf-8',
          body: await readFile(join(pageDir, 'index.html'), 'utf8'),
        },
      ],
      [
        '/page.css',
        { contentType: 'text/css; charset=utf-8', body: await readFile(join(pageDir, 'page.css'), 'utf8') },
      ],
      ['/app.js', { contentType: 'text/javascript; charset=utf-8', body: bundle.outputFiles[0].text }],
    ]);
  })();
  return assets;
}
