import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';
import { EngineUnavailableError, ModelFormatError, PhaseStreamError } from '../../errors.ts';
import { log } from '../../log.ts';
import type { LoadedModel } from '../../model/card.ts';
import { checkRunInput, type InferenceEngine } from '../engine.ts';
import { webGpuHint } from '../webgpu.ts';
import { exportPhaseNetOnnx } from './export.ts';

type Ort = typeof import('onnxruntime-node');

/** Where onnxruntime runs the graph: its CPU provider, or its WebGPU provider (Dawn, built into onnxruntime-node). */
export type OnnxDevice = 'cpu' | 'webgpu';

export interface OnnxEngineOptions {
  /** onnxruntime's intra-op threads (default: the machine's cores). */
  threads?: number;
  /** Default `cpu`. */
  device?: OnnxDevice;
  /**
   * An ONNX model (bytes or a file path) to run instead of the one exported from the model's weights;
   * it must take `x` [batch, length, inChannels] float32 and give `probs` (and `logits`) like the export.
   */
  onnxModel?: Uint8Array | string;
}

/**
 * Session settings, measured with onnxruntime-node 1.30 on this project's 2-core AVX2 machine (two
 * threads, batch 32, PhaseNet as exported; medians of quiet runs): graph optimization 'all' lays the
 * convolutions out in blocked NCHWc form and fuses bias, ReLU and the skip sums into them, ~2,000-2,450
 * windows/s against ~1,150-1,550 for 'basic' or 'extended'; spinning intra-op threads (the default)
 * ~2,000-2,350 against ~1,100-1,800 without; the memory arena made no measurable difference. One
 * inter-op thread: the graph is a chain.
 */
function cpuSessionOptions(threads: number): InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
    enableMemPattern: true,
  };
}

/**
 * The WebGPU provider takes every node of the Add export (src/engine/onnx/export.ts); the CPU threads
 * only feed it. Its first run of a shape compiles the shaders (seconds on lavapipe).
 */
function sessionOptions(threads: number, device: OnnxDevice): InferenceSession.SessionOptions {
  if (device === 'cpu') return cpuSessionOptions(threads);
  // Severity 3 (errors): it otherwise warns on every session that the shape arithmetic stays on the CPU.
  return { ...cpuSessionOptions(threads), executionProviders: ['webgpu'], logSeverityLevel: 3 };
}

async function loadOnnxRuntime(): Promise<Ort> {
  try {
    return await import('onnxruntime-node');
  } catch (error) {
    throw new EngineUnavailableError(`onnxruntime-node cannot be loaded here: ${(error as Error).message}`, {
      hint: 'Install onnxruntime-node (npm install onnxruntime-node) on a platform it ships binaries for, or use --engine tfjs.',
      cause: error,
    });
  }
}

async function onnxModelBytes(
  model: LoadedModel,
  given: Uint8Array | string | undefined,
  device: OnnxDevice,
): Promise<Uint8Array> {
  if (given instanceof Uint8Array) return given;
  if (typeof given === 'string') {
    try {
      return await readFile(given);
    } catch (error) {
      throw new ModelFormatError(`cannot read the ONNX model ${given}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  const { card } = model;
  return exportPhaseNetOnnx(card.architecture, model.weights, {
    name: card.name,
    version: card.version,
    source: card.source?.url ?? card.source?.origin,
    description: card.description,
    skipJoin: device === 'webgpu' ? 'Add' : 'Sum',
  });
}

/** The session must take `x` [batch, length, inChannels] float32 and give `probs`; says what differs. */
function checkSession(session: InferenceSession, inChannels: number, source: string): void {
  const x = session.inputMetadata.find((m) => m.name === 'x');
  const problems: string[] = [];
  if (!x) problems.push(`it has no input x (inputs: ${session.inputNames.join(', ')})`);
  else if (x.isTensor) {
    const channels = x.shape[2];
    if (x.type !== 'float32') problems.push(`input x is ${x.type}, not float32`);
    if (x.shape.length !== 3)
      problems.push(`input x has rank ${x.shape.length}, not 3 ([batch, length, channels])`);
    else if (typeof channels === 'number' && channels !== inChannels) {
      problems.push(`input x has ${channels} channels, the model card ${inChannels}`);
    }
  }
  if (!session.outputNames.includes('probs'))
    problems.push(`it has no output probs (outputs: ${session.outputNames.join(', ')})`);
  if (problems.length > 0) {
    throw new ModelFormatError(
      `${source} is not a PhaseNet ONNX model for this card: ${problems.join('; ')}`,
      {
        hint: 'Export it with PhaseStream (input x [batch, length, channels], outputs logits and probs).',
      },
    );
  }
}

class OnnxEngine implements InferenceEngine {
  readonly name: string;
  readonly device: 'cpu' | 'gpu';
  readonly card: LoadedModel['card'];
  private disposed = false;

  constructor(
    model: LoadedModel,
    private readonly ort: Ort,
    private readonly session: InferenceSession,
    device: OnnxDevice,
  ) {
    this.card = model.card;
    this.name = `onnxruntime-${device}`;
    this.device = device === 'cpu' ? 'cpu' : 'gpu';
  }

  /** One onnxruntime call; its failures become EngineUnavailableError. */
  private async runBatch(input: Float32Array, batch: number, length: number, fetches: string[]) {
    const channels = this.card.architecture.inChannels;
    try {
      const outputs = await this.session.run(
        { x: new this.ort.Tensor('float32', input, [batch, length, channels]) },
        fetches,
      );
      return fetches.map((name) => outputs[name].data as Float32Array);
    } catch (error) {
      throw new EngineUnavailableError(
        `${this.name}: onnxruntime failed on a batch of ${batch} x ${length} samples: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  async run(
    input: Float32Array,
    batch: number,
    length: number,
    options: { withLogits?: boolean } = {},
  ): Promise<{ probs: Float32Array; logits?: Float32Array }> {
    checkRunInput({
      engine: this.name,
      disposed: this.disposed,
      input,
      batch,
      length,
      channels: this.card.architecture.inChannels,
    });
    const fetches = options.withLogits ? ['probs', 'logits'] : ['probs'];
    if (options.withLogits && !this.session.outputNames.includes('logits')) {
      throw new ModelFormatError(`${this.name}: this ONNX model has no logits output`);
    }
    const [probs, logits] = await this.runBatch(input, batch, length, fetches);
    return options.withLogits ? { probs, logits } : { probs };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}

/**
 * The onnxruntime engine: exports the model's weights to ONNX (src/engine/onnx/export.ts) or takes a
 * given .onnx, and runs it in one InferenceSession on the CPU or on WebGPU. Any batch size and window
 * length. With no WebGPU adapter, session creation fails: an EngineUnavailableError.
 */
export async function createOnnxEngine(
  model: LoadedModel,
  options: OnnxEngineOptions = {},
): Promise<InferenceEngine> {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new PhaseStreamError(`onnxruntime engine: threads ${threads} must be a positive integer`);
  }
  const ort = await loadOnnxRuntime();
  const source =
    typeof options.onnxModel === 'string'
      ? options.onnxModel
      : options.onnxModel
        ? 'the given ONNX model'
        : 'the exported ONNX model';
  const device = options.device ?? 'cpu';
  const bytes = await onnxModelBytes(model, options.onnxModel, device);
  let session: InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, sessionOptions(threads, device));
  } catch (error) {
    if (device === 'webgpu' && /adapter|webgpu|dawn/i.test((error as Error).message)) {
      throw new EngineUnavailableError(
        `onnxruntime's WebGPU provider cannot start: ${(error as Error).message}`,
        {
          hint: webGpuHint,
          cause: error,
        },
      );
    }
    throw new ModelFormatError(`onnxruntime cannot load ${source}: ${(error as Error).message}`, {
      hint: 'Give a valid .onnx file (opset 17 or lower), e.g. one written by PhaseStream from the model directory.',
      cause: error,
    });
  }
  try {
    checkSession(session, model.card.architecture.inChannels, source);
  } catch (error) {
    await session.release();
    throw error;
  }
  log.debug(
    { engine: `onnxruntime-${device}`, threads, onnxBytes: bytes.byteLength, source },
    'onnxruntime session ready',
  );
  return new OnnxEngine(model, ort, session, device);
}
