import { concatMap, from, lastValueFrom, toArray } from 'rxjs';
import t from 'tap';
import { goldenSamples } from '../../test/helpers/golden.ts';
import { originalModel } from '../../test/helpers/original-model.ts';
import { skipUnlessShared } from '../../test/helpers/shared.ts';
import type { InferenceEngine } from '../engine/engine.ts';
import { createOnnxEngine } from '../engine/onnx/onnx-engine.ts';
import { createWorkerEngine } from '../engine/worker-engine.ts';
import { timeUsFromIndex } from '../stream/grid.ts';
import type { StationWindow } from '../stream/types.ts';
import { float32Pool } from '../util/array-pool.ts';
import { pickPhases } from './pick-phases.ts';

const skip =
  skipUnlessShared('golden', 'phasenet-original') || skipUnlessShared('models', 'phasenet-original');

t.test(
  'batches of golden windows give the original picks, station by station, then complete',
  { skip },
  async (t) => {
    const model = await originalModel();
    const engine = await createOnnxEngine(model, { threads: 2 });
    t.teardown(() => engine.dispose());
    const golden = goldenSamples().filter((g) => g.length === 3000);
    // Station A gets g0 at index 100_000; station B gets g2 then, later, g3 (a new segment after a gap).
    const window = (station: string, g: (typeof golden)[number], startIndex: number): StationWindow => ({
      station: { network: 'XX', station, location: '', channelPrefix: 'HH' },
      samplingRate: 100,
      startIndex,
      length: 3000,
      components: ['E', 'N', 'Z'],
      data: g.input,
      endOfSegment: true,
      receivedAtMs: 0,
    });
    const [g0, , g2, g3] = golden;
    const batches = [[window('A', g0, 100_000), window('B', g2, 200_000)], [window('B', g3, 300_000)]];
    let inferred = 0;
    const picks = await lastValueFrom(
      from(batches).pipe(
        pickPhases(engine, {
          pickerOptions: () => ({
            classes: ['noise', 'P', 'S'],
            minPeakHeight: { P: 0.5, S: 0.5 },
            minPeakDistanceSamples: 50,
          }),
          onBatch: ({ windows }) => {
            inferred += windows;
          },
        }),
        toArray(),
      ),
    );
    const expected = [
      ['A', g0, 100_000],
      ['B', g2, 200_000],
      ['B', g3, 300_000],
    ].flatMap(([station, g, start]) => {
      const s = g as (typeof golden)[number];
      return [
        ...s.pPicks!.map((i) => ({ station, phase: 'P', index: (start as number) + i })),
        ...s.sPicks!.map((i) => ({ station, phase: 'S', index: (start as number) + i })),
      ].sort((a, b) => a.index - b.index);
    });
    t.same(
      picks.map((p) => ({ station: p.station, phase: p.phase, timeUs: p.timeUs })),
      expected.map((e) => ({ station: e.station, phase: e.phase, timeUs: timeUsFromIndex(e.index, 100) })),
    );
    t.equal(inferred, 3, 'every window ran through the network once');
    t.ok(picks.every((p) => p.model === 'phasenet-original' && p.channel === 'HH' && p.probability >= 0.5));
  },
);

t.test(
  'with an engine thread, a batch and its probabilities lie in shared memory that carries the next batch, of any size',
  { skip },
  async (t) => {
    const model = await originalModel();
    const thread = await createWorkerEngine(model, { engine: 'onnxruntime', backend: 'auto', threads: 1 });
    const local = await createOnnxEngine(model, { threads: 1 });
    t.teardown(() => Promise.all([thread.dispose(), local.dispose()]));
    const golden = goldenSamples().filter((g) => g.length === 3000);
    // Each batch: two stations' windows of one golden record (every other batch one station's), a later
    // record of the same stations after it.
    const batches = golden.slice(0, 4).map((g, b) =>
      (b % 2 === 0 ? ['A', 'B'] : ['A']).map(
        (station): StationWindow => ({
          station: { network: 'XX', station, location: '', channelPrefix: 'HH' },
          samplingRate: 100,
          startIndex: b * 100_000,
          length: 3000,
          components: ['E', 'N', 'Z'],
          data: g.input,
          endOfSegment: true,
          receivedAtMs: 0,
        }),
      ),
    );
    const sent: Float32Array[] = [];
    const probsGiven: (Float32Array | undefined)[] = [];
    const probsInGiven: boolean[] = [];
    let ran = 0;
    // The engine thread as it is, with the arrays that go in and come back noted.
    const noted: InferenceEngine = {
      name: thread.name,
      card: thread.card,
      sharedMemory: thread.sharedMemory,
      run: async (input, batch, length, options) => {
        sent.push(input);
        probsGiven.push(options?.probsInto);
        const result = await thread.run(input, batch, length, options);
        ran++;
        probsInGiven.push(result.probs.buffer === options?.probsInto?.buffer);
        return result;
      },
      dispose: () => thread.dispose(),
    };
    // Each batch comes once the one before has run (an archive gated on the picker).
    const arrived = async (batch: StationWindow[], i: number) => {
      while (ran < i) await new Promise((resolve) => setTimeout(resolve, 5));
      return batch;
    };
    const picksWith = (engine: InferenceEngine) =>
      lastValueFrom(
        from(batches).pipe(
          concatMap((batch, i) => (engine === noted ? arrived(batch, i) : [batch])),
          pickPhases(engine, {
            pickerOptions: () => ({
              classes: ['noise', 'P', 'S'],
              minPeakHeight: { P: 0.3, S: 0.3 },
              minPeakDistanceSamples: 50,
            }),
            ...(engine === noted ? { windowData } : {}),
          }),
          toArray(),
        ),
      );
    const windowData = float32Pool(16);
    const [viaThread, inProcess] = [await picksWith(noted), await picksWith(local)];
    // An array the pool did not make serves lengths a size class below its own (src/util/array-pool.ts).
    const given = [windowData.take(8500), windowData.take(8500)];
    t.ok(
      given.every((array) => batches.some((batch) => batch.some((w) => w.data.buffer === array.buffer))),
      'the windows went back to the pool once read',
    );
    t.ok(inProcess.length > 0, 'the records have picks');
    t.same(viaThread, inProcess, 'the same picks as an engine that takes no buffers');
    t.ok(
      sent.every((input) => input.buffer instanceof SharedArrayBuffer && input.byteOffset === 0),
      'each batch was filled into the start of shared memory',
    );
    t.ok(
      sent.slice(1).every((input, i) => input.buffer === sent[i].buffer),
      'each later batch into the buffer of the one before, once that had run',
    );
    t.same(
      probsInGiven,
      batches.map(() => true),
      'the probabilities came in shared memory given for them',
    );
    t.ok(
      probsGiven.slice(1).every((into, i) => into?.buffer === probsGiven[i]?.buffer),
      'each later batch got the buffer of the probabilities before it, once they were stitched',
    );
  },
);
