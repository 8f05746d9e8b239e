import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { log } from '../log.ts';
import { type LiveView, traceMessage } from './live-view.ts';
import type { PageMessage, ServerMessage } from './messages.ts';
import { pageAssets } from './page-assets.ts';

export interface PageServerOptions {
  host: string;
  /** 0 takes a free port (tests). */
  port: number;
  /** How often each page gets the station list. */
  stationsIntervalMs?: number;
  /**
   * A page whose socket holds more unsent bytes than this gets no traces until it catches up; at
   * four times this it is dropped. A slow page thus costs the pipeline nothing, and its memory is bounded.
   */
  maxBufferedBytes?: number;
}

/**
 * Serves the live page and its WebSocket (`/live`) from a LiveView. Each page chooses one station
 * to watch; it gets that station's history, then its traces as they come, and everyone's picks,
 * station states and progress.
 */
export class PageServer {
  private readonly http: Server;
  private readonly sockets: WebSocketServer;
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private readonly watching = new Map<WebSocket, string | null>();
  private readonly maxBufferedBytes: number;

  private constructor(
    private readonly view: LiveView,
    options: PageServerOptions,
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.http = createServer((request, response) => {
      const path = new URL(request.url ?? '/', 'http://page').pathname;
      pageAssets()
        .then((assets) => {
          const asset = assets.get(path);
          if (!asset) {
            response.writeHead(404, { 'content-type': 'text/plain' }).end(`no page at ${path}\n`);
            return;
          }
          response.writeHead(200, { 'content-type': asset.contentType, 'cache-control': 'no-cache' });
          response.end(asset.body);
        })
        .catch((error: unknown) => {
          log.error({ err: error }, 'the live page could not be built');
          response.writeHead(500, { 'content-type': 'text/plain' }).end('the page could not be built\n');
        });
    });
    this.sockets = new WebSocketServer({ server: this.http, path: '/live' });
    this.sockets.on('connection', (socket) => this.connected(socket));
    this.unsubscribe = view.onMessage((message) => {
      if (message.type === 'trace') {
        let json: string | undefined;
        for (const [socket, station] of this.watching) {
          if (station !== message.chunk.station) continue;
          json ??= JSON.stringify(traceMessage(message.chunk));
          this.send(socket, json, true);
        }
      } else {
        const json = JSON.stringify(message);
        for (const socket of this.watching.keys()) this.send(socket, json, false);
      }
    });
    this.timer = setInterval(() => {
      if (this.watching.size === 0) return;
      const json = JSON.stringify(view.stations());
      for (const socket of this.watching.keys()) this.send(socket, json, false);
    }, options.stationsIntervalMs ?? 1000);
  }

  static async start(view: LiveView, options: PageServerOptions): Promise<PageServer> {
    const server = new PageServer(view, options);
    server.http.listen(options.port, options.host);
    await once(server.http, 'listening');
    void pageAssets();
    log.info({ url: server.url }, 'live page');
    return server;
  }

  /** Pages connected now. */
  get pages(): number {
    return this.watching.size;
  }

  get url(): string {
    const address = this.http.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}/`;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.unsubscribe();
    for (const socket of this.watching.keys()) socket.close(1001, 'phasestream stopped');
    this.sockets.close();
    this.http.closeAllConnections();
    await new Promise((resolve) => this.http.close(resolve));
  }

  private connected(socket: WebSocket): void {
    this.watching.set(socket, null);
    socket.on('close', () => this.watching.delete(socket));
    socket.on('error', (error) => log.debug({ err: error }, 'a page socket failed'));
    socket.on('message', (data) => {
      let message: PageMessage;
      try {
        message = JSON.parse(String(data));
      } catch {
        socket.close(1003, 'messages are JSON');
        return;
      }
      if (message.type !== 'watch') return;
      this.watching.set(socket, message.station);
      if (message.station !== null) {
        for (const trace of this.view.history(message.station))
          this.send(socket, JSON.stringify(trace), true);
      }
    });
    const opening: ServerMessage[] = [this.view.stations(), ...this.view.recentPicks()];
    for (const message of opening) this.send(socket, JSON.stringify(message), false);
  }

  /** Traces are dropped for a page that lags; a page that lags far is closed (it reconnects). */
  private send(socket: WebSocket, json: string, droppable: boolean): void {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > 4 * this.maxBufferedBytes) {
      // It would not read a close frame either; the page reconnects and starts afresh.
      log.warn({ bufferedBytes: socket.bufferedAmount }, 'a live page fell too far behind: dropped');
      socket.terminate();
      this.watching.delete(socket);
      return;
    }
    if (droppable && socket.bufferedAmount > this.maxBufferedBytes) return;
    socket.send(json);
  }
}
