import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { log } from '../log.ts';
import { fetchedModelDir, fetchOriginalModel } from './fetch.ts';

/** The model shipped in the repository: the default whenever no other model is configured. */
export const bundledModelDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../models/bundled');

/**
 * Which model directory to use: the one asked for, else the bundled model, else the original
 * weights in the cache, fetched once when they are not there yet.
 */
export async function resolveModelDir(requested?: string): Promise<string> {
  if (requested) return requested;
  for (const dir of [bundledModelDir, fetchedModelDir()]) if (existsSync(join(dir, 'card.json'))) return dir;
  log.info('no model given and none bundled or cached: fetching the original PhaseNet weights');
  return fetchOriginalModel();
}
