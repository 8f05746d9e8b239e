import t from 'tap';
import {
  benchRows,
  type EngineMeasurement,
  formatTable,
  measurementPlan,
  measureRate,
  median,
  summarise,
} from '../../bench/measure.ts';

/** A clock that only moves when the step says so: every call takes `ms`. */
function steppedClock(ms: number, unitsPerCall: number) {
  let now = 0;
  let calls = 0;
  return {
    now: () => now,
    step: async () => {
      now += ms;
      calls++;
      return unitsPerCall;
    },
    calls: () => calls,
  };
}

t.test('measureRate gives units over elapsed time, calling until the time is spent', async (t) => {
  const clock = steppedClock(10, 4);
  t.equal(await measureRate(clock.step, { seconds: 0.2, now: clock.now }), 400);
  t.equal(clock.calls(), 20);
});

t.test('measureRate runs at least minCalls, and a slow step once', async (t) => {
  const slow = steppedClock(1500, 8);
  t.equal(await measureRate(slow.step, { seconds: 1, now: slow.now }), 8 / 1.5);
  t.equal(slow.calls(), 1);
  const warmup = steppedClock(10, 1);
  await measureRate(warmup.step, { seconds: 0.01, minCalls: 3, now: warmup.now });
  t.equal(warmup.calls(), 3);
});

t.test('measurementPlan: batches in order, engines taking turns and rotating each round', async (t) => {
  const plan = measurementPlan({ onnxruntime: [32, 1, 8], 'tfjs-cpu': [1, 8], pytorch: [1, 8, 32] }, 3);
  t.same(
    plan.map((p) => p.batch),
    [1, 8, 32],
  );
  t.same(plan[0].rounds, [
    ['onnxruntime', 'tfjs-cpu', 'pytorch'],
    ['tfjs-cpu', 'pytorch', 'onnxruntime'],
    ['pytorch', 'onnxruntime', 'tfjs-cpu'],
  ]);
  t.same(plan[2].rounds, [
    ['onnxruntime', 'pytorch'],
    ['pytorch', 'onnxruntime'],
    ['onnxruntime', 'pytorch'],
  ]);
});

t.test('median and spread', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5);
  t.throws(() => median([]), RangeError);
  const s = summarise([90, 100, 110, 100, 105]);
  t.equal(s.median, 100);
  t.equal(s.spread, 0.2);
  t.equal(s.best, 110);
  t.same(s.samples, [90, 100, 110, 100, 105]);
});

const measurement = (engine: string, rates: Record<number, number[]>, peak: number[]): EngineMeasurement => ({
  engine,
  detail: engine,
  threads: 2,
  runs: Object.entries(rates).map(([batch, windowsPerS]) => ({ batch: Number(batch), windowsPerS })),
  peak: { matrixSize: 1024, gflops: peak, via: 'an ONNX MatMul' },
});

t.test(
  'benchRows derives GFLOP/s, the fraction of peak and the ratio to PyTorch at the same batch',
  async (t) => {
    const rows = benchRows(
      [
        measurement('onnxruntime', { 1: [900, 1000, 1100], 32: [2000, 2100, 1900] }, [80, 100, 90]),
        measurement('pytorch', { 1: [200, 250, 300], 8: [400] }, [50]),
      ],
      40e6,
    );
    t.equal(rows.length, 4);
    const [onnx1, onnx32, torch1] = rows;
    t.match(onnx1, { engine: 'onnxruntime', batch: 1, gflops: 40, peakGflops: 90, ratioToPytorch: 4 });
    t.equal(onnx1.fractionOfPeak, 40 / 90);
    t.equal(onnx32.gflops, 80);
    t.notOk('ratioToPytorch' in onnx32, 'no PyTorch run at batch 32');
    t.equal(torch1.ratioToPytorch, 1);
    t.equal(torch1.fractionOfPeak, 10 / 50);
  },
);

t.test('benchRows without PyTorch gives no ratios', async (t) => {
  const rows = benchRows([measurement('tfjs-wasm', { 8: [400] }, [20])], 40e6);
  t.equal(rows.length, 1);
  t.equal(rows[0].ratioToPytorch, undefined);
  t.equal(rows[0].fractionOfPeak, 0.8);
});

t.test('formatTable aligns every column under its header', async (t) => {
  const rows = benchRows(
    [
      measurement('onnxruntime', { 32: [2345.6, 2400, 2300] }, [95.5]),
      measurement('pytorch', { 32: [160] }, [4.2]),
    ],
    38.9e6,
  );
  const lines = formatTable(rows).split('\n');
  t.equal(lines.length, 4);
  t.match(
    lines[0],
    /^engine\s+batch\s+windows\/s\s+spread\s+best\s+GFLOP\/s\s+peak GFLOP\/s\s+of peak\s+x PyTorch$/,
  );
  t.equal(new Set(lines.map((l) => l.length)).size, 1, 'all lines equally wide');
  t.match(lines[2], /^onnxruntime\s+32\s+2,346\s+4\.3 %\s+2,400\s+91\.2\s+95\.5\s+96 %\s+14\.66$/);
  t.match(lines[3], /^pytorch\s+32\s+160\s+0\.0 %\s+160\s+6\.22\s+4\.20\s+148 %\s+1\.00$/);
});
