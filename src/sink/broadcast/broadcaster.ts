import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { isoFromEpochUs } from '../../ingest/mseed/time.ts';
import type { Logger } from '../../log.ts';
import type { Pick } from '../../picker/pick.ts';
import {
  type ClientMessage,
  clientMessageSchema,
  PROTOCOL_VERSION,
  picksStream,
  type ServerMessage,
  type StreamKind,
} from './protocol.ts';

export interface BroadcasterOptions {
  /** Clients must send `Authorization: Bearer <token>` (or `?token=` for browsers) when set. */
  token?: string;
  heartbeatS: number;
  /** Items kept per stream for `since` and `afterSeq` replays. */
  historySize: number;
  /** Messages queued per client beyond what its socket is writing; past it, `slowClient` applies. */
  maxQueue: number;
  /** `gap`: drop what does not fit and send a gap notice when the client catches up; `disconnect`: close it (code 4008). */
  slowClient: 'gap' | 'disconnect';
  /**
   * Origins besides the server's own whose web pages may connect (`https://ops.example.org`). A
   * browser sends its page's origin; a request from any other origin is refused (403), so that a web
   * page the user happens to visit cannot read the picks of a server on localhost. Clients that are
   * not browsers send no origin and are not concerned.
   */
  allowedOrigins?: string[];
  /** Connections at once, over all clients (default 256) and from one address (default 128); past them 503. */
  maxClients?: number;
  maxClientsPerAddress?: number;
  /** Subscribe requests one client may make a minute (default 60); past it an error and close (4029). */
  maxSubscribesPerMinute?: number;
  logger: Logger;
}

export interface BroadcasterStats {
  clients: number;
  /** Messages queued over all clients, and the most any one client holds. */
  queued: number;
  maxClientQueue: number;
  /** Bytes the clients' sockets hold unwritten (about MAX_BUFFERED_BYTES per client at most). */
  bufferedBytes: number;
  sent: number;
  dropped: number;
  slowDisconnects: number;
}

/**
 * Bytes a client's socket may hold unwritten (beyond the kernel's buffers); past it, messages wait
 * in the client's queue. A burst of picks goes straight to a reading client's socket.
 */
export const MAX_BUFFERED_BYTES = 256 << 10;
export const SLOW_CLIENT_CLOSE = 4008;
export const TOO_MANY_REQUESTS_CLOSE = 4029;

// biome-ignore lint/suspicious/noExplicitAny: each stream has its own item and filter types
type AnyStream = StreamKind<any, any>;

interface HistoryEntry {
  seq: number;
  item: unknown;
  timeUs: number;
  text: string;
}

interface StreamState {
  kind: AnyStream;
  seq: number;
  history: HistoryEntry[];
}

interface Gap {
  missed: number;
  fromSeq: number;
  toSeq: number;
}

interface Client {
  id: number;
  ws: WebSocket;
  subscriptions: Map<string, (item: unknown) => boolean>;
  /** Messages waiting for the socket, oldest at `head`; the texts are shared with the history. */
  queue: string[];
  head: number;
  /** Queued replay messages, which do not count against maxQueue (the history bounds them). */
  replayQueued: number;
  gaps: Map<string, Gap>;
  alive: boolean;
  closed: boolean;
  address: string;
  /** Times (ms) of this minute's subscribe requests. */
  subscribes: number[];
  /**
   * Per stream, the highest sequence number queued for this client: a new `since` or `afterSeq`
   * replays only what it has not been given, so re-subscribing cannot make the server send its whole
   * history again and again (amplification).
   */
  sentSeq: Map<string, number>;
}

/**
 * Rebroadcasts picks (and any other stream) to WebSocket subscribers. Publishing never waits: each
 * message is serialized once and queued per matching client; a client whose queue is full misses
 * messages (and is told with a gap notice) or is disconnected, so a slow client can neither slow
 * the pipeline nor the others, nor grow memory past its queue.
 */
export class Broadcaster {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 << 10 });
  private readonly streams = new Map<string, StreamState>();
  private readonly clients = new Set<Client>();
  private readonly perAddress = new Map<string, number>();
  /** Clients with queued items, pumped once the current burst of publishing is over. */
  private readonly dirty = new Set<Client>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly counts = { sent: 0, dropped: 0, slowDisconnects: 0 };
  private nextId = 1;

  constructor(
    private readonly options: BroadcasterOptions,
    kinds: AnyStream[] = [picksStream],
  ) {
    for (const kind of kinds) this.streams.set(kind.name, { kind, seq: 0, history: [] });
    this.heartbeat = setInterval(() => this.beat(), options.heartbeatS * 1000);
    this.heartbeat.unref();
  }

  /** The HTTP upgrade of a WebSocket request: checks the token, then takes the client. */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const refusal = this.refusal(req);
    if (refusal) {
      socket.end(`HTTP/1.1 ${refusal.status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      this.options.logger.warn(
        { remote: req.socket.remoteAddress, origin: req.headers.origin },
        `WebSocket client refused: ${refusal.reason}`,
      );
      return;
    }
    if (this.options.token !== undefined && !this.authorized(req)) {
      socket.end(
        'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      );
      this.options.logger.warn(
        { remote: req.socket.remoteAddress },
        'WebSocket client refused: no valid token',
      );
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
  };

  publishPick(pick: Pick): void {
    this.publish('picks', pick);
  }

  /** Sends an item to every client subscribed to its stream whose filter it passes. */
  publish(streamName: string, item: unknown): void {
    const stream = this.streams.get(streamName);
    if (!stream) throw new Error(`no stream '${streamName}'`);
    const seq = ++stream.seq;
    const keep = stream.kind.keepHistory !== false;
    let text: string | undefined;
    const serialized = () => {
      text ??= JSON.stringify(stream.kind.message(item, seq));
      return text;
    };
    if (keep) {
      stream.history.push({ seq, item, timeUs: stream.kind.timeUs(item), text: serialized() });
      // Trimmed in chunks: one splice per tenth of the history instead of a shift per item.
      if (stream.history.length > this.options.historySize * 1.1) {
        stream.history.splice(0, stream.history.length - this.options.historySize);
      }
    }
    for (const client of this.clients) {
      const matches = client.subscriptions.get(streamName);
      if (!matches?.(item)) continue;
      if (keep) client.sentSeq.set(streamName, seq);
      this.enqueueItem(client, streamName, seq, serialized());
    }
  }

  stats(): BroadcasterStats {
    let queued = 0;
    let maxClientQueue = 0;
    let bufferedBytes = 0;
    for (const c of this.clients) {
      const length = c.queue.length - c.head;
      queued += length;
      maxClientQueue = Math.max(maxClientQueue, length);
      bufferedBytes += c.ws.bufferedAmount;
    }
    return { clients: this.clients.size, queued, maxClientQueue, bufferedBytes, ...this.counts };
  }

  /** Gives the clients up to `drainMs` to take what is queued for them, then closes every connection. */
  async close(drainMs = 2000): Promise<void> {
    clearInterval(this.heartbeat);
    const pending = () => [...this.clients].some((c) => c.head < c.queue.length || c.ws.bufferedAmount > 0);
    const drainUntil = Date.now() + drainMs;
    for (const client of this.clients) this.pumpCorked(client);
    while (pending() && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 10));
    for (const client of this.clients) client.ws.close(1001, 'server shutting down');
    const deadline = Date.now() + 1000;
    while (this.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const client of this.clients) client.ws.terminate();
    this.wss.close();
  }

  /** Why an upgrade request is refused before its token is even looked at: its origin, or capacity. */
  private refusal(req: IncomingMessage): { status: string; reason: string } | undefined {
    const origin = req.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin, req.headers.host)) {
      return { status: '403 Forbidden', reason: `origin ${origin} is not allowed` };
    }
    if (this.clients.size >= (this.options.maxClients ?? 256)) {
      return { status: '503 Service Unavailable', reason: 'too many connections' };
    }
    const address = req.socket.remoteAddress ?? '';
    if ((this.perAddress.get(address) ?? 0) >= (this.options.maxClientsPerAddress ?? 128)) {
      return { status: '503 Service Unavailable', reason: `too many connections from ${address}` };
    }
    return undefined;
  }

  private originAllowed(origin: string, host: string | undefined): boolean {
    if (this.options.allowedOrigins?.includes(origin)) return true;
    try {
      const url = new URL(origin);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === host;
    } catch {
      return false;
    }
  }

  private authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    const given =
      header?.startsWith('Bearer ') === true
        ? header.slice(7).trim()
        : (new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? '');
    const expected = Buffer.from(this.options.token ?? '');
    const actual = Buffer.from(given);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const client: Client = {
      id: this.nextId++,
      ws,
      subscriptions: new Map(),
      queue: [],
      head: 0,
      replayQueued: 0,
      gaps: new Map(),
      alive: true,
      closed: false,
      address: req.socket.remoteAddress ?? '',
      subscribes: [],
      sentSeq: new Map(),
    };
    this.clients.add(client);
    this.perAddress.set(client.address, (this.perAddress.get(client.address) ?? 0) + 1);
    this.options.logger.debug(
      { client: client.id, remote: req.socket.remoteAddress },
      'WebSocket client connected',
    );
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('message', (data, isBinary) => this.onMessage(client, isBinary ? '' : data.toString()));
    ws.on('close', () => {
      client.closed = true;
      this.clients.delete(client);
      const left = (this.perAddress.get(client.address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(client.address, left);
      else this.perAddress.delete(client.address);
    });
    ws.on('error', (error) =>
      this.options.logger.debug({ client: client.id, err: error }, 'WebSocket client error'),
    );
    this.sendControl(client, {
      v: 1,
      type: 'hello',
      streams: [...this.streams.keys()],
      heartbeatS: this.options.heartbeatS,
      history: Object.fromEntries([...this.streams].map(([name]) => [name, this.options.historySize])),
    });
  }

  private onMessage(client: Client, text: string): void {
    let message: ClientMessage;
    try {
      message = clientMessageSchema.parse(JSON.parse(text));
    } catch (error) {
      const detail = error instanceof z.ZodError ? z.prettifyError(error) : (error as Error).message;
      this.sendError(client, 'bad-request', `not a protocol v${PROTOCOL_VERSION} request: ${detail}`);
      return;
    }
    if (message.type === 'subscribe' && !this.withinSubscribeRate(client)) return;
    for (const name of message.streams) {
      const stream = this.streams.get(name);
      if (!stream) {
        this.sendError(
          client,
          'unknown-stream',
          `no stream '${name}'; this server has ${[...this.streams.keys()].join(', ')}`,
        );
        continue;
      }
      if (message.type === 'unsubscribe') {
        client.subscriptions.delete(name);
        this.sendControl(client, { v: 1, type: 'unsubscribed', stream: name });
        continue;
      }
      let matches: (item: unknown) => boolean;
      let filter: unknown;
      try {
        filter = stream.kind.parseFilter(message.filter);
        matches = stream.kind.compile(filter);
      } catch (error) {
        const detail = error instanceof z.ZodError ? z.prettifyError(error) : (error as Error).message;
        this.sendError(client, 'bad-filter', `stream '${name}': ${detail}`);
        continue;
      }
      client.subscriptions.set(name, matches);
      this.replay(client, stream, matches, filter, message);
    }
  }

  private withinSubscribeRate(client: Client): boolean {
    const now = Date.now();
    client.subscribes = client.subscribes.filter((t) => now - t < 60_000);
    client.subscribes.push(now);
    const max = this.options.maxSubscribesPerMinute ?? 60;
    if (client.subscribes.length <= max) return true;
    this.sendError(client, 'too-many-requests', `more than ${max} subscribe requests in a minute`);
    client.ws.close(TOO_MANY_REQUESTS_CLOSE, 'too many requests');
    return false;
  }

  /** Confirms a subscription and queues the history it asked for (`since` / `afterSeq`). */
  private replay(
    client: Client,
    stream: StreamState,
    matches: (item: unknown) => boolean,
    filter: unknown,
    request: { since?: string; afterSeq?: number },
  ): void {
    const name = stream.kind.name;
    const history = stream.history.slice(-this.options.historySize);
    let entries: HistoryEntry[] = [];
    if (request.afterSeq !== undefined) {
      const oldest = history[0]?.seq ?? stream.seq + 1;
      if (request.afterSeq + 1 < oldest) {
        this.sendControl(client, {
          v: 1,
          type: 'gap',
          stream: name,
          missed: oldest - request.afterSeq - 1,
          fromSeq: request.afterSeq + 1,
          toSeq: oldest - 1,
          reason: 'history',
        });
      }
      entries = history.filter((e) => e.seq > (request.afterSeq as number));
    } else if (request.since !== undefined) {
      const sinceUs = Date.parse(request.since) * 1000;
      entries = history.filter((e) => e.timeUs >= sinceUs);
    }
    if (stream.kind.initial) {
      entries = stream.kind.initial(filter).map((item) => ({
        seq: stream.seq,
        item,
        timeUs: stream.kind.timeUs(item),
        text: JSON.stringify(stream.kind.message(item, stream.seq)),
      }));
    }
    const sent = client.sentSeq.get(name) ?? 0;
    entries = entries.filter((e) => matches(e.item) && (stream.kind.initial !== undefined || e.seq > sent));
    if (!stream.kind.initial && entries.length > 0) client.sentSeq.set(name, entries[entries.length - 1].seq);
    this.sendControl(client, {
      v: 1,
      type: 'subscribed',
      stream: name,
      filter,
      replay: entries.length,
      seq: stream.seq,
    });
    for (const e of entries) client.queue.push(e.text);
    client.replayQueued += entries.length;
    this.pump(client);
  }

  private enqueueItem(client: Client, stream: string, seq: number, text: string): void {
    if (client.closed) return;
    const gap = client.gaps.get(stream);
    const live = client.queue.length - client.head - client.replayQueued;
    // A pending gap notice goes out before the next message, so the client sees where it was.
    if (live + (gap ? 2 : 1) > this.options.maxQueue) {
      this.counts.dropped++;
      if (this.options.slowClient === 'disconnect') {
        this.disconnectSlow(client);
        return;
      }
      if (gap) {
        gap.missed++;
        gap.toSeq = seq;
      } else {
        client.gaps.set(stream, { missed: 1, fromSeq: seq, toSeq: seq });
      }
      return;
    }
    if (gap) this.pushGapNotice(client, stream, gap);
    client.queue.push(text);
    // A burst that fills half the queue is written at once, so that a fast client loses nothing to it.
    if (live + 1 >= this.options.maxQueue / 2) this.pumpCorked(client);
    else this.schedulePump(client);
  }

  /**
   * Items are written once the current burst of publishing is over, each client's frames corked
   * into one socket write: a batch of picks costs a client one system call, not one per pick.
   */
  private schedulePump(client: Client): void {
    if (this.dirty.has(client)) return;
    this.dirty.add(client);
    if (this.dirty.size > 1) return;
    setImmediate(() => {
      const clients = [...this.dirty];
      this.dirty.clear();
      for (const c of clients) this.pumpCorked(c);
    });
  }

  private pumpCorked(client: Client): void {
    // ws has no cork of its own; its socket is `_socket` (ws 8), a net.Socket.
    const socket = (client.ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    socket?.cork();
    this.pump(client);
    socket?.uncork();
  }

  private pushGapNotice(client: Client, stream: string, gap: Gap): void {
    client.gaps.delete(stream);
    const notice: ServerMessage = { v: 1, type: 'gap', stream, ...gap, reason: 'slow-client' };
    client.queue.push(JSON.stringify(notice));
  }

  /** Control messages (hello, subscribed, errors, heartbeats) are few: they skip the bound. */
  private sendControl(client: Client, message: ServerMessage): void {
    if (client.closed) return;
    client.queue.push(JSON.stringify(message));
    this.pump(client);
  }

  private sendError(client: Client, error: string, message: string): void {
    this.sendControl(client, { v: 1, type: 'error', error, message });
  }

  private pump(client: Client): void {
    while (client.ws.bufferedAmount < MAX_BUFFERED_BYTES && !client.closed) {
      if (client.head === client.queue.length) {
        // Caught up: gap notices that no later message carried go out now.
        const [first] = client.gaps;
        if (!first) break;
        this.pushGapNotice(client, first[0], first[1]);
      }
      const text = client.queue[client.head++];
      if (client.replayQueued > 0) client.replayQueued--;
      if (client.head > 1024 && client.head * 2 > client.queue.length) {
        client.queue = client.queue.slice(client.head);
        client.head = 0;
      }
      this.counts.sent++;
      // A socket that holds unwritten bytes calls back once it wrote this message: room, maybe, for
      // the queue. An idle socket needs no callback (the next message finds it idle or calls back).
      client.ws.send(text, client.ws.bufferedAmount > 0 ? this.onWritten(client) : undefined);
    }
  }

  private onWritten(client: Client): (error?: Error) => void {
    return (error) => {
      if (!error && client.head < client.queue.length) this.pump(client);
    };
  }

  private disconnectSlow(client: Client): void {
    this.counts.slowDisconnects++;
    client.closed = true;
    client.queue = [];
    client.head = 0;
    this.options.logger.warn({ client: client.id }, 'WebSocket client too slow: queue full, disconnected');
    client.ws.close(SLOW_CLIENT_CLOSE, 'too slow: queue full');
    // A client that reads nothing never completes the closing handshake.
    setTimeout(() => client.ws.terminate(), 1000).unref();
  }

  /** Heartbeats, and pings: a client that answered no ping since the last beat is gone. */
  private beat(): void {
    const seq = Object.fromEntries([...this.streams].map(([name, s]) => [name, s.seq]));
    const time = isoFromEpochUs(Date.now() * 1000);
    for (const client of this.clients) {
      if (!client.alive) {
        this.options.logger.warn({ client: client.id }, 'WebSocket client answered no ping: disconnected');
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      client.ws.ping();
      if (client.queue.length - client.head < this.options.maxQueue) {
        this.sendControl(client, { v: 1, type: 'heartbeat', time, seq });
      }
    }
  }
}
