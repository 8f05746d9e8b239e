import t from 'tap';
import { readPhaseNetNpz } from '../../src/ingest/npz.ts';
import { countNonFinite, fillNonFinite, normalizeWindow } from '../../src/picker/normalize.ts';
import { goldenIndex, readF32 } from '../helpers/golden.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

/** Interleave per-channel columns into row-major [length, channels]. */
function rows(...columns: number[][]): number[] {
  const out: number[] = [];
  for (let i = 0; i < columns[0].length; i++) for (const c of columns) out.push(c[i]);
  return out;
}

function column(values: Float32Array, channels: number, c: number): number[] {
  return Array.from(values.filter((_, k) => k % channels === c));
}

t.test('hand-computed: demean, unit std, and 3 / non-zero channels', async (t) => {
  // ch0 = 1..4: mean 2.5, deviations ±1.5, ±0.5, variance 1.25; ch1 all zero; ch2 constant 5
  // (std 0 counts as 1, and after demeaning it is zero, so it is not a non-zero channel).
  const out = normalizeWindow(rows([1, 2, 3, 4], [0, 0, 0, 0], [5, 5, 5, 5]), 3);
  const s = Math.sqrt(1.25);
  t.same(
    column(out, 3, 0),
    [-1.5, -0.5, 0.5, 1.5].map((d) => Math.fround((d / s) * 3)),
  );
  t.same(column(out, 3, 1), [0, 0, 0, 0]);
  t.same(column(out, 3, 2), [0, 0, 0, 0]);

  // Two live channels: the multiplier is 3 / 2.
  const two = normalizeWindow(rows([1, 2, 3, 4], [0, 0, 0, 0], [8, 6, 4, 2]), 3);
  t.same(
    column(two, 3, 0),
    [-1.5, -0.5, 0.5, 1.5].map((d) => Math.fround((d / s) * 1.5)),
  );
  // ch2: mean 5, deviations 3, 1, -1, -3, variance 5.
  t.same(
    column(two, 3, 2),
    [3, 1, -1, -3].map((d) => Math.fround((d / Math.sqrt(5)) * 1.5)),
  );
});

t.test('an all-zero window gives zeros, not NaN', async (t) => {
  t.same(Array.from(normalizeWindow(new Float64Array(30), 3)), new Array(30).fill(0));
  t.same(Array.from(normalizeWindow(new Float64Array(30).fill(7), 3)), new Array(30).fill(0));
});

t.test('a channel with a non-finite sample comes out as zeros and does not count', async (t) => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    const out = normalizeWindow(rows([1, 2, 3, 4], [0, bad, 0, 1], [8, 6, 4, 2]), 3);
    t.equal(countNonFinite(out), 0, `${bad}: no non-finite output`);
    t.same(column(out, 3, 1), [0, 0, 0, 0], `${bad}: the bad channel is zero`);
    t.same(
      column(out, 3, 0),
      [-1.5, -0.5, 0.5, 1.5].map((d) => Math.fround((d / Math.sqrt(1.25)) * 1.5)),
      `${bad}: two live channels remain`,
    );
  }
});

t.test('fillNonFinite replaces bad samples by the channel mean of the finite ones', async (t) => {
  const { values, filled } = fillNonFinite(rows([1, Number.NaN, 5], [Number.NaN, Number.NaN, Number.NaN]), 2);
  t.equal(filled, 4);
  t.same(Array.from(values), [1, 0, 3, 0, 5, 0]);
  t.equal(countNonFinite([1, Number.NaN, Number.POSITIVE_INFINITY, 0]), 2);
});

t.test('output reuse and shape checks', async (t) => {
  const out = new Float32Array(12);
  t.equal(normalizeWindow(rows([1, 2, 3, 4], [0, 0, 0, 0], [5, 5, 5, 5]), 3, out), out);
  t.not(out[0], 0);
  t.throws(() => normalizeWindow(new Float64Array(10), 3), RangeError);
  t.throws(() => normalizeWindow(new Float64Array(12), 3, new Float32Array(9)), RangeError);
});

t.test(
  'the raw dev records normalize to the golden inputs bit for bit',
  { skip: skipUnlessShared('golden', 'phasenet-original') || skipUnlessShared('data', 'phasenet-ncedc-dev') },
  async (t) => {
    const samples = goldenIndex().samples as unknown as {
      id: string;
      source: string;
      window: string;
      input: string;
    }[];
    t.equal(samples.length, 7, 'every golden window has its source in the dev set');
    for (const s of samples) {
      // e.g. 'DataReader_test(...); data[2344:5344]' or 'whole file ... = waveform_train[1867:4867]'
      const [, from, to] = /\[(\d+):(\d+)\]/.exec(s.window)!.map(Number);
      const record = readPhaseNetNpz(sharedPath('data', 'phasenet-ncedc-dev', s.source.split('/').pop()!));
      const out = normalizeWindow(record.data.subarray(from * 3, to * 3), 3);
      const golden = readF32(s.input);
      let differing = 0;
      for (let i = 0; i < golden.length; i++) if (out[i] !== golden[i]) differing++;
      t.equal(differing, 0, `${s.id} (${s.source}, [${from}:${to}], ${record.channels.join('_')})`);
    }
  },
);

t.test('three float32 components (the stream path) give the bits of the general loop', async (t) => {
  // Seeded float32 windows like a station's counts: offsets, a dead channel, a constant one, a channel
  // whose mean is not exactly its constant value, and a non-finite sample (the general loop's case).
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31 - 0.5;
  };
  const windows: [string, (i: number, c: number) => number][] = [
    ['noise on offsets', (_, c) => 4000 * (c - 1) + 300 * random()],
    ['a dead channel', (_, c) => (c === 1 ? 0 : 1e5 + 5e3 * random())],
    ['a constant channel', (_, c) => (c === 2 ? 12345 : random() * 1e-3)],
    ['a constant whose mean rounds', (_, c) => (c === 0 ? 0.1 : random())],
    ['all zero', () => 0],
    ['a NaN', (i, c) => (i === 17 && c === 2 ? Number.NaN : random())],
  ];
  for (const [name, value] of windows) {
    const raw = new Float32Array(3000 * 3);
    for (let i = 0; i < 3000; i++) for (let c = 0; c < 3; c++) raw[i * 3 + c] = value(i, c);
    const fast = normalizeWindow(raw, 3);
    const general = normalizeWindow(Float64Array.from(raw), 3);
    let differing = 0;
    for (let k = 0; k < raw.length; k++) if (!Object.is(fast[k], general[k])) differing++;
    t.equal(differing, 0, name);
  }
});
