import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { encodePhaseNetNpz, readPhaseNetNpz } from '../../src/ingest/npz.ts';
import { runCli } from '../helpers/cli.ts';
import { originalModelDir } from '../helpers/original-model.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const devDir = sharedPath('data', 'phasenet-ncedc-dev');
const skip =
  skipUnlessShared('data', 'phasenet-ncedc-dev') || skipUnlessShared('models', 'phasenet-original');

t.test('predict picks the analysts P and S on 3-component dev records', { skip }, async (t) => {
  const model = await originalModelDir();
  // Three-component records (E and N not zero) of the dev set, in file order.
  const files = readdirSync(devDir)
    .filter((f) => f.endsWith('.npz'))
    .map((f) => join(devDir, f))
    .filter((f) => {
      const { data } = readPhaseNetNpz(f);
      return data.some((v, i) => i % 3 === 0 && v !== 0);
    })
    .slice(0, 12);
  const result = await runCli(['predict', ...files, '--model', model, '--format', 'json']);
  t.equal(result.code, 0, result.stderr);
  const picks = result.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  let matched = 0;
  for (const file of files) {
    const { itp, its } = readPhaseNetNpz(file);
    const mine = picks.filter((p) => p.source === file);
    // 0.1 s at 100 Hz.
    const hit = (phase: string, truth: number) =>
      mine.some((p) => p.phase === phase && Math.abs(p.sample - truth) <= 10);
    matched += Number(hit('P', itp[0])) + Number(hit('S', its[0]));
    for (const p of mine)
      t.ok(p.probability >= 0.5 && p.probability <= 1, 'probabilities at or above the threshold');
  }
  t.ok(
    matched >= 0.8 * 2 * files.length,
    `${matched} of ${2 * files.length} analyst picks found within 0.1 s`,
  );
});

t.test('--probs writes sample,noise,P,S rows that sum to one', { skip }, async (t) => {
  const model = await originalModelDir();
  const file = join(devDir, 'NC_GDXB_2017111608332923.npz');
  const out = join(t.testdir(), 'probs.csv');
  const result = await runCli([
    'predict',
    file,
    '--model',
    model,
    '--probs',
    out,
    '--engine',
    'tfjs',
    '--backend',
    'wasm',
  ]);
  t.equal(result.code, 0, result.stderr);
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  t.equal(lines[0], 'sample,noise,P,S');
  t.equal(lines.length - 1, readPhaseNetNpz(file).length, 'one row per sample');
  const rows = lines.slice(1).map((l) => l.split(',').map(Number));
  t.ok(rows.every((r, i) => r[0] === i && Math.abs(r[1] + r[2] + r[3] - 1) < 1e-4));
  const { itp } = readPhaseNetNpz(file);
  const pMax = rows.reduce((best, r) => (r[2] > best[2] ? r : best));
  t.ok(
    Math.abs(pMax[0] - itp[0]) <= 10,
    `P probability peaks at ${pMax[0]}, the analyst's P is at ${itp[0]}`,
  );
});

t.test('bad input gives a clear error and no stack trace', { skip }, async (t) => {
  const dir = t.testdir({ 'bad.npz': 'not a zip at all' });
  const result = await runCli(['predict', join(dir, 'bad.npz'), '--model', await originalModelDir()]);
  t.not(result.code, 0);
  t.match(result.stderr, /bad\.npz/);
  t.notOk(result.stderr.includes('    at '), 'no stack trace');
});

const onsetRecord = join(devDir, 'BG_ACR_2012082505145960.npz');
const skipOnset = skipUnlessShared('data', 'phasenet-ncedc-dev');

t.test(
  'an onset on the first sample of a window keeps its probability, at any stride',
  { skip: skipOnset },
  async (t) => {
    // P at sample 3000: at the default stride of 1500 it is the first sample of a window that cannot see
    // it; the record's samples are taken from the windows that see them nearest their centre.
    const { itp } = readPhaseNetNpz(onsetRecord);
    t.equal(itp[0], 3000);
    for (const stride of [[], ['--stride', '30']]) {
      const result = await runCli(['predict', onsetRecord, '--format', 'json', ...stride]);
      t.equal(result.code, 0, result.stderr);
      const p = result.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .find((pick) => pick.phase === 'P' && Math.abs(pick.sample - itp[0]) <= 10);
      t.ok(p && p.probability >= 0.9, `stride ${stride[1] ?? 'default'}: P ${p?.probability}`);
    }
  },
);

t.test(
  'NaN samples are interpolated and reported, as the streaming path does',
  { skip: skipOnset },
  async (t) => {
    const record = readPhaseNetNpz(onsetRecord);
    const withNaN = Float32Array.from(record.data);
    const interpolated = Float32Array.from(record.data);
    // Samples 5000..5019 of Z (component 2) lost: NaN, and by hand the line between their neighbours.
    const [from, to] = [4999, 5020];
    for (let i = from + 1; i < to; i++) {
      withNaN[i * 3 + 2] = Number.NaN;
      const a = record.data[from * 3 + 2];
      const b = record.data[to * 3 + 2];
      interpolated[i * 3 + 2] = a + ((b - a) * (i - from)) / (to - from);
    }
    const dir = t.testdir();
    const write = (name: string, data: Float32Array) => {
      const path = join(dir, name);
      writeFileSync(
        path,
        encodePhaseNetNpz({
          data,
          length: record.length,
          itp: record.itp[0],
          its: record.its[0],
          channels: ['E', 'N', 'Z'],
        }),
      );
      return path;
    };
    const nan = await runCli(['predict', write('nan.npz', withNaN), '--format', 'json']);
    const byHand = await runCli(['predict', write('hand.npz', interpolated), '--format', 'json']);
    t.equal(nan.code, 0, nan.stderr);
    t.match(nan.stderr, /20 of 9001 samples were NaN or infinite: linearly interpolated/);
    t.match(nan.stderr, /"component":"Z"/);
    const picks = (out: string) =>
      out
        .trim()
        .split('\n')
        .map((l) => {
          const { source, ...pick } = JSON.parse(l);
          return pick;
        });
    t.ok(
      picks(nan.stdout).some((p) => p.phase === 'P'),
      'P is still picked',
    );
    t.same(picks(nan.stdout), picks(byHand.stdout), 'the same picks as the record interpolated by hand');
  },
);
