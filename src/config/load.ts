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

/** The value of a YAML or JSON file (`{}` for an empty one). */
async function readConfigFile(path: string): Promise<unknown> {
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

/** Reads and checks the config of `phasestream simulate dataset`. */
export async function loadSimulationDatasetConfig(path: string): Promise<SimulationDatasetConfig> {
  return checkSimulationDatasetConfig(await readConfigFile(path), path);
}

export function checkSimulationDatasetConfig(value: unknown, where = 'config'): SimulationDatasetConfig {
  const result = simulationDatasetSchema.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(`${where}: ${result.error.issues.map(describeIssue).join('; ')}`, {
    hint: 'see config/simulate-dataset.yaml for every key with its default',
  });
}

/** Checks a config value (from a file, or built by a command from its options). */
export function checkConfig(value: unknown | ConfigInput, where = 'config'): Config {
  const result = configSchema.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(`${where}: ${result.error.issues.map(describeIssue).join('; ')}`, {
    hint: 'see config/example.yaml for every key with its default',
  });
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return `${key === '(top level)' ? '' : `${key}: `}unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  }
  return `${key}: ${issue.message}`;
}
