import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { WaveformFormatError } from '../../../src/errors.ts';
import { SeedLinkConfigError, SeedLinkProtocolError } from '../../../src/ingest/seedlink/errors.ts';
import { readRecordSpan } from '../../../src/ingest/seedlink/record-header.ts';
import {
  type DataArguments,
  encodeV3InfoPacket,
  encodeV3Packet,
  encodeV4Packet,
  formatHello,
  globToRegExp,
  hasWildcard,
  parseDataArguments,
  parseSelector,
  SEEDLINK_PROTOCOLS,
  type SeedLinkProtocolVersion,
  type StreamMatcher,
  selectorsMatch,
  stationKey,
  V3_RECORD_LENGTH,
  V3_SEQUENCE_MODULUS,
  v4StreamId,
  WEBSOCKET_SUBPROTOCOLS,
} from '../../../src/ingest/seedlink/wire.ts';
import { type Logger, log } from '../../../src/log.ts';

/**
 * A SeedLink server for tests and benches (the product has no use for one, so it lives out of src/):
 * a ring of packets per station fed from miniSEED records, served over TCP and WebSocket on one port
 * (a connection whose first bytes are an HTTP GET is upgraded to WebSocket, as ringserver and SeisComP
 * do), protocol 3.1 and 4.0. It shares the wire format (src/ingest/seedlink/wire.ts) with the client.
 * The ring outlives the server, so a server can be killed mid-stream and started again on the same
 * port with the same packets and sequence numbers.
 *
 * As strict as ringserver (4.x, EarthScope's SeedLink server, which most networks run) where a client
 * could get away with something ringserver refuses:
 * - a command ends with CR (LF optional); a line without one is never answered, and one longer than
 *   `MAX_COMMAND_LENGTH` closes the connection. Over WebSocket, a text frame that does not end in CR
 *   (LF) closes the connection.
 * - `DATA seq [time]` asks for the packet after seq - 1, the client's last: that packet must be in the
 *   ring and, when a time is given, start in that very second; otherwise the connection is positioned
 *   by the time (the first packet that ends at or after it), or, without one, at the next packet.
 * - time-only positioning is `TIME time` on 3.1 (a start in the future is refused) and `DATA ALL time`
 *   on 4.0; 4.0 refuses `DATA -1` ("Invalid sequence number") and TIME.
 * Unlike ringserver, each station has its own sequence numbers (as SeisComP's seedlink has).
 */

export interface RingPacket {
  sequence: bigint;
  stationKey: string;
  network: string;
  station: string;
  location: string;
  channel: string;
  /** SeedLink 4 stream ID (LOC_B_S_SS). */
  streamId: string;
  /** SeedLink record type / v4 subformat: D data, L log. */
  type: string;
  startTimeUs: number;
  endTimeUs: number;
  record: Uint8Array;
}

interface StationRing {
  network: string;
  station: string;
  packets: RingPacket[];
  /** Index of the oldest packet kept in `packets`. */
  head: number;
  nextSequence: bigint;
}

/** Packets per station, each station with its own consecutive sequence numbers, bounded in length. */
export class SeedLinkRing {
  private readonly stations = new Map<string, StationRing>();
  private readonly listeners = new Set<(packet: RingPacket) => void>();
  readonly capacityPerStation: number;
  private readonly firstSequence: bigint;

  constructor(options: { capacityPerStation?: number; firstSequence?: bigint } = {}) {
    this.capacityPerStation = options.capacityPerStation ?? 100_000;
    this.firstSequence = options.firstSequence ?? 1n;
    if (!(this.capacityPerStation >= 1))
      throw new SeedLinkConfigError('SeedLink ring capacity must be at least 1');
  }

  /** Makes a station known before its first packet (STATION for an unknown one is refused). */
  declareStation(network: string, station: string): void {
    const key = stationKey(network, station);
    if (!this.stations.has(key)) {
      this.stations.set(key, { network, station, packets: [], head: 0, nextSequence: this.firstSequence });
    }
  }

  /** Appends a 512-byte miniSEED 2 record to its station's ring and tells the listeners. */
  append(record: Uint8Array): RingPacket {
    // What both protocol versions can carry: v3 packets are 512 bytes of miniSEED 2.
    if (record.length !== V3_RECORD_LENGTH || record[0] === 0x4d /* M: miniSEED 3 */) {
      throw new WaveformFormatError(
        `the SeedLink server serves ${V3_RECORD_LENGTH}-byte miniSEED 2 records, got ${record.length} bytes`,
      );
    }
    const header = readRecordSpan(record);
    this.declareStation(header.network, header.station);
    const key = stationKey(header.network, header.station);
    const ring = this.stations.get(key)!;
    const packet: RingPacket = {
      sequence: ring.nextSequence,
      stationKey: key,
      network: header.network,
      station: header.station,
      location: header.location,
      channel: header.channel,
      streamId: v4StreamId(header.location, header.channel),
      type: header.channel === 'LOG' ? 'L' : 'D',
      startTimeUs: header.startTimeUs,
      endTimeUs: header.endTimeUs,
      record,
    };
    ring.nextSequence++;
    ring.packets.push(packet);
    if (ring.packets.length - ring.head > this.capacityPerStation) ring.head++;
    if (ring.head > 1024 && ring.head * 2 > ring.packets.length) {
      ring.packets = ring.packets.slice(ring.head);
      ring.head = 0;
    }
    for (const listener of this.listeners) listener(packet);
    return packet;
  }

  stationKeys(): string[] {
    return [...this.stations.keys()];
  }

  station(key: string): { network: string; station: string } | undefined {
    const ring = this.stations.get(key);
    return ring && { network: ring.network, station: ring.station };
  }

  /** Sequence of the oldest packet kept (the next one when the ring is empty). */
  oldestSequence(key: string): bigint {
    const ring = this.stations.get(key);
    if (ring === undefined) return this.firstSequence;
    return ring.head < ring.packets.length ? ring.packets[ring.head].sequence : ring.nextSequence;
  }

  /** Sequence the next packet of `key` will have. */
  nextSequence(key: string): bigint {
    return this.stations.get(key)?.nextSequence ?? this.firstSequence;
  }

  get(key: string, sequence: bigint): RingPacket | undefined {
    const ring = this.stations.get(key);
    if (ring === undefined || ring.head >= ring.packets.length) return undefined;
    const index = ring.head + Number(sequence - ring.packets[ring.head].sequence);
    return index >= ring.head && index < ring.packets.length ? ring.packets[index] : undefined;
  }

  /** Calls `listener` for each appended packet; returns the unsubscribe function. */
  subscribe(listener: (packet: RingPacket) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

// ---------------------------------------------------------------------------------------------------
// Server

export interface SeedLinkServerOptions {
  ring: SeedLinkRing;
  host?: string;
  /** 0 (default) picks a free port at the first start; later starts reuse it. */
  port?: number;
  protocols?: readonly SeedLinkProtocolVersion[];
  /** Accept WebSocket upgrades on the same port. Default true. */
  websocket?: boolean;
  software?: string;
  organization?: string;
  /** Sends other bytes for a packet (a test's malformed packet); undefined: the packet as it is. */
  mangle?: (packet: RingPacket, bytes: Uint8Array) => Uint8Array | undefined;
  /** The wall clock for TIME's "not in the future" check, in ms. Default Date.now. */
  now?: () => number;
  /** Called with each command line received (tests count keep-alives and check DATA arguments with it). */
  onCommand?: (connection: number, command: string) => void;
  logger?: Logger;
}

/** Where a connection sends: TCP bytes, or WebSocket text replies and binary packets. */
interface ServerLink {
  readonly kind: 'tcp' | 'ws';
  readonly protocolLimit: SeedLinkProtocolVersion | undefined;
  sendText(text: string): void;
  /** False when the peer is not keeping up: wait for onDrain before sending more. */
  sendPacket(bytes: Uint8Array): boolean;
  onDrain(callback: () => void): void;
  end(): void;
  destroy(): void;
}

interface StationRequest {
  label: string;
  matches(key: string): boolean;
  wildcard: boolean;
  selectors: StreamMatcher[];
  data: DataArguments | undefined;
}

interface Cursor {
  next: bigint;
  request: StationRequest;
}

const WS_HIGH_WATER_BYTES = 1 << 20;
/** ringserver reads commands into a buffer of this size; a longer line ends the connection. */
export const MAX_COMMAND_LENGTH = 255;
const OK = 'OK\r\n';
const ERROR_CODES = ['UNSUPPORTED', 'UNEXPECTED', 'UNAUTHORIZED', 'LIMIT', 'ARGUMENTS', 'AUTH'] as const;
type ErrorCode = (typeof ERROR_CODES)[number];

export class SeedLinkServer {
  private readonly ring: SeedLinkRing;
  private readonly protocols: readonly SeedLinkProtocolVersion[];
  private readonly logger: Logger;
  private tcp: NetServer | undefined;
  private http: HttpServer | undefined;
  private wss: WebSocketServer | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<ServerSession>();
  private boundPort: number;
  private nextConnection = 1;

  constructor(readonly options: SeedLinkServerOptions) {
    this.ring = options.ring;
    this.protocols = options.protocols ?? SEEDLINK_PROTOCOLS;
    this.boundPort = options.port ?? 0;
    this.logger = options.logger ?? log.child({ module: 'seedlink-server' });
    if (this.protocols.length === 0)
      throw new SeedLinkConfigError('a SeedLink server needs at least one protocol');
  }

  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  get tcpUrl(): string {
    return `tcp://${this.host}:${this.boundPort}`;
  }

  get wsUrl(): string {
    return `ws://${this.host}:${this.boundPort}/seedlink`;
  }

  get connectionCount(): number {
    return this.sessions.size;
  }

  /** Connections past END, receiving packets. */
  get streamingCount(): number {
    return [...this.sessions].filter((s) => s.streaming).length;
  }

  /** Listens (again, on the same port after a stop or kill); resolves with the port. */
  async start(): Promise<number> {
    if (this.tcp !== undefined) return this.boundPort;
    const tcp = createNetServer((socket) => this.accept(socket));
    if (this.options.websocket ?? true) {
      this.http = createHttpServer((_request, response) => {
        response.writeHead(426, { 'content-type': 'text/plain' }).end('SeedLink over WebSocket only\n');
      });
      this.wss = new WebSocketServer({
        noServer: true,
        handleProtocols: (offered) => {
          const version = [...this.protocols]
            .sort()
            .reverse()
            .find((v) => offered.has(WEBSOCKET_SUBPROTOCOLS[v]));
          return version === undefined ? false : WEBSOCKET_SUBPROTOCOLS[version];
        },
      });
      this.http.on('upgrade', (request, socket, head) => {
        this.wss!.handleUpgrade(request, socket, head, (ws) => this.acceptWebSocket(ws));
      });
    }
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.boundPort, this.host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    this.tcp = tcp;
    this.boundPort = (tcp.address() as { port: number }).port;
    this.logger.info({ port: this.boundPort, protocols: this.protocols }, 'SeedLink server listening');
    return this.boundPort;
  }

  /** Closes connections politely and stops listening; the ring stays. */
  async stop(): Promise<void> {
    for (const session of this.sessions) session.link.end();
    await this.closeListeners(1000);
  }

  /** Drops every connection at once (as a crash would) and stops listening; the ring stays. */
  async kill(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    for (const session of this.sessions) session.link.destroy();
    await this.closeListeners(0);
  }

  /** Current connections stop sending anything, keep-alive answers included, and stay open. */
  silence(): void {
    for (const session of this.sessions) session.silenced = true;
  }

  private async closeListeners(graceMs: number): Promise<void> {
    const tcp = this.tcp;
    this.tcp = undefined;
    const wss = this.wss;
    this.wss = undefined;
    this.http = undefined;
    wss?.close();
    const closed = tcp && new Promise<void>((resolve) => tcp.close(() => resolve()));
    const timer = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
    this.sessions.clear();
  }

  /** Reads the first bytes: an HTTP GET goes to the WebSocket upgrade, anything else is SeedLink. */
  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', (error) => this.logger.debug({ err: error }, 'SeedLink server socket error'));
    let head = Buffer.alloc(0);
    const sniff = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < 4 && !head.includes(0x0a) && !head.includes(0x0d)) return;
      socket.off('data', sniff);
      socket.pause();
      socket.unshift(head);
      if (this.http !== undefined && head.subarray(0, 4).toString('latin1') === 'GET ') {
        this.http.emit('connection', socket);
        socket.resume();
      } else {
        this.acceptTcp(socket);
      }
    };
    socket.on('data', sniff);
  }

  private acceptTcp(socket: Socket): void {
    const link: ServerLink = {
      kind: 'tcp',
      protocolLimit: undefined,
      sendText: (text) => socket.write(text),
      sendPacket: (bytes) => socket.write(bytes),
      onDrain: (callback) => socket.once('drain', callback),
      end: () => socket.end(),
      destroy: () => socket.destroy(),
    };
    const session = this.openSession(link);
    let pending = '';
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      pending += text;
      // CR ends a command; the LF after it is optional (and skipped), a LF alone ends nothing.
      const lines = pending.split('\r');
      pending = lines.pop()!;
      for (const line of lines) session.command(line.replace(/^\n/, ''));
      if (pending.replace(/^\n/, '').length > MAX_COMMAND_LENGTH) {
        this.logger.warn({ bytes: pending.length }, 'SeedLink command too long: closing the connection');
        socket.destroy();
      }
    });
    socket.on('close', () => this.closeSession(session));
    socket.resume();
  }

  private acceptWebSocket(ws: WebSocket): void {
    const limit = SEEDLINK_PROTOCOLS.find((v) => WEBSOCKET_SUBPROTOCOLS[v] === ws.protocol);
    let bufferedBytes = 0;
    let drain: (() => void) | undefined;
    const link: ServerLink = {
      kind: 'ws',
      protocolLimit: limit,
      sendText: (text) => ws.send(text),
      sendPacket: (bytes) => {
        bufferedBytes += bytes.length;
        ws.send(bytes, { binary: true }, () => {
          bufferedBytes -= bytes.length;
          if (drain !== undefined && bufferedBytes < WS_HIGH_WATER_BYTES / 2) {
            const callback = drain;
            drain = undefined;
            callback();
          }
        });
        return bufferedBytes < WS_HIGH_WATER_BYTES;
      },
      onDrain: (callback) => {
        drain = callback;
      },
      end: () => ws.close(1000),
      destroy: () => ws.terminate(),
    };
    const session = this.openSession(link);
    ws.on('message', (data, isBinary) => {
      const text = data.toString('latin1');
      // One command per frame, CR (LF)-terminated, as ringserver takes them; anything else ends the link.
      const command = /^([^\r\n]*)\r\n?$/.exec(text);
      if (isBinary || command === null || command[1].length > MAX_COMMAND_LENGTH) {
        this.logger.warn(
          { frame: text.slice(0, 40) },
          'SeedLink WebSocket frame is not one CR-terminated command',
        );
        ws.terminate();
        return;
      }
      session.command(command[1]);
    });
    ws.on('error', (error) => this.logger.debug({ err: error }, 'SeedLink server WebSocket error'));
    ws.on('close', () => this.closeSession(session));
  }

  private openSession(link: ServerLink): ServerSession {
    const session = new ServerSession(
      this.nextConnection++,
      link,
      this.ring,
      this.protocols,
      this.options,
      this.logger,
    );
    this.sessions.add(session);
    return session;
  }

  private closeSession(session: ServerSession): void {
    session.close();
    this.sessions.delete(session);
  }
}

class ServerSession {
  silenced = false;
  private version: SeedLinkProtocolVersion = '3.1';
  private phase: 'handshake' | 'streaming' | 'closed' = 'handshake';
  private readonly requests: StationRequest[] = [];
  /** The request the last STATION opened; null after a refused STATION (its SELECT/DATA are refused too). */
  private current: StationRequest | null | undefined;
  private readonly cursors = new Map<string, Cursor>();
  private unsubscribe: (() => void) | undefined;
  private waitingForDrain = false;

  constructor(
    private readonly id: number,
    readonly link: ServerLink,
    private readonly ring: SeedLinkRing,
    private readonly protocols: readonly SeedLinkProtocolVersion[],
    private readonly options: SeedLinkServerOptions,
    private readonly logger: Logger,
  ) {}

  get streaming(): boolean {
    return this.phase === 'streaming';
  }

  close(): void {
    this.phase = 'closed';
    this.unsubscribe?.();
  }

  command(raw: string): void {
    const line = raw.trim();
    if (line === '' || this.silenced || this.phase === 'closed') return;
    this.options.onCommand?.(this.id, line);
    const [word, ...args] = line.split(/[ \t]+/);
    const verb = word.toUpperCase();
    if (this.phase === 'streaming') {
      if (verb === 'INFO') this.info(args[0] ?? 'ID');
      else if (verb === 'BYE') this.link.end();
      else
        this.logger.debug({ connection: this.id, command: line }, 'SeedLink command ignored while streaming');
      return;
    }
    let reply: string | undefined;
    try {
      reply = this.handshakeCommand(verb, args);
    } catch (error) {
      if (!(error instanceof SeedLinkProtocolError)) throw error;
      reply = this.error('ARGUMENTS', error.message);
    }
    if (reply !== undefined) this.link.sendText(reply);
  }

  private error(code: ErrorCode, description: string): string {
    return this.version === '4.0' ? `ERROR ${code} ${description}\r\n` : 'ERROR\r\n';
  }

  /** Handles one handshake command; returns the reply to send, if it is text. */
  private handshakeCommand(verb: string, args: string[]): string | undefined {
    switch (verb) {
      case 'HELLO':
        return this.hello();
      case 'SLPROTO': {
        const allowed = this.link.protocolLimit === undefined ? this.protocols : [this.link.protocolLimit];
        if (args[0] !== '4.0' || !allowed.includes('4.0'))
          return this.error('UNSUPPORTED', `protocol ${args[0]}`);
        if (this.version === '4.0' || this.requests.length > 0)
          return this.error('UNEXPECTED', 'SLPROTO comes first');
        this.version = '4.0';
        return OK;
      }
      case 'USERAGENT':
        return OK;
      case 'GETCAPABILITIES':
        if (this.version !== '4.0') return this.error('UNSUPPORTED', 'GETCAPABILITIES is SeedLink 4');
        return `${this.capabilities().join(' ')}\r\n`;
      case 'STATION':
        return this.station(args);
      case 'SELECT':
        return this.select(args);
      case 'DATA':
        return this.data(parseDataArguments(args, this.version));
      case 'TIME': {
        if (this.version !== '3.1') return this.error('UNSUPPORTED', `Unrecognized command: TIME`);
        if (args.length < 1 || args.length > 2)
          return this.error('ARGUMENTS', 'TIME command requires 1 or 2 arguments');
        const window = parseDataArguments(['0', ...args], '3.1');
        if (window.startTimeUs! > (this.options.now ?? Date.now)() * 1000)
          return this.error('ARGUMENTS', 'Start time cannot be in the future');
        return this.data({ ...window, sequence: undefined });
      }
      case 'END':
        if (this.requests.length === 0) return this.error('UNEXPECTED', 'END without STATION');
        this.startStreaming();
        return undefined;
      case 'INFO':
        this.info(args[0] ?? 'ID');
        return undefined;
      case 'BYE':
        this.link.end();
        return undefined;
      default:
        return this.error('UNSUPPORTED', `command ${verb}`);
    }
  }

  private capabilities(): string[] {
    const caps = ['NSWILDCARD', 'TIME', 'MULTISTATION', 'INFO:ID', 'INFO:STATIONS'];
    return this.options.websocket === false ? caps : [...caps, 'WEBSOCKET:13'];
  }

  private hello(): string {
    const allowed = this.link.protocolLimit === undefined ? this.protocols : [this.link.protocolLimit];
    return formatHello({
      protocols: allowed,
      software: this.options.software ?? 'PhaseStream SeedLink server',
      capabilities: this.capabilities(),
      organization: this.options.organization ?? 'PhaseStream',
    });
  }

  private station(args: string[]): string {
    let label: string;
    let matches: (key: string) => boolean;
    let wildcard: boolean;
    if (this.version === '4.0') {
      if (args.length !== 1) return this.error('ARGUMENTS', 'STATION takes one NET_STA pattern');
      label = args[0];
      const pattern = globToRegExp(label);
      matches = (key) => pattern.test(key);
      wildcard = hasWildcard(label);
    } else {
      if (args.length < 1 || args.length > 2) return this.error('ARGUMENTS', 'STATION STA [NET]');
      const [stationCode, networkCode = '*'] = args;
      label = stationKey(networkCode, stationCode);
      const station = globToRegExp(stationCode);
      const network = globToRegExp(networkCode);
      matches = (key) => {
        const codes = this.ring.station(key);
        return codes !== undefined && station.test(codes.station) && network.test(codes.network);
      };
      wildcard = hasWildcard(stationCode) || hasWildcard(networkCode);
    }
    if (!wildcard && !this.ring.stationKeys().some(matches)) {
      this.current = null;
      return this.error('ARGUMENTS', `unknown station ${label}`);
    }
    this.current = { label, matches, wildcard, selectors: [], data: undefined };
    this.requests.push(this.current);
    return OK;
  }

  private select(args: string[]): string {
    if (!this.current) return this.error('UNEXPECTED', 'SELECT without an accepted STATION');
    if (args.length === 0) {
      if (this.version === '4.0') return this.error('ARGUMENTS', 'empty SELECT is not allowed in v4');
      this.current.selectors = [];
      return OK;
    }
    if (args.length > 1) return this.error('ARGUMENTS', 'one pattern per SELECT');
    this.current.selectors.push(parseSelector(args[0], this.version));
    return OK;
  }

  private data(data: DataArguments): string {
    if (!this.current) return this.error('UNEXPECTED', 'DATA without an accepted STATION');
    if (this.current.wildcard && data.sequence !== undefined) {
      return this.error('ARGUMENTS', 'using sequence number with station wildcard is not supported');
    }
    this.current.data = data;
    return OK;
  }

  private startStreaming(): void {
    this.phase = 'streaming';
    for (const key of this.ring.stationKeys()) this.follow(key, undefined);
    this.unsubscribe = this.ring.subscribe((packet) => {
      // A station that appears after END: a wildcard request takes it from its first packet.
      if (!this.cursors.has(packet.stationKey)) this.follow(packet.stationKey, packet.sequence);
      // Only this station has news: a pump over every station per packet costs O(stations) each (the
      // realtime bench's thousands of stations); after a drain the whole pump resumes them all.
      this.pump(packet.stationKey);
    });
    this.pump();
  }

  /** Starts sending `key` if a request matches it: the first matching request wins. */
  private follow(key: string, firstSequence: bigint | undefined): void {
    const request = this.requests.find((r) => r.matches(key));
    if (request === undefined) return;
    const next = firstSequence ?? this.startSequence(key, request.data);
    this.cursors.set(key, { next, request });
  }

  /** Where `key` starts, by ringserver's rules (see the top of this file). */
  private startSequence(key: string, data: DataArguments | undefined): bigint {
    const oldest = this.ring.oldestSequence(key);
    const next = this.ring.nextSequence(key);
    if (data === undefined) return next;
    if (data.sequence !== undefined) {
      let wanted = data.sequence;
      if (data.lowBitsOnly) {
        // The newest sequence up to `next` whose 24 low bits are the v3 sequence.
        wanted = (next / V3_SEQUENCE_MODULUS) * V3_SEQUENCE_MODULUS + data.sequence;
        if (wanted > next) wanted -= V3_SEQUENCE_MODULUS;
      }
      const last = this.ring.get(key, wanted - 1n);
      const second = (us: number) => Math.floor(us / 1e6);
      if (
        last !== undefined &&
        (data.startTimeUs === undefined || second(data.startTimeUs) === second(last.startTimeUs))
      )
        return wanted;
      this.logger.info(
        { connection: this.id, station: key, wanted: String(wanted), oldest: String(oldest) },
        data.startTimeUs === undefined
          ? 'SeedLink sequence not in the ring: the next packet'
          : 'SeedLink sequence not in the ring or not of that time: positioning by time',
      );
    }
    if (data.startTimeUs !== undefined) {
      for (let seq = oldest; seq < next; seq++) {
        if (this.ring.get(key, seq)!.endTimeUs >= data.startTimeUs) return seq;
      }
      return next;
    }
    return data.all ? oldest : next;
  }

  private passes(packet: RingPacket, cursor: Cursor): boolean {
    const { selectors, data } = cursor.request;
    if (data?.endTimeUs !== undefined && packet.startTimeUs > data.endTimeUs) return false;
    return selectorsMatch(selectors, {
      location: packet.location,
      channel: packet.channel,
      streamId: packet.streamId,
      format: '2',
      type: packet.type,
    });
  }

  private encode(packet: RingPacket): Uint8Array {
    const bytes = this.encodeAsIs(packet);
    return this.options.mangle?.(packet, bytes) ?? bytes;
  }

  private encodeAsIs(packet: RingPacket): Uint8Array {
    if (this.version === '3.1') return encodeV3Packet(packet.sequence, packet.record);
    return encodeV4Packet({
      format: '2',
      subformat: packet.type,
      sequence: packet.sequence,
      stationId: packet.stationKey,
      payload: packet.record,
    });
  }

  private pump(only?: string): void {
    if (this.phase !== 'streaming' || this.silenced || this.waitingForDrain) return;
    const cursor = only === undefined ? undefined : this.cursors.get(only);
    const cursors = only === undefined ? this.cursors : cursor === undefined ? [] : [[only, cursor] as const];
    for (const [key, cursor] of cursors) {
      const next = this.ring.nextSequence(key);
      const oldest = this.ring.oldestSequence(key);
      // The ring overtook a slow client: it continues at the oldest packet (and sees the gap).
      if (cursor.next < oldest) cursor.next = oldest;
      while (cursor.next < next) {
        const packet = this.ring.get(key, cursor.next)!;
        cursor.next++;
        if (!this.passes(packet, cursor)) continue;
        if (!this.link.sendPacket(this.encode(packet))) {
          this.waitingForDrain = true;
          this.link.onDrain(() => {
            this.waitingForDrain = false;
            this.pump();
          });
          return;
        }
      }
    }
  }

  private info(level: string): void {
    if (this.silenced) return;
    const software = this.options.software ?? 'PhaseStream SeedLink server';
    const organization = this.options.organization ?? 'PhaseStream';
    const stations = this.ring.stationKeys().map((key) => ({
      id: key,
      description: '',
      begin_seq: Number(this.ring.oldestSequence(key)),
      end_seq: Number(this.ring.nextSequence(key)),
      backfill: -1,
    }));
    const upper = level.toUpperCase();
    if (this.version === '4.0') {
      const known = upper === 'ID' || upper === 'STATIONS';
      const body = known
        ? { software, organization, ...(upper === 'STATIONS' ? { station: stations } : {}) }
        : { software, organization, error: { code: 'ARGUMENTS', message: `INFO ${level} is not supported` } };
      const payload = new TextEncoder().encode(JSON.stringify(body));
      this.link.sendPacket(
        encodeV4Packet({ format: 'J', subformat: known ? 'I' : 'E', sequence: 0n, stationId: '', payload }),
      );
      return;
    }
    const xml =
      upper === 'STATIONS'
        ? `<seedlink software="${software}" organization="${organization}">${stations
            .map((s) => `<station name="${s.id}" begin_seq="${s.begin_seq}" end_seq="${s.end_seq}"/>`)
            .join('')}</seedlink>`
        : `<seedlink software="${software}" organization="${organization}"/>`;
    this.link.sendPacket(encodeV3InfoPacket(infoLogRecord(xml, Date.now()), false));
  }
}

/** A 512-byte miniSEED 2 log record (channel LOG, ASCII) carrying a v3 INFO answer, cut to fit. */
function infoLogRecord(text: string, nowMs: number): Uint8Array {
  const record = new Uint8Array(V3_RECORD_LENGTH);
  const view = new DataView(record.buffer);
  const put = (offset: number, value: string) => record.set(new TextEncoder().encode(value), offset);
  const now = new Date(nowMs);
  const dayOfYear = Math.floor((nowMs - Date.UTC(now.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
  const body = new TextEncoder().encode(text).subarray(0, V3_RECORD_LENGTH - 56);
  put(0, '000000D INFO   LOGSL');
  view.setUint16(20, now.getUTCFullYear());
  view.setUint16(22, dayOfYear);
  record[24] = now.getUTCHours();
  record[25] = now.getUTCMinutes();
  record[26] = now.getUTCSeconds();
  view.setUint16(30, body.length);
  view.setUint8(39, 1); // one blockette
  view.setUint16(44, 56); // data offset
  view.setUint16(46, 48); // first blockette
  view.setUint16(48, 1000); // blockette 1000: encoding ASCII, big-endian, 2^9 bytes
  record[52] = 0;
  record[53] = 1;
  record[54] = 9;
  record.set(body, 56);
  return record;
}

// ---------------------------------------------------------------------------------------------------
// Feeding the ring

/** Splits miniSEED files into 512-byte records (checking each header) and orders them by end time, as a
 * digitizer would produce them. */
export async function loadRecordFiles(paths: readonly string[]): Promise<Uint8Array[]> {
  const records: { record: Uint8Array; endTimeUs: number }[] = [];
  for (const path of paths) {
    const bytes = new Uint8Array(await readFile(path));
    if (bytes.length % V3_RECORD_LENGTH !== 0) {
      throw new WaveformFormatError(`${path} is not made of ${V3_RECORD_LENGTH}-byte miniSEED records`, {
        hint: 'SeedLink serves 512-byte records; repack the file (e.g. with msrepack -R 512)',
      });
    }
    for (let offset = 0; offset < bytes.length; offset += V3_RECORD_LENGTH) {
      const record = bytes.subarray(offset, offset + V3_RECORD_LENGTH);
      records.push({ record, endTimeUs: readRecordSpan(record).endTimeUs });
    }
  }
  return records.sort((a, b) => a.endTimeUs - b.endTimeUs).map((r) => r.record);
}

export interface RecordFeedOptions {
  /** One record every `intervalMs` (default 1)... */
  intervalMs?: number;
  /** ...or at `speed` times real time, from the records' end times. */
  speed?: number;
}

/** Appends records to a ring as a data source would, on a schedule; pausable. */
export class RecordFeed {
  private index = 0;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private pausedAt: number | undefined;
  private readonly dueMs: number[];
  private finish!: () => void;
  /** Resolves when every record has been appended (or the feed was stopped). */
  readonly done: Promise<void>;

  constructor(
    private readonly ring: SeedLinkRing,
    private readonly records: readonly Uint8Array[],
    options: RecordFeedOptions = {},
  ) {
    const { speed, intervalMs = 1 } = options;
    if (speed !== undefined) {
      const ends = records.map((r) => readRecordSpan(r).endTimeUs);
      this.dueMs = ends.map((end) => (end - ends[0]) / 1000 / speed);
    } else {
      this.dueMs = records.map((_, i) => i * intervalMs);
    }
    this.done = new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  get produced(): number {
    return this.index;
  }

  start(): this {
    this.startedAt = performance.now();
    this.schedule();
    return this;
  }

  pause(): void {
    if (this.pausedAt !== undefined) return;
    this.pausedAt = performance.now();
    clearTimeout(this.timer);
  }

  resume(): void {
    if (this.pausedAt === undefined) return;
    this.startedAt += performance.now() - this.pausedAt;
    this.pausedAt = undefined;
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.index = this.records.length;
    this.finish();
  }

  private schedule(): void {
    const elapsed = performance.now() - this.startedAt;
    while (this.index < this.records.length && this.dueMs[this.index] <= elapsed) {
      this.ring.append(this.records[this.index++]);
    }
    if (this.index >= this.records.length) {
      this.finish();
      return;
    }
    this.timer = setTimeout(() => this.schedule(), Math.max(0, this.dueMs[this.index] - elapsed));
  }
}
