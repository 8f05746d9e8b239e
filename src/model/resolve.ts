import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelFormatError } from '../errors.ts';
import { cacheDir } from './fetch.ts';

/** The model shipped in the repository: the default whenever no other model is configured. */
export const bundledModelDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../models/bundled');

/**
 * Which model directory to use: the one asked for, else the bundled model, else the original
 * weights fetched into the cache.
 */
export function resolveModelDir(requested?: string): string {
  if (requested) return requested;
  const candidates = [bundledModelDir, join(cacheDir(), 'models', 'phasenet-original')];
  const found = candidates.find((dir) => existsSync(join(dir, 'card.json')));
  if (!found) {
    throw new ModelFormatError(`no model given, and none found in ${candidates.join(' or ')}`, {
      hint: 'Pass --model <dir>, or run `phasestream model fetch phasenet-original` once.',
    });
  }
  return found;
}
