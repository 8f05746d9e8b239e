/**
 * How much outside memory V8 counts in a thread that sends batch buffers to a worker and gets them
 * back, moved (transferred ArrayBuffers) against shared (SharedArrayBuffers), as the picker's batches
 * went before and after "Batches in shared memory" (bench/README.md). A pool of 12 batches of 32
 * windows (input and probabilities, 1.15 MB each) goes round 3,000 times, 6 in flight, while the
 * thread makes some garbage; prints the most `external_memory` seen. Each way runs in a process of
 * its own, so that the one's buffers are not counted in the other's.
 *
 *   node bench/moved-or-shared.mjs
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';

const BYTES = 32 * 3000 * 3 * 4;
const ROUNDS = 3000;

function measure(shared) {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.on('message', (m) => parentPort.postMessage(m, m.shared ? [] : [m.input.buffer, m.probs.buffer]));`,
    { eval: true },
  );
  const make = () => new Float32Array(shared ? new SharedArrayBuffer(BYTES) : new ArrayBuffer(BYTES));
  const pool = Array.from({ length: 12 }, () => ({ input: make(), probs: make() }));
  const garbage = [];
  let done = 0;
  let most = 0;
  const send = () => {
    const { input, probs } = pool.shift();
    worker.postMessage({ shared, input, probs }, shared ? [] : [input.buffer, probs.buffer]);
  };
  return new Promise((resolve) => {
    worker.on('message', ({ input, probs }) => {
      pool.push({ input, probs });
      garbage.push(Array.from({ length: 50 }, () => ({ done })));
      if (garbage.length > 200) garbage.shift();
      most = Math.max(most, v8.getHeapStatistics().external_memory);
      if (++done === ROUNDS) worker.terminate().then(() => resolve(most));
      else setTimeout(send, 1);
    });
    for (let i = 0; i < 6; i++) send();
  });
}

const way = process.argv[2];
if (way === undefined) {
  for (const each of ['moved', 'shared']) {
    process.stdout.write(execFileSync(process.execPath, [fileURLToPath(import.meta.url), each]));
  }
} else {
  const most = await measure(way === 'shared');
  console.log(`${way}: outside memory counted at most ${(most / 1e6).toFixed(1)} MB`);
}
