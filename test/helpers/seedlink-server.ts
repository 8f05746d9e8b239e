import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { filter, firstValueFrom } from 'rxjs';
import {
  SeedLinkClient,
  type SeedLinkClientEvent,
  type SeedLinkClientOptions,
  type SeedLinkPacket,
} from '../../src/ingest/seedlink/client.ts';
import type { Logger } from '../../src/log.ts';
import {
  loadRecordFiles,
  SeedLinkRing,
  SeedLinkServer,
  type SeedLinkServerOptions,
} from './seedlink/server.ts';
import { sharedPath } from './shared.ts';

export const DEV_DATA = ['data', 'continuous-dev'] as const;

/** The dev records of XX.DEV1 (HHE, HHN, HHZ) in production (end time) order, the first `count`. */
export async function devRecords(count: number): Promise<Uint8Array[]> {
  const files = ['HHE', 'HHN', 'HHZ'].map((c) =>
    sharedPath('data', 'continuous-dev', `XX.DEV1.00.${c}.mseed`),
  );
  return (await loadRecordFiles(files)).slice(0, count);
}

/** A copy of a miniSEED 2 record with other network and station codes (same samples, same times). */
export function withStation(record: Uint8Array, network: string, station: string): Uint8Array {
  const copy = record.slice();
  copy.set(new TextEncoder().encode(station.padEnd(5)), 8);
  copy.set(new TextEncoder().encode(network.padEnd(2)), 18);
  return copy;
}

export interface LogEntry {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger that keeps its entries in memory, for tests that check what was logged. */
export function memoryLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => entries.push(JSON.parse(line)) });
  return { logger: logger as unknown as Logger, entries };
}

export const silentLogger = pino({ level: 'silent' }) as unknown as Logger;

/** A server on a free 127.0.0.1 port with its own ring. */
export async function startServer(
  options: Partial<SeedLinkServerOptions> & { capacityPerStation?: number } = {},
): Promise<{ ring: SeedLinkRing; server: SeedLinkServer }> {
  const ring = options.ring ?? new SeedLinkRing({ capacityPerStation: options.capacityPerStation });
  const server = new SeedLinkServer({ logger: silentLogger, ...options, ring });
  await server.start();
  return { ring, server };
}

/** Subscribes to a client's packets and events before it starts. */
export function record(client: SeedLinkClient): {
  packets: SeedLinkPacket[];
  events: SeedLinkClientEvent[];
  error: Promise<unknown>;
} {
  const packets: SeedLinkPacket[] = [];
  const events: SeedLinkClientEvent[] = [];
  const error = new Promise<unknown>((resolve) => {
    client.packets$.subscribe({
      next: (p) => packets.push(p),
      error: resolve,
      complete: () => resolve(undefined),
    });
  });
  client.events$.subscribe((e) => events.push(e));
  return { packets, events, error };
}

/** Resolves once `condition` holds, checking every 10 ms; rejects after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The client's first 'streaming' event (handshake done, END sent). */
export function streaming(client: SeedLinkClient): Promise<SeedLinkClientEvent> {
  return firstValueFrom(client.events$.pipe(filter((e) => e.type === 'streaming')));
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** A temporary directory removed when the test ends. */
export async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'seedlink-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A TCP port nobody listens on right now (for a server a test starts later, or one that refuses). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A client of XX.DEV1 that logs nothing, reconnects within tens of milliseconds and saves its state often. */
export function testClient(
  options: Partial<SeedLinkClientOptions> & Pick<SeedLinkClientOptions, 'url'>,
): SeedLinkClient {
  return new SeedLinkClient({
    stations: [{ network: 'XX', station: 'DEV1' }],
    logger: silentLogger,
    reconnect: { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 },
    stateFlushIntervalMs: 20,
    ...options,
  });
}
