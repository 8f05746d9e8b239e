import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './influxd.ts';
import { killServerProcess, startServerProcess } from './server-process.ts';

/** The `skip` option for tests that need a real nats-server: false when it runs here. */
export function skipUnlessNatsServer(): false | string {
  try {
    execFileSync('nats-server', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'needs nats-server with JetStream (Debian: apt-get install nats-server; CI installs it from .ci/debian-packages)';
  }
}

/**
 * A real nats-server with JetStream on a free loopback port and a temporary store directory. `kill`
 * (SIGKILL) and `start` again keep the port and the store, as a crashed server restarted would.
 */
export class NatsServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<NatsServer> {
    return new NatsServer(mkdtempSync(join(tmpdir(), 'nats-')), await freePort());
  }

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts the server and waits until it takes connections. */
  async start(): Promise<void> {
    this.child = await startServerProcess(
      'nats-server',
      ['-js', '-sd', join(this.dir, 'store'), '-a', '127.0.0.1', '-p', String(this.port)],
      async (stderr) => /Server is ready/.test(stderr) && (await listening(this.port)),
      'say it is ready',
    );
  }

  /** SIGKILL: no flush, no goodbye. */
  async kill(): Promise<void> {
    await killServerProcess(this.child);
  }

  /** Stops the server and removes its store. */
  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A started nats-server that the test's teardown destroys. */
export async function natsServerFor(t: { teardown(fn: () => Promise<void>): void }): Promise<NatsServer> {
  const server = await NatsServer.create();
  t.teardown(() => server.destroy());
  await server.start();
  return server;
}
