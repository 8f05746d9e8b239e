import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { matMulOnnxSession, onnxMatMul, tfjsMatMul } from '../../bench/peak.ts';
import { EngineWorker, WorkerFailure } from '../../bench/workers.ts';
import {
  ORIGINAL_ARCHITECTURE,
  phasenetWeightSpec,
  trainableParameterCount,
} from '../../src/model/phasenet/architecture.ts';
import { randomOriginalModel, randomPhaseNetWeights } from '../../src/model/phasenet/random-weights.ts';

const python = '/usr/bin/python3';
const workerScript = fileURLToPath(new URL('../../bench/engine-worker.ts', import.meta.url));

t.test('the peak graph is a real matrix product', async (t) => {
  const n = 3;
  const a = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const b = Float32Array.from([0, 1, 0, 0, 0, 1, 1, 0, 0]);
  const session = await matMulOnnxSession(n, 1);
  try {
    const { c } = await session.run({
      a: new ort.Tensor('float32', a, [n, n]),
      b: new ort.Tensor('float32', b, [n, n]),
    });
    t.same(c.dims, [3, 3]);
    // b permutes columns: column 0 of the product is column 2 of a, and so on.
    t.same(Array.from(c.data as Float32Array), [3, 1, 2, 6, 4, 5, 9, 7, 8]);
  } finally {
    await session.release();
  }
});

t.test('the peak steps multiply and report their FLOPs', async (t) => {
  const onnx = await onnxMatMul(64, 1);
  t.equal(await onnx.step(), 2 * 64 ** 3);
  await onnx.dispose();
  await tf.setBackend('cpu');
  const before = tf.memory().numTensors;
  const tfjs = await tfjsMatMul(32);
  t.equal(await tfjs.step(), 2 * 32 ** 3);
  await tfjs.dispose();
  t.equal(tf.memory().numTensors, before, 'the tfjs step frees its tensors');
});

t.test('random weights: every tensor of the spec, realistic and reproducible', async (t) => {
  const weights = randomPhaseNetWeights(ORIGINAL_ARCHITECTURE, 7);
  const spec = phasenetWeightSpec(ORIGINAL_ARCHITECTURE);
  t.equal(weights.size, spec.length);
  t.same(
    spec.map(({ name }) => {
      const w = weights.get(name)!;
      return { name, shape: w.shape, size: w.values.length };
    }),
    spec.map(({ name, shape }) => ({ name, shape, size: shape.reduce((x, y) => x * y, 1) })),
  );
  const variances = spec.filter((w) => w.name.endsWith('/moving_variance'));
  t.ok(variances.every(({ name }) => weights.get(name)!.values.every((v) => v >= 0.5 && v <= 1.5)));
  // He scaling: down4_conv1 [7, 64, 128] has fan-in 448, so its std is about sqrt(2 / 448).
  const kernel = weights.get('down4_conv1/kernel')!.values;
  const std = Math.sqrt(kernel.reduce((s, v) => s + v * v, 0) / kernel.length);
  t.ok(Math.abs(std / Math.sqrt(1 / 448) - 1) < 0.02, `std ${std}: variance 1/fan-in`);
  t.same(
    randomPhaseNetWeights(ORIGINAL_ARCHITECTURE, 7).get('input_conv/kernel'),
    weights.get('input_conv/kernel'),
  );
  t.notSame(
    randomPhaseNetWeights(ORIGINAL_ARCHITECTURE, 8).get('input_conv/kernel'),
    weights.get('input_conv/kernel'),
  );
  const model = randomOriginalModel();
  t.same(model.card.architecture, ORIGINAL_ARCHITECTURE);
  t.match(model.card.source.origin, /random weights/);
});

const nodeWorker = (engine: string) =>
  EngineWorker.start(
    process.execPath,
    ['--import', 'tsx', workerScript, JSON.stringify({ engine, threads: 2 })],
    {
      ...process.env,
      PHASESTREAM_LOG_LEVEL: 'silent',
    },
  );

t.test('an engine worker runs its engine and its peak on command', async (t) => {
  const worker = await nodeWorker('onnxruntime');
  try {
    t.match(worker.ready, {
      ready: true,
      engine: 'onnxruntime',
      detail: 'onnxruntime-cpu',
      threads: 2,
      peakVia: 'an ONNX MatMul',
    });
    t.ok((await worker.measure({ op: 'windows', batch: 2, seconds: 0.05 })) > 0);
    t.ok((await worker.measure({ op: 'matmul', size: 64, seconds: 0.05 })) > 0);
  } finally {
    await worker.close();
  }
});

t.test('a worker whose engine cannot start fails with the reason', async (t) => {
  await t.rejects(nodeWorker('tfjs-tensorflow'), {
    constructor: WorkerFailure,
    message: /@tensorflow\/tfjs-node/,
  });
});

const hasTorch =
  existsSync(python) &&
  (await promisify(execFile)(python, ['-c', 'import torch']).then(
    () => true,
    () => false,
  ));

t.test(
  'the PyTorch yardstick builds the original network and answers the bench',
  { skip: hasTorch ? false : `${python} has no torch` },
  async (t) => {
    const script = fileURLToPath(new URL('../../bench/pytorch_phasenet.py', import.meta.url));
    const worker = await EngineWorker.start(python, [script, '--threads', '1'], process.env);
    try {
      t.match(worker.ready, {
        engine: 'pytorch',
        threads: 1,
        trainableParameters: trainableParameterCount(ORIGINAL_ARCHITECTURE),
        outputShape: [1, 3, 3000, 1],
        outputSumsToOne: true,
        peakVia: /^(torch\.mm|1x1 conv2d)$/,
      });
      t.ok((await worker.measure({ op: 'windows', batch: 2, seconds: 0.05 })) > 0);
      t.ok((await worker.measure({ op: 'matmul', size: 64, seconds: 0.05, minCalls: 3 })) > 0);
    } finally {
      await worker.close();
    }
  },
);
