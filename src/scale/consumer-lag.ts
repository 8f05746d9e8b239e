import { Gauge, type Registry } from 'prom-client';
import type { HealthSource } from '../app/sinks.ts';

/**
 * Messages waiting for each of the process's JetStream consumers (a worker's partitions, the sink's
 * picks), as JetStream counts them with each delivered message: on /metrics and /healthz. A lag that
 * grows says the workers fall behind the ingest (add workers; docs/scale-out.md).
 */
export class ConsumerLag implements HealthSource {
  readonly name = 'jetstream';
  private readonly pending = new Map<string, number>();

  constructor(private readonly held: () => number[] = () => []) {}

  set(consumer: string, pending: number): void {
    this.pending.set(consumer, pending);
  }

  delete(consumer: string): void {
    this.pending.delete(consumer);
  }

  problems(): string[] {
    return [];
  }

  report(): Record<string, unknown> {
    return { partitions: this.held(), pending: Object.fromEntries(this.pending) };
  }

  register(registry: Registry): void {
    const pending = this.pending;
    new Gauge({
      name: 'phasestream_jetstream_pending_messages',
      help: 'messages the consumer has not received yet (num_pending), per consumer',
      labelNames: ['consumer'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [consumer, value] of pending) this.set({ consumer }, value);
      },
    });
  }
}
