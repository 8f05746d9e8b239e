import { readFileSync } from 'node:fs';
import t from 'tap';
import { StationMetadataError } from '../../src/errors.ts';
import { parseStationXml, sensorAxesLookup } from '../../src/ingest/stationxml.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const example = (name: string) => readFileSync(sharedPath('schemas/examples', name), 'utf8');

t.test(
  'the IRIS example: coordinates, orientation, epoch',
  { skip: skipUnlessShared('schemas/examples') },
  async (t) => {
    const inventory = parseStationXml(example('IRIS_single_channel_with_response.xml'), 'IRIS');
    t.same(inventory.channels, [
      {
        network: 'IU',
        station: 'ANMO',
        location: '10',
        channel: 'BHZ',
        startUs: Date.UTC(2012, 2, 13, 8, 10) * 1000,
        endUs: Date.UTC(2599, 11, 31, 23, 59, 59) * 1000,
        latitude: 34.945913,
        longitude: -106.457122,
        elevationM: 1759,
        azimuthDeg: 0,
        dipDeg: -90,
      },
    ]);
    t.same(inventory.stations.get('IU.ANMO'), { latitude: 34.94591, longitude: -106.4572, elevationM: 1820 });
  },
);

t.test(
  'the minimal example: a network without stations',
  { skip: skipUnlessShared('schemas/examples') },
  async (t) => {
    const inventory = parseStationXml(example('minimal_station.xml'), 'minimal');
    t.same(inventory.channels, []);
    t.equal(inventory.stations.size, 0);
  },
);

const doc = (channels: string) => `<?xml version="1.0"?>
<FDSNStationXML xmlns="http://www.fdsn.org/xml/station/1" schemaVersion="1.1"><Source>t</Source><Created>2024-01-01T00:00:00</Created>
<Network code="XX"><Station code="A"><Latitude>1</Latitude><Longitude>2</Longitude><Elevation>3</Elevation>${channels}</Station></Network></FDSNStationXML>`;
const channel = (code: string, az: number, dip: number, start: string, end?: string) =>
  `<Channel code="${code}" locationCode="" startDate="${start}"${end ? ` endDate="${end}"` : ''}><Latitude>1</Latitude><Longitude>2</Longitude><Elevation>3</Elevation><Depth>0</Depth><Azimuth>${az}</Azimuth><Dip>${dip}</Dip></Channel>`;

t.test('sensor axes follow the epoch; a missing horizontal means no rotation', async (t) => {
  const inventory = parseStationXml(
    doc(
      channel('HHZ', 0, -90, '2020-01-01T00:00:00Z') +
        channel('HH1', 10, 0, '2020-01-01T00:00:00Z', '2022-01-01T00:00:00Z') +
        channel('HH2', 100, 0, '2020-01-01T00:00:00Z', '2022-01-01T00:00:00Z') +
        channel('HH1', 45, 0, '2022-01-01T00:00:00Z') +
        channel('HH2', 135, 0, '2022-01-01T00:00:00Z') +
        channel('EHZ', 0, -90, '2020-01-01T00:00:00Z') +
        channel('EH1', 0, 0, '2020-01-01T00:00:00Z'),
    ),
    'epochs',
  );
  const axes = sensorAxesLookup(inventory);
  const hh = { network: 'XX', station: 'A', location: '', channelPrefix: 'HH' };
  t.same(axes(hh, Date.UTC(2021, 0, 1) * 1000)?.N, { azimuthDeg: 10, dipDeg: 0 }, 'first epoch');
  t.same(axes(hh, Date.UTC(2023, 0, 1) * 1000)?.E, { azimuthDeg: 135, dipDeg: 0 }, 'second epoch');
  t.equal(axes(hh, Date.UTC(2019, 0, 1) * 1000), undefined, 'before any epoch');
  t.equal(axes({ ...hh, channelPrefix: 'EH' }, Date.UTC(2021, 0, 1) * 1000), undefined, 'EH2 unknown');
});

t.test('what is not StationXML is refused with a typed error', async (t) => {
  t.throws(() => parseStationXml('<html><body/></html>', 'page.html'), StationMetadataError);
  t.throws(() => parseStationXml('not xml at all <', 'junk'), StationMetadataError);
  t.throws(() => parseStationXml(doc('').replace('<Latitude>1</Latitude>', ''), 'nolat'), {
    name: 'StationMetadataError',
    message: /XX.A has no Latitude/,
  });
});
