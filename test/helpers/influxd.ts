import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killServerProcess, startServerProcess } from './server-process.ts';

/** The `skip` option for tests that need a real InfluxDB 1.x: false when `influxd` runs here. */
export function skipUnlessInfluxd(): false | string {
  try {
    execFileSync('influxd', ['version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'needs influxd (InfluxDB 1.x; Debian: apt-get install influxdb; CI installs it from .ci/debian-packages)';
  }
}

/** A free TCP port on 127.0.0.1 (free when asked; influxd binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A real influxd on free loopback ports with its own temporary directory and config file. `kill`
 * (SIGKILL) and `start` again keep the same ports and data, as a crashed server restarted would.
 */
export class Influxd {
  private child: ChildProcess | undefined;

  private constructor(
    readonly dir: string,
    private readonly configPath: string,
    readonly url: string,
  ) {}

  static async create(options: { auth?: boolean } = {}): Promise<Influxd> {
    const dir = mkdtempSync(join(tmpdir(), 'influxd-'));
    const [httpPort, rpcPort] = [await freePort(), await freePort()];
    const configPath = join(dir, 'influxdb.conf');
    writeFileSync(
      configPath,
      [
        'reporting-disabled = true',
        `bind-address = "127.0.0.1:${rpcPort}"`,
        '[meta]',
        `  dir = "${join(dir, 'meta')}"`,
        '[data]',
        `  dir = "${join(dir, 'data')}"`,
        `  wal-dir = "${join(dir, 'wal')}"`,
        '  query-log-enabled = false',
        '[http]',
        `  bind-address = "127.0.0.1:${httpPort}"`,
        '  log-enabled = false',
        `  auth-enabled = ${options.auth === true}`,
        '[monitor]',
        '  store-enabled = false',
        '[continuous_queries]',
        '  enabled = false',
        '',
      ].join('\n'),
    );
    return new Influxd(dir, configPath, `http://127.0.0.1:${httpPort}`);
  }

  /** Starts influxd and waits until it answers /ping. */
  async start(): Promise<void> {
    this.child = await startServerProcess(
      'influxd',
      ['run', '-config', this.configPath],
      async () => (await fetch(`${this.url}/ping`)).status === 204,
      'answer /ping',
    );
  }

  /** SIGKILL: no flush, no goodbye. */
  async kill(): Promise<void> {
    await killServerProcess(this.child);
  }

  /** An InfluxQL query, the JSON result's series (times in epoch µs). */
  async query(q: string, database?: string, auth?: { username: string; password: string }) {
    const params = new URLSearchParams({ q, epoch: 'u' }); // µs: exact in a double, ns are not
    if (database) params.set('db', database);
    const headers: Record<string, string> = {};
    if (auth)
      headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    const response = await fetch(`${this.url}/query?${params}`, { method: 'POST', headers });
    const body = (await response.json()) as {
      results: { error?: string; series?: { name: string; columns: string[]; values: unknown[][] }[] }[];
    };
    if (body.results[0]?.error) throw new Error(body.results[0].error);
    return body.results[0]?.series ?? [];
  }

  /** Stops the server and removes its directory. */
  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A started influxd that the test's teardown destroys. */
export async function influxdFor(
  t: { teardown(fn: () => Promise<void>): void },
  options: { auth?: boolean } = {},
): Promise<Influxd> {
  const influxd = await Influxd.create(options);
  t.teardown(() => influxd.destroy());
  await influxd.start();
  return influxd;
}
