import { readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pageDir = join(dirname(fileURLToPath(import.meta.url)), 'page');

export interface PageAsset {
  contentType: string;
  body: string;
}

let script: Promise<string> | undefined;

/**
 * The page's files by URL path, the page told where the rebroadcast's WebSocket is (`wsPath`). The
 * script is bundled with seisplotjs by esbuild in memory, once per process (half a second), from the
 * installed packages: nothing is fetched, and there is no build step to forget.
 */
export async function pageAssets(wsPath: string): Promise<Map<string, PageAsset>> {
  script ??= build({
    // The TypeScript source, or its compiled form in the package.
    entryPoints: [join(pageDir, `app${extname(fileURLToPath(import.meta.url))}`)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110'],
    minify: true,
    write: false,
    logLevel: 'silent',
  }).then((bundle) => bundle.outputFiles[0].text);
  const html = (await readFile(join(pageDir, 'index.html'), 'utf8')).replace(
    '<meta name="phasestream-ws" content="/ws" />',
    `<meta name="phasestream-ws" content="${encodeURI(wsPath)}" />`,
  );
  const css = await readFile(join(pageDir, 'page.css'), 'utf8');
  return new Map([
    ['/', { contentType: 'text/html; charset=utf-8', body: html }],
    ['/page.css', { contentType: 'text/css; charset=utf-8', body: css }],
    ['/app.js', { contentType: 'text/javascript; charset=utf-8', body: await script }],
  ]);
}
