import { parentPort, workerData } from 'node:worker_threads';
import type { SimulationDatasetConfig } from '../config/schema.ts';
import { runTask } from './dataset.ts';

/** A dataset worker thread: runs the (model, source) tasks it is sent, one at a time. */
const { config, out } = workerData as { config: SimulationDatasetConfig; out: string };

parentPort!.on('message', ({ modelIndex, sourceIndex }: { modelIndex: number; sourceIndex: number }) => {
  try {
    parentPort!.postMessage({ result: runTask(config, out, modelIndex, sourceIndex) });
  } catch (error) {
    const { message, name } = error as Error;
    parentPort!.postMessage({
      error: { message: `model ${modelIndex} source ${sourceIndex}: ${message}`, name },
    });
  }
});
