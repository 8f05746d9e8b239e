/**
 * Preloaded into the bench's processes with BENCH_THREAD_CPU=dir (bench/realtime.ts; plain JavaScript,
 * as their worker threads load it too, without tsx): the CPU time of each of the process's threads
 * (Linux: /proc/self/task/TID/stat), sampled every 250 ms by the main thread, so that the seconds in
 * which every station's window falls due show who has the cores then. A worker thread (the inference
 * engine's) leaves its thread id in dir, so the summary can tell it from V8's and libuv's helpers.
 * Written (again every 5 s, and at exit) as dir/thread-cpu-<pid>.json;
 * `node --import tsx bench/thread-cpu-summary.ts FILE` reads it.
 */
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

const dir = process.env.BENCH_THREAD_CPU;
if (dir && process.platform === 'linux') {
  mkdirSync(dir, { recursive: true });
  if (!isMainThread) {
    // "PID/task/TID": this worker's JavaScript thread, which runs its synchronous calls (onnxruntime's
    // session.run on one intra-op thread included).
    const tid = readlinkSync('/proc/thread-self').split('/').pop();
    writeFileSync(join(dir, `worker-${process.pid}-${tid}`), '');
  } else {
    /** Clock ticks (utime + stime, fields 14 and 15 of stat) of every thread now. */
    const ticks = () => {
      const threads = {};
      for (const tid of readdirSync('/proc/self/task')) {
        try {
          const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          threads[tid] = Number(fields[11]) + Number(fields[12]);
        } catch {
          // The thread ended between the listing and the read.
        }
      }
      return threads;
    };
    const samples = [];
    const started = Date.now();
    const write = () => {
      const workers = readdirSync(dir)
        .filter((f) => f.startsWith(`worker-${process.pid}-`))
        .map((f) => f.split('-')[2]);
      // ticksPerS: USER_HZ, the unit of utime and stime, which Linux fixes at 100 for user space.
      const body = { pid: process.pid, ticksPerS: 100, workers, samples };
      writeFileSync(join(dir, `thread-cpu-${process.pid}.json`), JSON.stringify(body));
    };
    setInterval(() => samples.push({ ms: Date.now() - started, threads: ticks() }), 250).unref();
    setInterval(write, 5000).unref();
    process.on('exit', write);
  }
}
