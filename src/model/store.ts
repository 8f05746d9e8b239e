import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { ModelFormatError } from '../errors.ts';
import { type LoadedModel, type ModelCard, modelCardSchema } from './card.ts';
import type { PhaseNetWeights } from './phasenet/architecture.ts';
import { checkWeights } from './phasenet/fold.ts';
import { phasenetLayersModel } from './phasenet/layers-model.ts';

/**
 * The model directory: the TensorFlow.js layers format (`model.json` with the topology and weights
 * manifest, weights in `weights.bin`), loadable by tfjs's own loaders, plus `card.json` (the model
 * card, src/model/card.ts). Weight names are the canonical names of architecture.ts.
 */
export const CARD_FILE = 'card.json';
export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

async function readText(path: string, what: string, hint?: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ModelFormatError(`cannot read ${what} ${path}: ${(error as Error).message}`, {
      hint,
      cause: error,
    });
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ModelFormatError(`${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * A tfjs IOHandler over a model directory on disk (tfjs's file:// handler comes with tfjs-node, which
 * is optional). Use it with `model.save(modelDirHandler(dir))` and `loadLayersModel(modelDirHandler(dir))`;
 * it reads and writes model.json and weights.bin only, not the card.
 */
export function modelDirHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts) {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new ModelFormatError(
          'binary (graph-model) topologies are not supported by the model directory',
        );
      }
      const weightData = artifacts.weightData
        ? tf.io.CompositeArrayBuffer.join(artifacts.weightData)
        : new ArrayBuffer(0);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, WEIGHTS_FILE), new Uint8Array(weightData));
      await writeFile(join(dir, MODEL_FILE), `${JSON.stringify(modelJson)}\n`);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load() {
      const path = join(dir, MODEL_FILE);
      const modelJson = parseJson(await readText(path, 'the tfjs model'), path) as tf.io.ModelJSON;
      if (!modelJson || typeof modelJson !== 'object' || !Array.isArray(modelJson.weightsManifest)) {
        throw new ModelFormatError(`${path} has no weightsManifest; it is not a tfjs layers model.json`);
      }
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const shards = [];
        for (const group of manifest) {
          for (const shard of group.paths) {
            const bytes = await readFile(join(dir, shard)).catch((error: unknown) => {
              throw new ModelFormatError(
                `cannot read weights ${join(dir, shard)}: ${(error as Error).message}`,
                {
                  cause: error,
                },
              );
            });
            shards.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
          }
        }
        return [specs, shards];
      });
    },
  };
}

/** Writes a model directory: card.json, model.json and weights.bin. */
export async function saveModelDir(dir: string, model: LoadedModel): Promise<void> {
  const card = validateCard(model.card, 'the card to save');
  checkWeights(card.architecture, model.weights);
  // Building the layers model starts tfjs's cpu backend; prod mode keeps its Node.js banner off stderr.
  tf.enableProdMode();
  const layersModel = phasenetLayersModel(card.architecture, model.weights);
  try {
    await layersModel.save(modelDirHandler(dir));
  } finally {
    layersModel.dispose();
  }
  await writeFile(join(dir, CARD_FILE), `${JSON.stringify(card, null, 2)}\n`);
}

function validateCard(value: unknown, where: string): ModelCard {
  const parsed = modelCardSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new ModelFormatError(`${where} is not a valid model card: ${issues.join('; ')}`);
  }
  return parsed.data;
}

const FLOAT32_BYTES = 4;

/**
 * The weights of a model.json's manifest, by name. Decoded here rather than with tf.io.decodeWeights,
 * which makes tensors: reading a model directory (e.g. for the ONNX export) needs no tfjs backend.
 */
function decodeFloat32Weights(
  specs: tf.io.WeightsManifestEntry[],
  data: ArrayBuffer,
  dir: string,
): PhaseNetWeights {
  const weights: PhaseNetWeights = new Map();
  let offset = 0;
  for (const spec of specs) {
    if (spec.dtype !== 'float32' || spec.quantization) {
      throw new ModelFormatError(
        `weight ${spec.name} in ${dir} is ${spec.quantization ? 'quantized' : spec.dtype}; only float32 is supported`,
      );
    }
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (offset + size * FLOAT32_BYTES > data.byteLength) {
      throw new ModelFormatError(`the weights of ${dir} end before ${spec.name} (${data.byteLength} bytes)`);
    }
    weights.set(spec.name, {
      shape: [...spec.shape],
      values: new Float32Array(data.slice(offset, offset + size * FLOAT32_BYTES)),
    });
    offset += size * FLOAT32_BYTES;
  }
  if (offset !== data.byteLength) {
    throw new ModelFormatError(
      `the weights of ${dir} hold ${data.byteLength} bytes, the manifest lists ${offset}`,
    );
  }
  return weights;
}

/** Reads a model directory, checking the card and that the weights fit the card's architecture. */
export async function loadModelDir(dir: string): Promise<LoadedModel> {
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) {
    throw new ModelFormatError(`model directory ${dir} does not exist`, {
      hint: 'Pass the directory that holds card.json, model.json and weights.bin.',
    });
  }
  const cardPath = join(dir, CARD_FILE);
  const card = validateCard(
    parseJson(
      await readText(cardPath, 'the model card', `A model directory needs a ${CARD_FILE}.`),
      cardPath,
    ),
    cardPath,
  );
  const artifacts = await modelDirHandler(dir).load!();
  const data = artifacts.weightData
    ? tf.io.CompositeArrayBuffer.join(artifacts.weightData)
    : new ArrayBuffer(0);
  const weights = decodeFloat32Weights(artifacts.weightSpecs ?? [], data, dir);
  try {
    checkWeights(card.architecture, weights);
  } catch (error) {
    throw new ModelFormatError(
      `the weights of ${dir} do not fit its card's architecture: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return { card, weights };
}
