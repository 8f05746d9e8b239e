/**
 * The device check (bench/gpu-check.sh runs it from a bundle on a machine without the repository's
 * node_modules): which WebGPU adapter Dawn finds, onnxruntime's WebGPU provider against its CPU
 * provider on the same windows (max |dprob|), then windows/s of each at growing batch sizes, the
 * two taking turns per batch size so that the ratio holds on a loaded machine. PhaseNet with random
 * weights (the original's architecture): speed and parity do not depend on the values.
 *
 * Usage: node gpu-check.mjs [--batches 32,128,512,1024,2048,4096] [--cpu-batches 32,128]
 *          [--seconds 3] [--threads N]
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { InferenceEngine } from '../src/engine/engine.ts';
import { createOnnxEngine } from '../src/engine/onnx/onnx-engine.ts';
import { findGpuAdapter } from '../src/engine/webgpu.ts';
import { log } from '../src/log.ts';
import { randomOriginalModel } from '../src/model/phasenet/random-weights.ts';
import { normals, seededUniform } from '../src/util/random.ts';
import { measureRate } from './measure.ts';

const list = (text: string) => text.split(',').map(Number);
const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '32,128,512,1024,2048,4096' },
    'cpu-batches': { type: 'string', default: '32,128' },
    seconds: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(availableParallelism()) },
  },
});
const gpuBatches = list(values.batches);
const cpuBatches = list(values['cpu-batches']);
const seconds = Number(values.seconds);
const threads = Number(values.threads);
log.level = 'warn';

const print = (line: string) => process.stdout.write(`${line}\n`);
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;

const adapter = await findGpuAdapter();
print(`adapter: ${adapter.vendor}, ${adapter.description}${adapter.software ? ' (software)' : ''}`);
print(
  `load average ${loadavg()[0].toFixed(1)}, ${availableParallelism()} cores, CPU provider on ${threads} threads`,
);

const model = randomOriginalModel();
const length = model.card.windowLength;
const channels = model.card.architecture.inChannels;
const cpu = await createOnnxEngine(model, { threads, device: 'cpu' });
const gpu = await createOnnxEngine(model, { threads, device: 'webgpu' });
const inputs = new Map<number, Float32Array>();
const inputOf = (batch: number) => {
  if (!inputs.has(batch)) inputs.set(batch, normals(batch * length * channels, seededUniform(batch)));
  return inputs.get(batch)!;
};

// Parity: the first run on WebGPU also compiles its shaders.
const parityBatch = Math.min(8, gpuBatches[0]);
const t0 = performance.now();
const onGpu = await gpu.run(inputOf(parityBatch), parityBatch, length);
const compileS = (performance.now() - t0) / 1000;
const onCpu = await cpu.run(inputOf(parityBatch), parityBatch, length);
let dprob = 0;
for (let i = 0; i < onCpu.probs.length; i++)
  dprob = Math.max(dprob, Math.abs(onCpu.probs[i] - onGpu.probs[i]));
print(
  `parity: ${parityBatch} windows, max |dprob| WebGPU vs CPU ${dprob.toExponential(2)} (first WebGPU run ${compileS.toFixed(1)} s)`,
);

async function rate(engine: InferenceEngine, batch: number): Promise<number> {
  const input = inputOf(batch);
  const step = async () => {
    await engine.run(input, batch, length);
    return batch;
  };
  await measureRate(step, { seconds: 0, minCalls: 1 });
  return measureRate(step, { seconds, minCalls: 2 });
}

print('\nengine              batch   windows/s');
const best = { cpu: 0, gpu: 0, gpuBatch: 0 };
for (const batch of [...new Set([...cpuBatches, ...gpuBatches])].sort((a, b) => a - b)) {
  for (const [name, engine] of [
    ['cpu', cpu],
    ['gpu', gpu],
  ] as const) {
    if (!(name === 'cpu' ? cpuBatches : gpuBatches).includes(batch)) continue;
    const r = await rate(engine, batch);
    print(
      `${engine.name.padEnd(20)}${String(batch).padStart(5)}   ${r.toFixed(0).padStart(9)}   (${elapsed()})`,
    );
    if (r > best[name]) Object.assign(best, name === 'gpu' ? { gpu: r, gpuBatch: batch } : { cpu: r });
  }
}
print(
  `\nbest: onnxruntime-webgpu ${best.gpu.toFixed(0)} windows/s at batch ${best.gpuBatch}, ` +
    `onnxruntime-cpu ${best.cpu.toFixed(0)}: ratio ${(best.gpu / best.cpu).toFixed(2)}; load average ${loadavg()[0].toFixed(1)}`,
);
await gpu.dispose();
await cpu.dispose();
