import t from 'tap';
import { marbles } from '../../test/stream/marbles.ts';
import { rotateBlock, type StationAxes, zneMatrix } from './rotate.ts';
import { rotateToZne } from './rotate-to-zne.ts';
import type { StationBlock, StationId } from './types.ts';

const DEG = Math.PI / 180;
const Z12 = (az1: number, az2: number, zDip = -90): StationAxes => ({
  Z: { azimuthDeg: 0, dipDeg: zDip },
  N: { azimuthDeg: az1, dipDeg: 0 },
  E: { azimuthDeg: az2, dipDeg: 0 },
});

/** What a horizontal sensor at `az` records of ground motion (north, east). */
const project = (north: number, east: number, az: number) =>
  north * Math.cos(az * DEG) + east * Math.sin(az * DEG);

const apply = (m: number[], x: number[]) =>
  [0, 1, 2].map((r) => m[r * 3] * x[0] + m[r * 3 + 1] * x[1] + m[r * 3 + 2] * x[2]);

t.test('zneMatrix recovers the ground motion from Z12 at 30° and 120°', async (t) => {
  const m = zneMatrix(Z12(30, 120))!;
  // Ground (Z, N, E) = (1, 2, 3): channel 1 reads 2 cos30 + 3 sin30 = 3.2320508, channel 2 1.5980762.
  t.equal(project(2, 3, 30).toFixed(7), '3.2320508');
  t.equal(project(2, 3, 120).toFixed(7), '1.5980762');
  const g = apply(m, [1, 3.2320508075688776, 1.598076211353316]);
  t.same(
    g.map((v) => v.toFixed(9)),
    ['1.000000000', '2.000000000', '3.000000000'],
  );
  // Orthogonal axes: the inverse is the transpose (N = x1 cos30 + x2 cos120, ...).
  const transpose = [
    1,
    0,
    0,
    0,
    Math.cos(30 * DEG),
    Math.cos(120 * DEG),
    0,
    Math.sin(30 * DEG),
    Math.sin(120 * DEG),
  ];
  t.ok(Math.max(...m.map((v, k) => Math.abs(v - transpose[k]))) < 1e-12, `${m} is the transpose`);
});

t.test('axes 10° from orthogonal, a downward Z, parallel axes', async (t) => {
  const skew = zneMatrix(Z12(0, 80))!;
  const g = apply(skew, [-1, project(2, 3, 0), project(2, 3, 80)]);
  t.same(
    g.map((v) => v.toFixed(9)),
    ['-1.000000000', '2.000000000', '3.000000000'],
    'non-orthogonal inverted',
  );
  const down = zneMatrix(Z12(0, 90, 90))!;
  t.same(
    apply(down, [5, 2, 3]).map((v) => v.toFixed(9)),
    ['-5.000000000', '2.000000000', '3.000000000'],
  );
  t.equal(zneMatrix(Z12(30, 30)), undefined, 'parallel horizontals cannot be rotated from');
  t.equal(zneMatrix(Z12(30, 30.5)), undefined, 'nor nearly parallel ones');
});

const station: StationId = { network: 'XX', station: 'ROT', location: '', channelPrefix: 'HH' };
const other: StationId = { ...station, station: 'ZNE' };

/** E, N, Z columns (the model's order) of a 2-sample block. */
function block(at: StationId, rows: number[][], present = [true, true, true]): StationBlock {
  return {
    station: at,
    samplingRate: 100,
    startIndex: 1_000,
    length: rows.length,
    components: ['E', 'N', 'Z'],
    data: Float32Array.from(rows.flat()),
    present,
  };
}

t.test('rotateToZne: rotates stations with axes, passes the others, completes', async (t) => {
  const axes = Z12(30, 120);
  // Rows as (E slot = channel 2, N slot = channel 1, Z).
  const raw = block(station, [
    [project(2, 3, 120), project(2, 3, 30), 1],
    [project(-4, 0.5, 120), project(-4, 0.5, 30), 7],
  ]);
  const rotated = block(station, [
    [3, 2, 1],
    [0.5, -4, 7],
  ]);
  const aligned = block(other, [[1, 2, 3]]);
  const oneHorizontal = block(station, [[0, 5, 1]], [false, true, true]);
  marbles(t).run(({ cold, expectObservable }) => {
    const source = cold('a-b-c|', { a: raw, b: aligned, c: oneHorizontal });
    const lookup = (s: StationId, timeUs: number) => {
      t.equal(timeUs, 10_000_000, 'looked up at the block start');
      return s.station === 'ROT' ? axes : undefined;
    };
    expectObservable(source.pipe(rotateToZne(lookup))).toBe('a-b-c|', {
      a: { ...rotated, data: rotateBlock(raw, zneMatrix(axes)!).data },
      b: aligned,
      c: oneHorizontal,
    });
  });
  const data = Array.from(rotateBlock(raw, zneMatrix(axes)!).data);
  t.same(
    data.map((v) => v.toFixed(4)),
    [3, 2, 1, 0.5, -4, 7].map((v) => v.toFixed(4)),
    'the ground motion back, to float32 precision',
  );
});
