import { availableParallelism } from 'node:os';
import { EngineUnavailableError } from '../errors.ts';
import { log } from '../log.ts';
import type { LoadedModel } from '../model/card.ts';
import type { InferenceEngine } from './engine.ts';
import { createOnnxEngine } from './onnx/onnx-engine.ts';
import { createTfjsEngine, type TfjsBackendName } from './tfjs/tfjs-engine.ts';

export type EngineKind = 'auto' | 'onnxruntime' | 'tfjs';

export interface EngineOptions {
  engine: EngineKind;
  /** tfjs only: which backend; `auto` picks the fastest installed. */
  backend: TfjsBackendName | 'auto';
  /** CPU threads for inference (default: the machine's cores). */
  threads?: number;
}

export const defaultEngineOptions: EngineOptions = { engine: 'auto', backend: 'auto' };

/**
 * Creates the inference engine for a model. `auto` takes tfjs on a GPU when @tensorflow/tfjs-node-gpu
 * is installed, else onnxruntime-node, which measured fastest on CPUs here (2,000+ windows/s against
 * ~450 for tfjs-wasm at batch 32 on two cores; see bench/inference.ts).
 */
export async function createEngine(model: LoadedModel, options: EngineOptions): Promise<InferenceEngine> {
  const threads = options.threads ?? availableParallelism();
  let engine: InferenceEngine;
  if (options.engine === 'tfjs') {
    engine = await createTfjsEngine(model, { backend: options.backend, threads });
  } else if (options.engine === 'onnxruntime') {
    engine = await createOnnxEngine(model, { threads });
  } else {
    engine = await createTfjsEngine(model, { backend: 'tensorflow-gpu', threads }).catch((error: unknown) => {
      if (!(error instanceof EngineUnavailableError)) throw error;
      return createOnnxEngine(model, { threads });
    });
  }
  log.info({ engine: engine.name, threads, model: model.card.name }, 'inference engine ready');
  return engine;
}
