/**
 * Typed errors. Each says what input was wrong and what to do about it; the CLI prints `message`
 * (and `hint`) without a stack trace, and exits with the error's `exitCode`.
 */
export class PhaseStreamError extends Error {
  /** What the user can do to fix it. */
  readonly hint?: string;
  readonly exitCode: number = 1;

  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

/** A command line or config file that does not fit the schema. */
export class UsageError extends PhaseStreamError {
  override readonly exitCode = 2;
}

/** A config file whose content does not fit the schema; names the key. */
export class ConfigError extends PhaseStreamError {
  override readonly exitCode = 2;
}

/** A checkpoint or model directory that cannot be read, or that does not fit the architecture. */
export class ModelFormatError extends PhaseStreamError {}

/** Two models that an operation needs alike (blending: architecture, components, weights) and that differ; says what differs. */
export class ModelMismatchError extends PhaseStreamError {}

/** An inference engine or tfjs backend that was asked for but cannot run here. */
export class EngineUnavailableError extends PhaseStreamError {}

/** A waveform file or record that cannot be decoded (corrupt, truncated, unknown encoding). */
export class WaveformFormatError extends PhaseStreamError {}

/** A download whose transfer or checksum failed. */
export class FetchError extends PhaseStreamError {}

/** A simulation grid or time step that cannot resolve the model and source (unstable or too dispersive). */
export class SimulationGridError extends PhaseStreamError {
  override readonly exitCode = 2;
}

/** Station metadata (StationXML, from a file or fdsnws-station) that cannot be read or used. */
export class StationMetadataError extends PhaseStreamError {}

/** An FDSN web service that refused a request (400, 401, 403, 414) or kept failing after retries. */
export class FdsnError extends PhaseStreamError {}

/** A NATS JetStream log that cannot be used as configured (unreachable, or set up for another layout). */
export class JetStreamError extends PhaseStreamError {}
