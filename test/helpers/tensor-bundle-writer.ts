import { writeFile } from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';

/**
 * A minimal TensorBundle writer for tests: an uncompressed LevelDB table (prefix-compressed keys,
 * restart points, masked crc32c trailers, footer) and one data shard. Protobuf is encoded by hand
 * here so that the reader's protobufjs decoding is checked against an independent encoding.
 */

export interface TestTensor {
  name: string;
  shape: number[];
  values: Float32Array | Int32Array;
}

const mask = (crc: number) => (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;

function varint(value: number): number[] {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
  return out;
}

const fixed32 = (value: number) => [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24];
const field = (tag: number, bytes: number[]) => [tag, ...varint(bytes.length), ...bytes];

function entryProto(dtype: number, shape: number[], offset: number, size: number, crc: number): number[] {
  const dims = shape.flatMap((d) => field(0x12, [0x08, ...varint(d)]));
  return [
    0x08,
    dtype,
    ...field(0x12, dims),
    0x20,
    ...varint(offset),
    0x28,
    ...varint(size),
    0x35,
    ...fixed32(mask(crc)),
  ];
}

/** Builds one block: keys share prefixes with the previous key, restarting every `restartInterval`. */
function block(pairs: [Uint8Array, number[]][], restartInterval: number): number[] {
  const out: number[] = [];
  const restarts: number[] = [];
  let previous: Uint8Array = new Uint8Array(0);
  pairs.forEach(([key, value], i) => {
    let shared = 0;
    if (i % restartInterval === 0) restarts.push(out.length);
    else while (shared < key.length && shared < previous.length && key[shared] === previous[shared]) shared++;
    out.push(...varint(shared), ...varint(key.length - shared), ...varint(value.length));
    out.push(...key.subarray(shared), ...value);
    previous = key;
  });
  if (restarts.length === 0) restarts.push(0);
  for (const r of restarts) out.push(...fixed32(r));
  out.push(...fixed32(restarts.length));
  return out;
}

/**
 * Writes `<prefix>.index` and `<prefix>.data-00000-of-00001`. Small `blockBytes` spreads the
 * entries over several data blocks.
 */
export async function writeTensorBundle(
  prefix: string,
  tensors: TestTensor[],
  { blockBytes = 4096, restartInterval = 16 } = {},
): Promise<void> {
  const utf8 = new TextEncoder();
  const sorted = [...tensors].sort((a, b) => Buffer.compare(utf8.encode(a.name), utf8.encode(b.name)));
  const data: Uint8Array[] = [];
  let dataBytes = 0;
  const pairs: [Uint8Array, number[]][] = [[new Uint8Array(0), [0x08, 1, ...field(0x1a, [0x08, 1])]]];
  for (const t of sorted) {
    const bytes = new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength);
    const dtype = t.values instanceof Float32Array ? 1 : 3;
    pairs.push([utf8.encode(t.name), entryProto(dtype, t.shape, dataBytes, bytes.length, crc32c(bytes))]);
    data.push(bytes);
    dataBytes += bytes.length;
  }

  const file: number[] = [];
  const writeBlock = (contents: number[]) => {
    const handle = [...varint(file.length), ...varint(contents.length)];
    const withType = Uint8Array.from([...contents, 0]);
    file.push(...withType, ...fixed32(mask(crc32c(withType))));
    return handle;
  };
  const indexPairs: [Uint8Array, number[]][] = [];
  let pending: [Uint8Array, number[]][] = [];
  let pendingBytes = 0;
  const flush = () => {
    indexPairs.push([pending[pending.length - 1][0], writeBlock(block(pending, restartInterval))]);
    pending = [];
    pendingBytes = 0;
  };
  for (const pair of pairs) {
    pending.push(pair);
    pendingBytes += pair[0].length + pair[1].length;
    if (pendingBytes >= blockBytes) flush();
  }
  if (pending.length > 0) flush();
  const metaindexHandle = writeBlock(block([], 1));
  const indexHandle = writeBlock(block(indexPairs, 1));
  const footer = [...metaindexHandle, ...indexHandle];
  while (footer.length < 40) footer.push(0);
  footer.push(0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb);
  file.push(...footer);

  await writeFile(`${prefix}.index`, Uint8Array.from(file));
  await writeFile(`${prefix}.data-00000-of-00001`, Buffer.concat(data));
}
