import { PhaseStreamError } from '../../errors.ts';

/**
 * SeedLink errors. They live beside the protocol rather than in src/errors.ts because only the
 * SeedLink client and server raise them; they are PhaseStreamErrors, so the CLI prints them the same way.
 */
export class SeedLinkError extends PhaseStreamError {}

/** The server answered ERROR to a command: names the command, the station it was for, and the reply. */
export class SeedLinkCommandError extends SeedLinkError {
  readonly command: string;
  readonly stationKey: string | undefined;
  /** The server's reply line, e.g. `ERROR ARGUMENTS unknown station XX_NOPE` (v4) or `ERROR` (v3). */
  readonly reply: string;
  /** The v4 error code (UNSUPPORTED, UNEXPECTED, UNAUTHORIZED, LIMIT, ARGUMENTS, AUTH), when the server gave one. */
  readonly code: string | undefined;

  constructor(options: {
    server: string;
    command: string;
    stationKey?: string;
    reply: string;
    hint?: string;
  }) {
    const { server, command, stationKey, reply } = options;
    const what = stationKey === undefined ? '' : ` for station ${stationKey}`;
    super(`SeedLink server ${server} refused "${command}"${what}: ${reply}`, {
      hint:
        options.hint ??
        'Check the station and stream selection against what the server offers (slinktool -L / -Q, INFO STATIONS).',
    });
    this.command = command;
    this.stationKey = stationKey;
    this.reply = reply;
    this.code = reply.split(/\s+/)[1];
  }
}

/**
 * The server sent bytes that are not SeedLink (bad packet signature, impossible length, garbled reply,
 * an endless line). `sequence` and `stationKey` are the bad packet's, when its header said them.
 */
export class SeedLinkProtocolError extends SeedLinkError {
  readonly sequence: bigint | undefined;
  /** NET_STA of the bad packet, when its header said it. */
  readonly stationKey: string | undefined;

  constructor(
    message: string,
    options: { sequence?: bigint; stationKey?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(message, options);
    this.sequence = options.sequence;
    this.stationKey = options.stationKey;
  }
}

/** The server does not offer what the client was told to use (protocol version, WebSocket subprotocol). */
export class SeedLinkUnsupportedError extends SeedLinkError {}

/** The resume state file exists but cannot be read as one. */
export class SeedLinkStateError extends SeedLinkError {}

/** Client or server options that do not make sense (bad URL, empty station list, bad selector). */
export class SeedLinkConfigError extends SeedLinkError {
  override readonly exitCode = 2;
}
