import t from 'tap';
import { channelParts, stationOfStream } from './component.ts';
import {
  indexAtOrAfterTimeUs,
  indexFromTimeUs,
  samplesToUs,
  staggerOffset,
  timeUsFromIndex,
} from './grid.ts';

const T0_US = 1_700_000_000_000_000;

t.test('grid indices are exact at epoch times where timeUs x rate exceeds 2^53', async (t) => {
  t.ok(T0_US * 250 > Number.MAX_SAFE_INTEGER);
  t.equal(indexFromTimeUs(T0_US, 250), 1_700_000_000 * 250);
  t.equal(indexFromTimeUs(T0_US + 4_000, 250), 1_700_000_000 * 250 + 1);
  t.equal(indexFromTimeUs(T0_US + 1_999, 250), 1_700_000_000 * 250, 'just under half a sample: down');
  t.equal(indexFromTimeUs(T0_US + 2_001, 250), 1_700_000_000 * 250 + 1, 'just over half a sample: up');
  t.equal(indexFromTimeUs(T0_US + 12_345, 40), 1_700_000_000 * 40);
  t.equal(indexFromTimeUs(-25_000, 40), -1, 'before 1970 too');
  for (const rate of [1, 20, 40, 50, 100, 200, 250, 0.1]) {
    for (const offset of [0, 1, 17, 999_999]) {
      const index = Math.floor(1_700_000_000 * rate) + offset;
      t.equal(indexFromTimeUs(timeUsFromIndex(index, rate), rate), index, `${rate} Hz round trip`);
    }
  }
  t.equal(timeUsFromIndex(1_700_000_000 * 250 + 3, 250), T0_US + 12_000);
});

t.test('indexAtOrAfterTimeUs: on a grid point is that point, just after is the next', async (t) => {
  t.equal(indexAtOrAfterTimeUs(T0_US + 100_000, 40), 1_700_000_000 * 40 + 4);
  t.equal(indexAtOrAfterTimeUs(T0_US + 100_001, 40), 1_700_000_000 * 40 + 5);
  t.equal(indexAtOrAfterTimeUs(T0_US + 99_999, 40), 1_700_000_000 * 40 + 4);
  t.equal(samplesToUs(3, 40), 75_000);
});

t.test('channel names: prefix, orientation, component (Z12)', async (t) => {
  t.strictSame(channelParts('HHZ'), { channelPrefix: 'HH', orientation: 'Z', component: 'Z' });
  t.strictSame(channelParts('BH1'), { channelPrefix: 'BH', orientation: '1', component: 'N' });
  t.strictSame(channelParts('EH2'), { channelPrefix: 'EH', orientation: '2', component: 'E' });
  t.strictSame(channelParts('HDF'), { channelPrefix: 'HD', orientation: 'F', component: undefined });
  t.strictSame(channelParts('H_H_Z'), { channelPrefix: 'H_H', orientation: 'Z', component: 'Z' });
  t.strictSame(channelParts('L_XY_ZZ'), { channelPrefix: 'L_XY', orientation: 'ZZ', component: undefined });
  t.strictSame(stationOfStream({ network: 'IU', station: 'COLA', location: '00', channel: 'BHN' }), {
    network: 'IU',
    station: 'COLA',
    location: '00',
    channelPrefix: 'BH',
  });
});

t.test('staggerOffset: FNV-1a of the station key within the stride, spread over it', async (t) => {
  // FNV-1a 32-bit of 'a' is 0xe40c292c; of 'XX.STA..HH' 1445906461 (computed apart, in Python).
  t.equal(staggerOffset('a', 2 ** 32 - 1), 0xe40c292c);
  t.equal(staggerOffset('XX.STA..HH', 1000), 461);
  t.equal(staggerOffset('XX.STA..HH', 5), 1);
  t.equal(staggerOffset('', 1000), 2166136261 % 1000, 'the empty key is the offset basis');
  // 5,000 stations as the realtime bench names them: every tenth of a 10-s stride gets its share.
  const tenths = new Array(10).fill(0);
  for (let i = 0; i < 5000; i++)
    tenths[Math.floor(staggerOffset(`XX.R${String(i).padStart(4, '0')}..HH`, 1000) / 100)]++;
  t.ok(
    tenths.every((n) => n > 400 && n < 600),
    `stations per tenth of the stride: ${tenths.join(', ')}`,
  );
});
