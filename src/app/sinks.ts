import type { Config } from '../config/schema.ts';
import { httpServerSchema, websocketSinkSchema } from '../config/schema.ts';
import { ConfigError } from '../errors.ts';
import type { StationCoordinates } from '../ingest/stationxml.ts';
import type { StreamId } from '../ingest/stream-id.ts';
import { log } from '../log.ts';
import type { Pick } from '../picker/pick.ts';
import { Broadcaster } from '../sink/broadcast/broadcaster.ts';
import { picksStream } from '../sink/broadcast/protocol.ts';
import { SinkHttpServer } from '../sink/http-server.ts';
import { InfluxSink } from '../sink/influx/influx-sink.ts';
import type { StationHealthSample } from '../sink/influx/points.ts';
import type { PickWriter } from '../sink/pick-document.ts';
import { logChannelEvent, type SequenceRecord } from '../stream/index.ts';
import type { ChannelEvent } from '../stream/types.ts';
import { LiveView } from '../web/live-view.ts';
import type { ReplayProgress } from '../web/messages.ts';
import { pageAssets } from '../web/page-assets.ts';
import { pageStreams } from '../web/page-streams.ts';
import { PipelineMetrics } from './metrics.ts';
import type { PipelineHooks } from './pipeline.ts';

/** A part of the process that reports to /healthz (a problem makes it degraded) and /metrics. */
export interface HealthSource {
  /** The key of its report in /healthz. */
  readonly name: string;
  problems(): string[];
  report(): Record<string, unknown>;
  register(registry: PipelineMetrics['registry']): void;
}

/**
 * Every place picks go, opened from the config: the pick file (always), InfluxDB, the WebSocket
 * rebroadcast, and the HTTP server with /healthz and /metrics. The pipeline calls `write` for each
 * pick; only the file is awaited (InfluxDB spools, subscribers queue), so no sink slows the others.
 */
export class PickSinks {
  readonly hooks: PipelineHooks;
  private readonly health = new Map<string, StationHealthSample & { lastEndUs?: number }>();
  private healthTimer: NodeJS.Timeout | undefined;
  private readonly metrics: PipelineMetrics;
  private server: SinkHttpServer | undefined;
  private stationsTimer: NodeJS.Timeout | undefined;
  private readonly healthSources: HealthSource[] = [];

  private constructor(
    private readonly config: Config,
    private readonly file: PickWriter,
    private readonly live: boolean,
    private readonly influx: InfluxSink | undefined,
    private readonly broadcaster: Broadcaster | undefined,
    private readonly page: LiveView | undefined,
  ) {
    const metrics = new PipelineMetrics({ influx, broadcaster });
    this.metrics = metrics;
    this.hooks = {
      onChannelEvent: (event) => this.channelEvent(event),
      onBatch: (info) => metrics.batch(info),
      ...(page && {
        onBlock: (block) => page.block(block),
        onProbabilities: (station, rate, segment) => page.stitched(station, rate, segment),
      }),
    };
    if (page && broadcaster) {
      this.stationsTimer = setInterval(() => broadcaster.publish('stations', page.stations()), 1000);
      this.stationsTimer.unref();
    }
    const healthS = config.sinks.influx?.stationHealthS ?? 0;
    if (influx && healthS > 0) {
      this.healthTimer = setInterval(() => this.writeHealth(), healthS * 1000);
      this.healthTimer.unref();
    }
  }

  /**
   * `live`: picks are made as data arrives (latency is measured), not replayed from archives.
   * `classes`: the model's output classes (the live page draws every one but noise).
   * `coordinates`: the stations' by `NET.STA`, from the station metadata, for the live page.
   */
  static async open(
    config: Config,
    file: PickWriter,
    options: { live: boolean; classes: string[]; coordinates?: ReadonlyMap<string, StationCoordinates> },
  ): Promise<PickSinks> {
    const { influx: influxConfig, http } = config.sinks;
    // The page's data travel over the rebroadcast, which the page turns on with its defaults.
    const websocket =
      config.sinks.websocket ?? (config.page.enabled ? websocketSinkSchema.parse({}) : undefined);
    const influx =
      influxConfig &&
      InfluxSink.open({
        ...influxConfig,
        password: process.env[influxConfig.passwordEnv],
        spool: influxConfig.spool,
        logger: log,
      });
    let broadcaster: Broadcaster | undefined;
    const page = config.page.enabled
      ? new LiveView({
          clock: options.live ? 'wall' : 'data',
          historyS: config.page.historyS,
          thresholds: {
            lateAfterS: config.page.lateAfterS,
            downAfterS: config.page.downAfterS,
            gapHoldS: 60,
          },
          classes: options.classes,
          coordinates: options.coordinates,
          publish: (stream, item) => broadcaster?.publish(stream, item),
        })
      : undefined;
    if (websocket) {
      const token = websocket.tokenEnv === undefined ? undefined : process.env[websocket.tokenEnv];
      if (websocket.tokenEnv !== undefined && !token) {
        throw new ConfigError(`sinks.websocket.tokenEnv names ${websocket.tokenEnv}, which is not set`, {
          hint: `export ${websocket.tokenEnv}=<a long random token>, or remove tokenEnv to accept any local client`,
        });
      }
      broadcaster = new Broadcaster({ ...websocket, token, logger: log }, [
        picksStream,
        ...(page ? pageStreams(page) : []),
      ]);
    }
    const sinks = new PickSinks(config, file, options.live, influx, broadcaster, page);
    const serverConfig = http ?? (websocket ? httpServerSchema.parse({}) : undefined);
    if (serverConfig) await sinks.serve(serverConfig, websocket?.path);
    if (page) process.stderr.write(`live page: ${sinks.url}/\n`);
    return sinks;
  }

  /** Serves /healthz, /metrics and the WebSocket (at `wsPath`) on one port. */
  private async serve(at: { host: string; port: number }, wsPath: string | undefined): Promise<void> {
    const server = new SinkHttpServer({ ...at, logger: log })
      .route('/healthz', (_req, res) => {
        const body = this.healthz();
        res
          .writeHead(body.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' })
          .end(`${JSON.stringify(body)}\n`);
      })
      .route('/metrics', async (_req, res) => {
        const { registry } = this.metrics;
        res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
      });
    if (this.broadcaster && wsPath) server.upgrade(wsPath, this.broadcaster.handleUpgrade);
    if (this.page && wsPath) {
      for (const path of ['/', '/app.js', '/page.css']) {
        server.route(path, async (_req, res) => {
          const asset = (await pageAssets(wsPath)).get(path)!;
          res
            .writeHead(200, { 'content-type': asset.contentType, 'cache-control': 'no-cache' })
            .end(asset.body);
        });
      }
    }
    try {
      await server.start();
    } catch (error) {
      await this.close();
      throw new ConfigError(
        `cannot serve HTTP on ${at.host}:${at.port}: ${(error as NodeJS.ErrnoException).code ?? error}`,
        { hint: 'choose a free port (key sinks.http.port; 0 takes any free one)' },
      );
    }
    this.server = server;
  }

  /** The HTTP server's address, when one is serving. */
  get url(): string | undefined {
    return this.server?.url;
  }

  get written(): number {
    return this.file.written;
  }

  /** Counts a record (metrics, station health); the records flow on untouched. */
  record = (record: SequenceRecord): void => {
    const { samples, samplingRate, startTimeUs } = record;
    const endUs = startTimeUs + (samples.length / samplingRate) * 1e6;
    this.countRecords(record.streamId, 1, samples.length, endUs);
  };

  /** Counts records of one stream at once (a replay shard's report): how many, their samples, the last one's end. */
  countRecords(streamId: StreamId, records: number, samples: number, endUs: number): void {
    this.metrics.countRecords(records, samples);
    if (this.healthTimer === undefined) return;
    const { network, station, location } = streamId;
    const key = `${network}.${station}.${location}`;
    const entry = this.health.get(key) ?? {
      network,
      station,
      location,
      timeUs: 0,
      records: 0,
      samples: 0,
      gaps: 0,
    };
    entry.records += records;
    entry.samples += samples;
    entry.lastEndUs = Math.max(entry.lastEndUs ?? endUs, endUs);
    this.health.set(key, entry);
  }

  async write(pick: Pick): Promise<void> {
    const latencyMs = this.live ? Date.now() - pick.timeUs / 1000 : undefined;
    this.metrics.pick(pick, latencyMs);
    this.influx?.writePick(pick, latencyMs);
    this.broadcaster?.publishPick(pick);
    this.page?.pick(pick);
    await this.file.write(pick);
  }

  /** Adds `source`'s problems and report to /healthz and its series to /metrics. */
  addHealthSource(source: HealthSource): void {
    this.healthSources.push(source);
    source.register(this.metrics.registry);
  }

  /** A replay's progress, for the live page. */
  progress(progress: ReplayProgress): void {
    this.page?.progress(progress);
  }

  healthz(): { status: 'ok' | 'degraded'; problems: string[]; uptimeS: number; picks: number } & Record<
    string,
    unknown
  > {
    const problems: string[] = [];
    const influx = this.influx?.stats();
    if (influx && !influx.connected && influx.failedWrites > 0)
      problems.push('InfluxDB is not taking points');
    if (
      influx &&
      influx.dropped > 0 &&
      influx.backlogBytes > 0.9 * (this.config.sinks.influx?.spool.maxBytes ?? 0)
    ) {
      problems.push('the InfluxDB spool is full');
    }
    for (const source of this.healthSources) problems.push(...source.problems());
    return {
      status: problems.length === 0 ? 'ok' : 'degraded',
      problems,
      uptimeS: Math.round(process.uptime()),
      picks: this.file.written,
      ...(influx && { influx }),
      ...(this.broadcaster && { websocket: this.broadcaster.stats() }),
      ...Object.fromEntries(this.healthSources.map((source) => [source.name, source.report()])),
    };
  }

  /** Closes every sink: InfluxDB gets `drainTimeoutS` to take the spool, subscribers are told goodbye. */
  async close(): Promise<void> {
    clearInterval(this.stationsTimer);
    if (this.healthTimer) {
      clearInterval(this.healthTimer);
      this.writeHealth();
    }
    await this.broadcaster?.close();
    await this.server?.stop();
    if (this.influx) await this.influx.close((this.config.sinks.influx?.drainTimeoutS ?? 0) * 1000);
  }

  private channelEvent(event: ChannelEvent): void {
    logChannelEvent(event);
    this.page?.channelEvent(event);
    this.metrics.channelEvent(event);
    if (event.kind !== 'gap' || this.healthTimer === undefined) return;
    const { network, station, location } = event.streamId;
    const entry = this.health.get(`${network}.${station}.${location}`);
    if (entry) entry.gaps++;
  }

  private writeHealth(): void {
    const nowUs = Date.now() * 1000;
    const samples = [...this.health.values()].map(({ lastEndUs, ...s }) => ({
      ...s,
      timeUs: nowUs,
      latencyMs: this.live && lastEndUs !== undefined ? (nowUs - lastEndUs) / 1000 : undefined,
    }));
    this.influx?.writeHealth(samples);
    for (const entry of this.health.values()) {
      entry.records = 0;
      entry.samples = 0;
      entry.gaps = 0;
    }
  }
}
