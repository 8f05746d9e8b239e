import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { findGpuAdapter, hasGpuDeviceNode } from '../../src/engine/webgpu.ts';
import { runCli } from '../helpers/cli.ts';
import { originalModelDir } from '../helpers/original-model.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';
import { skipUnlessWebGpu } from '../helpers/webgpu.ts';

const dev = (...p: string[]) => sharedPath('data', 'continuous-dev', ...p);
const devFiles = ['HHE', 'HHN', 'HHZ'].map((c) => dev(`XX.DEV1.00.${c}.mseed`));
const skip =
  skipUnlessShared('data', 'continuous-dev') ||
  skipUnlessShared('models', 'phasenet-original') ||
  (await skipUnlessWebGpu());

/** JSON log lines of a run's standard error (Dawn also writes plain-text warnings there). */
const logLines = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

// The first hour of the dev record (~240 windows, 60-odd picks) on onnxruntime's WebGPU provider
// and on its CPU provider. The whole record (2.6 h) took 124 s on lavapipe with a cold shader cache
// on two loaded cores, too long for CI; by hand it gave the same 177 picks as the CPU.
t.test('replay on WebGPU gives the picks of the CPU', { skip }, async (t) => {
  const model = await originalModelDir();
  // A batch of hundreds of windows takes a minute or more on lavapipe under load, and a station whose
  // data stops for stream.endAfterIdleMs of wall clock ends its segment (which moves the windows
  // after it): once, on two cores at load 21, that split the WebGPU replay. Batches of 64 and a
  // longer idle wait keep the comparison to what it is about, the numbers.
  const dir = t.testdir();
  const config = join(dir, 'replay.json');
  writeFileSync(config, JSON.stringify({ batching: { size: 64 }, stream: { endAfterIdleMs: 3_600_000 } }));
  const picksOn = async (device: string) => {
    const out = join(dir, `${device}.jsonl`);
    const args = [
      'replay',
      ...devFiles,
      '--model',
      model,
      '--config',
      config,
      '--end',
      '2011-03-31T01:00:00Z',
    ];
    args.push('--engine', 'onnxruntime', '--device', device);
    const result = await runCli([...args, '--output', out], { env: { PHASESTREAM_LOG_LEVEL: 'info' } });
    t.equal(result.code, 0, `the replay on ${device} exits 0`);
    if (result.code !== 0) t.comment(result.stderr);
    const ready = logLines(result.stderr).find((l) => l.msg === 'inference engine ready');
    t.equal(ready?.engine, `onnxruntime-${device}`, `the replay ran on onnxruntime-${device}`);
    return readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; time: string; phase: string; probability: number });
  };
  const cpu = await picksOn('cpu');
  const gpu = await picksOn('webgpu');
  t.ok(cpu.length > 40, `${cpu.length} picks on the CPU`);
  t.equal(gpu.length, cpu.length, 'as many picks on WebGPU');
  let dprob = 0;
  const mismatched: string[] = [];
  for (const [i, a] of cpu.entries()) {
    const b = gpu[i];
    if (!b || b.id !== a.id || b.time !== a.time) mismatched.push(a.id);
    else dprob = Math.max(dprob, Math.abs(a.probability - b.probability));
  }
  t.same(mismatched, [], 'every pick at the same time, same phase and station');
  // Pick files round probabilities to 4 decimals: 1e-4 is one step of that rounding.
  t.ok(dprob <= 1e-4 + 1e-9, `max |dprob| ${dprob}`);
});

t.test(
  'auto takes a hardware GPU only, and says in one line when it stays on the CPU',
  { skip },
  async (t) => {
    const adapter = await findGpuAdapter();
    const result = await runCli(
      [
        'replay',
        ...devFiles,
        '--model',
        await originalModelDir(),
        '--end',
        '2011-03-31T00:02:00Z',
        '--output',
        '-',
      ],
      { env: { PHASESTREAM_LOG_LEVEL: 'info' } },
    );
    t.equal(result.code, 0, 'the replay exits 0');
    if (result.code !== 0) t.comment(result.stderr);
    const lines = logLines(result.stderr);
    const ready = lines.find((l) => l.msg === 'inference engine ready');
    const fallback = lines.filter((l) => l.msg === 'no GPU for inference: running on the CPU');
    if (adapter.software) {
      t.equal(ready?.engine, 'onnxruntime-cpu', `a software adapter (${adapter.description}) is not taken`);
      t.equal(fallback.length, 1, 'one log line says why');
      t.match(fallback[0]?.reason, /software|no GPU device/);
      if (!hasGpuDeviceNode())
        t.notMatch(result.stderr, /Warning/, 'Dawn is not started without a GPU device');
    } else {
      t.equal(ready?.engine, 'onnxruntime-webgpu', `the GPU (${adapter.description}) is taken`);
      t.equal(fallback.length, 0);
    }
  },
);
