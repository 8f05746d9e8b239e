import t from 'tap';
import { encodePhaseNetNpz, readNpy, readNpz, writeNpy } from '../../src/ingest/npz.ts';

t.test('writeNpy: headers padded to 64 bytes, read back exactly', async (t) => {
  for (const shape of [[], [5], [2, 3]]) {
    const count = shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: count }, (_, k) => k * 1.5 - 2);
    for (const dtype of ['<f8', '<f4'] as const) {
      const bytes = writeNpy({ dtype, shape, values });
      const headerLength = new DataView(bytes.buffer).getUint16(8, true);
      t.equal((10 + headerLength) % 64, 0, `${dtype} [${shape}]: data aligned`);
      const back = readNpy(bytes);
      t.same(back.shape, shape);
      t.same(Array.from(back.values as Float64Array), values);
    }
  }
  t.same(readNpy(writeNpy({ dtype: '<i8', shape: [], values: [3000] })).values, BigInt64Array.from([3000n]));
  t.same(readNpy(writeNpy({ unicode: 'HHE_HHN_HHZ' })).values, ['HHE_HHN_HHZ']);
  t.same(readNpy(writeNpy({ unicode: '' })).values, ['']);
  t.throws(() => writeNpy({ dtype: '<f4', shape: [2, 2], values: [1, 2, 3] }), /needs 4 values, got 3/);
});

t.test('a PhaseNet record: int64 picks, NaN for none, the same bytes every time', async (t) => {
  const record = { data: [1, 2, 3, 4, 5, 6], length: 2, itp: 1, its: null, channels: ['HHE', 'HHN', 'HHZ'] };
  const bytes = encodePhaseNetNpz(record);
  const arrays = readNpz(bytes);
  t.equal(arrays.get('data')!.descr, '<f4');
  t.same(arrays.get('data')!.shape, [2, 3]);
  t.same(arrays.get('itp')!.values, BigInt64Array.from([1n]));
  t.ok(Number.isNaN((arrays.get('its')!.values as Float64Array)[0]));
  t.same(arrays.get('channels')!.values, ['HHE_HHN_HHZ']);
  t.same(encodePhaseNetNpz(record), bytes);
});
