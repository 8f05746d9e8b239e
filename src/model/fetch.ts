import { createHash } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FetchError, UsageError } from '../errors.ts';
import { log } from '../log.ts';
import { importPhaseNetCheckpoint } from './checkpoint/import-phasenet.ts';
import { ORIGINAL_SOURCE, originalCard, originalFileUrl, readLicenceBeside } from './original.ts';
import { saveModelDir } from './store.ts';

/** The user's cache directory for PhaseStream (XDG on Linux, overridable by PHASESTREAM_CACHE_DIR). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PHASESTREAM_CACHE_DIR) return env.PHASESTREAM_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'phasestream');
}

/**
 * Downloads `url` to `path` and checks its sha256 before it takes the final name, so a cache never
 * holds a partial or altered file.
 */
export async function downloadVerified(url: string, path: string, sha256: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow' });
  } catch (error) {
    throw new FetchError(`cannot download ${url}: ${(error as Error).message}`, {
      hint: 'Check the network, or download the files by hand and run `phasestream model import`.',
      cause: error,
    });
  }
  if (!response.ok) {
    throw new FetchError(`cannot download ${url}: HTTP ${response.status} ${response.statusText}`, {
      hint: 'The pinned file may have moved; download it by hand and run `phasestream model import`.',
    });
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) {
    throw new FetchError(`${url} has sha256 ${actual}, expected ${sha256}: refusing the download`, {
      hint: 'The file was altered or truncated on the way; try again, or use a trusted mirror with --base-url.',
    });
  }
  const partial = `${path}.partial-${process.pid}`;
  await writeFile(partial, bytes);
  await rename(partial, path);
  log.info({ url, path, bytes: bytes.length }, 'downloaded');
}

/** Downloads every file of `files` (name → sha256) from `urlOf(name)` into `dir`. */
export async function downloadAll(
  dir: string,
  files: Record<string, string>,
  urlOf: (name: string) => string,
): Promise<void> {
  if (!dir) throw new UsageError('no directory to download into');
  await mkdir(dir, { recursive: true });
  try {
    for (const [name, sha256] of Object.entries(files))
      await downloadVerified(urlOf(name), join(dir, name), sha256);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Where a fetched model lives in the cache. */
export const fetchedModelDir = (root = cacheDir()) => join(root, 'models', ORIGINAL_SOURCE.name);

/**
 * Downloads the original PhaseNet checkpoint (pinned commit, sha256 checked), imports it and caches
 * the model directory; returns it. `baseUrl` (or PHASESTREAM_MODEL_BASE_URL) serves a mirror laid
 * out as GitHub's raw files.
 */
export async function fetchOriginalModel(
  options: { cacheRoot?: string; baseUrl?: string } = {},
): Promise<string> {
  const root = options.cacheRoot ?? cacheDir();
  const baseUrl = options.baseUrl ?? process.env.PHASESTREAM_MODEL_BASE_URL ?? ORIGINAL_SOURCE.defaultBaseUrl;
  const checkpointDir = join(root, 'checkpoints', ORIGINAL_SOURCE.name, ORIGINAL_SOURCE.commit);
  await downloadAll(checkpointDir, ORIGINAL_SOURCE.files, (file) => originalFileUrl(baseUrl, file));
  const prefix = join(checkpointDir, ORIGINAL_SOURCE.checkpoint);
  const { architecture, weights } = await importPhaseNetCheckpoint(prefix);
  const out = fetchedModelDir(root);
  const card = originalCard(architecture, originalFileUrl(baseUrl, ''), await readLicenceBeside(prefix));
  await saveModelDir(out, { card, weights });
  log.info({ out }, 'original PhaseNet fetched and imported');
  return out;
}
