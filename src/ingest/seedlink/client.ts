import { createRequire } from 'node:module';
import { Observable, Subject } from 'rxjs';
import { type Logger, log } from '../../log.ts';
import {
  SeedLinkCommandError,
  SeedLinkConfigError,
  SeedLinkProtocolError,
  SeedLinkStateError,
  SeedLinkUnsupportedError,
} from './errors.ts';
import {
  type SeedLinkClientEvent,
  type SeedLinkPacket,
  SeedLinkSession,
  type SeedLinkStationRequest,
  type SessionEnd,
} from './session.ts';
import { SeedLinkResumeState } from './state.ts';
import { connectTransport, parseSeedLinkUrl } from './transport.ts';
import { SEEDLINK_PROTOCOLS, type SeedLinkProtocolVersion, selectorToV4 } from './wire.ts';

export type { SeedLinkClientEvent, SeedLinkPacket, SeedLinkStationRequest } from './session.ts';
export type { StreamSelector } from './wire.ts';

export interface BackoffOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  /** Up to this fraction of each delay is taken off at random, so that clients do not reconnect in step. */
  jitter: number;
}

/**
 * A live picker wants its data back soon after a server returns, and one connection attempt every
 * 10 s costs a server nothing: the cap is short (a restarted server waits at most about 10 s).
 */
export const DEFAULT_BACKOFF: BackoffOptions = {
  initialDelayMs: 1000,
  maxDelayMs: 10_000,
  factor: 2,
  jitter: 0.5,
};

/** Delay before reconnect attempt `attempt` (0-based): exponential, capped, minus jitter; random in [0, 1). */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: number): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** attempt);
  return Math.round(base * (1 - options.jitter * random));
}

export interface SeedLinkClientOptions {
  /** `host[:port]`, `tcp://host:port`, or `ws://host:port/path` (SeedLink over WebSocket). */
  url: string;
  stations: readonly SeedLinkStationRequest[];
  /** 'auto' (default) speaks 4.0 when the server offers it, else 3.1. */
  protocol?: 'auto' | SeedLinkProtocolVersion;
  /** Resume state (JSON, written atomically); without it the client resumes only within its own lifetime. */
  stateFile?: string;
  /**
   * The resume state, already loaded (by a consumer that marks what it processed, see state.ts);
   * `stateFile` is then not read again.
   */
  state?: SeedLinkResumeState;
  /** Backfill: stations the state does not know start with the data from this time (epoch µs). */
  startUs?: number;
  /** A packet whose header breaks on this many connections in a row is skipped with an error. Default 3. */
  maxPacketTries?: number;
  /** The state file is written at most this often while packets arrive, and at stop. Default 1000. */
  stateFlushIntervalMs?: number;
  reconnect?: Partial<BackoffOptions>;
  connectTimeoutMs?: number;
  responseTimeoutMs?: number;
  /** No data nor keep-alive answer for this long: reconnect. Default 300. */
  idleTimeoutS?: number;
  /** No data for this long: send INFO ID, whose answer keeps a quiet link alive; 0 = never. Default 240. */
  keepaliveIntervalS?: number;
  userAgent?: string;
  logger?: Logger;
  /** Source of the backoff jitter; Math.random by default. */
  random?: () => number;
}

const version = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

/** What reconnecting cannot mend: the client stops with the error instead. */
function isFatal(error: unknown): boolean {
  return (
    error instanceof SeedLinkCommandError ||
    error instanceof SeedLinkUnsupportedError ||
    error instanceof SeedLinkConfigError ||
    error instanceof SeedLinkStateError
  );
}

const CODE = /^[A-Z0-9?*]+$/i;

/**
 * A SeedLink client over TCP or WebSocket, protocol 3.1 or 4.0, that reconnects with backoff and resumes
 * from its saved sequence numbers. Subscribe to `packets$` (and `events$`), then `start()`; `stop()`
 * closes the connection, writes the state file, and completes both. A configuration the server refuses
 * errors `packets$` with a SeedLinkCommandError.
 */
export class SeedLinkClient {
  readonly packets$: Observable<SeedLinkPacket>;
  readonly events$: Observable<SeedLinkClientEvent>;

  private readonly packetSubject = new Subject<SeedLinkPacket>();
  private readonly eventSubject = new Subject<SeedLinkClientEvent>();
  private readonly endpoint;
  private readonly protocols: readonly SeedLinkProtocolVersion[];
  private readonly backoff: BackoffOptions;
  private readonly logger: Logger;
  private session: SeedLinkSession | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: SeedLinkClientOptions) {
    this.endpoint = parseSeedLinkUrl(options.url);
    this.logger = options.logger ?? log.child({ module: 'seedlink' });
    this.protocols =
      options.protocol === undefined || options.protocol === 'auto' ? SEEDLINK_PROTOCOLS : [options.protocol];
    this.backoff = { ...DEFAULT_BACKOFF, ...options.reconnect };
    if (options.stations.length === 0) {
      throw new SeedLinkConfigError('no SeedLink stations requested', {
        hint: 'e.g. { network: "GE", station: "*" }',
      });
    }
    for (const request of options.stations) {
      if (!CODE.test(request.network) || !CODE.test(request.station)) {
        throw new SeedLinkConfigError(
          `bad SeedLink station ${JSON.stringify(request)}: codes are letters, digits and the wildcards ? and *`,
        );
      }
      request.selectors?.forEach(selectorToV4);
    }
    const idleS = options.idleTimeoutS ?? 300;
    const keepaliveS = options.keepaliveIntervalS ?? 240;
    if (!(idleS > 0) || !(keepaliveS >= 0) || (keepaliveS > 0 && keepaliveS >= idleS)) {
      throw new SeedLinkConfigError(
        `SeedLink keep-alive interval (${keepaliveS} s) must be shorter than the idle timeout (${idleS} s)`,
      );
    }
    this.packets$ = this.packetSubject.asObservable();
    this.events$ = this.eventSubject.asObservable();
  }

  /** The server's normalized address. */
  get server(): string {
    return this.endpoint.url;
  }

  /** Connects and keeps connected until stop() or a fatal error; calling it again does nothing. */
  start(): void {
    this.running ??= this.loop();
  }

  /** Closes the connection, writes the state file, completes the observables. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.running === undefined) {
      this.packetSubject.complete();
      this.eventSubject.complete();
      return;
    }
    this.session?.stop();
    this.wake?.();
    await this.running;
  }

  private emit(event: SeedLinkClientEvent): void {
    this.eventSubject.next(event);
  }

  private async loop(): Promise<void> {
    const server = this.endpoint.url;
    let state: SeedLinkResumeState | undefined;
    try {
      state =
        this.options.state ??
        (await SeedLinkResumeState.load(this.options.stateFile, server, this.logger, {
          startUs: this.options.startUs,
        }));
      let attempt = 0;
      const badPacket = { sequence: undefined as bigint | undefined, tries: 0 };
      while (!this.stopping) {
        this.emit({ type: 'connecting', server, attempt });
        const end = await this.connectOnce(state);
        if ((end.packets ?? 0) > 0) attempt = 0;
        if (this.stopping) break;
        this.skipPoisonPacket(state, end.error, badPacket);
        this.emit({ type: 'disconnected', server, reason: end.reason, error: end.error });
        const delayMs = backoffDelayMs(attempt, this.backoff, (this.options.random ?? Math.random)());
        attempt++;
        // The reason in a word, without a stack: losing a server is an operating condition, not a bug.
        this.logger.warn(
          { server, reason: end.reason, error: end.error?.message, attempt, delayMs },
          'SeedLink connection lost, reconnecting',
        );
        this.emit({ type: 'reconnecting', server, attempt, delayMs });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
      await state.flush();
      this.packetSubject.complete();
    } catch (error) {
      this.logger.error({ server, err: error }, 'SeedLink client stopped');
      await state?.flush().catch((flushError: unknown) => {
        this.logger.error({ server, err: flushError }, 'cannot write SeedLink state file');
      });
      this.packetSubject.error(error);
    } finally {
      this.eventSubject.complete();
    }
  }

  /**
   * A packet whose header breaks the connection at the same sequence `maxPacketTries` times in a row
   * would stall its station forever: it is taken as received (the next connection asks for the packet
   * after it, by sequence alone) and reported as an error.
   */
  private skipPoisonPacket(
    state: SeedLinkResumeState,
    error: Error | undefined,
    bad: { sequence: bigint | undefined; tries: number },
  ): void {
    const sequence = error instanceof SeedLinkProtocolError ? error.sequence : undefined;
    if (sequence === undefined || error === undefined) {
      bad.sequence = undefined;
      bad.tries = 0;
      return;
    }
    bad.tries = bad.sequence === sequence ? bad.tries + 1 : 1;
    bad.sequence = sequence;
    const maxTries = this.options.maxPacketTries ?? 3;
    const station = (error as SeedLinkProtocolError).stationKey;
    if (bad.tries < maxTries || station === undefined) return;
    this.logger.error(
      {
        server: this.endpoint.url,
        station,
        sequence: String(sequence),
        tries: bad.tries,
        error: error.message,
      },
      'SeedLink packet broke the connection on every try: skipped, its data are lost',
    );
    state.skip(station, sequence);
    bad.sequence = undefined;
    bad.tries = 0;
  }

  /** One connection, start to end; throws only what reconnecting cannot mend. */
  private async connectOnce(
    state: SeedLinkResumeState,
  ): Promise<Partial<SessionEnd> & Pick<SessionEnd, 'reason'>> {
    const session = new SeedLinkSession(
      {
        server: this.endpoint.url,
        stations: this.options.stations,
        protocols: this.protocols,
        userAgent: this.options.userAgent ?? `phasestream/${version}`,
        responseTimeoutMs: this.options.responseTimeoutMs ?? 30_000,
        idleTimeoutMs: (this.options.idleTimeoutS ?? 300) * 1000,
        keepaliveIntervalMs: (this.options.keepaliveIntervalS ?? 240) * 1000,
        stateFlushIntervalMs: this.options.stateFlushIntervalMs ?? 1000,
        logger: this.logger,
      },
      state,
      { packet: (packet) => this.packetSubject.next(packet), event: (event) => this.emit(event) },
    );
    this.session = session;
    try {
      const transport = await connectTransport(
        this.endpoint,
        { timeoutMs: this.options.connectTimeoutMs ?? 10_000, protocols: this.protocols },
        { data: session.onData, close: session.onClose },
      );
      if (this.stopping) {
        transport.destroy();
        return { reason: 'stopped' };
      }
      return await session.run(transport);
    } catch (error) {
      if (isFatal(error)) throw error;
      return { reason: 'closed', error: error as Error };
    } finally {
      this.session = undefined;
    }
  }
}

/**
 * The packets of a SeedLink server as a cold Observable: subscribing connects, unsubscribing closes the
 * connection and writes the state file.
 */
export function seedLinkPackets(options: SeedLinkClientOptions): Observable<SeedLinkPacket> {
  return new Observable<SeedLinkPacket>((subscriber) => {
    const client = new SeedLinkClient(options);
    const subscription = client.packets$.subscribe(subscriber);
    client.start();
    return () => {
      subscription.unsubscribe();
      void client.stop();
    };
  });
}
