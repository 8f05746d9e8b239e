import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse as parseYaml } from 'yaml';
import { checkConfig, loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';
import { repoRoot } from '../helpers/cli.ts';

t.test('the example config is valid and its values are the defaults', async (t) => {
  const example = await loadConfig(join(repoRoot, 'config', 'example.yaml'));
  const defaults = checkConfig({});
  const { seedlink, ...rest } = example;
  const { seedlink: none, ...restDefaults } = defaults;
  t.same(rest, restDefaults, 'every value written in the example is the default');
  t.same(none, []);
  t.same(seedlink, [
    {
      url: 'localhost:18000',
      stations: ['XX.DEV1'],
      protocol: 'auto',
      stateFile: 'phasestream-seedlink.state.json',
      idleTimeoutS: 300,
      silentAfterS: 60,
    },
  ]);
});

t.test(
  'stream selectors: LOC.CHA, at most 3 channel characters (00HH? would select nothing on 4.0)',
  async (t) => {
    const stations = (list: string[]) => checkConfig({ seedlink: [{ url: 'x:1', stations: list }] });
    t.same(stations(['XX.DEV1:00.HH?', 'XX.DEV2:HH?,--.BHZ']).seedlink[0].stations, [
      'XX.DEV1:00.HH?',
      'XX.DEV2:HH?,--.BHZ',
    ]);
    t.throws(() => stations(['XX.DEV1:00HH?']), /at most 3 characters/);
    t.throws(() => stations(['XX.DEV1:00.HHZZ']), /at most 3 characters/);
    t.throws(
      () => checkConfig({ seedlink: [{ url: 'x:1', stations: ['XX.A'], start: 'yesterday' }] }),
      /ISO 8601/,
    );
  },
);

t.test("the example's commented sinks block, uncommented, holds each sink's defaults", async (t) => {
  const text = readFileSync(join(repoRoot, 'config', 'example.yaml'), 'utf8');
  const block = text
    .slice(text.indexOf('sinks: {}'))
    .split('\n')
    .slice(1)
    .filter((l) => l.startsWith('#   '))
    .map((l) => l.slice(2))
    .join('\n');
  const sinks = parseYaml(`sinks:\n${block}`).sinks;
  t.same(Object.keys(sinks), ['influx', 'websocket', 'http']);
  t.same(checkConfig({ sinks }).sinks, checkConfig({ sinks: { influx: {}, websocket: {}, http: {} } }).sinks);
});

t.test('errors name the key and what fits', async (t) => {
  t.throws(
    () => checkConfig({ picker: { stitch: 'median' } }),
    /picker\.stitch: Invalid option: expected one of "mean"\|"max"/,
  );
  t.throws(() => checkConfig({ batching: { size: 0 } }), /batching\.size: Too small/);
  t.throws(
    () => checkConfig({ engine: { device: 'cuda' } }),
    /engine\.device: Invalid option: expected one of "auto"\|"cpu"\|"webgpu"/,
  );
  t.throws(
    () => checkConfig({ seedlink: [{ url: 'x:1', stations: ['DEV1'] }] }),
    /seedlink\.0\.stations\.0: a station is NET\.STA/,
  );
  t.throws(
    () => checkConfig({ picker: { stations: { 'not a station!!': { minPeakHeight: { P: 0.5 } } } } }),
    /picker\.stations\.not a station!!: a station key is NET\.STA/,
  );
  t.doesNotThrow(() =>
    checkConfig({
      picker: {
        stations: { 'XX.*': { minPeakHeight: { P: 0.5 } }, 'XX.DEV1.00.HH?': { minPeakHeight: {} } },
      },
    }),
  );
  t.throws(() => checkConfig({ sinkz: {} }), /unknown key 'sinkz'/);
  t.throws(() => checkConfig({ sinkz: {} }), ConfigError);
  t.throws(
    () => checkConfig({ sinks: { influx: { retentionPolicy: { duration: '5 days' } } } }),
    /sinks\.influx\.retentionPolicy\.duration: an InfluxQL duration/,
  );
  t.throws(
    () => checkConfig({ sinks: { websocket: { slowClient: 'wait' } } }),
    /sinks\.websocket\.slowClient/,
  );
});

t.test('a file that is not YAML or cannot be read is a ConfigError naming it', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'picker: [unclosed', 'bad.json': '{' });
  await t.rejects(loadConfig(join(dir, 'bad.yaml')), {
    name: 'ConfigError',
    message: /bad\.yaml is not valid YAML/,
  });
  await t.rejects(loadConfig(join(dir, 'bad.json')), {
    name: 'ConfigError',
    message: /bad\.json is not valid JSON/,
  });
  await t.rejects(loadConfig(join(dir, 'missing.yaml')), {
    name: 'ConfigError',
    message: /cannot read config file .*missing\.yaml: ENOENT/,
  });
});

t.test('the jetstream section: renewals well inside the lease, names fit subjects and buckets', async (t) => {
  t.equal(checkConfig({}).jetstream.partitions, 32);
  t.throws(
    () => checkConfig({ jetstream: { leaseTtlS: 4, renewS: 3 } }),
    /jetstream\.renewS: jetstream\.renewS must be at most half of leaseTtlS/,
  );
  t.throws(
    () => checkConfig({ jetstream: { records: { stream: 'ps.records' } } }),
    /jetstream\.records\.stream/,
  );
  t.throws(() => checkConfig({ jetstream: { partitions: 0 } }), /jetstream\.partitions: Too small/);
});
