/**
 * How much two busy threads get out of this machine: the same arithmetic loop in one worker thread,
 * then in two at once, each a fixed amount of work. Two real cores give 2.0; two hyperthreads of one
 * core, or vCPUs that a loaded host shares, give less. The replay and realtime benches print it
 * beside their figures: with onnxruntime on two threads and the pipeline's own thread, a machine that
 * runs two threads at ~1.2x one has no core to spare for the pipeline while the network infers.
 */
import { Worker } from 'node:worker_threads';

const LOOP = `
const { parentPort, workerData } = require('node:worker_threads');
const data = new Float64Array(4096).map((_, i) => Math.sin(i));
let sum = 0;
const started = performance.now();
for (let round = 0; round < workerData.rounds; round++) {
  for (let i = 0; i < data.length; i++) sum += data[i] * data[(i * 7) & 4095];
}
parentPort.postMessage({ ms: performance.now() - started, sum });
`;

function timeLoop(rounds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOOP, { eval: true, workerData: { rounds } });
    worker.once('message', (message: { ms: number }) => {
      resolve(message.ms);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

/** Rate of two threads at once over the rate of one (2.0: two full cores), best of `repeats`. */
export async function parallelCapacity(repeats = 3, rounds = 10_000): Promise<number> {
  let best = 0;
  for (let r = 0; r < repeats; r++) {
    const one = await timeLoop(rounds);
    const two = await Promise.all([timeLoop(rounds), timeLoop(rounds)]);
    best = Math.max(best, (2 * one) / Math.max(...two));
  }
  return best;
}
