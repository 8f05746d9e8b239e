import { from, lastValueFrom, toArray } from 'rxjs';
import t from 'tap';
import { goldenSamples } from '../../test/helpers/golden.ts';
import { originalModel } from '../../test/helpers/original-model.ts';
import { skipUnlessShared } from '../../test/helpers/shared.ts';
import type { InferenceEngine } from '../engine/engine.ts';
import { createOnnxEngine } from '../engine/onnx/onnx-engine.ts';
import { createWorkerEngine } from '../engine/worker-engine.ts';
import { timeUsFromIndex } from '../stream/grid.ts';
import type { StationWindow } from '../stream/types.ts';
import { type Float32Pool, float32Pool } from '../util/array-pool.ts';
import { pickLiveEdge } from './pick-live-edge.ts';

const skip =
  skipUnlessShared('golden', 'phasenet-original') || skipUnlessShared('models', 'phasenet-original');

/** A golden record's window of `station` at `startIndex`. */
const goldenWindow = (input: Float32Array, station: string, startIndex = 100_000): StationWindow => ({
  station: { network: 'XX', station, location: '', channelPrefix: 'HH' },
  samplingRate: 100,
  startIndex,
  length: 3000,
  components: ['E', 'N', 'Z'],
  data: input,
  endOfSegment: false,
  receivedAtMs: 0,
});

/** Every peak of the window searched, at the original's 0.5. */
const peakOptions = () => ({
  classes: ['noise', 'P', 'S'],
  minPeakHeight: { P: 0.5, S: 0.5 },
  minPeakDistanceSamples: 50,
  guardSamples: 0,
  lookbackSamples: 3000,
  minProvisionalHeight: 0.5,
});

t.test(
  'edge windows give the original picks as provisional, each once, then complete',
  { skip },
  async (t) => {
    const engine = await createOnnxEngine(await originalModel(), { threads: 2 });
    t.teardown(() => engine.dispose());
    const [g0] = goldenSamples().filter((g) => g.length === 3000);
    let completed = false;
    // The same window twice: its peaks are given by the first only.
    const picks = await lastValueFrom(
      from([[goldenWindow(g0.input, 'A')], [goldenWindow(g0.input, 'A')]]).pipe(
        pickLiveEdge(engine, {
          peakOptions,
        }),
        toArray(),
      ),
    ).finally(() => {
      completed = true;
    });
    const expected = [
      ...g0.pPicks!.map((i) => ({ phase: 'P', index: 100_000 + i })),
      ...g0.sPicks!.map((i) => ({ phase: 'S', index: 100_000 + i })),
    ].sort((a, b) => a.index - b.index);
    t.ok(expected.length > 0);
    t.same(
      picks.map((p) => [p.phase, p.timeUs, p.status]),
      expected.map((e) => [e.phase, timeUsFromIndex(e.index, 100), 'provisional']),
    );
    t.ok(completed);
  },
);

t.test(
  'a batch goes to the engine as it comes, not after the last one is out; picks in batch order; a third waits for none',
  { skip },
  async (t) => {
    const engine = await createOnnxEngine(await originalModel(), { threads: 2 });
    t.teardown(() => engine.dispose());
    const [g0] = goldenSamples().filter((g) => g.length === 3000);
    const steps: string[] = [];
    let secondCame = () => {};
    const second = new Promise<void>((resolve) => {
      secondCame = resolve;
    });
    // The first batch's inference ends only once the second batch reached the engine (or after 2 s).
    const held: InferenceEngine = {
      ...engine,
      run: async (input, batch, length, options) => {
        const n = steps.filter((s) => s.startsWith('run')).length + 1;
        steps.push(`run ${n}`);
        if (n === 2) secondCame();
        const result = await engine.run(input, batch, length, options);
        if (n === 1) await Promise.race([second, new Promise((resolve) => setTimeout(resolve, 2000))]);
        steps.push(`done ${n}`);
        return result;
      },
    };
    const inFlight: number[] = [];
    const skipped: number[] = [];
    const pool = float32Pool(8);
    const given: Float32Array[] = [];
    const windowData = { take: pool.take, give: (data: Float32Array) => given.push(data) };
    const windows = ['A', 'B', 'C'].map((station) => goldenWindow(g0.input.slice(), station));
    const picks = await lastValueFrom(
      from(windows.map((w) => [w])).pipe(
        pickLiveEdge(held, {
          peakOptions,
          onInFlight: (batches) => inFlight.push(batches),
          onSkipped: (windows) => skipped.push(windows),
          windowData,
        }),
        toArray(),
      ),
    );
    t.same(steps.slice(0, 2), ['run 1', 'run 2'], 'the second batch went in while the first ran');
    const stations = picks.map((p) => p.station);
    t.ok(stations.length > 2 && stations.lastIndexOf('A') < stations.indexOf('B'), "A's picks, then B's");
    t.notOk(stations.includes('C'), 'the third batch came with two in flight: skipped');
    t.same(skipped, [1]);
    t.same(inFlight, [1, 2, 1, 0], 'each change of the batches in flight told');
    t.same(
      given.map((data) => windows.findIndex((w) => w.data === data)),
      [0, 1, 2],
      "every window's data given back: A's and B's once in their batch, C's skipped",
    );
  },
);

t.test(
  "with an engine thread, a window's data are in the batch before they go back to be filled again",
  { skip },
  async (t) => {
    const engine = await createWorkerEngine(await originalModel(), {
      engine: 'onnxruntime',
      backend: 'auto',
      threads: 1,
    });
    t.teardown(() => engine.dispose());
    const samples = goldenSamples().filter((g) => g.length === 3000);
    // Each batch two stations' windows, each station's at a later start than its last.
    const batches = () =>
      samples
        .slice(0, 3)
        .map((g, b) =>
          ['A', 'B'].map((station) => goldenWindow(g.input.slice(), station, 100_000 + b * 10_000)),
        );
    const picksOf = (windowData?: Float32Pool) =>
      lastValueFrom(from(batches()).pipe(pickLiveEdge(engine, { peakOptions, windowData }), toArray()));
    const given: Float32Array[] = [];
    // A pool that fills a window's data with the next at once: here, zeros.
    const overwriting = float32Pool(8);
    const refill: Float32Pool = {
      take: overwriting.take,
      give: (data) => {
        given.push(data);
        overwriting.give(data.fill(0));
      },
    };
    const kept = await picksOf();
    const refilled = await picksOf(refill);
    t.ok(kept.length > 0, 'the records have picks');
    t.equal(given.length, 6, "every window's data went back");
    t.same(refilled, kept, 'the same picks as when the data are never filled again');
  },
);
