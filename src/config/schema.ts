import { z } from 'zod';

/**
 * The configuration of `phasestream run` and `replay` (YAML or JSON), checked against this schema.
 * Every key has a default except where data must come from (SeedLink servers or archive files).
 * Units are in the names: ...S seconds, ...Ms milliseconds.
 */

const phaseThresholds = z.record(z.string(), z.number().min(0).max(1));

const seedlinkServer = z.strictObject({
  /** `host:port`, `tcp://host:port` or `ws://host:port/path` (SeedLink over WebSocket). */
  url: z.string().min(1),
  /** Stations to ask for: `NET.STA` with ? and * wildcards, optionally `NET.STA:SELECTORS` (e.g. `XX.DEV1:00HH?`). */
  stations: z
    .array(z.string().regex(/^[^.\s:]+\.[^.\s:]+(:.+)?$/, 'a station is NET.STA, e.g. XX.DEV1 or XX.*'))
    .min(1),
  protocol: z.enum(['auto', '3.1', '4.0']).default('auto'),
  /** Where the last sequence number per station is kept, so that a restart resumes where it stopped. */
  stateFile: z.string().optional(),
  /** Reconnect when nothing (not even a keepalive) came for this long. */
  idleTimeoutS: z.number().positive().default(300),
});

/** InfluxDB 1.x: picks (and optionally station health) through a durable spool (docs/sinks.md). */
export const influxSinkSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8086'),
  database: z.string().min(1).default('phasestream'),
  /** Created (as the default policy) when the database lacks it; an existing one is left as it is. */
  retentionPolicy: z
    .strictObject({
      name: z.string().min(1).default('phasestream'),
      /** An InfluxQL duration (`52w`, `90d`) or `INF`. */
      duration: z
        .string()
        .regex(/^(INF|(\d+(ns|u|µ|ms|s|m|h|d|w))+)$/, 'an InfluxQL duration, e.g. 52w, 90d or INF')
        .default('INF'),
      replication: z.number().int().positive().default(1),
    })
    .default({ name: 'phasestream', duration: 'INF', replication: 1 }),
  username: z.string().optional(),
  /** The environment variable that holds the password: the config file never holds secrets. */
  passwordEnv: z.string().min(1).default('PHASESTREAM_INFLUX_PASSWORD'),
  /** Points per write request, and how long a point waits for its batch. */
  batchSize: z.number().int().positive().default(1000),
  flushIntervalMs: z.number().int().positive().default(1000),
  /** Backoff between failed writes: doubles from retryInitialMs up to retryMaxMs. */
  retryInitialMs: z.number().int().positive().default(500),
  retryMaxMs: z.number().int().positive().default(30_000),
  requestTimeoutMs: z.number().int().positive().default(10_000),
  spool: z
    .strictObject({
      /** Points wait here (on disk) until InfluxDB has them; a restart delivers what is left. */
      dir: z.string().min(1).default('phasestream-influx-spool'),
      /** Past this, new points are dropped for InfluxDB with an error in the log. */
      maxBytes: z
        .number()
        .int()
        .positive()
        .default(256 * 1024 * 1024),
    })
    .default({ dir: 'phasestream-influx-spool', maxBytes: 256 * 1024 * 1024 }),
  /** At the end, how long to wait for InfluxDB to take the spool before leaving it for the next start. */
  drainTimeoutS: z.number().min(0).default(10),
  /** Seconds between station-health points (records, samples, gaps, latency); 0: none. */
  stationHealthS: z.number().min(0).default(0),
});

/** WebSocket rebroadcast of picks, served at `path` on the HTTP server (docs/sinks.md). */
export const websocketSinkSchema = z.strictObject({
  path: z.string().startsWith('/').default('/ws'),
  /** When set, clients must present the token held by this environment variable. */
  tokenEnv: z.string().min(1).optional(),
  heartbeatS: z.number().positive().default(15),
  /** Picks kept for `since` and `afterSeq` replays. */
  historySize: z.number().int().min(0).default(10_000),
  /** Messages queued per client; past it a slow client misses picks (`gap`) or is closed (`disconnect`). */
  maxQueue: z.number().int().positive().default(1000),
  slowClient: z.enum(['gap', 'disconnect']).default('gap'),
});

/** The HTTP server: /healthz, /metrics (Prometheus) and the WebSocket. */
export const httpServerSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(8765),
});

export const configSchema = z.strictObject({
  model: z.strictObject({ dir: z.string().optional() }).default({}),
  engine: z
    .strictObject({
      kind: z.enum(['auto', 'onnxruntime', 'tfjs']).default('auto'),
      backend: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
      threads: z.number().int().positive().optional(),
    })
    .default({ kind: 'auto', backend: 'auto' }),
  picker: z
    .strictObject({
      /** Seconds between the starts of consecutive windows (the window is the model's, 30 s). */
      strideS: z.number().positive().default(15),
      /** How overlapping windows combine. */
      stitch: z.enum(['mean', 'max']).default('mean'),
      /** Seconds at each window edge that count only where no other window sees them. */
      edgeBlindS: z.number().min(0).default(0),
      /** Minimum peak height per phase (default: the model card's). */
      minPeakHeight: phaseThresholds.optional(),
      /** Minimum distance between picks of a phase (default: the model card's). */
      minPeakDistanceS: z.number().positive().optional(),
      /** detect_peaks' threshold against neighbours (0: off). */
      threshold: z.number().min(0).default(0),
      /** Per-station thresholds: keys `NET.STA` (wildcards allowed), values as minPeakHeight. */
      stations: z.record(z.string(), z.strictObject({ minPeakHeight: phaseThresholds })).default({}),
    })
    .default({ strideS: 15, stitch: 'mean', edgeBlindS: 0, threshold: 0, stations: {} }),
  stream: z
    .strictObject({
      maxReorderWaitMs: z.number().min(0).default(1000),
      maxPendingRecords: z.number().int().positive().default(64),
      clockJumpS: z.number().positive().default(86_400),
      /** How long a station waits for a late component before going on without it. */
      maxLagMs: z.number().positive().optional(),
      /**
       * Gaps up to this long are filled (linear) and the segment goes on; a longer gap leaves that
       * component out, and ends the segment when every component has it (docs/stream.md).
       */
      shortGapFillS: z.number().min(0).optional(),
      /** End a station's segment when nothing came for this long, so a station that falls silent still gets its last picks. */
      endAfterIdleMs: z.number().positive().default(60_000),
    })
    .default({ maxReorderWaitMs: 1000, maxPendingRecords: 64, clockJumpS: 86_400, endAfterIdleMs: 60_000 }),
  batching: z
    .strictObject({
      size: z.number().int().positive().default(32),
      maxWaitMs: z.number().min(0).default(500),
    })
    .default({ size: 32, maxWaitMs: 500 }),
  seedlink: z.array(seedlinkServer).default([]),
  output: z
    .strictObject({
      /** Picks as JSON lines (or CSV) to this file; `-` is standard output. */
      file: z.string().default('-'),
      format: z.enum(['jsonl', 'csv']).default('jsonl'),
    })
    .default({ file: '-', format: 'jsonl' }),
  /**
   * The live page for operators (docs/page.md), served on the HTTP server of `sinks.http` with its
   * data over the WebSocket rebroadcast (turned on with the page if absent).
   */
  page: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** Seconds of waveforms and probabilities kept per station for a page that starts watching it. */
      historyS: z.number().positive().max(3600).default(120),
      /** A station whose newest data is this far behind the clock is late; this long without data, down. */
      lateAfterS: z.number().positive().default(30),
      downAfterS: z.number().positive().default(300),
    })
    .default({ enabled: false, historyS: 120, lateAfterS: 30, downAfterS: 300 }),
  /** Where picks go besides `output`: each sink is on when its key is present (`influx: {}` takes the defaults). */
  sinks: z
    .strictObject({
      influx: influxSinkSchema.optional(),
      websocket: websocketSinkSchema.optional(),
      /** Served when present, and with its defaults when only `websocket` is. */
      http: httpServerSchema.optional(),
    })
    .default({}),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
