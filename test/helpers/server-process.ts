import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Starts a real server (`command args`) and polls `ready` until it says yes: throws, with the tail of
 * the server's standard error, when it exits first or is not ready within 20 s.
 */
export async function startServerProcess(
  command: string,
  args: string[],
  ready: (stderr: string) => Promise<boolean>,
  readiness: string,
): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}: ${stderr}`);
    if (await ready(stderr).catch(() => false)) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`${command} did not ${readiness} within 20 s: ${stderr}`);
}

/** SIGKILL: no flush, no goodbye; resolves once the process is gone. */
export async function killServerProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}
