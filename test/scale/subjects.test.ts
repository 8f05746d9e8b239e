import t from 'tap';
import type { Pick } from '../../src/picker/pick.ts';
import {
  isEndSubject,
  partitionOf,
  pickMessageId,
  pickSubject,
  recordMessageId,
  recordSubject,
} from '../../src/scale/subjects.ts';

t.test('partitions: FNV-1a of NET.STA, stable across processes and versions', async (t) => {
  // FNV-1a 32 of "." (offset basis 0x811c9dc5, prime 0x01000193), computed apart in Python.
  t.equal(partitionOf('', '', 2 ** 31), 0x2b0c98f1, 'FNV-1a of "." matches the reference');
  t.equal(partitionOf('SY', 'SYN01', 6), 0);
  t.equal(partitionOf('SY', 'SYN02', 6), 1);
  t.equal(partitionOf('SZ', 'SYN01', 6), 3);
  const counts = new Array(8).fill(0);
  for (let i = 0; i < 8000; i++) counts[partitionOf('XX', `S${i}`, 8)]++;
  t.ok(
    counts.every((n) => n > 850 && n < 1150),
    `8000 stations spread evenly over 8 partitions: ${counts.join(' ')}`,
  );
});

t.test('subjects: one token per code, an empty location as --', async (t) => {
  const id = { network: 'XX', station: 'DEV1', location: '', channel: 'HHZ' };
  t.equal(recordSubject(id, 3), 'ps.records.3.XX.DEV1.--.HHZ');
  t.equal(recordSubject({ ...id, location: '00', station: 'A.B' }, 0), 'ps.records.0.XX.A_B.00.HHZ');
  t.ok(isEndSubject('ps.records.3.end'));
  t.notOk(isEndSubject('ps.records.3.XX.end.00.HHZ'), 'a station named "end" is a station');
  t.equal(recordMessageId(id, 1_700_000_000_000_000, '000123'), 'XX.DEV1..HHZ/1700000000000000/000123');
  const pick = {
    network: 'XX',
    station: 'DEV1',
    id: 'XX.DEV1.00.HH.P.20240101T000013.830000Z.m',
    status: 'final',
  };
  t.equal(pickSubject(pick as Pick), 'ps.picks.XX.DEV1');
  t.equal(pickMessageId(pick as Pick), 'XX.DEV1.00.HH.P.20240101T000013.830000Z.m/final');
});
