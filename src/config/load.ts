import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import {
  type Config,
  type ConfigInput,
  configSchema,
  type SimulationDatasetConfig,
  simulationDatasetSchema,
} from './schema.ts';

/** Reads a YAML or JSON config file and checks it; errors name the key and say what fits. */
export async function loadConfig(path: string): Promise<Config> {
  return checkConfig(await readConfigFile(path), path);
}

/** The value of a YAML or JSON file (an empty file is {}), unchecked. */
export async function readConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      {
        hint: 'pass an existing YAML or JSON file with --config',
      },
    );
  }
  let value: unknown;
  try {
    value = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(
      `${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    );
  }
  return value ?? {};
}

/** Checks a config value (from a file, or built by a command from its options). */
export function checkConfig(value: unknown | ConfigInput, where = 'config'): Config {
  return checkWithSchema(configSchema, value, where);
}

/** Reads and checks the config of `phasestream simulate dataset`. */
export async function loadSimulationDatasetConfig(path: string): Promise<SimulationDatasetConfig> {
  return checkSimulationDatasetConfig(await readConfigFile(path), path);
}

export function checkSimulationDatasetConfig(value: unknown, where = 'config'): SimulationDatasetConfig {
  return checkWithSchema(simulationDatasetSchema, value, where, 'config/simulate-dataset.yaml');
}

/**
 * Checks a value against any config schema (e.g. the training one), with the same errors; `example`
 * is the file that lists the schema's keys with their defaults.
 */
export function checkWithSchema<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: string,
  example = 'config/example.yaml',
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(`${where}: ${result.error.issues.map(describeIssue).join('; ')}`, {
    hint: `see ${example} for every key with its default`,
  });
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return `${key === '(top level)' ? '' : `${key}: `}unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  }
  // A record key that fails its own schema: zod nests the reason; say it rather than "Invalid key".
  if (issue.code === 'invalid_key') return `${key}: ${issue.issues.map((i) => i.message).join('; ')}`;
  return `${key}: ${issue.message}`;
}
