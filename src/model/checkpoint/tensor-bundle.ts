/**
 * A reader of TensorFlow's TensorBundle checkpoints (`<prefix>.index` + `<prefix>.data-NNNNN-of-NNNNN`),
 * the format `tf.train.Saver` writes since TF 1.0. Hand-written because no npm package reads it and
 * the format is small: the index is a LevelDB-style SSTable (uncompressed blocks, each with a masked
 * crc32c) mapping tensor names to BundleEntryProto messages; the data files hold the raw tensors.
 * Every block and every tensor is checked against its crc32c, so a damaged checkpoint is refused with
 * the block or tensor that is wrong instead of giving silently wrong weights.
 */
import { readFile } from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import protobuf from 'protobufjs';
import { ModelFormatError } from '../../errors.ts';

// tensorflow/core/protobuf/tensor_bundle.proto and tensor_shape.proto, reduced to the fields read here.
const protoRoot = protobuf.parse(`
  syntax = "proto3";
  message VersionDef { int32 producer = 1; int32 min_consumer = 2; repeated int32 bad_consumers = 3; }
  message BundleHeaderProto { int32 num_shards = 1; int32 endianness = 2; VersionDef version = 3; }
  message TensorShapeProto {
    message Dim { int64 size = 1; string name = 2; }
    repeated Dim dim = 2;
    bool unknown_rank = 3;
  }
  message TensorSliceProto {
    message Extent { int64 start = 1; int64 length = 2; }
    repeated Extent extent = 1;
  }
  message BundleEntryProto {
    int32 dtype = 1;
    TensorShapeProto shape = 2;
    int32 shard_id = 3;
    int64 offset = 4;
    int64 size = 5;
    fixed32 crc32c = 6;
    repeated TensorSliceProto slices = 7;
  }
`).root;
const HeaderType = protoRoot.lookupType('BundleHeaderProto');
const EntryType = protoRoot.lookupType('BundleEntryProto');
const toObjectOptions = { longs: Number, defaults: true, arrays: true } as const;

/** LevelDB table magic 0xdb4775248b80fb57, stored little-endian in the last 8 bytes. */
const TABLE_MAGIC_LOW = 0x8b80fb57;
const TABLE_MAGIC_HIGH = 0xdb477524;
const FOOTER_BYTES = 48;
const BLOCK_TRAILER_BYTES = 5;
const CRC_MASK_DELTA = 0xa282ead8;

/** LevelDB stores crcs masked, so that crcs of data holding crcs stay well distributed. */
export function unmaskCrc32c(masked: number): number {
  const rot = (masked - CRC_MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}

/** TensorFlow DataType enum values (types.proto) whose tensors are fixed-width numbers. */
const DTYPES = {
  1: { name: 'float32', bytes: 4 },
  2: { name: 'float64', bytes: 8 },
  3: { name: 'int32', bytes: 4 },
  4: { name: 'uint8', bytes: 1 },
  5: { name: 'int16', bytes: 2 },
  6: { name: 'int8', bytes: 1 },
  9: { name: 'int64', bytes: 8 },
  10: { name: 'bool', bytes: 1 },
  17: { name: 'uint16', bytes: 2 },
  22: { name: 'uint32', bytes: 4 },
  23: { name: 'uint64', bytes: 8 },
} as const satisfies Record<number, { name: string; bytes: number }>;

export type BundleDType = (typeof DTYPES)[keyof typeof DTYPES]['name'];

export type BundleValues =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint8Array
  | Int16Array
  | Int8Array
  | BigInt64Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

export interface BundleHeader {
  numShards: number;
  /** 0 little-endian, 1 big-endian. */
  endianness: number;
  producerVersion: number;
}

/** One tensor's entry in the index, before its bytes are read. */
export interface BundleEntry {
  name: string;
  /** TensorFlow DataType enum value (1 = DT_FLOAT). */
  dtypeCode: number;
  /** Set for the fixed-width number types this reader decodes; undefined for strings, resources... */
  dtype?: BundleDType;
  shape: number[];
  shardId: number;
  offset: number;
  size: number;
  /** Unmasked crc32c of the tensor's bytes. */
  crc32c: number;
  /** A partitioned variable: its parts are stored under other keys. Not read by this reader. */
  sliced: boolean;
}

export interface BundleIndex {
  header: BundleHeader;
  /** In key order; the header's empty key is not among them. */
  entries: BundleEntry[];
}

export interface BundleTensor {
  name: string;
  dtype: BundleDType;
  shape: number[];
  values: BundleValues;
}

function formatError(message: string, hint?: string): ModelFormatError {
  return new ModelFormatError(message, {
    hint: hint ?? 'The checkpoint is damaged or not a TensorFlow checkpoint: copy or download it again.',
  });
}

/** Reads a varint (up to 64 bits, returned as a number: offsets and sizes stay far below 2^53). */
function readVarint(bytes: Uint8Array, pos: number, limit: number, what: () => string): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= limit) throw formatError(`${what()}: truncated varint`);
    const byte = bytes[pos++];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, pos];
    scale *= 128;
  }
  throw formatError(`${what()}: malformed varint`);
}

interface BlockHandle {
  offset: number;
  size: number;
}

function readBlockHandle(bytes: Uint8Array, pos: number, limit: number, what: () => string) {
  const [offset, p1] = readVarint(bytes, pos, limit, what);
  const [size, p2] = readVarint(bytes, p1, limit, what);
  return { handle: { offset, size } as BlockHandle, pos: p2 };
}

/** A block's contents, after checking its bounds, compression type and checksum. */
function readBlock(file: Uint8Array, handle: BlockHandle, what: string): Uint8Array {
  const end = handle.offset + handle.size;
  if (end + BLOCK_TRAILER_BYTES > file.length) {
    throw formatError(
      `${what} (offset ${handle.offset}, ${handle.size} bytes) lies past the end of the file (truncated?)`,
    );
  }
  const contents = file.subarray(handle.offset, end);
  const type = file[end];
  const stored = new DataView(file.buffer, file.byteOffset + end + 1, 4).getUint32(0, true);
  const actual = crc32c(file.subarray(end, end + 1), crc32c(contents));
  if (unmaskCrc32c(stored) !== actual) {
    throw formatError(`${what} (offset ${handle.offset}, ${handle.size} bytes): checksum mismatch`);
  }
  if (type !== 0) {
    throw formatError(
      `${what} (offset ${handle.offset}) is compressed (type ${type}); only uncompressed checkpoint indexes are supported`,
      'Re-save the checkpoint with TensorFlow (tf.train.Saver writes uncompressed indexes).',
    );
  }
  return contents;
}

/** The key/value pairs of one block: prefix-compressed keys, restart array and its count at the end. */
function parseBlock(block: Uint8Array, what: string): { key: Uint8Array; value: Uint8Array }[] {
  const fail = (detail: string) => formatError(`${what}: ${detail}`);
  if (block.length < 4) throw fail('too short to hold its restart count');
  const view = new DataView(block.buffer, block.byteOffset, block.length);
  const numRestarts = view.getUint32(block.length - 4, true);
  const restartsOffset = block.length - 4 - 4 * numRestarts;
  if (numRestarts === 0 || restartsOffset < 0) throw fail(`bad restart count ${numRestarts}`);
  const entries: { key: Uint8Array; value: Uint8Array }[] = [];
  let key = new Uint8Array(0);
  let pos = 0;
  const at = () => `${what}: entry at block offset ${pos}`;
  while (pos < restartsOffset) {
    const [shared, p1] = readVarint(block, pos, restartsOffset, at);
    const [nonShared, p2] = readVarint(block, p1, restartsOffset, at);
    const [valueLength, p3] = readVarint(block, p2, restartsOffset, at);
    if (shared > key.length || p3 + nonShared + valueLength > restartsOffset) {
      throw fail(`entry at block offset ${pos} overruns the block`);
    }
    const next = new Uint8Array(shared + nonShared);
    next.set(key.subarray(0, shared));
    next.set(block.subarray(p3, p3 + nonShared), shared);
    key = next;
    entries.push({ key, value: block.subarray(p3 + nonShared, p3 + nonShared + valueLength) });
    pos = p3 + nonShared + valueLength;
  }
  return entries;
}

/** Every key/value pair of an SSTable, in key order, each block's checksum verified. */
export function readSSTable(file: Uint8Array, source: string): { key: Uint8Array; value: Uint8Array }[] {
  if (file.length < FOOTER_BYTES) {
    throw formatError(
      `${source}: ${file.length} bytes is shorter than the 48-byte table footer (truncated?)`,
    );
  }
  const footerStart = file.length - FOOTER_BYTES;
  const view = new DataView(file.buffer, file.byteOffset, file.length);
  if (
    view.getUint32(file.length - 8, true) !== TABLE_MAGIC_LOW ||
    view.getUint32(file.length - 4, true) !== TABLE_MAGIC_HIGH
  ) {
    throw formatError(
      `${source}: bad table magic at the end of the file (truncated, or not a checkpoint index)`,
    );
  }
  const footerWhat = () => `${source}: table footer`;
  const metaindex = readBlockHandle(file, footerStart, file.length - 8, footerWhat);
  const { handle: indexHandle } = readBlockHandle(file, metaindex.pos, file.length - 8, footerWhat);
  const body = file.subarray(0, footerStart);
  const indexBlock = readBlock(body, indexHandle, `${source}: index block`);
  const pairs: { key: Uint8Array; value: Uint8Array }[] = [];
  for (const { value } of parseBlock(indexBlock, `${source}: index block (offset ${indexHandle.offset})`)) {
    const { handle } = readBlockHandle(value, 0, value.length, () => `${source}: index block entry`);
    const what = `${source}: data block at offset ${handle.offset}`;
    for (const pair of parseBlock(readBlock(body, handle, what), what)) pairs.push(pair);
  }
  return pairs;
}

function decodeProto<T>(type: protobuf.Type, bytes: Uint8Array, what: string): T {
  try {
    return type.toObject(type.decode(bytes), toObjectOptions) as T;
  } catch (error) {
    throw formatError(`${what}: cannot decode ${type.name} (${(error as Error).message})`);
  }
}

interface EntryMessage {
  dtype: number;
  shape?: { dim: { size: number }[]; unknownRank: boolean };
  shardId: number;
  offset: number;
  size: number;
  crc32c: number;
  slices: unknown[];
}

/** Parses the bytes of a `.index` file into the bundle header and the tensor entries. */
export function parseTensorBundleIndex(file: Uint8Array, source: string): BundleIndex {
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  let header: BundleHeader | undefined;
  const entries: BundleEntry[] = [];
  for (const { key, value } of readSSTable(file, source)) {
    if (key.length === 0) {
      const h = decodeProto<{ numShards: number; endianness: number; version?: { producer: number } }>(
        HeaderType,
        value,
        `${source}: bundle header`,
      );
      header = {
        numShards: h.numShards,
        endianness: h.endianness,
        producerVersion: h.version?.producer ?? 0,
      };
      continue;
    }
    const name = utf8.decode(key);
    const e = decodeProto<EntryMessage>(EntryType, value, `${source}: entry of tensor '${name}'`);
    const dtype = DTYPES[e.dtype as keyof typeof DTYPES]?.name;
    entries.push({
      name,
      dtypeCode: e.dtype,
      dtype,
      shape: (e.shape?.dim ?? []).map((d) => d.size),
      shardId: e.shardId,
      offset: e.offset,
      size: e.size,
      crc32c: unmaskCrc32c(e.crc32c),
      sliced: e.slices.length > 0,
    });
  }
  if (!header) throw formatError(`${source}: no bundle header (the entry under the empty key is missing)`);
  if (header.numShards < 1)
    throw formatError(`${source}: bundle header says ${header.numShards} data shards`);
  if (header.endianness !== 0) {
    throw formatError(
      `${source}: the checkpoint was written big-endian; only little-endian checkpoints are supported`,
      'Re-save the checkpoint with TensorFlow on a little-endian machine.',
    );
  }
  for (const entry of entries) {
    if (entry.shardId < 0 || entry.shardId >= header.numShards) {
      throw formatError(
        `${source}: tensor '${entry.name}' is in shard ${entry.shardId} of ${header.numShards}`,
      );
    }
  }
  return { header, entries };
}

const pad5 = (n: number) => String(n).padStart(5, '0');

export function dataFilePath(prefix: string, shard: number, numShards: number): string {
  return `${prefix}.data-${pad5(shard)}-of-${pad5(numShards)}`;
}

async function readCheckpointFile(path: string, prefix: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelFormatError(
      code === 'ENOENT'
        ? `checkpoint file not found: ${path}`
        : `cannot read checkpoint file ${path} (${code})`,
      {
        hint:
          `A TensorFlow checkpoint is given by its prefix (here '${prefix}'): the files <prefix>.index and ` +
          '<prefix>.data-00000-of-00001 must both be there. Check the path, or copy the missing file.',
        cause: error,
      },
    );
  }
}

/** The checkpoint prefix of a path that names one of its files (`x.ckpt.index` → `x.ckpt`). */
export function checkpointPrefix(path: string): string {
  return path.replace(/\.(index|data-\d{5}-of-\d{5})$/, '');
}

/** Lists the tensors of a checkpoint without reading their data. */
export async function listTensorBundle(prefix: string): Promise<BundleIndex> {
  prefix = checkpointPrefix(prefix);
  const path = `${prefix}.index`;
  return parseTensorBundleIndex(await readCheckpointFile(path, prefix), path);
}

/** Decodes one entry's bytes from its data shard, after checking bounds, size and crc32c. */
export function decodeBundleTensor(entry: BundleEntry, shard: Uint8Array, source: string): BundleTensor {
  const what = `${source}: tensor '${entry.name}' (offset ${entry.offset}, ${entry.size} bytes)`;
  const dtype = DTYPES[entry.dtypeCode as keyof typeof DTYPES];
  if (!dtype) throw formatError(`${what}: unsupported dtype ${entry.dtypeCode}`);
  if (entry.sliced) throw formatError(`${what}: partitioned variables are not supported`);
  const count = entry.shape.reduce((a, b) => a * b, 1);
  if (entry.size !== count * dtype.bytes) {
    throw formatError(`${what}: size does not fit shape [${entry.shape}] of ${dtype.name}`);
  }
  if (entry.offset + entry.size > shard.length) {
    throw formatError(`${what} lies past the end of the data file (${shard.length} bytes; truncated?)`);
  }
  const bytes = shard.subarray(entry.offset, entry.offset + entry.size);
  const actual = crc32c(bytes);
  if (actual !== entry.crc32c) {
    throw formatError(`${what}: checksum mismatch (stored ${entry.crc32c}, computed ${actual})`);
  }
  // A copy into a fresh, aligned buffer (Buffer#slice would not copy); typed arrays read it in
  // platform order, which is little-endian on every platform Node supports.
  const buffer = new Uint8Array(bytes).buffer;
  const values = {
    float32: () => new Float32Array(buffer),
    float64: () => new Float64Array(buffer),
    int32: () => new Int32Array(buffer),
    uint8: () => new Uint8Array(buffer),
    int16: () => new Int16Array(buffer),
    int8: () => new Int8Array(buffer),
    int64: () => new BigInt64Array(buffer),
    bool: () => new Uint8Array(buffer),
    uint16: () => new Uint16Array(buffer),
    uint32: () => new Uint32Array(buffer),
    uint64: () => new BigUint64Array(buffer),
  }[dtype.name]();
  return { name: entry.name, dtype: dtype.name, shape: entry.shape, values };
}

/**
 * Reads the given entries of a listed checkpoint (each must have a `dtype` and not be `sliced`),
 * loading each data shard once.
 */
export async function readBundleEntries(
  prefix: string,
  index: BundleIndex,
  entries: BundleEntry[],
): Promise<Map<string, BundleTensor>> {
  const shards = new Map<number, { path: string; bytes: Uint8Array }>();
  const tensors = new Map<string, BundleTensor>();
  for (const entry of entries) {
    let shard = shards.get(entry.shardId);
    if (!shard) {
      const path = dataFilePath(prefix, entry.shardId, index.header.numShards);
      shard = { path, bytes: await readCheckpointFile(path, prefix) };
      shards.set(entry.shardId, shard);
    }
    tensors.set(entry.name, decodeBundleTensor(entry, shard.bytes, shard.path));
  }
  return tensors;
}

/**
 * Reads every fixed-width numeric tensor of a checkpoint (float32, int64 global_step, ...).
 * Strings, resources and partitioned variables are left out; `listTensorBundle` shows them.
 * `include` picks tensors by entry, so that optimizer slots need not be read.
 */
export async function readTensorBundle(
  prefix: string,
  include: (entry: BundleEntry) => boolean = () => true,
): Promise<Map<string, BundleTensor>> {
  prefix = checkpointPrefix(prefix);
  const index = await listTensorBundle(prefix);
  const wanted = index.entries.filter((e) => e.dtype !== undefined && !e.sliced && include(e));
  return readBundleEntries(prefix, index, wanted);
}
