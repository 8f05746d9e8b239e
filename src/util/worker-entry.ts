import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The URL of worker module `name` (no extension) beside the module at `base` (its import.meta.url):
 * `.ts` when running from the sources (tests, development), `.js` from the compiled package. Start it
 * through src/util/ts-worker-boot.mjs, which registers the TypeScript loader only for `.ts`.
 */
export function workerEntry(name: string, base: string): string {
  return new URL(`./${name}${extname(fileURLToPath(base))}`, base).href;
}
