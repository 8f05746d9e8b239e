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
  /** The live page for operators (docs/page.md): stations, waveforms, probabilities and picks. */
  page: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** Loopback by default: the page has no login; put a proxy with one in front to share it. */
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65_535).default(8080),
      /** Seconds of waveforms and probabilities kept per station for a page that starts watching it. */
      historyS: z.number().positive().max(3600).default(120),
      /** A station whose newest data is this far behind the clock is late; this long without data, down. */
      lateAfterS: z.number().positive().default(30),
      downAfterS: z.number().positive().default(300),
    })
    .default({
      enabled: false,
      host: '127.0.0.1',
      port: 8080,
      historyS: 120,
      lateAfterS: 30,
      downAfterS: 300,
    }),
  output: z
    .strictObject({
      /** Picks as JSON lines (or CSV) to this file; `-` is standard output. */
      file: z.string().default('-'),
      format: z.enum(['jsonl', 'csv']).default('jsonl'),
    })
    .default({ file: '-', format: 'jsonl' }),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
