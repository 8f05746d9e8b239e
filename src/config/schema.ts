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
  /**
   * Stations to ask for: `NET.STA` with ? and * wildcards, optionally `NET.STA:LOC.CHA,...` selecting
   * streams (e.g. `XX.DEV1:00.HH?`; a channel alone, `XX.DEV1:HH?`, means any location).
   */
  stations: z
    .array(
      z
        .string()
        .regex(
          /^[^.\s:]+\.[^.\s:]+(:([A-Z0-9?*-]{0,2}\.)?[A-Z0-9?*]{1,3}(,([A-Z0-9?*-]{0,2}\.)?[A-Z0-9?*]{1,3})*)?$/i,
          'a station is NET.STA, e.g. XX.DEV1 or XX.*, optionally with streams NET.STA:LOC.CHA,... (XX.DEV1:00.HH?): a channel has at most 3 characters',
        ),
    )
    .min(1),
  protocol: z.enum(['auto', '3.1', '4.0']).default('auto'),
  /**
   * Where the resume point per station is kept (docs/seedlink.md): a restart asks again for the data
   * whose picks were not final yet, so nothing is lost and nothing written twice.
   */
  stateFile: z.string().optional(),
  /**
   * Backfill: a station the state file does not know starts with the data from this time (ISO 8601),
   * as far as the server's ring still holds it. Without it, a new station starts with the next packet.
   */
  start: z
    .string()
    .refine((text) => Number.isFinite(Date.parse(text)), 'an ISO 8601 time, e.g. 2026-01-01T00:00:00Z')
    .optional(),
  /** Reconnect when nothing (not even a keepalive) came for this long. */
  idleTimeoutS: z.number().positive().default(300),
  /** A station without data for this long is silent: /healthz says so, and the log once. */
  silentAfterS: z.number().positive().default(60),
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
  /** Web page origins besides the server's own that may connect (a browser's other origins get 403). */
  allowedOrigins: z.array(z.url()).default([]),
  /** Connections at once, in all and from one address; subscribe requests a client may make a minute. */
  maxClients: z.number().int().positive().default(256),
  maxClientsPerAddress: z.number().int().positive().default(128),
  maxSubscribesPerMinute: z.number().int().positive().default(60),
});

/** The HTTP server: /healthz, /metrics (Prometheus) and the WebSocket. */
export const httpServerSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(8765),
});

/** The live-edge lane (src/picker/live-edge.ts); the defaults are measured in docs/stream.md. */
export const liveEdgeSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Seconds of new data between two edge windows of a station, at least. */
  strideS: z.number().positive().default(1),
  /** Seconds at the edge window's end where no peak is taken (the next window looks again). */
  guardS: z.number().min(0).default(0.5),
  /** Seconds behind the edge window's end where peaks are searched; older ones are left to the final path. */
  lookbackS: z.number().positive().default(8),
  /** A provisional pick needs this probability at least (and its phase's minPeakHeight). */
  minProbability: z.number().min(0).max(1).default(0.6),
  /** How far the final pick may be from a provisional one and still confirm or revise it. */
  matchToleranceS: z.number().positive().default(0.5),
  /** How long an edge window waits for its batch (edge windows batch among themselves). */
  maxWaitMs: z.number().min(0).default(100),
  /** The STA/LTA gate: the lane runs for `holdS` after a trigger; `ratio: 0` runs it always. */
  trigger: z
    .strictObject({
      staS: z.number().positive().default(1),
      ratio: z.number().min(0).default(3),
      holdS: z.number().positive().default(15),
    })
    .prefault({}),
});

/**
 * Scale-out over NATS JetStream (docs/scale-out.md): `phasestream ingest` publishes records, `pick`
 * workers share the stations by partition, `sink` writes the picks. Every role reads the same keys.
 */
export const jetstreamSchema = z
  .strictObject({
    /** NATS servers to connect to (`host:port`); the client reconnects to any of them for ever. */
    servers: z.array(z.string().min(1)).min(1).default(['127.0.0.1:4222']),
    /**
     * Stations are spread over this many partitions (hash of NET.STA); a worker owns whole partitions.
     * Fixed for the life of the streams: the first process to connect records it, the others must agree.
     */
    partitions: z.number().int().positive().max(4096).default(32),
    /** Raw miniSEED records, one subject per stream id (ps.records.<partition>.NET.STA.LOC.CHA). */
    records: z
      .strictObject({
        stream: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/)
          .default('ps-records'),
        /** Records older than this are dropped: a worker further behind loses data (watch the lag). */
        maxAgeS: z.number().positive().default(86_400),
        /** The stream's size at most (oldest records dropped first); -1: no limit but maxAgeS. */
        maxBytes: z
          .number()
          .int()
          .min(-1)
          .default(8 * 2 ** 30),
        /** A record published again with the same id within this window is dropped (ingest restarts). */
        duplicateWindowS: z.number().positive().default(120),
      })
      .prefault({}),
    /** Picks, one subject per station (ps.picks.NET.STA), the pick id and status as the message id. */
    picks: z
      .strictObject({
        stream: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/)
          .default('ps-picks'),
        maxAgeS: z
          .number()
          .positive()
          .default(7 * 86_400),
        maxBytes: z
          .number()
          .int()
          .min(-1)
          .default(2 ** 30),
        /** A pick published again (a worker that took over re-picks) within this window is dropped. */
        duplicateWindowS: z.number().positive().default(600),
      })
      .prefault({}),
    /** KV buckets: partition leases and each partition's resume points. */
    leaseBucket: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('ps-leases'),
    resumeBucket: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('ps-resume'),
    /** A worker that has not renewed its lease for this long loses the partition to another. */
    leaseTtlS: z.number().min(1).default(15),
    /** Seconds between a worker's lease renewals (well under leaseTtlS). */
    renewS: z.number().positive().default(3),
    /** How often a partition's resume points are written to the resume bucket, at most. */
    resumeFlushMs: z.number().int().positive().default(1000),
    /** The sink's durable consumer of the picks stream. */
    sinkConsumer: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('ps-sink'),
  })
  .refine((js) => js.renewS * 2 <= js.leaseTtlS, {
    message: 'jetstream.renewS must be at most half of leaseTtlS, or leases run out between renewals',
    path: ['renewS'],
  });

export const configSchema = z.strictObject({
  model: z.strictObject({ dir: z.string().optional() }).default({}),
  /**
   * Station metadata: `xml`, a StationXML file or an fdsnws-station query URL (level=channel). Z12
   * sensors are rotated to ZNE with its azimuths and dips (docs/formats.md).
   */
  stations: z.strictObject({ xml: z.string().optional() }).default({}),
  engine: z
    .strictObject({
      kind: z.enum(['auto', 'onnxruntime', 'tfjs']).default('auto'),
      backend: z.enum(['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
      /** onnxruntime only: `auto` takes WebGPU where a hardware GPU adapter exists, else the CPU. */
      device: z.enum(['auto', 'cpu', 'webgpu']).default('auto'),
      threads: z.number().int().positive().optional(),
    })
    .default({ kind: 'auto', backend: 'auto', device: 'auto' }),
  picker: z
    .strictObject({
      /** Seconds between the starts of consecutive windows (the window is the model's, 30 s). */
      strideS: z.number().positive().default(15),
      /**
       * Each station's windows at its own offset within the stride, so that a large network's windows
       * come spread over the stride rather than all at once (docs/stream.md). Picks then differ
       * slightly from unstaggered windows': live and replay agree when both have the same setting.
       */
      staggerWindows: z.boolean().default(false),
      /** How overlapping windows combine. */
      stitch: z.enum(['mean', 'max']).default('mean'),
      /** Seconds at each window edge that count only where no other window sees them. */
      /** Measured on the dev record (docs/stream.md): 0.5 s gets back the P onsets at a window's first samples. */
      edgeBlindS: z.number().min(0).default(0.5),
      /** Minimum peak height per phase (default: the model card's). */
      minPeakHeight: phaseThresholds.optional(),
      /** Minimum distance between picks of a phase (default: the model card's). */
      minPeakDistanceS: z.number().positive().optional(),
      /** detect_peaks' threshold against neighbours (0: off). */
      threshold: z.number().min(0).default(0),
      /** Per-station thresholds: keys `NET.STA` (wildcards allowed), values as minPeakHeight. */
      stations: z
        .record(
          z
            .string()
            .regex(
              /^[A-Za-z0-9?*]+\.[A-Za-z0-9?*]+(\.[A-Za-z0-9?*-]*(\.[A-Za-z0-9?*]+)?)?$/,
              'a station key is NET.STA or NET.STA.LOC.CHA with ? and * wildcards, e.g. XX.DEV1 or XX.*',
            ),
          z.strictObject({ minPeakHeight: phaseThresholds }),
        )
        .default({}),
      /** Provisional picks seconds after the data, in `phasestream run` (docs/stream.md, the live edge). */
      liveEdge: liveEdgeSchema.prefault({}),
    })
    .prefault({}),
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
      /** Windows per batch at most; default 32 on a CPU, 1024 on a GPU (src/app/pipeline.ts). */
      size: z.number().int().positive().optional(),
      maxWaitMs: z.number().min(0).default(500),
    })
    .default({ maxWaitMs: 500 }),
  seedlink: z.array(seedlinkServer).default([]),
  output: z
    .strictObject({
      /** Picks as JSON lines (or CSV, QuakeML, NonLinLoc: docs/formats.md) to this file; `-` is standard output. */
      file: z.string().default('-'),
      format: z.enum(['jsonl', 'csv', 'quakeml', 'nonlinloc']).default('jsonl'),
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
  jetstream: jetstreamSchema.prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** A [min, max] range a random value is drawn from (uniformly). */
const range = (min: number, max = Number.POSITIVE_INFINITY) =>
  z
    .tuple([z.number().min(min).max(max), z.number().min(min).max(max)])
    .refine(([a, b]) => a <= b, 'a range is [min, max] with min <= max');

/**
 * `phasestream simulate dataset --config ...`: random layered models, sources and surface receivers,
 * simulated and cut into PhaseNet training records (the report's simulated database). Lengths in m,
 * speeds in m/s, densities in kg/m^3.
 */
export const simulationDatasetSchema = z.strictObject({
  /** Seed of every random draw: the same config and seed give the same dataset. */
  seed: z.number().int().default(1),
  /** Random models; each is simulated once per source. */
  models: z.number().int().positive().default(32),
  sourcesPerModel: z.number().int().positive().default(1),
  /** Receivers on the free surface per simulation, spread over the grid's interior. */
  receivers: z.number().int().positive().default(16),
  grid: z
    .strictObject({
      widthM: z.number().positive().default(30000),
      depthM: z.number().positive().default(10000),
      /** The spacing follows from the slowest wave and the wavelet; never coarser than this. */
      maxSpacingM: z.number().positive().default(60),
      /** Where finer spacing would exceed this many points, the wavelet's frequency is lowered instead. */
      maxPoints: z.number().int().positive().default(150000),
      minPointsPerWavelength: z.number().min(3).default(6),
      spongeCells: z.number().int().min(10).default(30),
    })
    .prefault({}),
  layers: z
    .strictObject({
      /** Number of elastic layers, the half-space included. */
      count: range(1, 20).default([2, 5]),
      thicknessM: range(1).default([500, 3000]),
      /** P velocities, sorted to increase with depth. */
      vpMS: range(100).default([2500, 6500]),
      vpVsRatio: range(1.45).default([1.65, 1.9]),
      /** Density from Gardner's rule 310 vp^0.25 times a factor in this range. */
      densityFactor: range(0.1).default([0.95, 1.05]),
    })
    .prefault({}),
  /** A water-saturated layer at the top: slow S, high vp/vs. */
  waterSaturated: z
    .strictObject({
      probability: z.number().min(0).max(1).default(0.3),
      thicknessM: range(1).default([100, 400]),
      vpMS: range(100).default([1800, 2400]),
      vpVsRatio: range(1.45).default([2.2, 3]),
      densityKgM3: range(100).default([1900, 2150]),
    })
    .prefault({}),
  /** A fluid (P-only) layer under the first solid layer. */
  fluid: z
    .strictObject({
      probability: z.number().min(0).max(1).default(0.1),
      thicknessM: range(1).default([50, 300]),
      vpMS: range(100).default([1450, 1600]),
      densityKgM3: range(100).default([1000, 1100]),
    })
    .prefault({}),
  topography: z
    .strictObject({
      probability: z.number().min(0).max(1).default(0.5),
      /** Highest hill above the datum. */
      maxElevationM: z.number().min(0).default(300),
      /** Points of the piecewise-linear surface across the grid. */
      points: z.number().int().min(2).default(6),
    })
    .prefault({}),
  source: z
    .strictObject({
      depthM: range(0).default([2000, 9000]),
      mechanisms: z
        .array(z.enum(['explosion', 'force', 'double-couple']))
        .min(1)
        .default(['explosion', 'force', 'double-couple']),
      wavelets: z
        .array(z.enum(['ricker', 'brune']))
        .min(1)
        .default(['ricker', 'brune']),
      /** Ricker peak frequency, or Brune corner frequency times 2.5/4.5 (the same highest frequency). */
      peakHz: range(0.01).default([1.5, 3]),
    })
    .prefault({}),
  record: z
    .strictObject({
      samplingRate: z.number().positive().default(100),
      /** Length of each simulated record (the report's 24,001 points); the event sits at a random time in it. */
      durationS: z.number().positive().default(60),
      /** Simulated time after the last S arrival (coda); the rest of the record is quiet. */
      codaS: z.number().min(0).default(6),
      /** Drop a record whose waveform's P onset is further than this from its label. */
      labelToleranceS: z.number().positive().default(0.3),
    })
    .prefault({}),
  extraction: z
    .strictObject({
      /** Samples per extract (PhaseNet's window: 3000). */
      windowSamples: z.number().int().positive().default(3000),
      extractsPerRecord: z.number().int().positive().default(4),
      /** Chance that an extract holds the arrivals; otherwise it holds none. */
      alpha: z.number().min(0).max(1).default(0.95),
      /** Chance that an extract's polarity is reversed. */
      reversePolarity: z.number().min(0).max(1).default(0.5),
    })
    .prefault({}),
  noise: z
    .strictObject({
      /** Additive white Gaussian noise at an SNR (dB) drawn from this range; null for none. */
      snrDb: range(-50, 100).nullable().default([0, 30]),
    })
    .prefault({}),
  /** Channel codes of the records' E, N, Z components (X -> E and N by a random azimuth, Z -> Z). */
  channels: z.tuple([z.string(), z.string(), z.string()]).default(['HHE', 'HHN', 'HHZ']),
});

export type SimulationDatasetConfig = z.infer<typeof simulationDatasetSchema>;
export type SimulationDatasetConfigInput = z.input<typeof simulationDatasetSchema>;
