import { AckPolicy, type ConsumerMessages, DeliverPolicy } from '@nats-io/jetstream';
import { log } from '../log.ts';
import type { Pick } from '../picker/pick.ts';
import type { ConsumerLag } from './consumer-lag.ts';
import { type ScaleLog, untilDone } from './jetstream.ts';

const sinkLog = log.child({ module: 'sink' });

/**
 * The sink's side of the picks stream: a durable consumer (it survives the sink and the server), each
 * pick acknowledged after `write` resolved. A sink killed between the write and the ack gets the pick
 * again, and the pick file skips the (id, status) pairs it holds.
 */
export async function consumePicks(
  scale: ScaleLog,
  write: (pick: Pick) => Promise<void>,
  lag: ConsumerLag,
  signal: Promise<unknown>,
  stopped: () => boolean,
): Promise<void> {
  const stream = scale.config.picks.stream;
  const durable = scale.config.sinkConsumer;
  let messages: ConsumerMessages | undefined;
  void signal.then(() => messages?.stop());
  while (!stopped()) {
    try {
      await untilDone(
        'creating the sink consumer',
        async () => {
          const info = await scale.jsm.consumers.info(stream, durable).catch(() => undefined);
          if (info === undefined) {
            await scale.jsm.consumers.add(stream, {
              durable_name: durable,
              ack_policy: AckPolicy.Explicit,
              deliver_policy: DeliverPolicy.All,
              ack_wait: 30e9,
              max_ack_pending: 1000,
            });
          }
        },
        stopped,
      );
      const consumer = await scale.js.consumers.get(stream, durable);
      messages = await consumer.consume({ max_messages: 256 });
      if (stopped()) messages.stop();
      for await (const message of messages) {
        await write(message.json<Pick>());
        message.ack();
        lag.set('sink', message.info.pending);
      }
    } catch (error) {
      if (stopped()) return;
      sinkLog.warn({ err: (error as Error).message }, 'reading the picks failed; starting again');
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
