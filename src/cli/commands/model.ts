import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { exportPhaseNetOnnx } from '../../engine/onnx/export.ts';
import { UsageError } from '../../errors.ts';
import { log } from '../../log.ts';
import { blendModels } from '../../model/blend.ts';
import { importPhaseNetCheckpoint } from '../../model/checkpoint/import-phasenet.ts';
import { fetchOriginalModel } from '../../model/fetch.ts';
import { ORIGINAL_SOURCE, originalCard, readLicenceBeside } from '../../model/original.ts';
import { loadModelDir, saveModelDir } from '../../model/store.ts';
import { fraction } from '../options.ts';

/** Imports a checkpoint in the original's format into a model directory; returns the directory. */
async function importCheckpoint(prefix: string, out: string, origin: string): Promise<string> {
  const { architecture, weights } = await importPhaseNetCheckpoint(prefix);
  const card = originalCard(architecture, origin, await readLicenceBeside(prefix));
  await saveModelDir(out, { card, weights });
  log.info({ out, weights: weights.size }, 'model imported');
  return out;
}

export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('Bring in, convert and inspect models');

  model
    .command('import')
    .description(
      "Import a checkpoint in the original PhaseNet's TensorFlow format into a PhaseStream model directory",
    )
    .argument(
      '<checkpoint-prefix>',
      'e.g. model/190703-214543/model_95.ckpt (the .index and .data-* files beside it)',
    )
    .requiredOption('--out <dir>', 'model directory to write (model.json, weight shards, card.json)')
    .action(async (prefix: string, opts: { out: string }) => {
      const out = await importCheckpoint(prefix, opts.out, `imported from ${resolve(prefix)}`);
      process.stdout.write(`${out}\n`);
    });

  model
    .command('fetch')
    .description('Download a published model, check it, import it and cache it')
    .argument('<name>', `model to fetch: ${ORIGINAL_SOURCE.name}`)
    .option('--base-url <url>', 'where the raw files are served (a mirror laid out as GitHub raw files)')
    .option('--cache-dir <dir>', 'cache directory (default: $PHASESTREAM_CACHE_DIR or ~/.cache/phasestream)')
    .action(async (name: string, opts: { baseUrl?: string; cacheDir?: string }) => {
      if (name !== ORIGINAL_SOURCE.name) {
        throw new UsageError(`unknown model '${name}'`, {
          hint: `Models that can be fetched: ${ORIGINAL_SOURCE.name}`,
        });
      }
      process.stdout.write(`${await fetchOriginalModel({ cacheRoot: opts.cacheDir, baseUrl: opts.baseUrl })}
`);
    });

  model
    .command('blend')
    .description(
      'Blend two models of one architecture weight by weight: (1 - alpha) x base + alpha x tuned (WiSE-FT), ' +
        'e.g. a model and a fine-tuned copy of it, to keep the base on data the fine-tuning did not see',
    )
    .argument('<base-model>', 'model directory weighted by 1 - alpha (its picking thresholds are kept)')
    .argument('<tuned-model>', 'model directory weighted by alpha, e.g. fine-tuned from the base')
    .requiredOption('--alpha <fraction>', "the tuned model's weight, 0 to 1", fraction('--alpha'))
    .requiredOption('--out <dir>', 'model directory to write (model.json, weights.bin, card.json)')
    .option('--name <name>', "the model's name in its card (default: the tuned model's, with -blend)")
    .action(
      async (baseDir: string, tunedDir: string, opts: { alpha: number; out: string; name?: string }) => {
        const blended = blendModels(
          { dir: resolve(baseDir), model: await loadModelDir(baseDir) },
          { dir: resolve(tunedDir), model: await loadModelDir(tunedDir) },
          {
            alpha: opts.alpha,
            name: opts.name,
            commandLine: `phasestream ${process.argv.slice(2).join(' ')}`,
          },
        );
        await saveModelDir(opts.out, blended);
        log.info({ out: opts.out, alpha: opts.alpha }, 'models blended');
        process.stdout.write(`${opts.out}\n`);
      },
    );

  model
    .command('export-onnx')
    .description('Export a model directory as an ONNX graph (batch norm folded; dynamic batch and length)')
    .argument('<model-dir>', 'PhaseStream model directory')
    .requiredOption('--out <file>', 'the .onnx file to write')
    .action(async (dir: string, opts: { out: string }) => {
      const { card, weights } = await loadModelDir(dir);
      const bytes = exportPhaseNetOnnx(card.architecture, weights);
      await mkdir(resolve(opts.out, '..'), { recursive: true });
      await writeFile(opts.out, bytes);
      process.stdout.write(`${opts.out}\n`);
    });
}
