import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { lcg } from '../stream/marbles.ts';
import { cliEntry, repoRoot } from './cli.ts';

/** The four stations of examples/synthetic (SY) and a copy of each as network SZ: eight stations. */
export function eightStations(dir: string): string[] {
  const files: string[] = [];
  for (const station of ['SYN01', 'SYN02', 'SYN03', 'SYN04']) {
    for (const channel of ['HHE', 'HHN', 'HHZ']) {
      const source = join(repoRoot, 'examples', 'synthetic', `SY.${station}.00.${channel}.mseed`);
      const bytes = readFileSync(source);
      // 512-byte miniSEED 2 records: the network code is bytes 18-19 of each fixed header.
      for (let offset = 0; offset < bytes.length; offset += 512) bytes.write('SZ', offset + 18, 'latin1');
      const copy = join(dir, basename(source).replace(/^SY\./, 'SZ.'));
      writeFileSync(copy, bytes);
      files.push(source, copy);
    }
  }
  return files;
}

/** A scale-out role (`phasestream ingest|pick|sink ...`) as a process of its own, with its log lines. */
export interface RoleProcess {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

export function startRole(args: string[], level = 'info'): RoleProcess {
  const child = spawn(process.execPath, [...cliEntry, ...args], {
    cwd: repoRoot,
    env: { ...process.env, PHASESTREAM_LOG_LEVEL: level },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buffered = '';
  const take = (chunk: Buffer) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, lines, exited };
}

/** Sends `signal` and waits for the exit; the exit code (null when killed by the signal). */
export async function stopRole(
  role: RoleProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | null> {
  if (role.child.exitCode !== null || role.child.signalCode !== null) return role.child.exitCode;
  role.child.kill(signal);
  return role.exited;
}

/** Waits until `role` logged a line matching `pattern` (or throws after `timeoutMs`). */
export async function untilLogged(role: RoleProcess, pattern: RegExp, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!role.lines.some((line) => pattern.test(line))) {
    if (role.child.exitCode !== null)
      throw new Error(`the process exited (${role.child.exitCode}): ${role.lines.slice(-5).join('\n')}`);
    if (Date.now() > deadline) throw new Error(`nothing matched ${pattern} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A config of the scale-out roles for a test server: short leases so that a failover is quick. */
export function scaleConfig(dir: string, server: string, partitions: number): string {
  const path = join(dir, 'scale.yaml');
  writeFileSync(
    path,
    [
      'jetstream:',
      `  servers: ["${server}"]`,
      `  partitions: ${partitions}`,
      '  leaseTtlS: 4',
      '  renewS: 1',
      '  resumeFlushMs: 300',
      '',
    ].join('\n'),
  );
  return path;
}

/**
 * A fault schedule's random numbers from a seed: the seed goes through murmur3's finalizer first, so
 * that neighbouring seeds (1, 2, 3...) give unrelated schedules from the LCG.
 */
export function faultRandom(seed: number): () => number {
  let h = seed >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return lcg((h ^ (h >>> 16)) >>> 0);
}

/** Starts roles that the test's teardown SIGKILLs, whatever state they are in. */
export function roleStarter(t: { teardown(fn: () => Promise<void>): void }): (args: string[]) => RoleProcess {
  const roles: RoleProcess[] = [];
  t.teardown(async () => {
    for (const role of roles) await stopRole(role, 'SIGKILL');
  });
  return (args) => {
    const role = startRole(args);
    roles.push(role);
    return role;
  };
}
