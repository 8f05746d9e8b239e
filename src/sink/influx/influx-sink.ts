import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfluxDB, type IPoint, type IPoolOptions } from 'influx';
import type { Logger } from '../../log.ts';
import type { Pick } from '../../picker/pick.ts';
import { DurableSpool } from '../spool.ts';
import { healthPoint, pickPoint, type StationHealthSample } from './points.ts';

export interface InfluxSinkOptions {
  /** `http://host:8086` (or https, with a path prefix behind a proxy). */
  url: string;
  database: string;
  retentionPolicy: { name: string; duration: string; replication: number };
  username?: string;
  password?: string;
  /** Points per write request. */
  batchSize: number;
  /** How long a point may wait for its batch to fill. */
  flushIntervalMs: number;
  /** Backoff between failed writes: doubles from `initial` up to `max`. */
  retryInitialMs: number;
  retryMaxMs: number;
  requestTimeoutMs: number;
  spool: { dir: string; maxBytes: number };
  logger: Logger;
}

export interface InfluxSinkStats {
  /** Points waiting in the spool. */
  backlogPoints: number;
  backlogBytes: number;
  delivered: number;
  failedWrites: number;
  /** Points refused because the spool was full. */
  dropped: number;
  /** Points InfluxDB refused as malformed, kept in `rejected.jsonl` in the spool directory. */
  rejected: number;
  /** Whether the last request to InfluxDB succeeded. */
  connected: boolean;
}

/** The pool retries nothing and never benches the host: the sink's own loop paces retries. */
type Backoff = NonNullable<IPoolOptions['backoff']>;
const noPoolBackoff: Backoff = {
  getDelay: () => 0,
  next: () => noPoolBackoff,
  reset: () => noPoolBackoff,
};

/** HTTP statuses that a later retry can cure (everything else in 4xx means the points are bad). */
const RETRYABLE_4XX = new Set([401, 403, 404, 408, 429]);

/**
 * Picks (and station health) into InfluxDB 1.x. Every point is appended to a durable spool first, and
 * a delivery loop writes the spool to InfluxDB in order, in batches, committing after each success;
 * while InfluxDB is down the loop retries with exponential backoff and the spool grows (up to its
 * bound). A write never waits for InfluxDB, so the pipeline never slows down for it.
 */
export class InfluxSink {
  private readonly influx: InfluxDB;
  private readonly spool: DurableSpool;
  private readonly log: Logger;
  private ready = false;
  private closing = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly loopDone: Promise<void>;
  private readonly counts = { delivered: 0, failedWrites: 0, dropped: 0, rejected: 0 };
  private connected = false;
  private full = false;
  private syncTimer: NodeJS.Timeout;
  private unsynced = false;

  private constructor(private readonly options: InfluxSinkOptions) {
    const url = new URL(options.url);
    this.influx = new InfluxDB({
      host: url.hostname,
      port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
      protocol: url.protocol === 'https:' ? 'https' : 'http',
      path: url.pathname === '/' ? undefined : url.pathname,
      database: options.database,
      username: options.username,
      password: options.password,
      pool: { maxRetries: 0, requestTimeout: options.requestTimeoutMs, backoff: noPoolBackoff },
    });
    this.log = options.logger.child({ sink: 'influx', url: url.origin, database: options.database });
    this.spool = DurableSpool.open(options.spool);
    if (this.spool.backlogLines > 0) {
      this.log.info(
        { points: this.spool.backlogLines, spool: options.spool.dir },
        'delivering the points spooled before the last stop',
      );
    }
    // Appends reach the kernel at once (a crashed process loses nothing); this puts them on the disk.
    this.syncTimer = setInterval(() => this.sync(), Math.max(100, options.flushIntervalMs));
    this.syncTimer.unref();
    this.loopDone = this.deliver();
  }

  static open(options: InfluxSinkOptions): InfluxSink {
    return new InfluxSink(options);
  }

  /** Spools a pick for delivery. `latencyMs`: how long after the pick time it was made (live picking). */
  writePick(pick: Pick, latencyMs?: number): void {
    this.enqueue([pickPoint(pick, latencyMs)]);
  }

  writeHealth(samples: StationHealthSample[]): void {
    if (samples.length > 0) this.enqueue(samples.map(healthPoint));
  }

  stats(): InfluxSinkStats {
    return {
      ...this.counts,
      backlogPoints: this.spool.backlogLines,
      backlogBytes: this.spool.backlogBytes,
      connected: this.connected,
    };
  }

  /**
   * Delivers what the spool holds for up to `drainTimeoutMs`, then stops; what is left stays in the
   * spool and goes out on the next start. Resolves with the points left behind.
   */
  async close(drainTimeoutMs: number): Promise<number> {
    this.closing = true;
    this.wake?.();
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, drainTimeoutMs).unref());
    await Promise.race([this.loopDone, timeout]);
    this.stopped = true;
    this.wake?.();
    await this.loopDone;
    clearInterval(this.syncTimer);
    this.spool.close();
    const left = this.spool.backlogLines;
    if (left > 0) {
      this.log.warn(
        { points: left, spool: this.options.spool.dir },
        'InfluxDB did not take every point before the stop; they stay in the spool and are delivered on the next start',
      );
    }
    return left;
  }

  private enqueue(points: IPoint[]): void {
    if (this.closing) throw new Error('the InfluxDB sink is closed');
    let accepted = false;
    try {
      accepted = this.spool.append(points.map((p) => JSON.stringify(p)));
    } catch (error) {
      // A disk error must not stop the picking: the points are lost for InfluxDB, and said so.
      this.log.error({ err: error, spool: this.options.spool.dir }, 'cannot write the InfluxDB spool');
      this.counts.dropped += points.length;
      return;
    }
    if (!accepted) {
      this.counts.dropped += points.length;
      if (!this.full) {
        this.full = true;
        this.log.error(
          { spool: this.options.spool.dir, maxBytes: this.options.spool.maxBytes },
          'the InfluxDB spool is full: new points are dropped for InfluxDB (the pick file and subscribers still get them) until it drains; raise sinks.influx.spool.maxBytes or bring InfluxDB back',
        );
      }
      return;
    }
    if (this.full) {
      this.full = false;
      this.log.warn({ dropped: this.counts.dropped }, 'the InfluxDB spool takes points again');
    }
    this.unsynced = true;
    if (this.spool.backlogLines >= this.options.batchSize) this.wake?.();
  }

  private sync(): void {
    if (!this.unsynced) return;
    this.unsynced = false;
    this.spool.sync();
  }

  /** Waits `ms`, or less when woken (new points, closing). */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async deliver(): Promise<void> {
    let backoffMs = this.options.retryInitialMs;
    while (!this.stopped) {
      const backlog = this.spool.backlogLines;
      if (backlog === 0) {
        if (this.closing) return;
        await this.pause(this.options.flushIntervalMs);
        continue;
      }
      if (backlog < this.options.batchSize && !this.closing) {
        // Give a young batch time to fill.
        await this.pause(this.options.flushIntervalMs);
        if (this.stopped) return;
      }
      try {
        if (!this.ready) await this.createDatabase();
        const { lines, next } = this.spool.read(this.options.batchSize);
        await this.write(this.parse(lines), lines);
        this.spool.commit(next, lines.length);
        this.counts.delivered += lines.length;
        if (!this.connected) this.log.info('InfluxDB takes points');
        this.connected = true;
        backoffMs = this.options.retryInitialMs;
      } catch (error) {
        this.counts.failedWrites++;
        if (this.connected || this.counts.failedWrites === 1) {
          this.log.warn(
            { err: (error as Error).message, backlog: this.spool.backlogLines, retryInMs: backoffMs },
            'InfluxDB write failed; points stay in the spool and are retried',
          );
        }
        this.connected = false;
        if ((error as { res?: { statusCode?: number } }).res?.statusCode === 404) this.ready = false;
        if (this.stopped) return;
        await this.pause(backoffMs * (0.75 + Math.random() / 2));
        backoffMs = Math.min(backoffMs * 2, this.options.retryMaxMs);
      }
    }
  }

  /** The spooled points; a line damaged on disk is set aside in rejected.jsonl. */
  private parse(lines: string[]): IPoint[] {
    const points: IPoint[] = [];
    for (const line of lines) {
      try {
        points.push(JSON.parse(line));
      } catch {
        this.reject([line], 'a spooled line is not a point (damaged on disk?)');
      }
    }
    return points;
  }

  private reject(lines: string[], why: string): void {
    this.counts.rejected += lines.length;
    appendFileSync(join(this.options.spool.dir, 'rejected.jsonl'), lines.map((l) => `${l}\n`).join(''));
    this.log.error(
      { points: lines.length, why },
      'points set aside in rejected.jsonl in the spool directory',
    );
  }

  /** Writes a batch; points InfluxDB refuses as malformed go to rejected.jsonl instead of blocking the rest. */
  private async write(points: IPoint[], lines: string[]): Promise<void> {
    const writeOptions = {
      precision: 'n' as const,
      database: this.options.database,
      retentionPolicy: this.options.retentionPolicy.name,
    };
    if (points.length === 0) return;
    try {
      await this.influx.writePoints(points, writeOptions);
    } catch (error) {
      const status = (error as { res?: { statusCode?: number } }).res?.statusCode;
      if (status === undefined || status < 400 || status >= 500 || RETRYABLE_4XX.has(status)) throw error;
      this.reject(lines, `InfluxDB refused them: ${(error as Error).message}`);
    }
  }

  /** The database and its retention policy (the default one), created when missing. */
  private async createDatabase(): Promise<void> {
    const { database, retentionPolicy } = this.options;
    const names = await this.influx.getDatabaseNames();
    if (!names.includes(database)) {
      await this.influx.createDatabase(database);
      this.log.info('created the database');
    }
    const policies = await this.influx.showRetentionPolicies(database);
    if (!policies.some((p) => p.name === retentionPolicy.name)) {
      await this.influx.createRetentionPolicy(retentionPolicy.name, {
        database,
        duration: retentionPolicy.duration,
        replication: retentionPolicy.replication,
        isDefault: true,
      });
      this.log.info({ retentionPolicy }, 'created the retention policy');
    }
    this.ready = true;
  }
}
