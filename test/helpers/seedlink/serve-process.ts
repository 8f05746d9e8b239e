import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../cli.ts';

/** The SeedLink test server of serve.ts in a process of its own, and the events it printed. */
export interface ServerProcess {
  child: ChildProcess;
  events: { event: string; at: number }[];
}

/** Starts serve.ts (`files` fed live at x`speed` from `originMs`) and resolves once it listens. */
export function startSeedLinkServerProcess(
  port: number,
  originMs: number,
  speed: number,
  files: string[],
): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'test/helpers/seedlink/serve.ts'),
      String(port),
      String(originMs),
      String(speed),
      ...files,
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const events: ServerProcess['events'] = [];
  let buffered = '';
  return new Promise((resolvePromise, reject) => {
    child.stdout!.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const event = JSON.parse(line);
        events.push(event);
        if (event.event === 'listening') resolvePromise({ child, events });
      }
    });
    child.once('exit', (code) => reject(new Error(`the SeedLink server exited (${code}) before listening`)));
  });
}
