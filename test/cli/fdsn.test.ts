import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FdsnError } from '../../src/errors.ts';
import { fetchDataselect } from '../../src/ingest/fdsn/dataselect.ts';
import { loadStationXml } from '../../src/ingest/stationxml.ts';
import { repoRoot, runCli } from '../helpers/cli.ts';
import { FdsnServer } from '../helpers/fdsn-server.ts';

const files = ['HHE', 'HHN', 'HHZ'].map((c) => join(repoRoot, `examples/synthetic/SY.SYN01.00.${c}.mseed`));
const START = '2024-01-01T00:00:00Z';
const END = '2024-01-01T00:04:00Z';
const startUs = Date.parse(START) * 1000;
const endUs = Date.parse(END) * 1000;

t.test('the test server is strict: bad parameters and times are 400 with the error document', async (t) => {
  const server = await FdsnServer.start({ files });
  t.teardown(() => server.close());
  const query = (q: string) => fetch(`${server.url}/fdsnws/dataselect/1/query?${q}`);
  const bad = await query('net=SY&sta=SYN01&starttime=2024-01-01&endtime=2024-01-01T00:01:00');
  t.equal(bad.status, 400);
  t.match(await bad.text(), /^Error 400: Bad Request\n\nstarttime '2024-01-01' is not/);
  t.equal(
    (await query('net=SY&starttime=2024-01-01T00:00:00&endtime=2024-01-01T00:01:00&foo=1')).status,
    400,
  );
  t.equal(
    (await query('net=SY&start=2024-01-01T00:01:00&end=2024-01-01T00:00:00')).status,
    400,
    'end before start',
  );
  t.equal((await query('net=SY&start=2024-01-01T00:00:00&end=2024-01-01T00:01:00&format=sac')).status, 400);
  const none = await query('net=SY&sta=NOPE&start=2024-01-01T00:00:00&end=2024-01-01T00:01:00');
  t.equal(none.status, 204);
  const none404 = await query('net=SY&sta=NOPE&start=2024-01-01T00:00:00&end=2024-01-01T00:01:00&nodata=404');
  t.equal(none404.status, 404);
  const data = await query(
    'net=SY&sta=SYN*&loc=00&cha=HH?&start=2024-01-01T00:00:00&end=2024-01-01T00:00:10',
  );
  t.equal(data.status, 200);
  t.ok((await data.arrayBuffer()).byteLength > 0, 'records that overlap the window');
});

t.test(
  'a replay through fdsnws-dataselect picks as the files it serves; a 413 splits the request',
  async (t) => {
    // 3 channels x 240 s = 720 channel-seconds: more than the server takes at once.
    const server = await FdsnServer.start({ files, maxChannelSeconds: 400 });
    t.teardown(() => server.close());
    const dir = t.testdir();
    const cache = join(dir, 'cache');
    const direct = await runCli([
      'replay',
      ...files,
      '--start',
      START,
      '--end',
      END,
      '--output',
      join(dir, 'direct.jsonl'),
    ]);
    t.equal(direct.code, 0, direct.stderr);
    const viaFdsn = await runCli(
      [
        'replay',
        '--fdsn',
        server.url,
        '--stations',
        'SY.SYN01',
        '--start',
        START,
        '--end',
        END,
        '--fdsn-cache',
        cache,
      ],
      { env: { PHASESTREAM_LOG_LEVEL: 'info' }, cwd: dir },
    );
    t.equal(viaFdsn.code, 0, viaFdsn.stderr);
    const expected = readFileSync(join(dir, 'direct.jsonl'), 'utf8');
    t.ok(expected.split('\n').length > 6, 'the files give picks');
    t.equal(viaFdsn.stdout, expected, 'the same picks, byte for byte');
    const statuses = server.requests.map((r) => r.status);
    t.ok(statuses.includes(413), `the server said 413 (${statuses})`);
    t.ok(statuses.filter((s) => s === 200).length >= 2, 'then the split halves were served');
    t.match(viaFdsn.stderr, /fdsnws-dataselect chunk/, 'progress is logged');
  },
);

t.test('chunks are cached, failures retried, 400s refused, empty ranges named', async (t) => {
  const server = await FdsnServer.start({ files });
  t.teardown(() => server.close());
  const cacheDir = t.testdir();
  const options = { baseUrl: server.url, startUs, endUs, chunkS: 60, cacheDir, retryWaitMs: 10 };
  server.failNext(2);
  const first = await fetchDataselect({ ...options, stations: ['SY.SYN01', 'SY.NOPE'] });
  t.equal(first.files.length, 4, 'four one-minute chunks with data');
  t.same(first.empty, ['SY.NOPE'], 'the selection without data is named');
  t.equal(server.requests.filter((r) => r.status === 503).length, 2, 'two 503s, retried');
  const served = server.requests.length;
  const again = await fetchDataselect({ ...options, stations: ['SY.SYN01'] });
  t.equal(again.requests, 0, 'the second time, everything from the cache');
  t.equal(server.requests.length, served);
  t.same(again.files, first.files);

  await t.rejects(fetchDataselect({ ...options, stations: ['SY.S$N01'] }), {
    name: 'FdsnError',
    message: /HTTP 400: Error 400: Bad Request/,
  });
  server.failNext(100);
  await t.rejects(fetchDataselect({ ...options, stations: ['SY.SYN02'], retries: 2 }), FdsnError);
});

t.test('a replay of a range without data says so clearly', async (t) => {
  const server = await FdsnServer.start({ files });
  t.teardown(() => server.close());
  const run = await runCli([
    'replay',
    '--fdsn',
    server.url,
    '--stations',
    'SY.NOPE',
    '--start',
    START,
    '--end',
    END,
    '--fdsn-cache',
    t.testdir(),
  ]);
  t.equal(run.code, 1);
  t.match(
    run.stderr,
    /has no data for SY\.NOPE between 2024-01-01T00:00:00\.000000Z and 2024-01-01T00:04:00\.000000Z/,
  );
});

t.test('station metadata from fdsnws-station; a service without stations is said clearly', async (t) => {
  const stationXml = `<?xml version="1.0"?>
<FDSNStationXML xmlns="http://www.fdsn.org/xml/station/1" schemaVersion="1.1"><Source>t</Source><Created>2024-01-01T00:00:00</Created>
<Network code="SY"><Station code="SYN01"><Latitude>46.5</Latitude><Longitude>7.25</Longitude><Elevation>1200</Elevation>
<Channel code="HH1" locationCode="00" startDate="2023-01-01T00:00:00"><Latitude>46.5</Latitude><Longitude>7.25</Longitude><Elevation>1200</Elevation><Depth>0</Depth><Azimuth>30</Azimuth><Dip>0</Dip></Channel>
</Station></Network></FDSNStationXML>`;
  const server = await FdsnServer.start({ files: [], stationXml });
  t.teardown(() => server.close());
  const inventory = await loadStationXml(`${server.url}/fdsnws/station/1/query?net=SY&level=channel`);
  t.same(inventory.stations.get('SY.SYN01'), { latitude: 46.5, longitude: 7.25, elevationM: 1200 });
  t.equal(inventory.channels[0].azimuthDeg, 30);
  await t.rejects(loadStationXml(`${server.url}/fdsnws/station/2/query`), {
    name: 'StationMetadataError',
    message: /the station service has no stations for this query/,
  });
});
