import t from 'tap';
import { UsageError } from '../../src/errors.ts';
import { parseFdsnSourceId, parseStreamKey, streamKey, toFdsnSourceId } from '../../src/ingest/stream-id.ts';

t.test('stream keys NET.STA.LOC.CHA', async (t) => {
  t.equal(streamKey({ network: 'IU', station: 'COLA', location: '00', channel: 'LHZ' }), 'IU.COLA.00.LHZ');
  t.equal(streamKey({ network: 'BW', station: 'KW1', location: '', channel: 'EHZ' }), 'BW.KW1..EHZ');
  t.same(parseStreamKey('BW.KW1..EHZ'), { network: 'BW', station: 'KW1', location: '', channel: 'EHZ' });
  t.same(parseStreamKey('XX.DEV1.00.HHZ'), {
    network: 'XX',
    station: 'DEV1',
    location: '00',
    channel: 'HHZ',
  });
  for (const bad of ['XX.DEV1.HHZ', 'XX..00.HHZ', 'XX.DEV1.00.', 'XX.DEV1.00.HHZ.D', '']) {
    t.throws(() => parseStreamKey(bad), UsageError, `'${bad}'`);
  }
});

t.test('FDSN source identifiers of miniSEED 3', async (t) => {
  const cases: [string, { network: string; station: string; location: string; channel: string }][] = [
    ['FDSN:IU_COLA_00_L_H_Z', { network: 'IU', station: 'COLA', location: '00', channel: 'LHZ' }],
    ['FDSN:BW_KW1__E_H_Z', { network: 'BW', station: 'KW1', location: '', channel: 'EHZ' }],
    [
      'FDSN:XX2024_LONGSTA_L1_H_H_ZZ',
      { network: 'XX2024', station: 'LONGSTA', location: 'L1', channel: 'H_H_ZZ' },
    ],
  ];
  for (const [sid, id] of cases) {
    t.same(parseFdsnSourceId(sid), id, sid);
    t.equal(toFdsnSourceId(id), sid, `${sid} back`);
  }
  for (const bad of [
    'XFDSN:IU_COLA_00_L_H_Z',
    'FDSN:IU_COLA_00_LHZ',
    'FDSN:IU_COLA_00_L_H_Z_X',
    'FDSN:_COLA_00_L_H_Z',
  ]) {
    t.equal(parseFdsnSourceId(bad), undefined, bad);
  }
});
