/**
 * The subscribers of bench/sinks.ts, in a process of their own (as real subscribers are): opens
 * `clients` connections, subscribes each to every pick, says `ready`, then says `done <epoch ms>`
 * once every client has `picks` picks, and `gaps <n>` if any gap notice came.
 *
 *   node --import tsx bench/sinks-subscribers.ts <ws-url> <clients> <picks>
 */
import { once } from 'node:events';
import { WebSocket } from 'ws';

const [url, clientsText, picksText] = process.argv.slice(2);
const clients = Number(clientsText);
const picks = Number(picksText);
let finished = 0;
let gaps = 0;
const sockets = await Promise.all(
  Array.from({ length: clients }, async () => {
    const ws = new WebSocket(url);
    let received = 0;
    let subscribed: () => void = () => {};
    const ready = new Promise<void>((r) => {
      subscribed = r;
    });
    ws.on('message', (data) => {
      const text = data.toString();
      // Counting without parsing every message: the bench measures the server, not JSON.parse here.
      if (text.startsWith('{"v":1,"type":"pick"')) {
        if (++received === picks && ++finished === clients) process.stdout.write(`done ${Date.now()}\n`);
      } else if (text.includes('"type":"subscribed"')) subscribed();
      else if (text.includes('"type":"gap"')) gaps += JSON.parse(text).missed;
    });
    await once(ws, 'open');
    ws.send(JSON.stringify({ v: 1, type: 'subscribe', streams: ['picks'] }));
    await ready;
    return ws;
  }),
);
process.stdout.write('ready\n');
process.stdin.on('data', () => {
  if (gaps > 0) process.stdout.write(`gaps ${gaps}\n`);
  for (const ws of sockets) ws.terminate();
  process.exit(0);
});
