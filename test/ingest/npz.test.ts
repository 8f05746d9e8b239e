import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import t from 'tap';
import { WaveformFormatError } from '../../src/errors.ts';
import {
  npyNumbers,
  npyStrings,
  readNpy,
  readNpz,
  readNpzFile,
  readPhaseNetNpz,
} from '../../src/ingest/npz.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

// Fixtures written by numpy itself: see fixtures/make-fixtures.py.
const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string) => new Uint8Array(readFileSync(join(fixtures, name)));

t.test('every supported dtype of a numpy-written npz (zip64 entries, stored)', async (t) => {
  const arrays = readNpz(fixture('dtypes.npz'), 'dtypes.npz');
  t.same([...arrays.keys()].sort(), [
    'b1',
    'f4',
    'f8',
    'f8be',
    'fort',
    'i4be',
    'i8',
    'i8big',
    'sstr',
    'u1',
    'ustr',
    'ustrs',
  ]);
  const f8 = arrays.get('f8')!;
  t.equal(f8.descr, '<f8');
  t.same(f8.shape, [2, 3]);
  t.ok(f8.values instanceof Float64Array);
  t.same(Array.from(f8.values as Float64Array), [1.5, -2.25, 3, 4, 5.5, -6.125]);

  const f4 = arrays.get('f4')!;
  t.ok(f4.values instanceof Float32Array);
  t.same(Array.from(f4.values as Float32Array), [0.5, -1.25]);

  const i8 = arrays.get('i8')!;
  t.same(i8.shape, [], 'a 0-d array has shape []');
  t.ok(i8.values instanceof BigInt64Array);
  t.same(Array.from(npyNumbers(i8)), [3000]);

  t.same(Array.from(npyNumbers(arrays.get('i4be')!)), [1, -2, 70000], 'big-endian int32');
  t.same(Array.from(npyNumbers(arrays.get('f8be')!)), [1.5, 2.5], 'big-endian float64');
  t.same(Array.from(arrays.get('u1')!.values as Uint8Array), [0, 255, 7]);
  t.same(Array.from(arrays.get('b1')!.values as Uint8Array), [1, 0, 1]);

  const fort = arrays.get('fort')!;
  t.same(fort.shape, [2, 3]);
  t.same(Array.from(fort.values as Int32Array), [0, 1, 2, 3, 4, 5], 'Fortran order comes back row-major');

  t.same(npyStrings(arrays.get('ustr')!), ['HNE_HNN_HNZ']);
  t.same(npyStrings(arrays.get('ustrs')!), ['EHZ', 'Ωx'], 'shorter strings lose their NUL padding');
  t.same(npyStrings(arrays.get('sstr')!), ['ab', 'c']);
});

t.test('int64 beyond 2^53 stays exact as BigInt and is refused as a number', async (t) => {
  const big = readNpz(fixture('dtypes.npz')).get('i8big')!;
  t.same(Array.from(big.values as BigInt64Array), [2n ** 60n, -5n]);
  t.throws(() => npyNumbers(big, 'i8big'), WaveformFormatError);
});

t.test('string and number accessors refuse the other kind', async (t) => {
  const arrays = readNpz(fixture('dtypes.npz'));
  t.throws(() => npyNumbers(arrays.get('ustr')!), WaveformFormatError);
  t.throws(() => npyStrings(arrays.get('f8')!), WaveformFormatError);
});

t.test('.npy format versions 2 and 3', async (t) => {
  for (const name of ['v2.npy', 'v3.npy']) {
    const a = readNpy(fixture(name), name);
    t.same(a.shape, [2], name);
    t.same(Array.from(a.values as Float64Array), [7, 8], name);
  }
});

t.test('bad input gives WaveformFormatError', async (t) => {
  t.throws(() => readNpz(new Uint8Array([1, 2, 3, 4, 5]), 'junk.npz'), WaveformFormatError, 'not a zip');
  t.throws(() => readNpy(fixture('complex.npy'), 'complex.npy'), {
    name: 'WaveformFormatError',
    message: /unsupported dtype '<c16'/,
  });
  const v2 = fixture('v2.npy');
  t.throws(() => readNpy(v2.subarray(0, v2.length - 1), 'cut.npy'), {
    name: 'WaveformFormatError',
    message: /truncated: 15 of 16 data bytes/,
  });
  t.throws(() => readNpy(v2.subarray(0, 40), 'cut.npy'), { message: /truncated \.npy header/ });
  t.throws(() => readNpy(new TextEncoder().encode('PK not numpy'), 'x.npy'), { message: /magic/ });
  const header = "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }\n";
  const structured = Buffer.concat([
    Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length, 0]),
    Buffer.from(header, 'latin1'),
    Buffer.alloc(8),
  ]);
  t.throws(() => readNpy(structured, 's.npy'), { message: /structured/ });
  t.throws(() => readNpzFile('/nonexistent/file.npz'), WaveformFormatError);
  // A zip entry that is not an array at all.
  const zip = zipSync({ 'data.npy': new Uint8Array([1, 2, 3]) });
  t.throws(() => readNpz(zip, 'bad.npz'), { message: /bad\.npz\/data\.npy/ });
});

t.test('readPhaseNetNpz on a deflated record (np.savez_compressed)', async (t) => {
  const record = readPhaseNetNpz(join(fixtures, 'record.npz'));
  t.equal(record.length, 2);
  t.same(Array.from(record.data), [1, 2, 3, 4, 5, 6]);
  t.same(record.itp, [1]);
  t.same(record.its, [1], 'a 1-d array of picks reads like a scalar');
  t.same(record.channels, ['EHZ']);
});

t.test(
  'readPhaseNetNpz on a shared dev record',
  { skip: skipUnlessShared('data', 'phasenet-ncedc-dev') },
  async (t) => {
    const record = readPhaseNetNpz(sharedPath('data', 'phasenet-ncedc-dev', 'NC_GDXB_2008072815280414.npz'));
    t.equal(record.length, 9001);
    t.equal(record.data.length, 9001 * 3);
    t.same(record.itp, [3000]);
    t.same(record.its, [3038]);
    t.same(record.channels, ['HNE', 'HNN', 'HNZ']);
    // data[0] and data[9000] as numpy prints them (8 decimals).
    const expected = [-2.08387957, 9.26641484, 4.46994778, -3.08387957, 6.26641484, 0.46994778];
    const actual = [...record.data.subarray(0, 3), ...record.data.subarray(9000 * 3)];
    actual.forEach((v, i) => {
      t.ok(Math.abs(v - expected[i]) < 1e-8, `value ${i}: ${v} vs ${expected[i]}`);
    });
  },
);
