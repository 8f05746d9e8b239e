import { once } from 'node:events';
import { WebSocket } from 'ws';
import type { Logger } from '../../src/log.ts';
import { Broadcaster, type BroadcasterOptions } from '../../src/sink/broadcast/broadcaster.ts';
import { SinkHttpServer } from '../../src/sink/http-server.ts';
import { silentLogger } from './seedlink-server.ts';

/** A broadcaster served at /ws of an HTTP server on a free 127.0.0.1 port. */
export async function startBroadcaster(
  options: Partial<BroadcasterOptions> = {},
  logger: Logger = silentLogger,
  kinds?: ConstructorParameters<typeof Broadcaster>[1],
) {
  const broadcaster = new Broadcaster(
    { heartbeatS: 60, historySize: 1000, maxQueue: 1000, slowClient: 'gap', logger, ...options },
    kinds,
  );
  const server = new SinkHttpServer({ host: '127.0.0.1', port: 0, logger }).upgrade(
    '/ws',
    broadcaster.handleUpgrade,
  );
  await server.start();
  return {
    broadcaster,
    server,
    wsUrl: `${server.url.replace('http', 'ws')}/ws`,
    stop: async () => {
      await broadcaster.close();
      await server.stop();
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: messages are whatever the server sent
export type Message = Record<string, any>;

/** A subscriber that keeps every message; `ready` resolves once each subscription is confirmed. */
export async function subscriber(
  url: string,
  request: Record<string, unknown> | undefined,
  headers: Record<string, string> = {},
): Promise<{ ws: WebSocket; messages: Message[]; picks: () => Message[]; ready: Promise<void> }> {
  const ws = new WebSocket(url, { headers });
  const messages: Message[] = [];
  let confirm: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    confirm = resolve;
  });
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString());
    messages.push(message);
    if (message.type === 'subscribed' || message.type === 'error') confirm();
  });
  await once(ws, 'open');
  if (request) ws.send(JSON.stringify({ v: 1, type: 'subscribe', streams: ['picks'], ...request }));
  else confirm();
  return { ws, messages, picks: () => messages.filter((m) => m.type === 'pick'), ready };
}
