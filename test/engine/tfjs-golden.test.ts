import t from 'tap';
import { createTfjsEngine, type TfjsBackendName } from '../../src/engine/tfjs/tfjs-engine.ts';
import { log } from '../../src/log.ts';
import type { LoadedModel, ModelCard } from '../../src/model/card.ts';
import { importPhaseNetCheckpoint } from '../../src/model/checkpoint/import-phasenet.ts';
import { goldenSamples, maxAbsDiff } from '../helpers/golden.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

log.level = 'silent';

const skip =
  skipUnlessShared('golden', 'phasenet-original') || skipUnlessShared('models', 'phasenet-original');

async function originalModel(): Promise<LoadedModel> {
  const { architecture, weights } = await importPhaseNetCheckpoint(
    sharedPath('models', 'phasenet-original', 'model_95.ckpt'),
  );
  // The engine reads the architecture from the card.
  return { card: { name: 'phasenet-original', architecture } as ModelCard, weights };
}

// The cpu backend runs ~11 windows/s: one window of 3000 samples and the odd-length extra there,
// every sample on wasm.
const plans: [TfjsBackendName, (id: string) => boolean][] = [
  ['wasm', () => true],
  ['cpu', (id) => id === 'g0' || id === 'extra_T3001'],
];

for (const [backend, include] of plans) {
  t.test(`the fast engine reproduces the original PhaseNet on ${backend}`, { skip }, async (t) => {
    const engine = await createTfjsEngine(await originalModel(), { backend });
    const samples = goldenSamples().filter((s) => include(s.id));
    t.ok(
      samples.some((s) => s.length === 3001),
      'the odd-length extra is among them',
    );
    for (const sample of samples) {
      const { probs, logits } = await engine.run(sample.input, 1, sample.length, { withLogits: true });
      const dprob = maxAbsDiff(probs, sample.probs);
      t.ok(dprob <= 1e-5, `${sample.id} (${sample.length} samples): max |dprob| ${dprob.toExponential(2)}`);
      if (sample.logits) {
        const dlogit = maxAbsDiff(logits!, sample.logits);
        t.ok(dlogit <= 1e-4, `${sample.id}: max |dlogit| ${dlogit.toExponential(2)}`);
      }
    }
    await engine.dispose();
  });
}
