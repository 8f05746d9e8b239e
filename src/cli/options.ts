import { type Command, Option } from 'commander';
import { type Config, httpServerSchema } from '../config/schema.ts';
import { defaultEngineOptions, type EngineOptions } from '../engine/index.ts';
import { UsageError } from '../errors.ts';

/** The options every command that runs the network shares. */
export function addEngineOptions(command: Command): Command {
  return command
    .option('--model <dir>', 'model directory (default: the bundled model, else the fetched original)')
    .addOption(
      new Option('--engine <engine>', 'inference engine')
        .choices(['auto', 'onnxruntime', 'tfjs'])
        .default('auto'),
    )
    .addOption(
      new Option('--backend <backend>', 'tfjs backend (with --engine tfjs)')
        .choices(['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--device <device>',
        'onnxruntime: cpu, webgpu (a Vulkan, Metal or D3D12 GPU driver), or auto: webgpu where a GPU adapter exists (default auto)',
      ).choices(['auto', 'cpu', 'webgpu']),
    )
    .option(
      '--threads <n>',
      'CPU threads for inference (default: all cores; replay and run: all but one, for the pipeline, shared among the sessions of a sharded replay; a number given is per session)',
      positiveInteger('--threads'),
    );
}

export function engineOptionsFrom(opts: {
  engine?: string;
  backend?: string;
  device?: string;
  threads?: number;
}): EngineOptions {
  return {
    engine: (opts.engine ?? defaultEngineOptions.engine) as EngineOptions['engine'],
    backend: (opts.backend ?? defaultEngineOptions.backend) as EngineOptions['backend'],
    device: (opts.device ?? defaultEngineOptions.device) as EngineOptions['device'],
    threads: opts.threads,
  };
}

export function positiveInteger(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new UsageError(`${name} must be a positive integer, got '${value}'`);
    return n;
  };
}

/** A parser for an option that must be a positive (finite) number, e.g. `--speed 4`. */
export function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(n > 0) || !Number.isFinite(n))
      throw new UsageError(`${name} must be a positive number, got '${value}'`);
    return n;
  };
}

/** A parser for an option that must be a number from 0 to 1, e.g. `--alpha 0.2`. */
export function fraction(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !(n >= 0 && n <= 1))
      throw new UsageError(`${name} must be a number from 0 to 1, got '${value}'`);
    return n;
  };
}

/**
 * `--page` turns the live page on (on the sinks' HTTP server, with the config's port); `--page 9000`
 * also sets the port; absent, the config decides.
 */
export function pageOption(base: Config, page: boolean | string | undefined): Pick<Config, 'page' | 'sinks'> {
  if (page === undefined) return { page: base.page, sinks: base.sinks };
  const http = base.sinks.http ?? httpServerSchema.parse({});
  const port = page === true ? http.port : Number(page);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(`--page '${page}' is not a port`, {
      hint: 'give a port from 0 to 65535, e.g. --page 8765',
    });
  return { page: { ...base.page, enabled: true }, sinks: { ...base.sinks, http: { ...http, port } } };
}
