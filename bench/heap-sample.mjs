/**
 * Preloaded into the bench's processes with BENCH_HEAP_PROF=dir (bench/realtime.ts; plain JavaScript,
 * as their worker threads load it too, without tsx): a sampling heap profile of the main thread over
 * a stretch of its life, objects the collector freed included (what a plain --heap-prof leaves out,
 * and what the collector's load is made of). Written as dir/heap-<pid>.heapprofile;
 * `node --import tsx bench/heap-summary.ts FILE` lists where the bytes were allocated.
 * BENCH_HEAP_PROF_WINDOW='from,to' in seconds of the process's life (default 50,70).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

const dir = process.env.BENCH_HEAP_PROF;
if (dir && isMainThread) {
  const [fromS, toS] = (process.env.BENCH_HEAP_PROF_WINDOW ?? '50,70').split(',').map(Number);
  const session = new Session();
  session.connect();
  const post = (method, params) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  setTimeout(async () => {
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    setTimeout(
      async () => {
        const { profile } = await post('HeapProfiler.stopSampling');
        // As --cpu-prof-dir does for BENCH_CPU_PROF: the folder need not exist.
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, `heap-${process.pid}.heapprofile`), JSON.stringify(profile));
      },
      (toS - fromS) * 1000,
    ).unref();
  }, fromS * 1000).unref();
}
