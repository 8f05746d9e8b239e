import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { encodeMseed } from '../../src/ingest/mseed/index.ts';
import { runCli } from '../helpers/cli.ts';

// What a new user typed wrong, and what PhaseStream must say before it loads any model.

t.test('replay of a file that does not exist is a usage error, before the model loads', async (t) => {
  const result = await runCli(['replay', '/nonexistent.mseed', '--model', '/no/model/here']);
  t.equal(result.code, 2, result.stderr);
  t.match(result.stderr, /\/nonexistent\.mseed: no such file/);
  t.notMatch(result.stderr, /unexpected error|model| {4}at /);
});

t.test('a glob that matched nothing says so', async (t) => {
  const result = await runCli(['replay', 'nowhere/*.mseed']);
  t.equal(result.code, 2);
  t.match(result.stderr, /nowhere\/\*\.mseed: no such file/);
  t.match(result.stderr, /the pattern matched no file/);
});

t.test('an empty file is named in a warning', async (t) => {
  const dir = t.testdir({ 'empty.mseed': '' });
  const result = await runCli(['replay', join(dir, 'empty.mseed')]);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stderr, /empty\.mseed.*empty file|empty file.*empty\.mseed/);
});

t.test('an SDS range or station filter that matches nothing names the range and the stations', async (t) => {
  const root = t.testdir();
  const dir = join(root, '2024', 'XX', 'STA1', 'HHZ.D');
  mkdirSync(dir, { recursive: true });
  const [record] = encodeMseed(
    {
      streamId: { network: 'XX', station: 'STA1', location: '00', channel: 'HHZ' },
      startTimeUs: Date.parse('2024-01-01T00:00:00Z') * 1000,
      samplingRate: 100,
      samples: new Int32Array(100),
    },
    { recordLength: 512 },
  );
  writeFileSync(join(dir, 'XX.STA1.00.HHZ.D.2024.001'), record);
  const base = ['replay', '--sds', root, '--start', '2024-01-01', '--end', '2024-01-02'];
  const wrongStation = await runCli([...base, '--stations', 'YY.*']);
  t.equal(wrongStation.code, 2);
  t.match(
    wrongStation.stderr,
    /has no file from 2024-01-01T00:00:00\.000000Z to 2024-01-02T00:00:00\.000000Z for YY\.\*/,
  );
  t.notMatch(wrongStation.stderr, /give miniSEED files/);
  const wrongDay = await runCli(['replay', '--sds', root, '--start', '2023-01-01', '--end', '2023-01-02']);
  t.equal(wrongDay.code, 2);
  t.match(wrongDay.stderr, /has no file from 2023-01-01/);
});

t.test('--speed and --stride must be positive numbers', async (t) => {
  for (const [option, value] of [
    ['--speed', '-3'],
    ['--speed', 'fast'],
    ['--stride', '0'],
  ]) {
    const result = await runCli(['replay', 'x.mseed', option, value]);
    t.equal(result.code, 2, `${option} ${value}`);
    t.match(result.stderr, new RegExp(`${option} must be a positive number, got '${value}'`));
  }
});

t.test('evaluate: no picks leaves precision undefined, and says so', async (t) => {
  const dir = t.testdir({
    'picks.jsonl': '',
    'truth.csv': 'phase,time\nP,2024-01-01T00:00:10.000Z\nS,2024-01-01T00:00:12.000Z\n',
  });
  const table = await runCli([
    'evaluate',
    '--picks',
    join(dir, 'picks.jsonl'),
    '--truth',
    join(dir, 'truth.csv'),
  ]);
  t.equal(table.code, 0, table.stderr);
  t.match(table.stdout, /^\s+P\s+undefined\s+0\.000\s+0\.000/m);
  t.match(table.stdout, /P: no picks were scored, so precision \(TP \/ picks\) is undefined/);
  const json = await runCli([
    'evaluate',
    '--picks',
    join(dir, 'picks.jsonl'),
    '--truth',
    join(dir, 'truth.csv'),
    '--format',
    'json',
  ]);
  t.equal(JSON.parse(json.stdout).P.precision, null);
});

t.test(
  'evaluate: transients inside embedded events count by default; --exclusion-mode lenient as listed',
  async (t) => {
    const pick = (time: string) =>
      JSON.stringify({
        network: 'XX',
        station: 'DEV1',
        location: '00',
        channel: 'HH',
        phase: 'P',
        time,
        probability: 0.9,
      });
    const dir = t.testdir({
      // One false pick in a transient of the real background, one in a transient inside an embedded event.
      'picks.jsonl': `${pick('2011-03-31T00:00:10.000000Z')}\n${pick('2011-03-31T00:01:05.000000Z')}\n${pick('2011-03-31T00:02:00.000000Z')}\n`,
      'truth.csv': 'phase,time\nP,2011-03-31T00:02:00.000Z\n',
      'manifest.json': JSON.stringify({
        start: '2011-03-31T00:00:00Z',
        sampling_rate: 100,
        embeds: [{ start_sample: 6000, end_sample: 15001 }],
        background_unlabelled_transients_s: { E: [[5, 15]], Z: [[55, 70]] },
      }),
    });
    const args = (mode?: string) => [
      'evaluate',
      '--picks',
      join(dir, 'picks.jsonl'),
      '--truth',
      join(dir, 'truth.csv'),
      '--exclusions',
      join(dir, 'manifest.json'),
      '--format',
      'json',
      ...(mode ? ['--exclusion-mode', mode] : []),
    ];
    const strict = JSON.parse((await runCli(args())).stdout).P;
    t.match(strict, { truePositives: 1, falsePositives: 1, excludedPicks: 1 }, 'strict by default');
    const lenient = JSON.parse((await runCli(args('lenient'))).stdout).P;
    t.match(lenient, { truePositives: 1, falsePositives: 0, excludedPicks: 2 });
  },
);
