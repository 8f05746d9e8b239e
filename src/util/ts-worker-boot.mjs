// Worker threads do not inherit the main thread's TypeScript loader (tsx registers it per thread):
// this plain module registers it, then loads the worker itself.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
