import t from 'tap';
import type { StationBlock } from '../stream/types.ts';
import {
  createLiveEdge,
  type EdgePeakOptions,
  edgePeaks,
  type LiveEdgeOptions,
  pushEdgeBlock,
} from './live-edge.ts';

const station = { network: 'XX', station: 'A', location: '', channelPrefix: 'HH' };
/** Deterministic small noise with an optional burst (10x) over [burstAt, burstEnd), 3 components. */
function samples(
  startIndex: number,
  length: number,
  burstAt = Number.POSITIVE_INFINITY,
  burstEnd = Number.POSITIVE_INFINITY,
): Float32Array {
  const data = new Float32Array(length * 3);
  for (let i = 0; i < length; i++) {
    const n = startIndex + i;
    for (let c = 0; c < 3; c++) {
      const noise = Math.sin(n * 12.9898 + c * 78.233) * 43758.5453;
      data[i * 3 + c] = 1000 + (noise - Math.floor(noise) - 0.5) * (n >= burstAt && n < burstEnd ? 10 : 1);
    }
  }
  return data;
}
/** A lane with the STA/LTA trigger on: one window a second while a burst is held. */
const triggered: LiveEdgeOptions = {
  length: 3000,
  strideSamples: 100,
  trigger: { staSamples: 100, ratio: 3, holdSamples: 1000 },
};

const block = (
  startIndex: number,
  length: number,
  burstAt?: number,
  endOfSegment = false,
  burstEnd?: number,
): StationBlock => ({
  station,
  samplingRate: 100,
  startIndex,
  length,
  components: ['E', 'N', 'Z'],
  data: samples(startIndex, length, burstAt, burstEnd),
  present: [true, true, true],
  endOfSegment,
});

t.test(
  'the trigger keeps its sum as the window slides, block by block, equal to a sum from scratch',
  async (t) => {
    const options = triggered;
    let state = createLiveEdge(options);
    for (let from = 0; from < 9000; from += 370)
      state = pushEdgeBlock(state, options, block(from, 370, 4000), 0).state;
    let scratch = 0;
    const held = state.buffer.subarray(state.offset * 3, (state.offset + state.rows) * 3);
    for (let i = 1; i < state.rows; i++)
      for (let c = 0; c < 3; c++) scratch += (held[i * 3 + c] - held[(i - 1) * 3 + c]) ** 2;
    t.equal(state.rows, 3000, 'a window of samples kept');
    t.same(
      Array.from(held),
      Array.from(samples(9250 - 3000, 3000, 4000)),
      'the newest 3000 (blocks up to 9250), in order',
    );
    t.ok(Math.abs(state.cfSum - scratch) < 1e-6 * scratch, `${state.cfSum} = ${scratch}`);
    const sta = options.trigger!.staSamples;
    const recent = Array.from({ length: sta }, (_, j) => {
      const i = state.rows - sta + j;
      let cf = 0;
      for (let c = 0; c < 3; c++) cf += (held[i * 3 + c] - held[(i - 1) * 3 + c]) ** 2;
      return [(state.bufferStart + i) % sta, cf];
    });
    t.same(
      recent.map(([slot]) => state.cfRecent[slot]),
      recent.map(([, cf]) => cf),
      "the STA's samples kept exactly, each in its slot",
    );
  },
);

t.test('pushEdgeBlock: windows at the newest data once a window is buffered, every stride', async (t) => {
  const options: LiveEdgeOptions = { length: 3000, strideSamples: 150, trigger: null };
  let state = createLiveEdge(options);
  const starts: number[][] = [];
  for (const [from, length] of [
    [0, 2000],
    [2000, 900],
    [2900, 100],
    [3000, 100],
    [3100, 100],
    [3200, 50],
  ]) {
    const step = pushEdgeBlock(state, options, block(from, length), from);
    state = step.state;
    starts.push(step.windows.map((w) => w.startIndex));
  }
  t.same(starts, [[], [], [0], [], [200], []], 'a full window first, then one per stride of new data');
  const gap = pushEdgeBlock(state, options, block(10_000, 3000), 0);
  t.same(
    gap.windows.map((w) => [w.startIndex, w.length, w.endOfSegment, w.receivedAtMs]),
    [[10_000, 3000, false, 0]],
    'a gap starts the buffer afresh',
  );
  const w = gap.windows[0];
  t.equal(w.data.length, 9000);
  t.ok(Math.abs(w.data.reduce((a, b) => a + b, 0)) < 1e-2, 'normalized (zero mean)');
  const ended = pushEdgeBlock(gap.state, options, block(13_000, 200, undefined, true), 0);
  t.equal(ended.state.rows, 0, 'the end of a segment empties the lane');
});

t.test('pushEdgeBlock not admitted: the due window skipped unmade, the next a stride later', async (t) => {
  const options: LiveEdgeOptions = { length: 3000, strideSamples: 150, trigger: null };
  let state = createLiveEdge(options);
  const steps: [number[], number][] = [];
  for (const [from, length, admit] of [
    [0, 3000, false],
    [3000, 100, true],
    [3100, 100, true],
    [3200, 200, false],
    [3400, 100, true],
    [3500, 100, true],
  ] as const) {
    const step = pushEdgeBlock(state, options, block(from, length), from, admit);
    state = step.state;
    steps.push([step.windows.map((w) => w.startIndex), step.skipped]);
  }
  t.same(
    steps,
    [
      [[], 1],
      [[], 0],
      [[200], 0],
      [[], 1],
      [[], 0],
      [[600], 0],
    ],
    'the stride counts from the skipped window as from one that ran',
  );
});

t.test(
  'pushEdgeBlock with the trigger: nothing while quiet, windows for the hold after a burst',
  async (t) => {
    const options = triggered;
    let state = createLiveEdge(options);
    const out: number[] = [];
    for (let from = 0; from < 8000; from += 200) {
      const step = pushEdgeBlock(state, options, block(from, 200, 5000, false, 5300), from);
      state = step.state;
      out.push(...step.windows.map((w) => w.startIndex + w.length));
    }
    t.ok(out.length > 0, 'the burst turned the lane on');
    t.ok(
      out.every((end) => end > 5000 && end <= 5300 + 1000 + 200),
      `windows only from the burst to the end of the hold (${out.join(', ')})`,
    );
  },
);

t.test(
  'edgePeaks: new peaks once, within the lookback and before the guard, above both floors',
  async (t) => {
    const options: EdgePeakOptions = {
      classes: ['noise', 'P', 'S'],
      minPeakHeight: { P: 0.5, S: 0.5 },
      minPeakDistanceSamples: 50,
      guardSamples: 50,
      lookbackSamples: 800,
      minProvisionalHeight: 0.6,
    };
    /** [3000, 3] probabilities with P peaks at the given offsets and heights. */
    const probs = (peaks: [number, number][]) => {
      const p = new Float32Array(9000);
      for (const [at, h] of peaks)
        for (let i = -20; i <= 20; i++) p[(at + i) * 3 + 1] = h * (1 - Math.abs(i) / 21);
      return p;
    };
    const first = edgePeaks(
      {},
      options,
      1000,
      probs([
        [2500, 0.9],
        [2990, 0.95],
        [1500, 0.9],
        [2700, 0.55],
      ]),
    );
    t.same(first.peaks, [{ phase: 'P', sample: 3500, probability: 0.8999999761581421 }]);
    const again = edgePeaks(
      first.state,
      options,
      1100,
      probs([
        [2405, 0.92],
        [2890, 0.95],
      ]),
    );
    t.same(
      again.peaks,
      [{ phase: 'P', sample: 3990, probability: 0.949999988079071 }],
      'the same P again is not given twice',
    );
    t.same(again.state.P, [3500, 3990]);
    const later = edgePeaks(again.state, options, 4000, probs([]));
    t.same(later.state.P, [], 'picks older than the window are forgotten');
  },
);
