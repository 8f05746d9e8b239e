import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../config/schema.ts';
import { JetStreamError } from '../errors.ts';
import { log } from '../log.ts';
import { PICKS_FILTER, RECORDS_FILTER } from './subjects.ts';

export type JetStreamConfig = Config['jetstream'];

/** What every role holds: the connection, the JetStream clients and the two buckets. */
export interface ScaleLog {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  leases: KV;
  resume: KV;
  config: JetStreamConfig;
}

const NS_PER_S = 1e9;
const natsLog = log.child({ module: 'jetstream' });

/**
 * Connects (waiting for a server that is not up yet, reconnecting for ever once connected) and makes
 * sure the streams and buckets exist with the configured limits, so that any role may start first.
 */
export async function openScaleLog(config: JetStreamConfig, name: string): Promise<ScaleLog> {
  natsLog.info({ servers: config.servers }, 'connecting to NATS (waiting for a server if none is up)');
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: config.servers,
      name,
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: 10_000,
    });
  } catch (error) {
    throw new JetStreamError(`cannot connect to NATS at ${config.servers.join(', ')}: ${error}`, {
      hint: 'start nats-server with JetStream (nats-server -js -sd <dir>) or fix jetstream.servers',
      cause: error,
    });
  }
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect')
        natsLog.warn({ status: status.type, server: status.server }, 'NATS connection');
    }
  })();
  try {
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    await ensureStream(jsm, config.records.stream, RECORDS_FILTER, config.records);
    await ensureStream(jsm, config.picks.stream, PICKS_FILTER, config.picks);
    const kvm = new Kvm(nc);
    // A bucket made before with other settings (another leaseTtlS) is used as it is.
    const bucket = (name: string, options: { ttl?: number }) =>
      kvm.create(name, { history: 1, ...options }).catch(() => kvm.open(name));
    const leases = await bucket(config.leaseBucket, { ttl: config.leaseTtlS * 1000 });
    const resume = await bucket(config.resumeBucket, {});
    await checkPartitions(resume, config.partitions);
    // A request lost with a dying server is known lost after this long: short, since a channel waits.
    return { nc, js: jetstream(nc, { timeout: 4000 }), jsm, leases, resume, config };
  } catch (error) {
    await nc.close();
    if (error instanceof JetStreamError) throw error;
    throw new JetStreamError(`cannot set up the JetStream streams and buckets: ${error}`, {
      hint: 'the server must run with JetStream on (-js); check its log',
      cause: error,
    });
  }
}

async function ensureStream(
  jsm: JetStreamManager,
  name: string,
  subject: string,
  limits: { maxAgeS: number; maxBytes: number; duplicateWindowS: number },
): Promise<void> {
  const wanted = {
    max_age: limits.maxAgeS * NS_PER_S,
    max_bytes: limits.maxBytes,
    duplicate_window: Math.min(limits.duplicateWindowS, limits.maxAgeS) * NS_PER_S,
  };
  const info = await jsm.streams.info(name).catch(() => undefined);
  if (info === undefined) {
    await jsm.streams.add({ name, subjects: [subject], ...wanted });
    return;
  }
  if (!info.config.subjects?.includes(subject)) {
    throw new JetStreamError(`stream ${name} exists with subjects ${info.config.subjects} (not ${subject})`, {
      hint: 'name another stream in jetstream.*.stream, or delete this one',
    });
  }
  const { max_age, max_bytes, duplicate_window } = info.config;
  if (
    max_age !== wanted.max_age ||
    max_bytes !== wanted.max_bytes ||
    duplicate_window !== wanted.duplicate_window
  ) {
    await jsm.streams.update(name, { ...info.config, ...wanted });
  }
}

/** The partition count is fixed for the life of the records stream: a change would move stations. */
async function checkPartitions(resume: KV, partitions: number): Promise<void> {
  try {
    await resume.create('partitions', String(partitions));
    return;
  } catch {
    // recorded already: it must agree
  }
  const recorded = Number((await resume.get('partitions'))?.string());
  if (recorded !== partitions) {
    throw new JetStreamError(
      `jetstream.partitions is ${partitions} but the log was set up with ${recorded} partitions`,
      {
        hint: `use ${recorded}, or start a new log (other stream and bucket names) to change the partition count`,
      },
    );
  }
}

/** Retries `action` until it succeeds (the server restarting, a leader moving): the log is the truth. */
export async function untilDone<T>(
  what: string,
  action: () => Promise<T>,
  stopped = () => false,
): Promise<T> {
  let waitMs = 100;
  for (;;) {
    try {
      return await action();
    } catch (error) {
      if (stopped()) throw error;
      natsLog.warn({ err: (error as Error).message, retryMs: waitMs }, `${what} failed; retrying`);
      await new Promise((r) => setTimeout(r, waitMs));
      waitMs = Math.min(2 * waitMs, 2000);
    }
  }
}
