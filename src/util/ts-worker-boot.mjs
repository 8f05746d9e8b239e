// Worker threads do not inherit the main thread's TypeScript loader (tsx registers it per thread):
// this plain module registers it when the worker is a TypeScript source (tests, development), then
// loads the worker itself. The compiled package's workers are JavaScript and need no loader.
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) (await import('tsx/esm/api')).register();
await import(workerData.entry);
