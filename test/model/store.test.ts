import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import t from 'tap';
import { ModelFormatError } from '../../src/errors.ts';
import type { LoadedModel, ModelCard } from '../../src/model/card.ts';
import { originalCard } from '../../src/model/original.ts';
import { ORIGINAL_ARCHITECTURE } from '../../src/model/phasenet/architecture.ts';
import { phasenetLayersModel } from '../../src/model/phasenet/layers-model.ts';
import { randomPhaseNetWeights } from '../../src/model/phasenet/random-weights.ts';
import { loadModelDir, modelDirHandler, saveModelDir } from '../../src/model/store.ts';
import { maxAbsDiff } from '../helpers/golden.ts';

await tf.setBackend('cpu');
tf.enableProdMode();

const card: ModelCard = originalCard(ORIGINAL_ARCHITECTURE, 'random weights for a test');
const model: LoadedModel = { card, weights: randomPhaseNetWeights(ORIGINAL_ARCHITECTURE, 4) };

async function tempDir(t: { teardown: (fn: () => unknown) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'phasestream-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('save then load gives back the card and every weight bit for bit', async (t) => {
  const dir = join(await tempDir(t), 'model');
  await saveModelDir(dir, model);
  const loaded = await loadModelDir(dir);
  t.same(loaded.card, card);
  t.equal(loaded.weights.size, model.weights.size);
  for (const [name, w] of model.weights) {
    const back = loaded.weights.get(name);
    t.same(back?.shape, w.shape, `${name}: shape`);
    t.ok(back && Buffer.from(back.values.buffer).equals(Buffer.from(w.values.buffer)), `${name}: values`);
  }
  const modelJson = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
  t.equal(modelJson.format, 'layers-model');
  t.same(
    modelJson.weightsManifest
      .flatMap((g: { weights: { name: string }[] }) => g.weights.map((w) => w.name))
      .sort(),
    [...model.weights.keys()].sort(),
    'the manifest names the canonical weights',
  );
});

t.test('model.json loads with tf.loadLayersModel and computes what the weights compute', async (t) => {
  const dir = await tempDir(t);
  await saveModelDir(dir, model);
  const fromDir = await loadLayersModel(modelDirHandler(dir));
  const direct = phasenetLayersModel(ORIGINAL_ARCHITECTURE, model.weights);
  const input = tf.tensor3d(
    Float32Array.from({ length: 2 * 400 * 3 }, (_, i) => Math.sin(i * 0.05) * 3),
    [2, 400, 3],
  );
  const a = tf.tidy(() => (fromDir.predict(input) as tf.Tensor).dataSync() as Float32Array);
  const b = tf.tidy(() => (direct.predict(input) as tf.Tensor).dataSync() as Float32Array);
  t.equal(maxAbsDiff(a, b), 0);
  tf.dispose(input);
  fromDir.dispose();
  direct.dispose();
});

t.test('a broken model directory is a ModelFormatError saying what is wrong', async (t) => {
  const base = await tempDir(t);
  await t.rejects(loadModelDir(join(base, 'nowhere')), {
    name: 'ModelFormatError',
    message: /does not exist/,
  });

  const dir = join(base, 'model');
  await saveModelDir(dir, model);
  const cardText = await readFile(join(dir, 'card.json'), 'utf8');
  const bytes = await readFile(join(dir, 'weights.bin'));

  await rm(join(dir, 'card.json'));
  await t.rejects(loadModelDir(dir), { name: 'ModelFormatError', message: /cannot read the model card/ });

  await writeFile(join(dir, 'card.json'), '{ "format": ');
  await t.rejects(loadModelDir(dir), { name: 'ModelFormatError', message: /not valid JSON/ });

  await writeFile(join(dir, 'card.json'), JSON.stringify({ ...card, samplingRate: -100 }));
  await t.rejects(loadModelDir(dir), { name: 'ModelFormatError', message: /samplingRate/ });

  const otherArchitecture = { ...card, architecture: { ...card.architecture, rootFilters: 16 } };
  await writeFile(join(dir, 'card.json'), JSON.stringify(otherArchitecture));
  await t.rejects(loadModelDir(dir), {
    name: 'ModelFormatError',
    message: /do not fit its card's architecture/,
  });

  await writeFile(join(dir, 'card.json'), cardText);
  await writeFile(join(dir, 'weights.bin'), bytes.subarray(0, bytes.length - 8));
  await t.rejects(loadModelDir(dir), { name: 'ModelFormatError', message: /weights/ });

  await rm(join(dir, 'weights.bin'));
  await t.rejects(loadModelDir(dir), { name: 'ModelFormatError', message: /cannot read weights/ });

  await rm(join(dir, 'model.json'));
  await t.rejects(loadModelDir(dir), { name: 'ModelFormatError', message: /cannot read the tfjs model/ });
});

t.test('saving refuses a bad card or weights that do not fit', async (t) => {
  const dir = await tempDir(t);
  await t.rejects(saveModelDir(dir, { ...model, card: { ...card, windowLength: 0 } }), ModelFormatError);
  const missing = new Map(model.weights);
  missing.delete('output_conv/bias');
  await t.rejects(saveModelDir(dir, { card, weights: missing }), {
    name: 'ModelFormatError',
    message: /output_conv\/bias/,
  });
});
