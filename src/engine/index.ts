import { availableParallelism } from 'node:os';
import { EngineUnavailableError } from '../errors.ts';
import { log } from '../log.ts';
import type { LoadedModel } from '../model/card.ts';
import type { InferenceEngine } from './engine.ts';
import { createOnnxEngine, type OnnxDevice } from './onnx/onnx-engine.ts';
import { createTfjsEngine, type TfjsBackendName } from './tfjs/tfjs-engine.ts';
import { findGpuAdapter, hasGpuDeviceNode } from './webgpu.ts';

export type EngineKind = 'auto' | 'onnxruntime' | 'tfjs';

export interface EngineOptions {
  engine: EngineKind;
  /** tfjs only: which backend; `auto` picks the fastest installed. */
  backend: TfjsBackendName | 'auto';
  /** onnxruntime only: `auto` (default) takes WebGPU where a hardware adapter exists, else the CPU. */
  device?: OnnxDevice | 'auto';
  /** CPU threads for inference (default: the machine's cores). */
  threads?: number;
}

export const defaultEngineOptions: EngineOptions = { engine: 'auto', backend: 'auto', device: 'auto' };

/**
 * onnxruntime on WebGPU where a hardware adapter exists, else on the CPU, saying why in one log line.
 * A software adapter (lavapipe) is not taken: it runs PhaseNet far slower than the CPU provider.
 */
async function createOnnxOnBestDevice(model: LoadedModel, threads: number): Promise<InferenceEngine> {
  let reason: string;
  try {
    if (process.platform === 'linux' && !hasGpuDeviceNode()) {
      throw new EngineUnavailableError('no GPU device (no /dev/dri/renderD*, no /dev/nvidia*)');
    }
    const adapter = await findGpuAdapter();
    if (!adapter.software) {
      return await createOnnxEngine(model, { threads, device: 'webgpu' });
    }
    reason = `the only WebGPU adapter is a software one (${adapter.description}); --device webgpu takes it anyway`;
  } catch (error) {
    if (!(error instanceof EngineUnavailableError)) throw error;
    reason = error.message;
  }
  log.info({ reason }, 'no GPU for inference: running on the CPU');
  return createOnnxEngine(model, { threads, device: 'cpu' });
}

/**
 * Creates the inference engine for a model. `auto` takes tfjs on a GPU when @tensorflow/tfjs-node-gpu
 * is installed, else onnxruntime-node on WebGPU where a GPU adapter exists, else onnxruntime-node on
 * the CPU, which measured fastest on CPUs here (2,000+ windows/s against ~450 for tfjs-wasm at batch
 * 32 on two cores; see bench/inference.ts).
 */
export async function createEngine(model: LoadedModel, options: EngineOptions): Promise<InferenceEngine> {
  const threads = options.threads ?? availableParallelism();
  let engine: InferenceEngine;
  if (options.engine === 'tfjs') {
    engine = await createTfjsEngine(model, { backend: options.backend, threads });
  } else if (options.engine === 'onnxruntime' && options.device && options.device !== 'auto') {
    engine = await createOnnxEngine(model, { threads, device: options.device });
  } else if (options.engine === 'onnxruntime') {
    engine = await createOnnxOnBestDevice(model, threads);
  } else {
    engine = await createTfjsEngine(model, { backend: 'tensorflow-gpu', threads }).catch((error: unknown) => {
      if (!(error instanceof EngineUnavailableError)) throw error;
      return createOnnxOnBestDevice(model, threads);
    });
  }
  log.info({ engine: engine.name, threads, model: model.card.name }, 'inference engine ready');
  return engine;
}
