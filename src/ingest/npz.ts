import { readFileSync } from 'node:fs';
import { unzipSync, zipSync } from 'fflate';
import { WaveformFormatError } from '../errors.ts';

/**
 * Reader of NumPy `.npy` arrays and `.npz` archives (a zip of `.npy` files, stored or deflated), as
 * PhaseNet's training records come. Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 * Hand-written because no maintained npm package reads `.npy` version 1-3 with unicode arrays; the zip
 * layer is fflate's.
 */

export type NpyNumeric =
  | Float64Array
  | Float32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

export interface NpyArray {
  /** numpy's dtype string as written in the header, e.g. `<f8`, `<i8`, `<U11`. */
  descr: string;
  /** `[]` for a scalar (0-d array, one value). */
  shape: number[];
  /**
   * Row-major (C order) values: Fortran-ordered files are transposed on read, so callers never see
   * the order. 64-bit integers stay BigInt64Array/BigUint64Array (exact); `npyNumbers` converts.
   * Booleans are Uint8Array (0/1); unicode (`U`) and byte (`S`) strings are string[].
   */
  values: NpyNumeric | string[];
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

interface NumericType {
  bytes: number;
  make: (buffer: ArrayBuffer, count: number) => NpyNumeric;
  read: (view: DataView, offset: number, littleEndian: boolean) => number | bigint;
}

const NUMERIC_TYPES: Record<string, NumericType> = {
  f8: { bytes: 8, make: (b, n) => new Float64Array(b, 0, n), read: (v, o, le) => v.getFloat64(o, le) },
  f4: { bytes: 4, make: (b, n) => new Float32Array(b, 0, n), read: (v, o, le) => v.getFloat32(o, le) },
  i8: { bytes: 8, make: (b, n) => new BigInt64Array(b, 0, n), read: (v, o, le) => v.getBigInt64(o, le) },
  i4: { bytes: 4, make: (b, n) => new Int32Array(b, 0, n), read: (v, o, le) => v.getInt32(o, le) },
  i2: { bytes: 2, make: (b, n) => new Int16Array(b, 0, n), read: (v, o, le) => v.getInt16(o, le) },
  i1: { bytes: 1, make: (b, n) => new Int8Array(b, 0, n), read: (v, o) => v.getInt8(o) },
  u8: { bytes: 8, make: (b, n) => new BigUint64Array(b, 0, n), read: (v, o, le) => v.getBigUint64(o, le) },
  u4: { bytes: 4, make: (b, n) => new Uint32Array(b, 0, n), read: (v, o, le) => v.getUint32(o, le) },
  u2: { bytes: 2, make: (b, n) => new Uint16Array(b, 0, n), read: (v, o, le) => v.getUint16(o, le) },
  u1: { bytes: 1, make: (b, n) => new Uint8Array(b, 0, n), read: (v, o) => v.getUint8(o) },
  b1: { bytes: 1, make: (b, n) => new Uint8Array(b, 0, n), read: (v, o) => v.getUint8(o) },
};

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  dataOffset: number;
}

function formatError(source: string, message: string, cause?: unknown): WaveformFormatError {
  return new WaveformFormatError(`${source}: ${message}`, {
    hint: 'expected a NumPy .npy/.npz file as numpy.save/numpy.savez write it',
    cause,
  });
}

function parseHeader(bytes: Uint8Array, source: string): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw formatError(source, 'not a .npy array (no \\x93NUMPY magic)');
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerStart = 10;
    headerLength = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw formatError(source, 'truncated .npy header');
    headerStart = 12;
    headerLength = view.getUint32(8, true);
  } else {
    throw formatError(source, `unsupported .npy format version ${major}.${bytes[7]}`);
  }
  const dataOffset = headerStart + headerLength;
  if (bytes.length < dataOffset) throw formatError(source, 'truncated .npy header');
  // Version 3 only differs by allowing utf-8 in the header (field names of structured dtypes).
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, dataOffset),
  );
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  if (descr === undefined) {
    const structured = /'descr'\s*:\s*\[/.test(header);
    throw formatError(
      source,
      structured ? 'structured (record) dtypes are not supported' : `no dtype in header ${header.trim()}`,
    );
  }
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (fortran === undefined || shapeText === undefined) {
    throw formatError(source, `malformed header ${header.trim()}`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim().replace(/L$/, '')) // Python 2 wrote longs as `9001L`
    .filter((s) => s.length > 0)
    .map((s) => {
      if (!/^\d+$/.test(s)) throw formatError(source, `malformed shape (${shapeText})`);
      return Number(s);
    });
  return { descr, fortranOrder: fortran === 'True', shape, dataOffset };
}

/** Row-major position of each Fortran-order element, so that values can be reordered to C order. */
function fortranToC(count: number, shape: number[], copy: (cIndex: number, fIndex: number) => void): void {
  const index = new Array<number>(shape.length).fill(0);
  for (let f = 0; f < count; f++) {
    let c = 0;
    for (let d = 0; d < shape.length; d++) c = c * shape[d] + index[d];
    copy(c, f);
    for (let d = 0; d < shape.length; d++) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
}

function decodeStrings(
  data: Uint8Array,
  count: number,
  itemSize: number,
  unicode: boolean,
  littleEndian: boolean,
): string[] {
  const out: string[] = [];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const charBytes = unicode ? 4 : 1;
  for (let i = 0; i < count; i++) {
    const codePoints: number[] = [];
    for (let c = 0; c < itemSize; c++) {
      const offset = (i * itemSize + c) * charBytes;
      const code = unicode ? view.getUint32(offset, littleEndian) : data[offset];
      // numpy pads strings with NULs; it also strips trailing NULs when reading.
      if (code === 0) break;
      codePoints.push(code);
    }
    out.push(String.fromCodePoint(...codePoints));
  }
  return out;
}

/** Decode one `.npy` array. `source` names it in errors (e.g. `file.npz/data.npy`). */
export function readNpy(bytes: Uint8Array, source = '.npy'): NpyArray {
  const { descr, fortranOrder, shape, dataOffset } = parseHeader(bytes, source);
  const match = /^([<>|=])([a-zA-Z])(\d+)$/.exec(descr);
  if (!match) throw formatError(source, `unsupported dtype '${descr}'`);
  const [, order, kind, sizeText] = match;
  const littleEndian = order === '>' ? false : order === '<' || HOST_LITTLE_ENDIAN;
  const count = shape.reduce((a, b) => a * b, 1);
  const data = bytes.subarray(dataOffset);

  if (kind === 'U' || kind === 'S') {
    const itemSize = Number(sizeText);
    const needed = count * itemSize * (kind === 'U' ? 4 : 1);
    if (data.length < needed) throw formatError(source, `truncated: ${data.length} of ${needed} data bytes`);
    let values = decodeStrings(data, count, itemSize, kind === 'U', littleEndian);
    if (fortranOrder && shape.length > 1) {
      const c = new Array<string>(count);
      fortranToC(count, shape, (ci, fi) => {
        c[ci] = values[fi];
      });
      values = c;
    }
    return { descr, shape, values };
  }

  const type = NUMERIC_TYPES[`${kind}${sizeText}`];
  if (!type) throw formatError(source, `unsupported dtype '${descr}'`);
  const needed = count * type.bytes;
  if (data.length < needed) throw formatError(source, `truncated: ${data.length} of ${needed} data bytes`);
  let values: NpyNumeric;
  if (littleEndian === HOST_LITTLE_ENDIAN) {
    // Copy: the typed array needs an aligned, owned buffer (zip entries start at any offset).
    values = type.make(data.slice(0, needed).buffer, count);
  } else {
    values = type.make(new ArrayBuffer(needed), count);
    const view = new DataView(data.buffer, data.byteOffset, needed);
    const target = values as unknown as { [i: number]: number | bigint };
    for (let i = 0; i < count; i++) target[i] = type.read(view, i * type.bytes, littleEndian);
  }
  if (fortranOrder && shape.length > 1) {
    const c = type.make(new ArrayBuffer(needed), count) as unknown as { [i: number]: number | bigint };
    const f = values as unknown as { [i: number]: number | bigint };
    fortranToC(count, shape, (ci, fi) => {
      c[ci] = f[fi];
    });
    values = c as unknown as NpyNumeric;
  }
  return { descr, shape, values };
}

/**
 * Decode every array of an `.npz` archive, keyed by name without the `.npy` suffix (as np.load
 * gives them). `source` names the archive in errors.
 */
export function readNpz(bytes: Uint8Array, source = '.npz'): Map<string, NpyArray> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (cause) {
    throw formatError(source, `not a readable zip archive (${(cause as Error).message})`, cause);
  }
  const arrays = new Map<string, NpyArray>();
  for (const [name, entry] of Object.entries(entries)) {
    if (!name.endsWith('.npy')) continue;
    arrays.set(name.slice(0, -4), readNpy(entry, `${source}/${name}`));
  }
  return arrays;
}

/** Read and decode an `.npz` file. */
export function readNpzFile(path: string): Map<string, NpyArray> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw new WaveformFormatError(`cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  return readNpz(bytes, path);
}

/**
 * The values of a numeric array as float64 numbers. 64-bit integers beyond ±2^53 cannot be numbers
 * exactly and are refused rather than rounded (sample indices never get there).
 */
export function npyNumbers(array: NpyArray, source = 'array'): Float64Array {
  const { values } = array;
  if (Array.isArray(values)) throw formatError(source, `expected numbers, found strings ('${array.descr}')`);
  if (values instanceof Float64Array) return values;
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    const out = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw formatError(source, `integer ${v} does not fit a float64 exactly`);
      }
      out[i] = Number(v);
    }
    return out;
  }
  return Float64Array.from(values);
}

/** The values of a string array (`U` or `S` dtype). */
export function npyStrings(array: NpyArray, source = 'array'): string[] {
  if (!Array.isArray(array.values)) {
    throw formatError(source, `expected strings, found numbers ('${array.descr}')`);
  }
  return array.values;
}

/** One PhaseNet training record (`data`, `itp`, `its`, `channels` of the original's npz files). */
export interface PhaseNetRecord {
  /** Waveform, float64 row-major [length, 3] in E, N, Z order; vertical-only records have E, N zero. */
  data: Float64Array;
  /** Samples (rows of `data`). */
  length: number;
  /** Sample indices of the analyst P picks (the files store one int64 scalar; arrays are accepted). */
  itp: number[];
  /** Sample indices of the analyst S picks. */
  its: number[];
  /** Channel codes, e.g. ['HNE', 'HNN', 'HNZ'] or ['EHZ'] (the file stores one string joined by `_`). */
  channels: string[];
}

/**
 * Read a PhaseNet npz record. Absent `itp`/`its` give [] (PhaseNet's prediction files carry no
 * picks); non-finite pick values (NaN written for "no pick") are dropped.
 */
export function readPhaseNetNpz(path: string): PhaseNetRecord {
  const arrays = readNpzFile(path);
  const data = arrays.get('data');
  if (!data) throw formatError(path, `no 'data' array (found ${[...arrays.keys()].join(', ') || 'none'})`);
  if (data.shape.length !== 2 || data.shape[1] !== 3) {
    throw formatError(path, `'data' has shape [${data.shape}], expected [samples, 3] (E, N, Z)`);
  }
  const picks = (name: string): number[] => {
    const array = arrays.get(name);
    if (!array) return [];
    return Array.from(npyNumbers(array, `${path}/${name}`)).filter(Number.isFinite);
  };
  const channelsArray = arrays.get('channels');
  const channels = channelsArray
    ? npyStrings(channelsArray, `${path}/channels`)
        .flatMap((s) => s.split('_'))
        .filter((s) => s.length > 0)
    : [];
  return {
    data: npyNumbers(data, `${path}/data`),
    length: data.shape[0],
    itp: picks('itp'),
    its: picks('its'),
    channels,
  };
}

/** A numeric array to write: float64, float32 or int64 values, row-major. */
export interface NpyOutput {
  dtype: '<f8' | '<f4' | '<i8';
  /** `[]` for a scalar. */
  shape: number[];
  values: ArrayLike<number>;
}

/** Encodes one `.npy` array (format version 1.0), as numpy.save writes it. */
export function writeNpy(array: NpyOutput | { unicode: string }): Uint8Array {
  const isString = 'unicode' in array;
  const descr = isString ? `<U${Math.max(1, array.unicode.length)}` : array.dtype;
  const shape = isString ? [] : array.shape;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // The data starts on a 64-byte boundary; the header ends with a newline.
  header += `${' '.repeat(63 - ((10 + header.length) % 64))}\n`;
  let data: Uint8Array;
  if (isString) {
    // numpy stores an empty string as one NUL character.
    const codes = new Uint32Array(Math.max(1, array.unicode.length));
    Array.from(array.unicode).forEach((c, i) => {
      codes[i] = c.codePointAt(0)!;
    });
    data = new Uint8Array(codes.buffer);
  } else {
    const count = shape.reduce((a, b) => a * b, 1);
    if (array.values.length !== count) {
      throw new WaveformFormatError(
        `an array of shape [${shape}] needs ${count} values, got ${array.values.length}`,
      );
    }
    const typed =
      array.dtype === '<f8'
        ? Float64Array.from(array.values)
        : array.dtype === '<f4'
          ? Float32Array.from(array.values)
          : BigInt64Array.from(Array.from(array.values, (v) => BigInt(Math.round(v))));
    data = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  }
  const out = new Uint8Array(10 + header.length + data.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(data, 10 + header.length);
  return out;
}

/** Encodes an `.npz` archive of named arrays (stored, not deflated, as numpy.savez writes it). */
export function writeNpz(arrays: Record<string, NpyOutput | { unicode: string }>): Uint8Array {
  const entries: Record<string, Uint8Array> = {};
  for (const [name, array] of Object.entries(arrays)) entries[`${name}.npy`] = writeNpy(array);
  // A fixed time stamp: the same arrays give the same bytes (reproducible datasets).
  return zipSync(entries, { level: 0, mtime: new Date(Date.UTC(2000, 0, 1)) });
}

/**
 * A PhaseNet training record as the original's npz files hold it: `data` float32 [length, 3] in
 * E, N, Z; `itp`, `its` int64 scalars, or a float64 NaN where the record holds no such pick (the
 * reader drops non-finite picks); `channels` one string joined by `_`.
 */
export function encodePhaseNetNpz(record: {
  data: ArrayLike<number>;
  length: number;
  itp: number | null;
  its: number | null;
  channels: string[];
}): Uint8Array {
  const pick = (p: number | null): NpyOutput =>
    p === null ? { dtype: '<f8', shape: [], values: [Number.NaN] } : { dtype: '<i8', shape: [], values: [p] };
  return writeNpz({
    data: { dtype: '<f4', shape: [record.length, 3], values: record.data },
    itp: pick(record.itp),
    its: pick(record.its),
    channels: { unicode: record.channels.join('_') },
  });
}
