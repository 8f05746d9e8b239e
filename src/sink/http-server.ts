import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * The one HTTP server of a PhaseStream process: plain routes (`/healthz`, `/metrics`) and WebSocket
 * upgrades (`/ws`) on one port, so that an operator opens one port and a web page reaches every
 * stream through the same origin.
 */
export class SinkHttpServer {
  private readonly server: Server;
  private readonly routes = new Map<string, RouteHandler>();
  private readonly upgrades = new Map<string, UpgradeHandler>();

  constructor(private readonly options: { host: string; port: number; logger: Logger }) {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const handler = this.upgrades.get(pathOf(req));
      if (handler) return handler(req, socket, head);
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    });
  }

  route(path: string, handler: RouteHandler): this {
    this.routes.set(path, handler);
    return this;
  }

  upgrade(path: string, handler: UpgradeHandler): this {
    this.upgrades.set(path, handler);
    return this;
  }

  async start(): Promise<void> {
    this.server.listen(this.options.port, this.options.host);
    await once(this.server, 'listening');
    this.options.logger.info({ url: this.url }, 'HTTP server listening');
  }

  /** `http://host:port` as bound (the port resolved when 0 was asked for). */
  get url(): string {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('the HTTP server is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  async stop(): Promise<void> {
    if (!this.server.listening) return;
    const closed = once(this.server, 'close');
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const handler = this.routes.get(pathOf(req));
    if (!handler || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res
        .writeHead(handler ? 405 : 404, { 'content-type': 'text/plain' })
        .end(handler ? 'GET only\n' : 'not found\n');
      return;
    }
    try {
      await handler(req, res);
    } catch (error) {
      this.options.logger.error({ err: error, path: req.url }, 'HTTP handler failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    }
  }
}

const pathOf = (req: IncomingMessage) => new URL(req.url ?? '/', 'http://x').pathname;
