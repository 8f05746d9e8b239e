import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { EngineUnavailableError } from '../../errors.ts';
import { log } from '../../log.ts';
import { findGpuAdapter, nodeWebGpu, webGpuHint } from '../webgpu.ts';
import { registerWasmConvGradients } from './wasm-conv-gradients.ts';

/**
 * The tfjs backends PhaseStream can run on, fastest first. `tensorflow-gpu` and `tensorflow` are
 * libtensorflow through the optional packages @tensorflow/tfjs-node-gpu and @tensorflow/tfjs-node
 * (both register themselves as tfjs backend `tensorflow`); `wasm` is XNNPACK in WebAssembly with
 * SIMD; `cpu` is plain JavaScript (~50x slower than wasm here, a last resort). `auto` tries them in
 * this order.
 */
export const TFJS_BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
/**
 * Also `webgpu`: @tensorflow/tfjs-backend-webgpu on Dawn's Node bindings (the optional package
 * `webgpu`), for inference on any GPU with a Vulkan, Metal or D3D12 driver. Only when asked for:
 * `auto` also serves training, and tfjs-webgpu's gradients are not checked here.
 */
export type TfjsBackendName = (typeof TFJS_BACKENDS)[number] | 'webgpu';

interface BackendSource {
  /** The npm package that provides it. */
  pkg: string;
  /** The name it registers with tfjs. */
  tfjsName: string;
  install: string;
}

const SOURCES: Record<TfjsBackendName, BackendSource> = {
  'tensorflow-gpu': {
    pkg: '@tensorflow/tfjs-node-gpu',
    tfjsName: 'tensorflow',
    install:
      'npm install @tensorflow/tfjs-node-gpu (Linux x86-64 with an NVIDIA GPU, CUDA and cuDNN; its install ' +
      'downloads libtensorflow), or choose --backend wasm',
  },
  tensorflow: {
    pkg: '@tensorflow/tfjs-node',
    tfjsName: 'tensorflow',
    install:
      'npm install @tensorflow/tfjs-node (its install downloads libtensorflow), or choose --backend wasm',
  },
  wasm: {
    pkg: '@tensorflow/tfjs-backend-wasm',
    tfjsName: 'wasm',
    install: 'npm install @tensorflow/tfjs-backend-wasm',
  },
  webgpu: {
    pkg: '@tensorflow/tfjs-backend-webgpu',
    tfjsName: 'webgpu',
    install: `${webGpuHint} Or choose --backend wasm.`,
  },
  cpu: {
    pkg: '@tensorflow/tfjs-backend-cpu',
    tfjsName: 'cpu',
    install: 'npm install @tensorflow/tfjs-backend-cpu',
  },
};

export interface ActiveBackend {
  name: TfjsBackendName;
  /** The name tfjs knows it by (for tf.setBackend). */
  tfjsName: string;
  /** Threads it computes on, where known. */
  threads?: number;
}

function isModuleNotFound(error: unknown, pkg: string): boolean {
  const code = (error as { code?: string } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String(error).includes(pkg);
}

/** Imports the package that registers a backend; a missing or broken one is an EngineUnavailableError. */
async function importBackendPackage(name: TfjsBackendName): Promise<unknown> {
  const { pkg, install } = SOURCES[name];
  try {
    // A variable specifier keeps TypeScript from requiring the optional packages to be installed.
    const specifier: string = pkg;
    return await import(specifier);
  } catch (error) {
    if (isModuleNotFound(error, pkg)) {
      throw new EngineUnavailableError(`tfjs backend ${name} needs ${pkg}, which is not installed`, {
        hint: install,
        cause: error,
      });
    }
    throw new EngineUnavailableError(`tfjs backend ${name}: ${pkg} failed to load: ${String(error)}`, {
      hint: `Reinstall it (${install})`,
      cause: error,
    });
  }
}

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');
let wasmPathsSet = false;

/**
 * Loads the wasm backend, its .wasm files read from the installed package. Under Node, tfjs turns
 * wasm threads off (tfjs issue 3830); forcing WASM_HAS_MULTITHREAD_SUPPORT on makes its Emscripten
 * runtime start worker_threads from blob: URLs, which Node refuses (ERR_WORKER_PATH). So wasm runs
 * on one thread, with SIMD. It also gets the convolution filter gradient it lacks, so models train on it.
 */
async function loadWasm(): Promise<WasmModule> {
  const wasm = (await importBackendPackage('wasm')) as WasmModule;
  if (!wasmPathsSet) {
    const packageDir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
    wasm.setWasmPaths(`${packageDir}/`);
    registerWasmConvGradients();
    wasmPathsSet = true;
  }
  return wasm;
}

/**
 * tfjs-backend-webgpu registers itself only where `navigator.gpu` exists (at import) and uses the
 * browser's GPUBufferUsage, GPUMapMode, ... globals: both come from Dawn's Node bindings.
 */
async function provideBrowserWebGpu(): Promise<void> {
  const { gpu, globals } = await nodeWebGpu();
  for (const [name, value] of Object.entries(globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true });
  }
  const scope = globalThis as { navigator?: { gpu?: unknown } };
  if (scope.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  } else if (scope.navigator.gpu === undefined) {
    Object.defineProperty(scope.navigator, 'gpu', { value: gpu, configurable: true });
  }
}

/** Loads, initializes and activates one backend. */
async function activate(name: TfjsBackendName, threads?: number): Promise<ActiveBackend> {
  const { tfjsName } = SOURCES[name];
  let wasm: WasmModule | undefined;
  if (name === 'wasm') {
    wasm = await loadWasm();
  } else if (name === 'webgpu') {
    // Fails with the reason (no package, no driver) where tfjs would only say that it did not start.
    await findGpuAdapter();
    await provideBrowserWebGpu();
    await importBackendPackage(name);
  } else {
    // libtensorflow reads its intra-op thread count from the environment once, when it starts.
    const libtensorflow = name === 'tensorflow' || name === 'tensorflow-gpu';
    if (libtensorflow && threads !== undefined && process.env.TF_NUM_INTRAOP_THREADS === undefined) {
      process.env.TF_NUM_INTRAOP_THREADS = String(threads);
    }
    await importBackendPackage(name);
  }
  // Silences tfjs's console banners ("looks like you are running TensorFlow.js in Node.js").
  tf.enableProdMode();
  let started: boolean;
  try {
    started = await tf.setBackend(tfjsName);
  } catch (error) {
    throw new EngineUnavailableError(`tfjs backend ${name} failed to start: ${String(error)}`, {
      cause: error,
    });
  }
  if (!started) throw new EngineUnavailableError(`tfjs backend ${name} failed to start`);
  await tf.ready();
  const actualThreads = wasm
    ? wasm.getThreadsCount()
    : name === 'cpu'
      ? 1
      : name === 'webgpu'
        ? undefined
        : threads;
  return { name, tfjsName, threads: actualThreads };
}

/**
 * Makes the requested backend tfjs's active backend. `auto` takes the fastest that loads, in the
 * order of TFJS_BACKENDS. A backend that is not installed or does not start is an
 * EngineUnavailableError naming what to install.
 */
export async function useTfjsBackend(
  requested: TfjsBackendName | 'auto',
  options: { threads?: number } = {},
): Promise<ActiveBackend> {
  if (requested !== 'auto') {
    const active = await activate(requested, options.threads);
    log.info({ backend: active.name, threads: active.threads }, 'tfjs backend ready');
    return active;
  }
  const skipped: { backend: TfjsBackendName; reason: string }[] = [];
  for (const name of TFJS_BACKENDS) {
    try {
      const active = await activate(name, options.threads);
      log.info({ backend: active.name, threads: active.threads, skipped }, 'tfjs backend chosen');
      return active;
    } catch (error) {
      if (!(error instanceof EngineUnavailableError)) throw error;
      skipped.push({ backend: name, reason: error.message });
    }
  }
  throw new EngineUnavailableError('no tfjs backend could start', {
    hint: skipped.map((s) => `${s.backend}: ${s.reason}`).join('; '),
  });
}

/** Makes an already started backend the active one again (tfjs has one active backend per process). */
export async function reactivate(backend: ActiveBackend): Promise<void> {
  while (tf.getBackend() !== backend.tfjsName) {
    if (!(await tf.setBackend(backend.tfjsName))) {
      throw new EngineUnavailableError(`tfjs backend ${backend.name} stopped working`);
    }
  }
}
