import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { EngineUnavailableError } from '../errors.ts';

/**
 * WebGPU in Node through the optional npm package `webgpu` (Dawn's Node bindings, a prebuilt
 * `dawn.node` inside the package): the GPU object tfjs-backend-webgpu runs on, and the probe that
 * `--engine auto` uses to decide whether a GPU is there. onnxruntime-node's WebGPU provider has its
 * own Dawn inside libonnxruntime and needs no package, but it reaches the same Vulkan (or Metal, D3D12)
 * drivers, so an adapter found here is one it finds too.
 */

/** The parts of the WebGPU API used here (the full types are in @webgpu/types, a dependency of `webgpu`). */
export interface WebGpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software adapter (Mesa's lavapipe, SwiftShader, WARP): correct, but slower than the CPU engines. */
  isFallbackAdapter?: boolean;
}
interface WebGpuAdapter {
  info: WebGpuAdapterInfo;
}
export interface NodeGpu {
  requestAdapter(options?: {
    powerPreference?: 'low-power' | 'high-performance';
  }): Promise<WebGpuAdapter | null>;
}
interface WebGpuPackage {
  create(options: string[]): NodeGpu;
  /** GPUBufferUsage, GPUMapMode, GPUShaderStage, ...: what a browser has as globals. */
  globals: Record<string, unknown>;
}

export interface GpuAdapter {
  /** e.g. `nvidia`, `mesa` */
  vendor: string;
  /** Dawn's description, e.g. `NVIDIA H200 ...` or `llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)` */
  description: string;
  /** True for a software rasterizer (lavapipe): `auto` does not take it. */
  software: boolean;
}

const INSTALL_HINT =
  "WebGPU needs a GPU driver: on Linux a Vulkan driver (NVIDIA, AMD, Intel, or Mesa's software lavapipe, " +
  "`mesa-vulkan-drivers` 25 or newer); `vulkaninfo --summary` lists what Vulkan sees. tfjs's webgpu backend " +
  "and --engine auto's GPU check also need the optional npm package `webgpu` (npm install webgpu).";

let loaded: Promise<{ gpu: NodeGpu; globals: Record<string, unknown> }> | undefined;

/** One Dawn instance per process, created on first use from the `webgpu` package. */
export function nodeWebGpu(): Promise<{ gpu: NodeGpu; globals: Record<string, unknown> }> {
  loaded ??= (async () => {
    let pkg: WebGpuPackage;
    try {
      // A variable specifier keeps TypeScript from requiring the optional package to be installed.
      const specifier: string = 'webgpu';
      pkg = (await import(specifier)) as WebGpuPackage;
    } catch (error) {
      throw new EngineUnavailableError(
        `WebGPU is not available: the package webgpu failed to load: ${String(error)}`,
        {
          hint: INSTALL_HINT,
          cause: error,
        },
      );
    }
    return { gpu: pkg.create([]), globals: pkg.globals };
  })();
  return loaded;
}

/**
 * The Vulkan driver manifests (ICD files) the Vulkan loader would read on Linux, in its own search
 * order: the files its environment variables name, else the standard directories. Without any, Dawn
 * is not even started: it would only print the loader's "Found no drivers!" on every run.
 */
export function vulkanDriverFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const files = (v: string | undefined) => (v ? v.split(':').filter((f) => f !== '' && existsSync(f)) : []);
  // These two replace the search; VK_ADD_DRIVER_FILES adds to it.
  const replacing = env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES;
  if (replacing !== undefined) return files(replacing);
  const dataDirs = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  const dirs = ['/etc/vulkan/icd.d', ...dataDirs.map((d) => join(d, 'vulkan', 'icd.d'))];
  const found = dirs.flatMap((dir) => {
    try {
      return readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => join(dir, f));
    } catch {
      return [];
    }
  });
  return [...files(env.VK_ADD_DRIVER_FILES), ...found];
}

/**
 * Whether this Linux machine has a GPU device node that a hardware Vulkan driver could open (a DRM
 * render node, or NVIDIA's device files). Without one only a software adapter can exist, so `auto`
 * need not start Dawn, which prints warnings to standard error on every probe of a software adapter.
 */
export function hasGpuDeviceNode(dev = '/dev'): boolean {
  const names = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  return (
    names(join(dev, 'dri')).some((n) => n.startsWith('renderD')) ||
    names(dev).some((n) => /^nvidia\d+$/.test(n))
  );
}

/**
 * The adapter WebGPU would run on, or an EngineUnavailableError saying why there is none (no Vulkan
 * driver, no `webgpu` package, no adapter). Dawn prefers a hardware adapter over a software one.
 */
export async function findGpuAdapter(): Promise<GpuAdapter> {
  if (process.platform === 'linux' && vulkanDriverFiles().length === 0) {
    throw new EngineUnavailableError('WebGPU needs a Vulkan driver, and none is installed', {
      hint: INSTALL_HINT,
    });
  }
  const { gpu } = await nodeWebGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new EngineUnavailableError('WebGPU found no adapter (no GPU driver that Dawn supports)', {
      hint: INSTALL_HINT,
    });
  }
  const { vendor, description, isFallbackAdapter, architecture } = adapter.info;
  return { vendor, description, software: isFallbackAdapter === true || architecture === 'software' };
}

/** The hint to give with a WebGPU failure. */
export const webGpuHint = INSTALL_HINT;
