import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import t from 'tap';
import { runCli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'phasestream-simulate-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'small.yaml');
writeFileSync(
  config,
  'models: 2\nreceivers: 3\ngrid: { widthM: 6000, depthM: 2500, maxPoints: 6000 }\nsource: { depthM: [800, 1500] }\nrecord: { durationS: 40 }\nextraction: { extractsPerRecord: 2 }\n',
);

t.test('simulate: an image of the wavefield and seismograms, and the labels', async (t) => {
  const image = join(dir, 'one.png');
  const result = await runCli([
    'simulate',
    '--config',
    config,
    '--model-index',
    '1',
    '--snapshots',
    '3',
    '--image',
    image,
  ]);
  t.equal(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout);
  t.equal(summary.receivers.length, 3);
  for (const r of summary.receivers) t.ok(r.sS > r.pS && r.pS > 0, `P ${r.pS} s, S ${r.sS} s`);
  const png = PNG.sync.read(readFileSync(image));
  t.ok(png.width > 400 && png.height > 400, `${png.width} x ${png.height} px`);
  // Snapshots and traces drew something beyond the white background.
  let coloured = 0;
  for (let k = 0; k < png.data.length; k += 4) if (png.data[k] !== png.data[k + 2]) coloured++;
  t.ok(coloured > 1000, `${coloured} coloured pixels (wavefield, labels)`);
});

t.test('simulate dataset: one command, a dataset and a summary', async (t) => {
  const out = join(dir, 'dataset');
  const result = await runCli(['simulate', 'dataset', '--config', config, '--out', out, '--workers', '2']);
  t.equal(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout);
  t.equal(summary.tasks, 2);
  t.equal(readFileSync(join(out, 'dataset.csv'), 'utf8').trim().split('\n').length - 1, summary.windows);
  const again = await runCli(['simulate', 'dataset', '--config', config, '--out', out]);
  t.equal(JSON.parse(again.stdout).resumedTasks, 2, 'nothing left to simulate');
});

t.test('simulate: clear errors for bad input', async (t) => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'grid: { maxSpacingM: -1 }\n');
  const result = await runCli(['simulate', '--config', bad]);
  t.equal(result.code, 2);
  t.match(result.stderr, /grid\.maxSpacingM/);
  const wrong = await runCli([
    'simulate',
    'continuous',
    '--out',
    join(dir, 'c'),
    '--events',
    '9',
    '--duration',
    '60',
  ]);
  t.equal(wrong.code, 2);
  t.match(wrong.stderr, /9 events need at least 270 s/);
});
