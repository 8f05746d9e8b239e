import { connect } from '@nats-io/transport-node';
import t from 'tap';
import { checkConfig } from '../../src/config/load.ts';
import { openScaleLog } from '../../src/scale/jetstream.ts';
import { PartitionLeases } from '../../src/scale/leases.ts';
import { natsServerFor, skipUnlessNatsServer } from '../helpers/nats-server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await sleep(50);
  return check();
}

t.test(
  'leases: each partition one owner, shares even, a silent worker loses its partitions to the others',
  { skip: skipUnlessNatsServer() },
  async (t) => {
    const server = await natsServerFor(t);
    const config = checkConfig({
      jetstream: { servers: [server.url], partitions: 6, leaseTtlS: 2, renewS: 0.3 },
    }).jetstream;
    const owners = new Map<number, string>();
    const worker = async (name: string) => {
      const scale = await openScaleLog(config, name);
      t.teardown(() => scale.nc.close());
      const leases = new PartitionLeases(
        scale.leases,
        name,
        config.partitions,
        config.renewS,
        config.leaseTtlS,
        {
          gained: (p) => {
            t.equal(owners.get(p), undefined, `partition ${p} taken by ${name} while nobody owns it`);
            owners.set(p, name);
          },
          lost: async (p) => {
            if (owners.get(p) === name) owners.delete(p);
          },
        },
      );
      return { scale, leases };
    };
    const a = await worker('a');
    const b = await worker('b');
    const c = await worker('c');
    t.ok(await until(() => owners.size === 6, 10_000), 'every partition owned');
    t.ok(
      await until(() => [a, b, c].every((w) => w.leases.owned().length === 2), 10_000),
      'two each among three workers',
    );

    // c is cut off (its connection closed, as a partitioned or hung worker): its leases expire.
    const cut = c.leases.owned();
    await c.scale.nc.close();
    const reowned = () => cut.every((p) => a.leases.owned().includes(p) || b.leases.owned().includes(p));
    t.ok(await until(reowned, 10_000), `c's partitions ${cut.join(', ')} went to a and b`);
    t.same([...a.leases.owned(), ...b.leases.owned()].sort(), [0, 1, 2, 3, 4, 5], 'all six, once each');
    await c.leases.close();

    // A new worker joins: the others release to its share.
    const d = await worker('d');
    t.ok(await until(() => d.leases.owned().length === 2, 10_000), 'the newcomer gets its share');
    await Promise.all([a, b, d].map((w) => w.leases.close()));

    // Leases handed back on close: nobody holds anything.
    const nc = await connect({ servers: server.url });
    t.teardown(() => nc.close());
    t.equal(
      await (await a.scale.leases.get('p.0'))?.operation,
      'DEL',
      'a closed worker hands its leases back',
    );
  },
);

t.test(
  'a role started with another partition count is refused',
  { skip: skipUnlessNatsServer() },
  async (t) => {
    const server = await natsServerFor(t);
    const config = (partitions: number) =>
      checkConfig({ jetstream: { servers: [server.url], partitions } }).jetstream;
    const first = await openScaleLog(config(6), 'first');
    t.teardown(() => first.nc.close());
    await t.rejects(openScaleLog(config(7), 'second'), {
      name: 'JetStreamError',
      message: /jetstream\.partitions is 7 but the log was set up with 6 partitions/,
    });
    const again = await openScaleLog(config(6), 'third');
    t.teardown(() => again.nc.close());
    t.pass('the same count is welcome');
  },
);
