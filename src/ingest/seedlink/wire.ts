import { SeedLinkConfigError, SeedLinkProtocolError } from './errors.ts';

/**
 * The SeedLink wire format, for both ends: packet framing, command arguments, selectors, time formats,
 * HELLO capabilities. Protocol 3.1 is the SeisComP/IRIS dialect (8-byte 'SL' header + 512-byte record,
 * `STATION STA NET`, `SELECT LLCCC.T`, hex sequence numbers, comma-separated times); protocol 4.0 is the
 * FDSN standard (variable 'SE' packets, `STATION NET_STA`, `SELECT LOC_B_S_SS.FS`, 64-bit decimal
 * sequence numbers, ISO times).
 */

export type SeedLinkProtocolVersion = '3.1' | '4.0';

export const SEEDLINK_PROTOCOLS: readonly SeedLinkProtocolVersion[] = ['3.1', '4.0'];

/** WebSocket subprotocol names (RFC 6455 Sec-WebSocket-Protocol) for each SeedLink version. */
export const WEBSOCKET_SUBPROTOCOLS: Record<SeedLinkProtocolVersion, string> = {
  '3.1': 'SeedLink3.1',
  '4.0': 'SeedLink4.0',
};

export const V3_RECORD_LENGTH = 512;
export const V3_HEADER_LENGTH = 8;
/** 'SE' + format + subformat + payload length (u32) + sequence (u64) + station id length (u8). */
export const V4_FIXED_HEADER_LENGTH = 17;
export const V3_SEQUENCE_MODULUS = 1n << 24n;
/** A bound on v4 payloads, so that garbage read as a length fails at once instead of buffering forever. */
export const V4_MAX_PAYLOAD_LENGTH = 16 * 1024 * 1024;

/** The SeedLink 4 station ID, NET_STA, used as the station key on both protocol versions. */
export function stationKey(network: string, station: string): string {
  return `${network}_${station}`;
}

/** The SeedLink 4 stream ID of a SEED location and channel: LOC_B_S_SS (00, HHZ -> 00_H_H_Z). */
export function v4StreamId(location: string, channel: string): string {
  return channel.length === 3
    ? `${location}_${channel[0]}_${channel[1]}_${channel[2]}`
    : `${location}_${channel}`;
}

// ---------------------------------------------------------------------------------------------------
// Wildcards

export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** `*` any run of characters, `?` exactly one; anchored at both ends unless `prefixOnly`. */
export function globToRegExp(pattern: string, options: { prefixOnly?: boolean } = {}): RegExp {
  let source = '^';
  for (const c of pattern) {
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else source += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(options.prefixOnly ? source : `${source}$`, 'i');
}

// ---------------------------------------------------------------------------------------------------
// Times

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

/** v3 time argument, `YYYY,MM,DD,hh,mm,ss`: one-second resolution, rounded down so that nothing is lost. */
export function formatV3Time(timeUs: number): string {
  const d = new Date(Math.floor(timeUs / 1_000_000) * 1000);
  return [
    d.getUTCFullYear(),
    pad(d.getUTCMonth() + 1),
    pad(d.getUTCDate()),
    pad(d.getUTCHours()),
    pad(d.getUTCMinutes()),
    pad(d.getUTCSeconds()),
  ].join(',');
}

/** v4 time argument, `YYYY-MM-DDThh:mm:ss.ffffffZ`. */
export function formatV4Time(timeUs: number): string {
  const seconds = Math.floor(timeUs / 1_000_000);
  const micros = timeUs - seconds * 1_000_000;
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}.${pad(micros, 6)}Z`;
}

/** Reads either time form (v3 commas with optional nanoseconds field, v4 ISO with Z); undefined if neither. */
export function parseSeedLinkTime(text: string): number | undefined {
  const commas = /^(\d{4}),(\d{1,2}),(\d{1,2}),(\d{1,2}),(\d{1,2}),(\d{1,2})(?:,(\d{1,9}))?$/.exec(text);
  if (commas) {
    const [year, month, day, hour, minute, second] = commas.slice(1, 7).map(Number);
    const nanos = commas[7] === undefined ? 0 : Number(commas[7]);
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
      return undefined;
    return Date.UTC(year, month - 1, day, hour, minute, second) * 1000 + Math.floor(nanos / 1000);
  }
  const iso = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/.exec(text);
  if (iso) {
    const [year, month, day, hour, minute, second] = iso.slice(1, 7).map(Number);
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
      return undefined;
    const fraction = Number((iso[7] ?? '0').padEnd(6, '0').slice(0, 6));
    return Date.UTC(year, month - 1, day, hour, minute, second) * 1000 + fraction;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// HELLO and capabilities

export interface HelloReply {
  /** The first line before `::`, e.g. `SeedLink v4.0 (PhaseStream test server)`. */
  software: string;
  /** Capability flags after `::` (SLPROTO:4.0, NSWILDCARD, TIME, ...). */
  capabilities: string[];
  /** The second line: station or data center description. */
  organization: string;
}

export function parseHello(firstLine: string, secondLine: string): HelloReply {
  const split = firstLine.indexOf('::');
  const software = (split < 0 ? firstLine : firstLine.slice(0, split)).trim();
  const capabilities =
    split < 0
      ? []
      : firstLine
          .slice(split + 2)
          .trim()
          .split(/\s+/)
          .filter(Boolean);
  if (!/^SeedLink\b/i.test(software)) {
    throw new SeedLinkProtocolError(`not a SeedLink server: HELLO answered "${firstLine}"`, {
      hint: 'Check the host and port (SeedLink usually listens on 18000).',
    });
  }
  return { software, capabilities, organization: secondLine.trim() };
}

export function formatHello(options: {
  protocols: readonly SeedLinkProtocolVersion[];
  software: string;
  capabilities: readonly string[];
  organization: string;
}): string {
  const highest = options.protocols.includes('4.0') ? '4.0' : '3.1';
  const caps = [...options.protocols.map((p) => `SLPROTO:${p}`), ...options.capabilities].join(' ');
  return `SeedLink v${highest} (${options.software}) :: ${caps}\r\n${options.organization}\r\n`;
}

/** The highest protocol both sides allow; undefined when none. A server without SLPROTO flags speaks v3. */
export function chooseProtocol(
  capabilities: readonly string[],
  allowed: readonly SeedLinkProtocolVersion[],
): SeedLinkProtocolVersion | undefined {
  const offered = capabilities.filter((c) => /^SLPROTO:/i.test(c)).map((c) => c.slice(8));
  const serverHasV4 = offered.some((v) => v.startsWith('4.'));
  if (allowed.includes('4.0') && serverHasV4) return '4.0';
  const serverHasV3 = offered.length === 0 || offered.some((v) => v.startsWith('3.'));
  if (allowed.includes('3.1') && serverHasV3) return '3.1';
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Stream selectors

/**
 * A stream selection in SEED terms, translated to each protocol's SELECT syntax. `?` is one character,
 * `*` any run; a missing location means any location, '' the empty one.
 */
export interface StreamSelector {
  location?: string;
  channel: string;
  /** SeedLink record type: D data, E event, C calibration, T timing, L log, O opaque. */
  type?: string;
  /** Exclude the matching streams instead (`SELECT !...`). */
  exclude?: boolean;
}

const CODE_PATTERN = /^[A-Z0-9?*]*$/i;

function checkSelector(selector: StreamSelector): void {
  const { location, channel, type } = selector;
  if (
    channel.length === 0 ||
    !CODE_PATTERN.test(channel) ||
    (location !== undefined && !CODE_PATTERN.test(location))
  ) {
    throw new SeedLinkConfigError(
      `bad stream selector ${JSON.stringify(selector)}: codes are letters, digits and the wildcards ? and *`,
      { hint: 'e.g. { channel: "HH?" } or { location: "00", channel: "HHZ" }' },
    );
  }
  if (type !== undefined && !/^[DECOTL]$/.test(type)) {
    throw new SeedLinkConfigError(`bad stream selector type '${type}': one of D, E, C, O, T, L`);
  }
}

/** `LLCCC.T` (v3): `*` becomes the `?` run that fills the field, since v3 servers know only `?`. */
export function selectorToV3(selector: StreamSelector): string {
  checkSelector(selector);
  const fill = (code: string, width: number, field: string): string => {
    const fixed = code.replaceAll('*', '');
    const stars = code.length - fixed.length;
    if (fixed.length > width || (stars === 0 && code.length !== width) || stars > 1) {
      throw new SeedLinkConfigError(
        `stream selector ${field} '${code}' does not fit SeedLink 3's ${width}-character ${field} field`,
      );
    }
    return code.replace('*', '?'.repeat(width - fixed.length));
  };
  const { location, channel } = selector;
  const loc =
    location === undefined || location === '*' ? '' : location === '' ? '--' : fill(location, 2, 'location');
  const body = `${loc}${fill(channel, 3, 'channel')}`;
  return `${selector.exclude ? '!' : ''}${body}${selector.type ? `.${selector.type}` : ''}`;
}

/** `LOC_B_S_SS.FS` (v4): each channel character is one of band, source, subsource. */
export function selectorToV4(selector: StreamSelector): string {
  checkSelector(selector);
  const loc = selector.location ?? '*';
  const channel = [...selector.channel].join('_');
  const format = selector.type ? `.?${selector.type}` : '';
  return `${selector.exclude ? '!' : ''}${loc}_${channel}${format}`;
}

/** What a server matches a selector against. */
export interface StreamDescription {
  location: string;
  channel: string;
  /** SeedLink 4 stream ID (LOC_B_S_SS). */
  streamId: string;
  /** Data format code ('2' for miniSEED 2). */
  format: string;
  /** Record type / subformat (D, E, C, T, L, O). */
  type: string;
}

export interface StreamMatcher {
  exclude: boolean;
  matches(stream: StreamDescription): boolean;
}

/** Parses a SELECT argument as a server does; throws SeedLinkProtocolError for a malformed one. */
export function parseSelector(text: string, version: SeedLinkProtocolVersion): StreamMatcher {
  const exclude = text.startsWith('!');
  const body = exclude ? text.slice(1) : text;
  if (version === '4.0') {
    const [selection] = body.split(':');
    const dot = selection.indexOf('.');
    const streamPattern = dot < 0 ? selection : selection.slice(0, dot);
    const formatPattern = dot < 0 ? undefined : selection.slice(dot + 1);
    if (streamPattern === '' || !/^[A-Z0-9_?*-]+$/i.test(streamPattern)) {
      throw new SeedLinkProtocolError(`bad SELECT pattern '${text}'`);
    }
    const stream = globToRegExp(streamPattern);
    const format =
      formatPattern === undefined ? undefined : globToRegExp(formatPattern, { prefixOnly: true });
    return {
      exclude,
      matches: (s) =>
        stream.test(s.streamId) && (format === undefined || format.test(`${s.format}${s.type}`)),
    };
  }
  const dot = body.indexOf('.');
  const codes = (dot < 0 ? body : body.slice(0, dot)).replaceAll('-', ' ');
  const type = dot < 0 ? undefined : body.slice(dot + 1);
  if (type !== undefined && !/^[DECOTL]$/i.test(type))
    throw new SeedLinkProtocolError(`bad SELECT type in '${text}'`);
  if (!codes.includes('*') && codes.length !== 3 && codes.length !== 5) {
    throw new SeedLinkProtocolError(`bad SELECT pattern '${text}': LLCCC or CCC, optionally .T`);
  }
  const pattern = globToRegExp(codes.length === 3 && !codes.includes('*') ? `??${codes}` : codes);
  return {
    exclude,
    matches: (s) =>
      pattern.test(`${s.location.padEnd(2)}${s.channel.padEnd(3)}`) &&
      (type === undefined || type.toUpperCase() === s.type),
  };
}

/** A stream passes when it matches a positive selector (or there is none) and no negative one. */
export function selectorsMatch(matchers: readonly StreamMatcher[], stream: StreamDescription): boolean {
  const positives = matchers.filter((m) => !m.exclude);
  if (positives.length > 0 && !positives.some((m) => m.matches(stream))) return false;
  return !matchers.some((m) => m.exclude && m.matches(stream));
}

// ---------------------------------------------------------------------------------------------------
// DATA arguments

export function formatV3Sequence(sequence: bigint): string {
  return (sequence % V3_SEQUENCE_MODULUS).toString(16).toUpperCase().padStart(6, '0');
}

/** Where a DATA command positions a station's stream. */
export interface DataPosition {
  /** Resume after this packet (the last one received)... */
  lastSequence?: bigint;
  /**
   * ...whose data start time this is: ringserver trusts the sequence only when this second equals the
   * start second of that packet in its ring, and positions by this time otherwise.
   */
  lastStartTimeUs?: number;
  /** Without a sequence: the first packets whose data end at or after this time. */
  timeUs?: number;
}

/**
 * The DATA command for a position. After a packet: `DATA seq+1 start-of-that-packet` (3.1 hex, 4.0
 * decimal). By time only: `TIME time` on 3.1 and `DATA ALL time` on 4.0 -- never `DATA -1 time`, which
 * ringserver refuses ("Invalid sequence number"). Neither: `DATA`, the next packet to arrive.
 */
export function formatDataCommand(version: SeedLinkProtocolVersion, position: DataPosition): string {
  const { lastSequence, lastStartTimeUs, timeUs } = position;
  const format = version === '4.0' ? formatV4Time : formatV3Time;
  if (lastSequence !== undefined) {
    const seq = version === '4.0' ? String(lastSequence + 1n) : formatV3Sequence(lastSequence + 1n);
    return lastStartTimeUs === undefined ? `DATA ${seq}` : `DATA ${seq} ${format(lastStartTimeUs)}`;
  }
  if (timeUs === undefined) return 'DATA';
  return version === '4.0' ? `DATA ALL ${format(timeUs)}` : `TIME ${format(timeUs)}`;
}

export interface DataArguments {
  /** Requested sequence (the packet after the client's last); undefined for "next packet". */
  sequence?: bigint;
  /** 4.0 `DATA ALL`: from the oldest packet (or by the time, when one is given). */
  all: boolean;
  /** v3 sequences are the 24 low bits of the server's 64-bit ones. */
  lowBitsOnly: boolean;
  startTimeUs?: number;
  endTimeUs?: number;
}

/**
 * Parses DATA/FETCH arguments as ringserver does; throws SeedLinkProtocolError for malformed ones: on
 * 4.0 the sequence is decimal or ALL (`-1` is refused as an invalid sequence number), on 3.1 hex.
 */
export function parseDataArguments(args: readonly string[], version: SeedLinkProtocolVersion): DataArguments {
  const [seqText, startText, endText] = args;
  if (args.length > (version === '4.0' ? 3 : 2))
    throw new SeedLinkProtocolError(`Too many arguments for DATA`);
  let sequence: bigint | undefined;
  const all = version === '4.0' && seqText === 'ALL';
  if (seqText !== undefined && !all) {
    const ok = version === '4.0' ? /^\d{1,20}$/.test(seqText) : /^[0-9A-F]{1,6}$/i.test(seqText);
    if (!ok) throw new SeedLinkProtocolError(`Invalid sequence number '${seqText}'`);
    sequence = version === '4.0' ? BigInt(seqText) : BigInt(`0x${seqText}`);
  }
  const time = (text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const us = parseSeedLinkTime(text);
    if (us === undefined) throw new SeedLinkProtocolError(`bad time '${text}'`);
    return us;
  };
  return {
    sequence,
    all,
    lowBitsOnly: version === '3.1',
    startTimeUs: time(startText),
    endTimeUs: time(endText),
  };
}

// ---------------------------------------------------------------------------------------------------
// Packets

export interface WirePacket {
  /** An INFO reply (keep-alive answer), not data. */
  info: boolean;
  /** v4 sequence, or the 24-bit v3 one; 0 for v3 INFO packets. */
  sequence: bigint;
  /** v4 header station ID (NET_STA); v3 packets carry none. */
  stationId: string | undefined;
  /** '2' miniSEED 2, '3' miniSEED 3, 'J' JSON; v3 packets are always '2'. */
  format: string;
  /** 'D' data, 'I' info, 'E' error, ... */
  subformat: string;
  payload: Uint8Array;
}

const S = 0x53;
const L = 0x4c;
const E = 0x45;

function asciiAt(bytes: Uint8Array, start: number, length: number): string {
  let text = '';
  for (let i = start; i < start + length; i++) text += String.fromCharCode(bytes[i]);
  return text;
}

/**
 * Reads one packet at `offset`: the packet and its byte length, or undefined when more bytes are needed.
 * Throws SeedLinkProtocolError when the bytes cannot be the start of a packet.
 */
export function readPacket(
  bytes: Uint8Array,
  offset: number,
  version: SeedLinkProtocolVersion,
): { packet: WirePacket; length: number } | undefined {
  const available = bytes.length - offset;
  if (available < 2) return undefined;
  if (bytes[offset] !== S || bytes[offset + 1] !== (version === '4.0' ? E : L)) {
    throw new SeedLinkProtocolError(
      `expected a SeedLink ${version} packet, got bytes ${JSON.stringify(asciiAt(bytes, offset, Math.min(8, available)))}`,
    );
  }
  if (version === '3.1') {
    const length = V3_HEADER_LENGTH + V3_RECORD_LENGTH;
    if (available < length) return undefined;
    const header = asciiAt(bytes, offset, V3_HEADER_LENGTH);
    const payload = bytes.slice(offset + V3_HEADER_LENGTH, offset + length);
    if (header.startsWith('SLINFO')) {
      return {
        packet: { info: true, sequence: 0n, stationId: undefined, format: '2', subformat: 'I', payload },
        length,
      };
    }
    if (!/^SL[0-9A-F]{6}$/i.test(header))
      throw new SeedLinkProtocolError(`bad SeedLink 3 packet header "${header}"`);
    const sequence = BigInt(`0x${header.slice(2)}`);
    return {
      packet: { info: false, sequence, stationId: undefined, format: '2', subformat: 'D', payload },
      length,
    };
  }
  if (available < V4_FIXED_HEADER_LENGTH) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, V4_FIXED_HEADER_LENGTH);
  const format = String.fromCharCode(bytes[offset + 2]);
  const subformat = String.fromCharCode(bytes[offset + 3]);
  const payloadLength = view.getUint32(4, true);
  const sequence = view.getBigUint64(8, true);
  const stationIdLength = view.getUint8(16);
  if (payloadLength > V4_MAX_PAYLOAD_LENGTH || !/^[0-9A-Z]{2}$/.test(format + subformat)) {
    // Sequence and station are readable: a client can skip this packet after bounded tries.
    const stationKey =
      available >= V4_FIXED_HEADER_LENGTH + stationIdLength
        ? asciiAt(bytes, offset + V4_FIXED_HEADER_LENGTH, stationIdLength)
        : undefined;
    throw new SeedLinkProtocolError(
      `bad SeedLink 4 packet header: format '${format}${subformat}', payload length ${payloadLength}`,
      { sequence, stationKey },
    );
  }
  const headerLength = V4_FIXED_HEADER_LENGTH + stationIdLength;
  const length = headerLength + payloadLength;
  if (available < length) return undefined;
  const stationId = asciiAt(bytes, offset + V4_FIXED_HEADER_LENGTH, stationIdLength);
  const payload = bytes.slice(offset + headerLength, offset + length);
  return { packet: { info: format === 'J', sequence, stationId, format, subformat, payload }, length };
}

export function encodeV3Packet(sequence: bigint, record: Uint8Array): Uint8Array {
  if (record.length !== V3_RECORD_LENGTH) {
    throw new SeedLinkConfigError(
      `SeedLink 3 carries ${V3_RECORD_LENGTH}-byte records, got ${record.length} bytes`,
    );
  }
  const out = new Uint8Array(V3_HEADER_LENGTH + V3_RECORD_LENGTH);
  out.set(new TextEncoder().encode(`SL${formatV3Sequence(sequence)}`), 0);
  out.set(record, V3_HEADER_LENGTH);
  return out;
}

/** `SLINFO` + ' ' + ('*' when more INFO packets follow, else ' ') + a 512-byte log record. */
export function encodeV3InfoPacket(record: Uint8Array, more: boolean): Uint8Array {
  const out = new Uint8Array(V3_HEADER_LENGTH + V3_RECORD_LENGTH);
  out.set(new TextEncoder().encode(`SLINFO ${more ? '*' : ' '}`), 0);
  out.set(record.subarray(0, V3_RECORD_LENGTH), V3_HEADER_LENGTH);
  return out;
}

export function encodeV4Packet(packet: {
  format: string;
  subformat: string;
  sequence: bigint;
  stationId: string;
  payload: Uint8Array;
}): Uint8Array {
  const station = new TextEncoder().encode(packet.stationId);
  const out = new Uint8Array(V4_FIXED_HEADER_LENGTH + station.length + packet.payload.length);
  const view = new DataView(out.buffer);
  out[0] = S;
  out[1] = E;
  out[2] = packet.format.charCodeAt(0);
  out[3] = packet.subformat.charCodeAt(0);
  view.setUint32(4, packet.payload.length, true);
  view.setBigUint64(8, packet.sequence, true);
  view.setUint8(16, station.length);
  out.set(station, V4_FIXED_HEADER_LENGTH);
  out.set(packet.payload, V4_FIXED_HEADER_LENGTH + station.length);
  return out;
}

/**
 * Reads one text line at `offset`, ended by CR, LF or CRLF; undefined when it is not complete. A LF that
 * arrives after the CR in a later chunk is left over: readers skip stray CR/LF bytes before the next
 * line or packet (see `skipLineBreaks`).
 */
export function readLine(bytes: Uint8Array, offset: number): { line: string; length: number } | undefined {
  for (let i = offset; i < bytes.length; i++) {
    if (bytes[i] === 0x0a || bytes[i] === 0x0d) {
      const end = bytes[i] === 0x0d && bytes[i + 1] === 0x0a ? i + 2 : i + 1;
      return { line: asciiAt(bytes, offset, i - offset), length: end - offset };
    }
  }
  return undefined;
}

/** The offset of the first byte at or after `offset` that is not CR or LF. */
export function skipLineBreaks(bytes: Uint8Array, offset: number): number {
  while (offset < bytes.length && (bytes[offset] === 0x0a || bytes[offset] === 0x0d)) offset++;
  return offset;
}
