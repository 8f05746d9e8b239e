/**
 * Page soak bench: does the live page stay responsive over a long replay? A replay of an SDS archive
 * (the dev record tiled, bench/archive-builder.ts) runs at `--speed` x real time with the page on;
 * headless Chromium watches one station for `--minutes`, and every `--sample-s` the bench reads the
 * page's live JS heap (after a forced collection), its DOM node count and the frame times of that
 * interval. The first interval is the baseline the others are compared with. See bench/README.md.
 *
 *   node --import tsx bench/page.ts [--minutes 30] [--speed 60] [--stations 3] [--sample-s 30]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isoFromEpochUs } from '../src/ingest/mseed/index.ts';
import { launchChromium } from '../test/helpers/browser.ts';
import { buildSdsArchive, loadDevRecord, writeBenchModel } from './archive-builder.ts';
import { percentile, slope, textTable } from './pipeline-measure.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    speed: { type: 'string', default: '60' },
    stations: { type: 'string', default: '3' },
    'sample-s': { type: 'string', default: '30' },
  },
});
const minutes = Number(values.minutes);
const speed = Number(values.speed);
const stations = Number(values.stations);
const sampleS = Number(values['sample-s']);

interface Sample {
  minute: number;
  heapMB: number;
  nodes: number;
  frames: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  dataTime: string;
}

const work = await mkdtemp(join(tmpdir(), 'phasestream-bench-page-'));
try {
  const dev = await loadDevRecord();
  const durationS = minutes * 60 * speed + 600;
  process.stderr.write(
    `bench: building ${stations} stations x ${(durationS / 3600).toFixed(1)} h of SDS archive\n`,
  );
  const archive = await buildSdsArchive(dev, join(work, 'sds'), stations, dev.startTimeUs, durationS);
  const model = await writeBenchModel(join(work, 'model'));
  const replay = spawn(
    process.execPath,
    [
      join(repoRoot, 'bin/phasestream.js'),
      'replay',
      '--sds',
      archive.root,
      '--start',
      isoFromEpochUs(archive.startUs),
      '--end',
      isoFromEpochUs(archive.endUs),
      '--model',
      model.dir,
      '--speed',
      String(speed),
      '--page',
      '0',
      '--output',
      join(work, 'picks.jsonl'),
    ],
    { env: { ...process.env, PHASESTREAM_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const url = await new Promise<string>((resolveUrl, reject) => {
    let stderr = '';
    replay.stderr.on('data', (d) => {
      stderr += d;
      const found = /live page: (http:\S+)/.exec(stderr)?.[1];
      if (found) resolveUrl(found);
    });
    replay.on('exit', (code) => reject(new Error(`the replay exited (${code}):\n${stderr}`)));
  });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(url);
  await page.locator('#stations tbody tr').first().click();
  // A string, not a function: tsx would wrap a function's inner names in a helper the page lacks.
  await page.evaluate(`
    window.frameTimes = [];
    let last = performance.now();
    requestAnimationFrame(function tick(now) {
      window.frameTimes.push(now - last);
      last = now;
      requestAnimationFrame(tick);
    });
  `);
  const samples: Sample[] = [];
  const started = performance.now();
  while (performance.now() - started < minutes * 60_000) {
    await new Promise((r) => setTimeout(r, sampleS * 1000));
    const frameTimes = (await page.evaluate('window.frameTimes.splice(0)')) as number[];
    await cdp.send('HeapProfiler.collectGarbage');
    const { metrics } = await cdp.send('Performance.getMetrics');
    const metric = (name: string) => metrics.find((m) => m.name === name)?.value ?? Number.NaN;
    samples.push({
      minute: (performance.now() - started) / 60_000,
      heapMB: metric('JSHeapUsedSize') / 2 ** 20,
      nodes: metric('Nodes'),
      frames: frameTimes.length,
      p50Ms: percentile(frameTimes, 50),
      p99Ms: percentile(frameTimes, 99),
      maxMs: Math.max(...frameTimes),
      dataTime: ((await page.locator('#progress-text').textContent()) ?? '').split(',')[0],
    });
    const s = samples[samples.length - 1];
    process.stderr.write(
      `bench: ${s.minute.toFixed(1)} min: heap ${s.heapMB.toFixed(1)} MB, ${s.nodes} nodes, frames p99 ${s.p99Ms.toFixed(1)} ms\n`,
    );
  }
  await browser.close();
  replay.kill('SIGINT');

  const first = samples[0];
  const last = samples[samples.length - 1];
  console.log(
    `Live page over ${minutes} min of a replay at x${speed} (${stations} stations, watching one), sampled every ${sampleS} s\n`,
  );
  console.log(
    textTable(
      ['minute', 'replayed', 'live heap MB', 'DOM nodes', 'frames', 'frame p50 ms', 'p99 ms', 'max ms'],
      samples.map((s) => [
        s.minute.toFixed(1),
        s.dataTime,
        s.heapMB.toFixed(1),
        String(s.nodes),
        String(s.frames),
        s.p50Ms.toFixed(1),
        s.p99Ms.toFixed(1),
        s.maxMs.toFixed(0),
      ]),
    ),
  );
  const heapSlope = slope(
    samples.map((s) => s.minute),
    samples.map((s) => s.heapMB),
  );
  console.log(
    `\nlast vs first interval: live heap x${(last.heapMB / first.heapMB).toFixed(2)}, DOM nodes x${(last.nodes / first.nodes).toFixed(2)}, frame p99 x${(last.p99Ms / first.p99Ms).toFixed(2)}, frames x${(last.frames / first.frames).toFixed(2)}; heap slope ${heapSlope.toFixed(3)} MB/min`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
