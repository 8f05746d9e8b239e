import type { KV } from '@nats-io/kv';
import { log } from '../log.ts';

const leaseLog = log.child({ module: 'leases' });

export interface LeaseEvents {
  /** The partition is ours: start it. */
  gained(partition: number): void;
  /** The partition is no longer ours (released, or taken after our lease ran out): stop it. */
  lost(partition: number): Promise<void>;
}

const leaseKey = (partition: number) => `p.${partition}`;
const workerKey = (worker: string) => `w.${worker}`;

/** Whether a KV error is JetStream refusing a compare-and-set (someone else's revision), not a lost connection. */
function isRevisionConflict(error: unknown): boolean {
  return /wrong last sequence/i.test(String((error as Error)?.message ?? error));
}

/**
 * Partition ownership through a KV bucket whose entries expire (the bucket's max age is the lease
 * time): `p.<n>` holds the owner's id, created only where none is (create) and renewed only at the
 * revision the owner last wrote (compare-and-set), so that one live worker owns a partition. A worker
 * that stops renewing (killed, hung, cut off) loses its partitions when their entries expire; the
 * others, or its restart, take them. Each worker also renews `w.<id>`, so all know how many are alive
 * and take no more than their share (partitions / workers, rounded up); one above its share releases a
 * partition, which moves it to a newcomer.
 */
export class PartitionLeases {
  private readonly held = new Map<number, number>();
  /** When each held lease was last written (create or renew), by this process's clock. */
  private readonly renewedAt = new Map<number, number>();
  private stopped = false;
  private readonly done: Promise<void>;
  private wake: (() => void) | undefined;

  constructor(
    private readonly kv: KV,
    readonly worker: string,
    private readonly partitions: number,
    private readonly renewS: number,
    private readonly ttlS: number,
    private readonly events: LeaseEvents,
  ) {
    this.done = this.loop();
  }

  /** The partitions held now, in order. */
  owned(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** Stops renewing, stops every partition, then hands the leases back so that others take them at once. */
  async close(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.done;
    for (const [partition, revision] of [...this.held]) {
      await this.events.lost(partition);
      this.held.delete(partition);
      await this.kv.delete(leaseKey(partition), { previousSeq: revision }).catch(() => {});
    }
    await this.kv.delete(workerKey(this.worker)).catch(() => {});
  }

  private async loop(): Promise<void> {
    // One round of heartbeats before taking anything: workers started together see each other.
    await this.beat();
    await this.sleep();
    while (!this.stopped) {
      try {
        await this.round();
      } catch (error) {
        leaseLog.warn({ err: (error as Error).message }, 'lease round failed (NATS away?); retrying');
        await this.fence();
      }
      await this.sleep();
    }
  }

  /**
   * A worker that cannot renew (cut off from NATS) stops its partitions a renewal before the server
   * would let their leases expire, so that it is not still picking when another worker takes them.
   */
  private async fence(): Promise<void> {
    const limitMs = (this.ttlS - this.renewS) * 1000;
    for (const partition of [...this.held.keys()]) {
      if (Date.now() - (this.renewedAt.get(partition) ?? 0) <= limitMs) continue;
      leaseLog.warn({ partition }, 'lease not renewed in time (NATS away): partition stopped');
      this.held.delete(partition);
      await this.events.lost(partition);
    }
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.renewS * 1000);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async beat(): Promise<number> {
    await this.kv.put(workerKey(this.worker), String(Date.now())).catch(() => {});
    let workers = 0;
    for await (const _ of await this.kv.keys('w.*')) workers++;
    return Math.max(1, workers);
  }

  private async round(): Promise<void> {
    const workers = await this.beat();
    for (const [partition, revision] of [...this.held]) {
      if (this.stopped) return;
      try {
        this.held.set(partition, await this.kv.update(leaseKey(partition), this.worker, revision));
        this.renewedAt.set(partition, Date.now());
      } catch (error) {
        if (!isRevisionConflict(error)) throw error;
        leaseLog.warn({ partition }, 'lease lost (not renewed in time): partition stopped');
        this.held.delete(partition);
        await this.events.lost(partition);
      }
    }
    const share = Math.ceil(this.partitions / workers);
    if (this.held.size > share) {
      for (const partition of this.owned().slice(share)) {
        const revision = this.held.get(partition)!;
        this.held.delete(partition);
        await this.events.lost(partition);
        await this.kv.delete(leaseKey(partition), { previousSeq: revision }).catch(() => {});
        leaseLog.info({ partition, workers, share }, 'partition released to a newer worker');
      }
      return;
    }
    // Free partitions, from a place of our own on the ring so that workers do not all try the same.
    const offset = Number.parseInt(this.worker.replace(/[^0-9a-f]/gi, '').slice(-6) || '0', 16);
    for (let i = 0; i < this.partitions && this.held.size < share && !this.stopped; i++) {
      const partition = (offset + i) % this.partitions;
      if (this.held.has(partition)) continue;
      const entry = await this.kv.get(leaseKey(partition));
      if (entry && entry.operation === 'PUT') continue;
      try {
        this.held.set(partition, await this.kv.create(leaseKey(partition), this.worker));
        this.renewedAt.set(partition, Date.now());
      } catch (error) {
        if (isRevisionConflict(error)) continue;
        throw error;
      }
      leaseLog.info({ partition, workers, share }, 'partition taken');
      this.events.gained(partition);
    }
  }
}
