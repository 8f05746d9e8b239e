import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FdsnError, UsageError } from '../../errors.ts';
import { readMseedBuffer } from '../mseed/index.ts';
import { isoFromEpochUs } from '../mseed/time.ts';

/**
 * Archived waveforms from an FDSN web service (fdsnws-dataselect 1), kept as miniSEED files in an
 * on-disk cache, which the replay then reads as it reads any archive.
 *
 * Why not seisplotjs's DataSelectQuery: it parses the response into its own records, while the
 * cache needs the bytes (and PhaseStream decodes with its own decoder), and it parses whatever body
 * comes, so a 400 or a 413 is not told apart from data.
 *
 * Each selection (`NET.STA` or `NET.STA.LOC.CHA`, with ? and *) is asked for in time chunks. A
 * 413 (request too large) splits the chunk in two, down to `minChunkS`; a 5xx or a broken
 * connection is retried with a growing wait; a 400 is an error that names what the server said. A
 * record is kept in the chunk where it starts (the server sends every record that overlaps the
 * window, so one crossing a boundary would otherwise come twice).
 */

export interface DataselectOptions {
  /** The service's base URL, e.g. `https://service.iris.edu` or `http://host:8080/fdsnws/dataselect/1`. */
  baseUrl: string;
  /** `NET.STA` or `NET.STA.LOC.CHA` selections, with ? and *. */
  stations: string[];
  startUs: number;
  endUs: number;
  /** Seconds of data per request (default 3600). */
  chunkS?: number;
  /** The shortest chunk a 413 may split to (default 60 s). */
  minChunkS?: number;
  /** Retries of a failed request (default 4), waiting `retryWaitMs` × 2^n (default 1000). */
  retries?: number;
  retryWaitMs?: number;
  /** Default `~/.cache/phasestream/fdsn`. */
  cacheDir?: string;
  /** Called after each chunk: chunks done, chunks known so far, bytes received. */
  onProgress?: (progress: { done: number; total: number; bytes: number; cached: boolean }) => void;
}

export interface DataselectResult {
  /** The cached miniSEED files holding data, in chunk order. */
  files: string[];
  /** Selections for which the service had no data at all in the range. */
  empty: string[];
  /** Requests made (chunks read from the cache are not). */
  requests: number;
}

/** The `query` URL of a base URL given with or without the service path. */
export function dataselectQueryUrl(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  if (base.endsWith('/query')) return base;
  if (/\/fdsnws\/dataselect\/\d+$/.test(base)) return `${base}/query`;
  return `${base}/fdsnws/dataselect/1/query`;
}

/** FDSN times: UTC without a zone, to the microsecond. */
const fdsnTime = (us: number) => isoFromEpochUs(us).replace(/Z$/, '');

function selectionParams(selection: string): Record<string, string> {
  const [net, sta, loc, cha] = selection.split('.');
  if (!net || !sta) {
    throw new UsageError(`--stations ${selection}: expected NET.STA or NET.STA.LOC.CHA`, {
      hint: 'e.g. --stations IU.ANMO or IU.ANMO.00.BH?',
    });
  }
  return {
    net,
    sta,
    ...(loc !== undefined && { loc: loc === '' ? '--' : loc }),
    ...(cha !== undefined && { cha }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server's error document, shortened to its first lines for a message. */
async function serverMessage(response: Response): Promise<string> {
  const text = (await response.text()).trim();
  return text.split('\n').slice(0, 3).join(' ').slice(0, 300);
}

type ChunkAnswer = { kind: 'data'; bytes: Uint8Array } | { kind: 'empty' } | { kind: 'too-large' };

async function fetchChunk(url: string, options: DataselectOptions): Promise<ChunkAnswer> {
  const retries = options.retries ?? 4;
  const waitMs = options.retryWaitMs ?? 1000;
  for (let attempt = 0; ; attempt++) {
    let failure: string;
    try {
      const response = await fetch(url);
      if (response.status === 200)
        return { kind: 'data', bytes: new Uint8Array(await response.arrayBuffer()) };
      if (response.status === 204 || response.status === 404) {
        await response.body?.cancel();
        return { kind: 'empty' };
      }
      if (response.status === 413) {
        await response.body?.cancel();
        return { kind: 'too-large' };
      }
      if (response.status < 500 && response.status !== 429) {
        throw new FdsnError(`${url}: HTTP ${response.status}: ${await serverMessage(response)}`, {
          hint:
            response.status === 401 || response.status === 403
              ? 'the data are restricted: this client asks anonymously'
              : 'check the base URL, the station selection and the times',
        });
      }
      failure = `HTTP ${response.status}: ${await serverMessage(response)}`;
    } catch (error) {
      if (error instanceof FdsnError) throw error;
      failure = (error as Error).message;
    }
    if (attempt >= retries) {
      throw new FdsnError(`${url} failed ${attempt + 1} times; last: ${failure}`, {
        hint: 'the service may be down; run again later (chunks already fetched are cached)',
      });
    }
    await sleep(waitMs * 2 ** attempt);
  }
}

/**
 * The bytes of the records that start in [fromUs, toUs), in order of start time: a service sends a
 * channel after another, and the replay reads a file in its order, so channels are interleaved here
 * as they would arrive live.
 */
function recordsStartingIn(bytes: Uint8Array, fromUs: number, toUs: number): Uint8Array {
  const kept: { startTimeUs: number; bytes: Uint8Array }[] = [];
  for (const result of readMseedBuffer(bytes)) {
    if (!result.record) continue;
    const { startTimeUs, recordLength } = result.record;
    if (startTimeUs >= fromUs && startTimeUs < toUs) {
      kept.push({ startTimeUs, bytes: bytes.subarray(result.offset, result.offset + recordLength) });
    }
  }
  return Buffer.concat(kept.sort((a, b) => a.startTimeUs - b.startTimeUs).map((r) => r.bytes));
}

/** Downloads (or finds in the cache) the selections' data over the range; see the module comment. */
export async function fetchDataselect(options: DataselectOptions): Promise<DataselectResult> {
  const { startUs, endUs } = options;
  if (!(endUs > startUs)) throw new UsageError('--end must be after --start');
  const chunkUs = (options.chunkS ?? 3600) * 1e6;
  const minChunkUs = (options.minChunkS ?? 60) * 1e6;
  const queryUrl = dataselectQueryUrl(options.baseUrl);
  const service = createHash('sha256').update(queryUrl).digest('hex').slice(0, 16);
  const cacheRoot = join(options.cacheDir ?? join(homedir(), '.cache', 'phasestream', 'fdsn'), service);
  // Data near the present may still arrive: such chunks are fetched again, never taken from the cache.
  const settledUs = Date.now() * 1000 - 3_600_000_000;

  const work: { selection: string; fromUs: number; toUs: number }[] = [];
  for (const selection of options.stations) {
    selectionParams(selection);
    // Chunk boundaries on multiples of the chunk length, so that replays of overlapping ranges share them.
    for (let fromUs = startUs; fromUs < endUs; ) {
      const toUs = Math.min(endUs, (Math.floor(fromUs / chunkUs) + 1) * chunkUs);
      work.push({ selection, fromUs, toUs });
      fromUs = toUs;
    }
  }
  const files: string[] = [];
  const withData = new Set<string>();
  let requests = 0;
  let bytes = 0;
  let done = 0;
  while (work.length > 0) {
    const { selection, fromUs, toUs } = work.shift()!;
    const dir = join(cacheRoot, selection.replaceAll('*', '_').replaceAll('?', '-'));
    // The first chunk also holds the records that start before the range and reach into it.
    const first = fromUs === startUs;
    const file = join(
      dir,
      `${fdsnTime(fromUs)}_${fdsnTime(toUs)}${first ? '.first' : ''}.mseed`.replaceAll(':', ''),
    );
    const cached = toUs <= settledUs && existsSync(file);
    if (!cached) {
      const params = new URLSearchParams({
        ...selectionParams(selection),
        starttime: fdsnTime(fromUs),
        endtime: fdsnTime(toUs),
        format: 'miniseed',
        nodata: '204',
      });
      requests++;
      const answer = await fetchChunk(`${queryUrl}?${params}`, options);
      if (answer.kind === 'too-large') {
        if (toUs - fromUs <= minChunkUs) {
          throw new FdsnError(
            `${queryUrl}: ${selection} is too large to request even for ${(toUs - fromUs) / 1e6} s (413)`,
            { hint: 'select fewer channels with NET.STA.LOC.CHA in --stations' },
          );
        }
        const midUs = fromUs + Math.ceil((toUs - fromUs) / 2 / 1e6) * 1e6;
        work.unshift({ selection, fromUs, toUs: midUs }, { selection, fromUs: midUs, toUs });
        continue;
      }
      const kept =
        answer.kind === 'data'
          ? recordsStartingIn(answer.bytes, first ? Number.NEGATIVE_INFINITY : fromUs, toUs)
          : new Uint8Array(0);
      bytes += kept.length;
      await mkdir(dir, { recursive: true });
      await writeFile(`${file}.partial`, kept);
      await rename(`${file}.partial`, file);
    }
    done++;
    if (statSync(file).size > 0) {
      files.push(file);
      withData.add(selection);
    }
    options.onProgress?.({ done, total: done + work.length, bytes, cached });
  }
  return { files, empty: options.stations.filter((s) => !withData.has(s)), requests };
}
