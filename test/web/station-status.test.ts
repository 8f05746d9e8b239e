import t from 'tap';
import type { Pick } from '../../src/picker/pick.ts';
import type { StationBlock } from '../../src/stream/types.ts';
import {
  observeBlock,
  observeChannelEvent,
  observePick,
  type StationRecords,
  stationStatus,
} from '../../src/web/station-status.ts';

const station = { network: 'XX', station: 'A', location: '00', channelPrefix: 'HH' };
const key = 'XX.A.00.HH';
const block = (startIndex: number, length: number, present = [true, true, true]): StationBlock => ({
  station,
  samplingRate: 100,
  startIndex,
  length,
  components: ['E', 'N', 'Z'],
  data: new Float32Array(length * 3),
  present,
});
const thresholds = { lateAfterS: 30, downAfterS: 300, gapHoldS: 60 };
const s = (us: number) => us * 1e6;

t.test('blocks: newest data time and samples; the state follows the clock', async (t) => {
  let records: StationRecords = {};
  records = observeBlock(records, block(100_000, 500)); // 1000 s .. 1005 s
  records = observeBlock(records, block(100_500, 500));
  t.equal(records[key].lastDataUs, s(1010));
  t.equal(records[key].samples, 1000);
  t.same(
    [1010, 1039, 1040, 1309, 1310].map((clock) => {
      const status = stationStatus(records[key], s(clock), thresholds);
      return [status.state, status.latencyMs];
    }),
    [
      ['live', 0],
      ['live', 29_000],
      ['late', 30_000],
      ['late', 299_000],
      ['down', 300_000],
    ],
  );
});

t.test('a block with a component missing, or a gap event, shows as gap for gapHoldS', async (t) => {
  let records = observeBlock({}, block(100_000, 500, [false, true, true]));
  t.equal(stationStatus(records[key], s(1005), thresholds).state, 'gap');
  t.equal(stationStatus(records[key], s(1064), thresholds).state, 'late', 'late wins over gap');
  records = observeBlock(records, block(106_000, 500));
  t.equal(stationStatus(records[key], s(1065), thresholds).state, 'live', 'a minute after the gap');
  records = observeChannelEvent(records, {
    kind: 'gap',
    streamId: { network: 'XX', station: 'A', location: '00', channel: 'HHZ' },
    timeUs: s(1062),
    durationUs: s(1),
  });
  t.equal(records[key].gaps, 1);
  t.equal(stationStatus(records[key], s(1065), thresholds).state, 'gap');
  const before = JSON.stringify(records);
  observeChannelEvent(records, {
    kind: 'duplicate',
    streamId: { network: 'XX', station: 'A', location: '00', channel: 'HHZ' },
    timeUs: s(1063),
  });
  t.equal(JSON.stringify(records), before, 'other events change nothing');
});

t.test(
  'a step updates its station in place: the table of every station is not copied per block',
  async (t) => {
    const records: StationRecords = {};
    for (const name of ['A', 'B', 'C'])
      observeBlock(records, { ...block(100_000, 500), station: { ...station, station: name } });
    const a = records[key];
    const c = records['XX.C.00.HH'];
    t.equal(observeBlock(records, block(100_500, 500)), records, 'the same table');
    t.equal(records[key], a, 'the same record of the station');
    t.equal(a.samples, 1000);
    t.same(c.samples, 500, 'the other stations are left as they were');
  },
);

t.test('the last pick of a station; the records stay plain JSON', async (t) => {
  const records = observeBlock({}, block(100_000, 500));
  const pick: Pick = {
    network: 'XX',
    station: 'A',
    location: '00',
    channel: 'HH',
    phase: 'P',
    time: '1970-01-01T00:16:41.000000Z',
    timeUs: s(1001),
    probability: 0.9,
    model: 'm',
    status: 'final',
    id: 'XX.A.00.HH.P.19700101T001641.000000Z.m',
  };
  const after = observePick(records, pick);
  t.same(after[key].lastPick, { phase: 'P', time: pick.time, probability: 0.9 });
  t.same(JSON.parse(JSON.stringify(after)), after);
  observePick(records, { ...pick, station: 'B' });
  t.same(Object.keys(records), [key], 'a station never seen is not invented');
  observePick(records, { ...pick, phase: 'S', status: 'retracted' });
  t.equal(records[key].lastPick?.phase, 'P', 'a retraction is not a last pick');
});
