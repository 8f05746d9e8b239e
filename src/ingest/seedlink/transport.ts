import { connect as netConnect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { SeedLinkConfigError, SeedLinkUnsupportedError } from './errors.ts';
import { type SeedLinkProtocolVersion, WEBSOCKET_SUBPROTOCOLS } from './wire.ts';

/**
 * The two ways bytes reach the one protocol core (session.ts): a TCP stream, or WebSocket messages
 * (text commands and replies, one binary message per packet). The core sees both as a byte stream, since
 * replies end in CRLF and packets carry their own length. Commands end in CR LF on both: SeedLink
 * commands are CR-terminated, and ringserver refuses a WebSocket frame that is not.
 */
export interface SeedLinkTransport {
  readonly kind: 'tcp' | 'ws';
  /** Where it is connected, for logs and errors. */
  readonly address: string;
  /** The version a WebSocket subprotocol fixed for this connection; undefined on TCP. */
  readonly protocolLimit: SeedLinkProtocolVersion | undefined;
  /** Sends one command line, CR LF-terminated (one text message on WebSocket: ringserver refuses a frame without). */
  sendLine(line: string): void;
  /** Closes politely. */
  end(): void;
  /** Drops the connection at once. */
  destroy(): void;
}

export interface TransportHandlers {
  data(bytes: Uint8Array): void;
  /** Called once, when the connection is gone for whatever reason. */
  close(error: Error | undefined): void;
}

export interface SeedLinkEndpoint {
  kind: 'tcp' | 'ws';
  host: string;
  port: number;
  /** Normalized: tcp://host:port or the ws(s):// URL as given. */
  url: string;
}

export const SEEDLINK_DEFAULT_PORT = 18000;

/** `host[:port]`, `tcp://host[:port]`, `ws://host[:port][/path]` or `wss://...`. */
export function parseSeedLinkUrl(text: string): SeedLinkEndpoint {
  const withScheme = /^[a-z]+:\/\//i.test(text) ? text : `tcp://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new SeedLinkConfigError(`bad SeedLink address '${text}'`, {
      hint: 'e.g. geofon.gfz.de:18000, tcp://127.0.0.1:18000 or ws://127.0.0.1:18000/seedlink',
    });
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (scheme !== 'tcp' && scheme !== 'ws' && scheme !== 'wss') {
    throw new SeedLinkConfigError(`bad SeedLink address '${text}': scheme must be tcp, ws or wss`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === '') throw new SeedLinkConfigError(`bad SeedLink address '${text}': no host`);
  const defaultPort = scheme === 'tcp' ? SEEDLINK_DEFAULT_PORT : scheme === 'ws' ? 80 : 443;
  const port = url.port === '' ? defaultPort : Number(url.port);
  if (scheme === 'tcp')
    return { kind: 'tcp', host, port, url: `tcp://${host.includes(':') ? `[${host}]` : host}:${port}` };
  return { kind: 'ws', host, port, url: url.toString() };
}

function connectTcp(endpoint: SeedLinkEndpoint, timeoutMs: number, handlers: TransportHandlers) {
  return new Promise<SeedLinkTransport>((resolve, reject) => {
    const socket: Socket = netConnect({ host: endpoint.host, port: endpoint.port });
    let lastError: Error | undefined;
    let open = false;
    const timer = setTimeout(() => {
      socket.destroy(new Error(`no TCP connection to ${endpoint.url} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (error) => {
      lastError = error;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (open) handlers.close(lastError);
      else reject(lastError ?? new Error(`connection to ${endpoint.url} closed`));
    });
    socket.on('data', (chunk: Buffer) => handlers.data(chunk));
    socket.once('connect', () => {
      clearTimeout(timer);
      open = true;
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      resolve({
        kind: 'tcp',
        address: endpoint.url,
        protocolLimit: undefined,
        sendLine: (line) => {
          socket.write(`${line}\r\n`);
        },
        end: () => {
          socket.end();
        },
        destroy: () => {
          socket.destroy();
        },
      });
    });
  });
}

function toBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

function connectWebSocket(
  endpoint: SeedLinkEndpoint,
  timeoutMs: number,
  protocols: readonly SeedLinkProtocolVersion[],
  handlers: TransportHandlers,
) {
  // Highest version first: the server picks the first subprotocol it knows.
  const offered = [...protocols].sort().reverse();
  const names = offered.map((p) => WEBSOCKET_SUBPROTOCOLS[p]);
  return new Promise<SeedLinkTransport>((resolve, reject) => {
    const ws = new WebSocket(endpoint.url, names, { handshakeTimeout: timeoutMs });
    let lastError: Error | undefined;
    let open = false;
    ws.on('error', (error) => {
      lastError = error;
    });
    ws.on('close', () => {
      if (open) handlers.close(lastError);
      else if (lastError?.message.includes('subprotocol')) {
        // ws rejects a server that picked no subprotocol: one that speaks none of the offered versions.
        reject(
          new SeedLinkUnsupportedError(
            `WebSocket server ${endpoint.url} accepted none of the subprotocols ${names.join(', ')}`,
            { hint: "Allow protocol 'auto' or the version the server offers.", cause: lastError },
          ),
        );
      } else reject(lastError ?? new Error(`WebSocket to ${endpoint.url} closed during the handshake`));
    });
    ws.on('message', (data) => handlers.data(toBytes(data)));
    ws.once('open', () => {
      // ws has checked that the server chose one of the offered subprotocols.
      const limit = offered.find((p) => WEBSOCKET_SUBPROTOCOLS[p] === ws.protocol)!;
      open = true;
      resolve({
        kind: 'ws',
        address: endpoint.url,
        protocolLimit: limit,
        sendLine: (line) => ws.send(`${line}\r\n`),
        end: () => ws.close(1000),
        destroy: () => ws.terminate(),
      });
    });
  });
}

/** Opens a connection; rejects when it cannot be had within `timeoutMs`. */
export function connectTransport(
  endpoint: SeedLinkEndpoint,
  options: { timeoutMs: number; protocols: readonly SeedLinkProtocolVersion[] },
  handlers: TransportHandlers,
): Promise<SeedLinkTransport> {
  return endpoint.kind === 'tcp'
    ? connectTcp(endpoint, options.timeoutMs, handlers)
    : connectWebSocket(endpoint, options.timeoutMs, options.protocols, handlers);
}
