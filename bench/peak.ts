/**
 * The machine's measured peak for each backend: the GFLOP/s of one large square float32 matrix
 * product, run by the same library, backend and thread count as the engine. Dense matrix products
 * are what every backend's kernels are tuned for best, so this is the most the engine could hope for.
 */
import * as tf from '@tensorflow/tfjs-core';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { normals, seededUniform } from '../src/util/random.ts';
import { matMulFlops } from './measure.ts';

const { onnx } = onnxProto;

/** A graph of one MatMul: inputs a and b [n, n], output c = a b. Both are inputs so nothing folds. */
export function matMulOnnxModel(n: number): Uint8Array {
  const square = (name: string): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [{ dimValue: n }, { dimValue: n }] },
      },
    },
  });
  const model: onnxProto.onnx.IModelProto = {
    // IR 8 with opset 17, as the PhaseNet export uses.
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'phasestream-bench',
    graph: {
      name: 'matmul_peak',
      node: [{ opType: 'MatMul', name: 'c', input: ['a', 'b'], output: ['c'] }],
      input: [square('a'), square('b')],
      output: [square('c')],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** A session for the MatMul graph with the settings the ONNX engine uses (src/engine/onnx/onnx-engine.ts). */
export function matMulOnnxSession(
  n: number,
  threads: number,
  device: 'cpu' | 'webgpu' = 'cpu',
): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(matMulOnnxModel(n), {
    executionProviders: [device],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
    enableMemPattern: true,
  });
}

function squareMatrix(n: number, seed: number): Float32Array {
  return normals(n * n, seededUniform(seed));
}

/** One large matrix product as a timing step: `step` returns the FLOPs it did. */
export interface MatMulStep {
  step: () => Promise<number>;
  dispose: () => Promise<void>;
}

/** onnxruntime's MatMul of two n x n matrices on `threads` intra-op threads, or on WebGPU. */
export async function onnxMatMul(
  n: number,
  threads: number,
  device: 'cpu' | 'webgpu' = 'cpu',
): Promise<MatMulStep> {
  const session = await matMulOnnxSession(n, threads, device);
  const feeds = {
    a: new ort.Tensor('float32', squareMatrix(n, 11), [n, n]),
    b: new ort.Tensor('float32', squareMatrix(n, 12), [n, n]),
  };
  return {
    step: async () => {
      await session.run(feeds);
      return matMulFlops(n);
    },
    dispose: () => session.release(),
  };
}

/**
 * tf.matMul of two n x n matrices on the active tfjs backend. Create it after the engine has set up
 * its backend, so that the product runs with the engine's backend and threads.
 */
export async function tfjsMatMul(n: number): Promise<MatMulStep> {
  const a = tf.tensor2d(squareMatrix(n, 11), [n, n]);
  const b = tf.tensor2d(squareMatrix(n, 12), [n, n]);
  return {
    step: async () => {
      const c = tf.matMul(a, b);
      // Reading the result waits for the backend to finish, as the engine's run does.
      await c.data();
      c.dispose();
      return matMulFlops(n);
    },
    dispose: async () => tf.dispose([a, b]),
  };
}
