import type { Logger } from '../../log.ts';
import { SeedLinkCommandError, SeedLinkProtocolError, SeedLinkUnsupportedError } from './errors.ts';
import { type RecordSpan, readRecordSpan } from './record-header.ts';
import type { SeedLinkResumeState } from './state.ts';
import type { SeedLinkTransport } from './transport.ts';
import {
  chooseProtocol,
  type DataPosition,
  formatDataCommand,
  globToRegExp,
  hasWildcard,
  parseHello,
  readLine,
  readPacket,
  type SeedLinkProtocolVersion,
  type StreamSelector,
  selectorToV3,
  selectorToV4,
  skipLineBreaks,
  stationKey,
  V3_SEQUENCE_MODULUS,
  type WirePacket,
} from './wire.ts';

/**
 * One SeedLink connection, whatever carries it: handshake (HELLO, version, stations, selectors, DATA
 * with resume points, END), then the packet stream with keep-alives and silence detection. The client
 * (client.ts) runs one session per connection and reconnects between them.
 */

/** A station (network and station codes may hold the wildcards ? and *) and its stream selection. */
export interface SeedLinkStationRequest {
  network: string;
  station: string;
  /** Streams to receive; all when absent. */
  selectors?: StreamSelector[];
}

/** One packet as received: the raw record and what the protocol says about it (no decoding). */
export interface SeedLinkPacket {
  /** The server's sequence number: 64-bit on v4, the 24 low bits on v3. */
  sequence: bigint;
  /** NET_STA. */
  stationKey: string;
  network: string;
  station: string;
  /** Payload format ('2' miniSEED 2) and subformat ('D' data). */
  format: string;
  subformat: string;
  /** The record, e.g. 512 bytes of miniSEED 2. */
  recordBytes: Uint8Array;
  protocol: SeedLinkProtocolVersion;
}

export type SeedLinkClientEvent =
  | { type: 'connecting'; server: string; attempt: number }
  | {
      type: 'streaming';
      server: string;
      protocol: SeedLinkProtocolVersion;
      transport: 'tcp' | 'ws';
      /** The STATION commands the server accepted. */
      stations: string[];
    }
  /** A connection ended, or could not be made. */
  | { type: 'disconnected'; server: string; reason: SessionEndReason; error?: Error }
  | { type: 'reconnecting'; server: string; attempt: number; delayMs: number }
  | {
      /** The first packet after a resume was not the one asked for: the packets between are not coming. */
      type: 'gap';
      stationKey: string;
      expectedSequence: bigint;
      receivedSequence: bigint;
      /** Sequence numbers skipped; they include packets of streams the selectors leave out. */
      skippedSequences: bigint;
      /** Start of the last record received before, and of the first one after. */
      lastStartTimeUs?: number;
      resumedStartTimeUs?: number;
    }
  | { type: 'command-error'; error: SeedLinkCommandError }
  /** A packet of `stationKey` arrived (for health: last packet age per connection and station). */
  | { type: 'packet'; stationKey: string; sequence: bigint; startTimeUs?: number };

export type SessionEndReason = 'closed' | 'idle' | 'stopped' | 'protocol-error';

export interface SessionEnd {
  reason: SessionEndReason;
  error?: Error;
  /** Data packets received in this session. */
  packets: number;
}

export interface SessionOptions {
  /** The server's normalized URL, for messages. */
  server: string;
  stations: readonly SeedLinkStationRequest[];
  protocols: readonly SeedLinkProtocolVersion[];
  userAgent: string;
  responseTimeoutMs: number;
  /** No bytes for this long in the data phase: the connection is dead. */
  idleTimeoutMs: number;
  /** No bytes for this long in the data phase: ask INFO ID, whose answer proves the link; 0 = never. */
  keepaliveIntervalMs: number;
  stateFlushIntervalMs: number;
  logger: Logger;
}

export interface SessionHooks {
  packet(packet: SeedLinkPacket): void;
  event(event: SeedLinkClientEvent): void;
}

interface PlanItem {
  stationCommand: string;
  /** NET_STA, or the pattern for a wildcard request. */
  label: string;
  selectors: string[];
  resume: DataPosition;
  /** Added from the resume state (a station a wildcard request matched before), not from the options. */
  fromState: boolean;
}

const EMPTY = new Uint8Array(0);
/** Bytes of a new read joined to a packet left over from the last: more than a 512-byte record's packet. */
const JOINED_HEAD_BYTES = 4096;
/**
 * A text line longer than this is garbage, not a reply (ringserver's longest, HELLO's, fits in 400
 * bytes): without a bound, a server sending one endless line would be buffered and rescanned forever.
 */
export const MAX_LINE_LENGTH = 4096;

function splitStationKey(key: string): { network: string; station: string } {
  const at = key.indexOf('_');
  return at < 0 ? { network: '', station: key } : { network: key.slice(0, at), station: key.slice(at + 1) };
}

export class SeedLinkSession {
  private buffer: Uint8Array = EMPTY;
  private phase: 'handshake' | 'data' | 'ended' = 'handshake';
  private protocol: SeedLinkProtocolVersion = '3.1';
  private transport: SeedLinkTransport | undefined;
  private lineWaiter: { resolve(line: string): void; reject(error: Error): void } | undefined;
  private readonly expected = new Map<string, bigint>();
  private lastReceiveAt = Date.now();
  private lastKeepaliveAt = 0;
  private keepaliveSupported = true;
  private timer: NodeJS.Timeout | undefined;
  private packets = 0;
  private endPromise: Promise<SessionEnd>;
  private resolveEnd!: (end: SessionEnd) => void;

  constructor(
    private readonly options: SessionOptions,
    private readonly state: SeedLinkResumeState,
    private readonly hooks: SessionHooks,
  ) {
    this.endPromise = new Promise((resolve) => {
      this.resolveEnd = resolve;
    });
  }

  /** Transport handler: bytes from the server. */
  readonly onData = (bytes: Uint8Array): void => {
    this.lastReceiveAt = Date.now();
    const left = this.buffer;
    if (left.length === 0) {
      this.buffer = bytes;
      this.process();
      return;
    }
    // What is left is the start of one packet (or line): it is joined with the head of the new bytes
    // only, and the rest is read where it lies. Joining the whole read (up to 64 KB, nearly every
    // read, as packets straddle reads) was a new buffer per read for V8 to count toward its next
    // full collection (6 MB/s at 5,000 stations).
    const head = Math.min(bytes.length, JOINED_HEAD_BYTES);
    const joined = Buffer.concat([left, bytes.subarray(0, head)]);
    this.buffer = joined;
    this.process();
    if (this.phase === 'ended') return;
    const consumed = joined.length - this.buffer.length;
    if (consumed >= left.length) this.buffer = bytes.subarray(consumed - left.length);
    else if (head < bytes.length) this.buffer = Buffer.concat([this.buffer, bytes.subarray(head)]);
    else return;
    this.process();
  };

  /** Transport handler: the connection is gone. */
  readonly onClose = (error: Error | undefined): void => {
    this.finish('closed', error);
  };

  /** Handshakes and then streams until the connection ends; rejects when the handshake fails. */
  async run(transport: SeedLinkTransport): Promise<SessionEnd> {
    this.transport = transport;
    try {
      await this.handshake(transport);
    } catch (error) {
      transport.destroy();
      this.finish('closed', error as Error);
      throw error;
    }
    return this.endPromise;
  }

  /** Ends the session politely; run() then resolves with reason 'stopped'. */
  stop(): void {
    if (this.phase === 'ended') return;
    const transport = this.transport;
    const polite = this.phase === 'data';
    this.finish('stopped');
    if (polite) transport?.end();
    else transport?.destroy();
  }

  private finish(reason: SessionEndReason, error?: Error): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    if (this.timer !== undefined) clearInterval(this.timer);
    this.lineWaiter?.reject(
      error ?? new Error(`connection to ${this.options.server} closed during the handshake`),
    );
    this.lineWaiter = undefined;
    this.resolveEnd({ reason, error, packets: this.packets });
  }

  // -------------------------------------------------------------------------------------------------
  // Handshake

  private nextLine(): Promise<string> {
    if (this.phase === 'ended') {
      return Promise.reject(new Error(`connection to ${this.options.server} closed during the handshake`));
    }
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.lineWaiter = undefined;
        reject(new Error(`no reply from ${this.options.server} within ${this.options.responseTimeoutMs} ms`));
      }, this.options.responseTimeoutMs);
      this.lineWaiter = {
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.process();
    });
  }

  private async command(line: string): Promise<string> {
    this.options.logger.debug({ server: this.options.server, command: line }, 'SeedLink command');
    this.transport!.sendLine(line);
    const reply = await this.nextLine();
    this.options.logger.debug({ server: this.options.server, command: line, reply }, 'SeedLink reply');
    return reply;
  }

  private async handshake(transport: SeedLinkTransport): Promise<void> {
    const { server, logger } = this.options;
    transport.sendLine('HELLO');
    const hello = parseHello(await this.nextLine(), await this.nextLine());
    const allowed =
      transport.protocolLimit === undefined ? this.options.protocols : [transport.protocolLimit];
    const protocol = chooseProtocol(hello.capabilities, allowed);
    if (protocol === undefined) {
      throw new SeedLinkUnsupportedError(
        `SeedLink server ${server} (${hello.software}) speaks none of the protocols ${allowed.join(', ')}` +
          ` (capabilities: ${hello.capabilities.join(' ') || 'none'})`,
        { hint: "Allow protocol 'auto' or the version the server offers." },
      );
    }
    this.protocol = protocol;
    logger.info(
      { server, software: hello.software, protocol, transport: transport.kind },
      'SeedLink connected',
    );

    if (protocol === '4.0') {
      const reply = await this.command('SLPROTO 4.0');
      if (!reply.startsWith('OK')) throw new SeedLinkCommandError({ server, command: 'SLPROTO 4.0', reply });
      const agent = await this.command(`USERAGENT ${this.options.userAgent}`);
      if (!agent.startsWith('OK'))
        logger.debug({ server, reply: agent }, 'SeedLink server refused USERAGENT');
    }

    const accepted: string[] = [];
    const refused: SeedLinkCommandError[] = [];
    let requestedAccepted = 0;
    for (const item of this.plan(protocol)) {
      if (!(await this.requestStation(item, refused))) continue;
      accepted.push(item.label);
      if (!item.fromState) requestedAccepted++;
    }
    // None of the configured stations: a configuration error, which reconnecting will not mend.
    if (requestedAccepted === 0) {
      throw (
        refused[0] ?? new SeedLinkCommandError({ server, command: 'STATION', reply: 'no station accepted' })
      );
    }

    transport.sendLine('END');
    this.phase = 'data';
    this.lastReceiveAt = Date.now();
    this.startTimer();
    this.hooks.event({ type: 'streaming', server, protocol, transport: transport.kind, stations: accepted });
    logger.info({ server, protocol, stations: accepted }, 'SeedLink streaming');
    this.process();
  }

  /** STATION, SELECTs, DATA for one plan item; false when the server refused the station. */
  private async requestStation(item: PlanItem, refused: SeedLinkCommandError[]): Promise<boolean> {
    const { server, logger } = this.options;
    const stationReply = await this.command(item.stationCommand);
    if (!stationReply.startsWith('OK')) {
      const error = new SeedLinkCommandError({
        server,
        command: item.stationCommand,
        stationKey: item.label,
        reply: stationReply,
      });
      if (item.fromState) {
        logger.warn(
          { server, station: item.label, reply: stationReply },
          'SeedLink station in the resume state is gone',
        );
      } else {
        refused.push(error);
        logger.error(
          { server, station: item.label, command: item.stationCommand, reply: stationReply },
          error.message,
        );
        this.hooks.event({ type: 'command-error', error });
      }
      return false;
    }
    for (const selector of item.selectors) {
      const command = `SELECT ${selector}`;
      const reply = await this.command(command);
      // A refused selector would leave the station sending streams nobody asked for: a config error.
      if (!reply.startsWith('OK'))
        throw new SeedLinkCommandError({ server, command, stationKey: item.label, reply });
    }
    let dataCommand = formatDataCommand(this.protocol, item.resume);
    let reply = await this.command(dataCommand);
    if (
      !reply.startsWith('OK') &&
      item.resume.lastStartTimeUs !== undefined &&
      item.resume.lastSequence !== undefined
    ) {
      // Servers that keep time windows from untrusted clients (SeisComP's default) refuse the time.
      logger.warn(
        { server, station: item.label, command: dataCommand, reply },
        'SeedLink server refused resuming with a time: resuming by sequence only',
      );
      dataCommand = formatDataCommand(this.protocol, { lastSequence: item.resume.lastSequence });
      reply = await this.command(dataCommand);
    } else if (!reply.startsWith('OK') && item.resume.timeUs !== undefined) {
      // Time windows refused (not offered, or not to this client): the data since then cannot be had.
      logger.warn(
        { server, station: item.label, command: dataCommand, reply },
        'SeedLink server refused resuming by time: starting with the next packet, the data before it are lost',
      );
      dataCommand = 'DATA';
      reply = await this.command(dataCommand);
    }
    if (!reply.startsWith('OK')) {
      const error = new SeedLinkCommandError({ server, command: dataCommand, stationKey: item.label, reply });
      refused.push(error);
      logger.error({ server, station: item.label, command: dataCommand, reply }, error.message);
      this.hooks.event({ type: 'command-error', error });
      return false;
    }
    if (item.resume.lastSequence !== undefined) {
      const next = item.resume.lastSequence + 1n;
      this.expected.set(item.label, this.protocol === '3.1' ? next % V3_SEQUENCE_MODULUS : next);
    }
    return true;
  }

  /**
   * Explicit stations first, then stations of the resume state that a wildcard request matched before
   * (asked for by name, so that they resume by sequence: servers take no sequence with a wildcard), then
   * the wildcard requests themselves, which the server applies to the stations not yet asked for.
   */
  private plan(protocol: SeedLinkProtocolVersion): PlanItem[] {
    const toSelect = protocol === '4.0' ? selectorToV4 : selectorToV3;
    const stationCommand = (network: string, station: string) =>
      protocol === '4.0' ? `STATION ${network}_${station}` : `STATION ${station} ${network}`;
    const item = (
      request: SeedLinkStationRequest,
      network: string,
      station: string,
      fromState: boolean,
    ): PlanItem => {
      const key = stationKey(network, station);
      return {
        stationCommand: stationCommand(network, station),
        label: key,
        selectors: (request.selectors ?? []).map(toSelect),
        resume: {},
        fromState,
      };
    };
    const explicit = this.options.stations.filter((r) => !hasWildcard(r.network) && !hasWildcard(r.station));
    const wildcards = this.options.stations.filter((r) => hasWildcard(r.network) || hasWildcard(r.station));
    const items: PlanItem[] = explicit.map((r) => item(r, r.network, r.station, false));
    const claimed = new Set(items.map((i) => i.label));
    for (const request of wildcards) {
      const network = globToRegExp(request.network);
      const station = globToRegExp(request.station);
      for (const key of this.state.stationKeys()) {
        const codes = splitStationKey(key);
        if (claimed.has(key) || !network.test(codes.network) || !station.test(codes.station)) continue;
        claimed.add(key);
        items.push(item(request, codes.network, codes.station, true));
      }
    }
    items.push(...wildcards.map((r) => item(r, r.network, r.station, false)));
    const named = items.filter((i) => !hasWildcard(i.label)).map((i) => i.label);
    const positions = this.state.positions(named, protocol);
    for (const i of items) {
      // A wildcard request takes no sequence; it starts at the backfill time or with the next packet.
      i.resume = positions.get(i.label) ?? this.state.resumePoint(i.label, protocol, true);
      if (hasWildcard(i.label)) i.resume = { timeUs: i.resume.timeUs };
    }
    return items;
  }

  // -------------------------------------------------------------------------------------------------
  // Incoming bytes

  private process(): void {
    let offset = 0;
    try {
      while (this.phase !== 'ended') {
        offset = skipLineBreaks(this.buffer, offset);
        if (offset >= this.buffer.length) break;
        if (this.phase === 'handshake') {
          const read = readLine(this.buffer, offset);
          if (read === undefined) {
            if (this.buffer.length - offset > MAX_LINE_LENGTH) {
              throw new SeedLinkProtocolError(
                `${this.options.server} sent a line of more than ${MAX_LINE_LENGTH} bytes during the handshake`,
                { hint: 'Check that the address is a SeedLink server.' },
              );
            }
            break;
          }
          if (this.lineWaiter === undefined) break;
          offset += read.length;
          const waiter = this.lineWaiter;
          this.lineWaiter = undefined;
          waiter.resolve(read.line);
          continue;
        }
        if (this.buffer[offset] !== 0x53 /* S */) {
          const read = readLine(this.buffer, offset);
          if (read === undefined) {
            if (this.buffer.length - offset > MAX_LINE_LENGTH) {
              throw new SeedLinkProtocolError(`garbage from ${this.options.server} in the data phase`);
            }
            break;
          }
          offset += read.length;
          this.textInDataPhase(read.line);
          continue;
        }
        const read = readPacket(this.buffer, offset, this.protocol);
        if (read === undefined) break;
        offset += read.length;
        this.handlePacket(read.packet);
      }
    } catch (error) {
      this.options.logger.warn(
        { server: this.options.server, error: (error as Error).message },
        'SeedLink protocol error, reconnecting',
      );
      const transport = this.transport;
      this.finish('protocol-error', error as Error);
      transport?.destroy();
      return;
    }
    this.buffer = offset >= this.buffer.length ? EMPTY : this.buffer.subarray(offset);
  }

  /** The only text a server sends while streaming is the answer to a keep-alive it does not support. */
  private textInDataPhase(line: string): void {
    if (line.startsWith('ERROR')) {
      this.keepaliveSupported = false;
      this.options.logger.warn(
        { server: this.options.server, reply: line },
        'SeedLink server refused INFO ID: no more keep-alives on this connection',
      );
      return;
    }
    this.options.logger.debug({ server: this.options.server, reply: line }, 'SeedLink text while streaming');
  }

  private handlePacket(packet: WirePacket): void {
    const { logger, server } = this.options;
    if (packet.info) {
      if (packet.subformat === 'E') {
        logger.warn({ server, info: new TextDecoder().decode(packet.payload) }, 'SeedLink INFO error');
      } else {
        logger.debug({ server }, 'SeedLink INFO answer (keep-alive)');
      }
      return;
    }
    let header: RecordSpan | undefined;
    if (packet.format === '2' || packet.format === '3') {
      try {
        header = readRecordSpan(packet.payload);
      } catch (error) {
        logger.error(
          { server, sequence: String(packet.sequence), err: error },
          'SeedLink packet with a bad record',
        );
        if (packet.stationId === undefined) return; // v3: no station to key it by
      }
    }
    const key = packet.stationId ?? stationKey(header!.network, header!.station);
    const { network, station } = splitStationKey(key);
    this.packets++;

    const expected = this.expected.get(key);
    if (expected !== undefined) {
      this.expected.delete(key);
      this.checkGap(key, expected, packet.sequence, header);
    }

    this.hooks.packet({
      sequence: packet.sequence,
      stationKey: key,
      network,
      station,
      format: packet.format,
      subformat: packet.subformat,
      recordBytes: packet.payload,
      protocol: this.protocol,
    });
    // Only after delivery: a crash in between resumes at this packet again rather than past it.
    this.state.record(key, packet.sequence, this.protocol, header?.startTimeUs);
    this.state.scheduleFlush(this.options.stateFlushIntervalMs);
    this.hooks.event({
      type: 'packet',
      stationKey: key,
      sequence: packet.sequence,
      startTimeUs: header?.startTimeUs,
    });
  }

  private checkGap(key: string, expected: bigint, received: bigint, header: RecordSpan | undefined): void {
    if (received === expected) return;
    const skipped =
      this.protocol === '3.1'
        ? (received - expected + V3_SEQUENCE_MODULUS) % V3_SEQUENCE_MODULUS
        : received - expected;
    const lastStartTimeUs = this.state.lastStartTimeUs(key);
    const resumedStartTimeUs = header?.startTimeUs;
    this.options.logger.warn(
      {
        server: this.options.server,
        station: key,
        expectedSequence: String(expected),
        receivedSequence: String(received),
        skippedSequences: String(skipped),
        lastStartTime:
          lastStartTimeUs === undefined ? undefined : new Date(lastStartTimeUs / 1000).toISOString(),
        resumedStartTime:
          resumedStartTimeUs === undefined ? undefined : new Date(resumedStartTimeUs / 1000).toISOString(),
      },
      `SeedLink resumed ${key} past a gap: ${skipped} sequence numbers were not sent (left the server's ring, or streams not selected)`,
    );
    this.hooks.event({
      type: 'gap',
      stationKey: key,
      expectedSequence: expected,
      receivedSequence: received,
      skippedSequences: skipped,
      lastStartTimeUs,
      resumedStartTimeUs,
    });
  }

  // -------------------------------------------------------------------------------------------------
  // Keep-alive and silence

  private startTimer(): void {
    const { idleTimeoutMs, keepaliveIntervalMs } = this.options;
    const shortest = keepaliveIntervalMs > 0 ? Math.min(idleTimeoutMs, keepaliveIntervalMs) : idleTimeoutMs;
    this.timer = setInterval(() => this.tick(), Math.max(10, Math.floor(shortest / 5)));
  }

  private tick(): void {
    const { idleTimeoutMs, keepaliveIntervalMs, server, logger } = this.options;
    const now = Date.now();
    const silentMs = now - this.lastReceiveAt;
    if (silentMs >= idleTimeoutMs) {
      logger.warn(
        { server, silentS: silentMs / 1000 },
        'SeedLink connection silent (no data, no keep-alive): reconnecting',
      );
      const transport = this.transport;
      this.finish('idle');
      transport?.destroy();
      return;
    }
    if (
      keepaliveIntervalMs > 0 &&
      this.keepaliveSupported &&
      silentMs >= keepaliveIntervalMs &&
      now - this.lastKeepaliveAt >= keepaliveIntervalMs
    ) {
      this.lastKeepaliveAt = now;
      logger.debug({ server }, 'SeedLink keep-alive: INFO ID');
      this.transport?.sendLine('INFO ID');
    }
  }
}
