import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import t from 'tap';
import { tickStep } from '../../src/synth/image.ts';
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
  const pixel = (x: number, y: number) => [
    ...png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 3),
  ];
  // The colour bar at the bottom: a run of blue shading to white.
  let blue = 0;
  for (let y = png.height - 80; y < png.height; y++)
    for (let x = 0; x < png.width; x++) {
      const [r, g, b] = pixel(x, y);
      if (b > 240 && r < 160 && g < 160) blue++;
    }
  t.ok(blue > 500, `${blue} pixels of the colour bar's blue end`);
  // Axes: the depth numbers and label left of the first snapshot (dark text in the margin).
  let text = 0;
  for (let y = 30; y < 200; y++)
    for (let x = 0; x < 45; x++) {
      const [r, g, b] = pixel(x, y);
      if (r < 80 && g < 80 && b < 80) text++;
    }
  t.ok(text > 20, `${text} dark pixels of depth numbers and label`);
});

t.test('axis ticks fall on round values', async (t) => {
  t.equal(tickStep(6, 6), 1);
  t.equal(tickStep(6.35, 6), 2);
  t.equal(tickStep(2.5, 6), 0.5);
  t.equal(tickStep(40, 6), 10);
  t.equal(tickStep(0.03, 6), 0.005);
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
