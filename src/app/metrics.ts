import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Pick } from '../picker/pick.ts';
import type { Broadcaster, BroadcasterStats } from '../sink/broadcast/broadcaster.ts';
import type { InfluxSink, InfluxSinkStats } from '../sink/influx/influx-sink.ts';
import type { ChannelEvent } from '../stream/types.ts';

type GaugeOf<S> = [name: string, help: string, read: (stats: S) => number];

const INFLUX_GAUGES: GaugeOf<InfluxSinkStats>[] = [
  ['phasestream_influx_spool_points', 'points waiting in the InfluxDB spool', (s) => s.backlogPoints],
  ['phasestream_influx_spool_bytes', 'bytes in the InfluxDB spool', (s) => s.backlogBytes],
  ['phasestream_influx_connected', '1 when the last InfluxDB write succeeded', (s) => Number(s.connected)],
  ['phasestream_influx_points_delivered', 'points InfluxDB took since the start', (s) => s.delivered],
  ['phasestream_influx_points_dropped', 'points refused by a full spool since the start', (s) => s.dropped],
  ['phasestream_influx_failed_writes', 'failed InfluxDB writes since the start', (s) => s.failedWrites],
];

const WS_GAUGES: GaugeOf<BroadcasterStats>[] = [
  ['phasestream_ws_clients', 'WebSocket subscribers', (s) => s.clients],
  ['phasestream_ws_queued_messages', 'messages queued over all subscribers', (s) => s.queued],
  ['phasestream_ws_max_client_queue', 'the longest subscriber queue', (s) => s.maxClientQueue],
  ['phasestream_ws_dropped_messages', 'messages slow subscribers missed since the start', (s) => s.dropped],
  [
    'phasestream_ws_slow_disconnects',
    'subscribers closed for being too slow since the start',
    (s) => s.slowDisconnects,
  ],
];

/**
 * The process's Prometheus metrics (served at /metrics). Rates (records, windows, picks per second)
 * are `rate()` of the counters, as Prometheus computes them; queue depths and the spool backlog are
 * read from the sinks when scraped.
 */
export class PipelineMetrics {
  readonly registry = new Registry();
  private readonly records: Counter;
  private readonly samples: Counter;
  private readonly channelEvents: Counter<'kind'>;
  private readonly windows: Counter;
  private readonly batches: Counter;
  private readonly inference: Histogram;
  private readonly picks: Counter<'phase'>;
  private readonly pickLatency: Histogram;
  private readonly lifecycle: Counter<'phase' | 'status'>;
  private readonly provisionalLatency: Histogram;

  constructor(sinks: { influx?: InfluxSink; broadcaster?: Broadcaster }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'phasestream_' });
    this.records = new Counter({
      name: 'phasestream_records_total',
      help: 'miniSEED records received',
      registers,
    });
    this.samples = new Counter({ name: 'phasestream_samples_total', help: 'samples received', registers });
    this.channelEvents = new Counter({
      name: 'phasestream_channel_events_total',
      help: 'gaps, overlaps, duplicates and other discontinuities, by kind',
      labelNames: ['kind'],
      registers,
    });
    this.windows = new Counter({
      name: 'phasestream_windows_total',
      help: 'windows run through the model',
      registers,
    });
    this.batches = new Counter({ name: 'phasestream_batches_total', help: 'inference batches', registers });
    this.inference = new Histogram({
      name: 'phasestream_inference_seconds',
      help: 'inference time per batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.picks = new Counter({
      name: 'phasestream_picks_total',
      help: 'picks made, by phase',
      labelNames: ['phase'],
      registers,
    });
    this.pickLatency = new Histogram({
      name: 'phasestream_pick_latency_seconds',
      help: 'live picking: wall clock when the pick was made minus the pick time',
      buckets: [1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 300],
      registers,
    });
    this.lifecycle = new Counter({
      name: 'phasestream_pick_lifecycle_total',
      help: 'live edge: provisional picks given, and those the final path revised or retracted',
      labelNames: ['phase', 'status'],
      registers,
    });
    this.provisionalLatency = new Histogram({
      name: 'phasestream_provisional_pick_latency_seconds',
      help: 'live edge: wall clock when the provisional pick was made minus the pick time',
      buckets: [0.5, 1, 2, 3, 5, 10, 20, 30],
      registers,
    });
    const { influx, broadcaster } = sinks;
    if (influx) {
      for (const [name, help, read] of INFLUX_GAUGES)
        gauge(this.registry, name, help, () => read(influx.stats()));
    }
    if (broadcaster) {
      for (const [name, help, read] of WS_GAUGES)
        gauge(this.registry, name, help, () => read(broadcaster.stats()));
    }
  }

  /** Records read, and their samples. */
  countRecords(records: number, samples: number): void {
    this.records.inc(records);
    this.samples.inc(samples);
  }

  channelEvent(event: ChannelEvent): void {
    this.channelEvents.inc({ kind: event.kind });
  }

  batch(info: { windows: number; inferenceMs: number }): void {
    this.batches.inc();
    this.windows.inc(info.windows);
    this.inference.observe(info.inferenceMs / 1000);
  }

  /** Final picks count as picks; the live edge's steps (provisional, revised, retracted) apart. */
  pick(pick: Pick, latencyMs?: number): void {
    if (pick.status !== 'final') {
      this.lifecycle.inc({ phase: pick.phase, status: pick.status });
      if (latencyMs !== undefined && pick.status === 'provisional')
        this.provisionalLatency.observe(latencyMs / 1000);
      return;
    }
    this.picks.inc({ phase: pick.phase });
    if (latencyMs !== undefined) this.pickLatency.observe(latencyMs / 1000);
  }
}

function gauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}
