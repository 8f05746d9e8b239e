import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { encodeMseed, readMseedFile } from '../../src/ingest/mseed/index.ts';
import { readPicks } from '../../src/sink/read-picks.ts';
import { repoRoot, runCli } from '../helpers/cli.ts';
import { sharedPath } from '../helpers/shared.ts';

const DEG = Math.PI / 180;
const AZ1 = 30;
const AZ2 = 120;

/** A channel's samples of an example file, in order (the example files are gapless). */
async function samplesOf(channel: string) {
  const path = join(repoRoot, `examples/synthetic/SY.SYN01.00.${channel}.mseed`);
  const values: number[] = [];
  let startTimeUs = 0;
  let samplingRate = 0;
  for await (const { record } of readMseedFile(path)) {
    if (!record) continue;
    if (values.length === 0) ({ startTimeUs, samplingRate } = record);
    values.push(...record.samples);
  }
  return { startTimeUs, samplingRate, values };
}

function write(
  path: string,
  channel: string,
  start: { startTimeUs: number; samplingRate: number },
  values: number[],
) {
  const records = encodeMseed(
    {
      streamId: { network: 'SY', station: 'SYN01', location: '00', channel },
      startTimeUs: start.startTimeUs,
      samplingRate: start.samplingRate,
      samples: Float64Array.from(values),
    },
    { encoding: 'float64', recordLength: 4096 },
  );
  writeFileSync(path, Buffer.concat(records));
  return path;
}

const stationXml = `<?xml version="1.0" encoding="UTF-8"?>
<FDSNStationXML xmlns="http://www.fdsn.org/xml/station/1" schemaVersion="1.1">
  <Source>PhaseStream test</Source>
  <Created>2024-01-01T00:00:00Z</Created>
  <Network code="SY">
    <Station code="SYN01" startDate="2023-01-01T00:00:00Z">
      <Latitude>46.5</Latitude>
      <Longitude>7.25</Longitude>
      <Elevation>1200</Elevation>
      <Site><Name>synthetic</Name></Site>
${[
  ['HHZ', 0, -90],
  ['HH1', AZ1, 0],
  ['HH2', AZ2, 0],
]
  .map(
    ([
      code,
      azimuth,
      dip,
    ]) => `      <Channel code="${code}" locationCode="00" startDate="2023-01-01T00:00:00Z">
        <Latitude>46.5</Latitude>
        <Longitude>7.25</Longitude>
        <Elevation>1200</Elevation>
        <Depth>0</Depth>
        <Azimuth>${azimuth}</Azimuth>
        <Dip>${dip}</Dip>
        <SampleRate>100</SampleRate>
      </Channel>`,
  )
  .join('\n')}
    </Station>
  </Network>
</FDSNStationXML>
`;

t.test('a Z12 station at 30° and 120° picks as the same data rotated to ZNE by hand', async (t) => {
  const dir = t.testdir();
  const [east, north, vertical] = await Promise.all(['HHE', 'HHN', 'HHZ'].map(samplesOf));
  // What sensors at 30° and 120° would have recorded of the example's ground motion.
  const h1 = north.values.map((n, i) => n * Math.cos(AZ1 * DEG) + east.values[i] * Math.sin(AZ1 * DEG));
  const h2 = north.values.map((n, i) => n * Math.cos(AZ2 * DEG) + east.values[i] * Math.sin(AZ2 * DEG));
  const z12 = [
    write(join(dir, 'z12.HHZ.mseed'), 'HHZ', vertical, vertical.values),
    write(join(dir, 'z12.HH1.mseed'), 'HH1', north, h1),
    write(join(dir, 'z12.HH2.mseed'), 'HH2', north, h2),
  ];
  // The same Z12 data rotated to ZNE by hand: N = h1 cos30 + h2 cos120, E = h1 sin30 + h2 sin120.
  const byHand = [
    z12[0],
    write(
      join(dir, 'hand.HHN.mseed'),
      'HHN',
      north,
      h1.map((a, i) => a * Math.cos(AZ1 * DEG) + h2[i] * Math.cos(AZ2 * DEG)),
    ),
    write(
      join(dir, 'hand.HHE.mseed'),
      'HHE',
      north,
      h1.map((a, i) => a * Math.sin(AZ1 * DEG) + h2[i] * Math.sin(AZ2 * DEG)),
    ),
  ];
  const xml = join(dir, 'stations.xml');
  writeFileSync(xml, stationXml);
  const xsd = sharedPath('schemas/fdsn-station-1.1.xsd');
  const lint = spawnSync('xmllint', ['--noout', '--schema', xsd, xml], { encoding: 'utf8' });
  if (lint.error === undefined && lint.status !== null && !lint.stderr.includes('failed to load')) {
    t.equal(lint.status, 0, `the test's StationXML fits the FDSN schema: ${lint.stderr}`);
  }

  const replay = async (name: string, files: string[], more: string[] = []) => {
    const output = join(dir, `${name}.jsonl`);
    const run = await runCli(['replay', ...files, '--output', output, ...more]);
    t.equal(run.code, 0, run.stderr);
    return readPicks(output).map((p) => ({ id: p.id, probability: p.probability }));
  };
  const reference = await replay('hand', byHand);
  const rotated = await replay('rotated', z12, ['--stationxml', xml]);
  const unrotated = await replay('unrotated', z12);
  t.ok(reference.length >= 6, `${reference.length} picks on the data rotated by hand`);
  t.same(
    rotated.map((p) => p.id),
    reference.map((p) => p.id),
    'the same picks (station, phase, time, model)',
  );
  const worst = Math.max(
    ...rotated.map((p, i) => Math.abs(p.probability - (reference[i]?.probability ?? 0))),
  );
  t.ok(worst <= 2e-4, `probabilities agree to ${worst} (float32 rounding)`);
  t.notSame(unrotated, reference, 'without the metadata, 1 and 2 taken as N and E pick otherwise');
});
