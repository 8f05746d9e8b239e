import t from 'tap';
import { makePick, pickId } from '../../src/picker/pick.ts';

const station = { network: 'XX', station: 'DEV1', location: '00', channelPrefix: 'HH' };

t.test('a pick id names station, phase, grid time and model', async (t) => {
  // 2011-03-31T00:01:30.04Z is sample 130_158_589_004 at 100 Hz.
  const index = Math.round((Date.UTC(2011, 2, 31, 0, 1, 30) / 1000 + 0.04) * 100);
  const pick = makePick(station, 'P', index, 100, 0.84171, 'phasenet-original');
  t.equal(pick.id, 'XX.DEV1.00.HH.P.20110331T000130.040000Z.phasenet-original');
  t.equal(pick.status, 'final');
  t.equal(pick.probability, 0.8417);
  t.equal(pick.time, '2011-03-31T00:01:30.040000Z');
});

t.test('the id depends on exactly station, phase, time and model', async (t) => {
  const base = makePick(station, 'P', 1000, 100, 0.5, 'm');
  t.equal(makePick(station, 'P', 1000, 100, 0.9, 'm').id, base.id, 'probability is not identity');
  t.not(makePick(station, 'S', 1000, 100, 0.5, 'm').id, base.id);
  t.not(makePick(station, 'P', 1001, 100, 0.5, 'm').id, base.id);
  t.not(makePick(station, 'P', 1000, 100, 0.5, 'other').id, base.id);
  t.not(makePick({ ...station, location: '10' }, 'P', 1000, 100, 0.5, 'm').id, base.id);
  t.equal(
    pickId({ network: 'XX', station: 'DEV1', location: '00', channel: 'HH' }, 'P', base.timeUs, 'm'),
    base.id,
  );
});
