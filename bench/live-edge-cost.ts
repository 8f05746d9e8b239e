/**
 * What the live-edge lane costs: the dev record (2.6 h of XX.DEV1, 74 events: busier than most
 * stations, so the trigger gates less than it would elsewhere) through pickPipeline as fast as it
 * goes, with the lane off and on, alternating (off, on, off, on) in one process so that the machine's
 * load falls alike on both. CPU seconds of the process and windows through the network per run; the
 * ratio on/off is the lane's price. Usage:
 *
 *   nice -n 10 node --import tsx bench/live-edge-cost.ts [--stride 10] [--edge-stride 1] [--rounds 2]
 */

import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { lastValueFrom, toArray } from 'rxjs';
import { pickPipeline } from '../src/app/pipeline.ts';
import { checkConfig } from '../src/config/load.ts';
import { createEngine } from '../src/engine/index.ts';
import { archiveRecords } from '../src/ingest/archive.ts';
import { resolveModelDir } from '../src/model/resolve.ts';
import { loadModelDir } from '../src/model/store.ts';
import { devRecordDir } from './archive-builder.ts';

const { values } = parseArgs({
  options: {
    stride: { type: 'string', default: '10' },
    'edge-stride': { type: 'string', default: '1' },
    rounds: { type: 'string', default: '2' },
  },
});
const config = checkConfig({
  picker: { strideS: Number(values.stride), liveEdge: { strideS: Number(values['edge-stride']) } },
});
const files = ['HHE', 'HHN', 'HHZ'].map((c) => join(devRecordDir, `XX.DEV1.00.${c}.mseed`));
const engine = await createEngine(await loadModelDir(await resolveModelDir(config.model.dir)), {
  engine: 'onnxruntime',
  backend: 'auto',
  threads: 1,
});
const loadBefore = loadavg()[0];
const runs: {
  liveEdge: boolean;
  cpuS: number;
  wallS: number;
  windows: number;
  edgeWindows: number;
  inferenceS: number;
}[] = [];
for (let round = 0; round < Number(values.rounds); round++) {
  for (const liveEdge of [false, true]) {
    let windows = 0;
    let edgeWindows = 0;
    let inferenceS = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    await lastValueFrom(
      pickPipeline(
        archiveRecords(files),
        engine,
        config,
        {
          onBatch: (b) => {
            windows += b.windows;
            inferenceS += b.inferenceMs / 1000;
          },
          onEdgeBatch: (b) => {
            edgeWindows += b.windows;
          },
        },
        { liveEdge },
      ).pipe(toArray()),
    );
    const used = process.cpuUsage(cpu);
    runs.push({
      liveEdge,
      cpuS: (used.user + used.system) / 1e6,
      wallS: (performance.now() - started) / 1000,
      windows: windows - edgeWindows,
      edgeWindows,
      inferenceS,
    });
  }
}
await engine.dispose();
const mean = (on: boolean, key: 'cpuS' | 'wallS' | 'inferenceS') => {
  const of = runs.filter((r) => r.liveEdge === on);
  return of.reduce((sum, r) => sum + r[key], 0) / of.length;
};
const summary = {
  settings: { strideS: config.picker.strideS, edgeStrideS: config.picker.liveEdge.strideS },
  load: { before: loadBefore, after: loadavg()[0] },
  runs,
  cpuRatio: mean(true, 'cpuS') / mean(false, 'cpuS'),
  wallRatio: mean(true, 'wallS') / mean(false, 'wallS'),
  inferenceRatio: mean(true, 'inferenceS') / mean(false, 'inferenceS'),
};
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
