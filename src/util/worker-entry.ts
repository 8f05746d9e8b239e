import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { logFormat } from '../log.ts';

/**
 * The URL of worker module `name` (no extension) beside the module at `base` (its import.meta.url):
 * `.ts` when running from the sources (tests, development), `.js` from the compiled package. Start it
 * through src/util/ts-worker-boot.mjs, which registers the TypeScript loader only for `.ts`.
 */
export function workerEntry(name: string, base: string): string {
  return new URL(`./${name}${extname(fileURLToPath(base))}`, base).href;
}

/**
 * The environment of a worker thread: this one's, with the log format this thread chose. A worker's
 * stderr is a pipe to this thread, never a TTY, so on its own it would log JSON under a pretty terminal.
 */
export function workerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PHASESTREAM_LOG_FORMAT: logFormat };
}
