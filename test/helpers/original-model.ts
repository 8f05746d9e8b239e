import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadedModel } from '../../src/model/card.ts';
import { importPhaseNetCheckpoint } from '../../src/model/checkpoint/import-phasenet.ts';
import { originalCard } from '../../src/model/original.ts';
import { saveModelDir } from '../../src/model/store.ts';
import { sharedPath } from './shared.ts';

export const originalCheckpoint = sharedPath('models', 'phasenet-original', 'model_95.ckpt');

/** The original weights imported from the shared checkpoint. */
export async function originalModel(): Promise<LoadedModel> {
  const { architecture, weights } = await importPhaseNetCheckpoint(originalCheckpoint);
  return { card: originalCard(architecture, 'test import of the shared checkpoint'), weights };
}

/**
 * A model directory of the original weights for CLI tests, imported once per test run into the
 * temporary directory (the import is what `model import` does, tested on its own).
 */
export async function originalModelDir(): Promise<string> {
  const dir = join(tmpdir(), `phasestream-test-original-${process.ppid}`);
  if (!existsSync(join(dir, 'card.json'))) await saveModelDir(dir, await originalModel());
  return dir;
}
