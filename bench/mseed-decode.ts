/**
 * miniSEED decoding speed: PhaseStream's decoder against seisplotjs (parseDataRecords + decompress)
 * on the shared Steim2 archive ../shared/data/continuous-dev (512-byte records), in the same run.
 * Prints records/s and samples/s of each and their ratio.
 *
 * Usage: node --import tsx bench/mseed-decode.ts [--seconds 3] [--repeats 5] [--dir <folder of .mseed>]
 * (`--seconds` per decoder, split over the repeats).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { readMseedBuffer, readMseedFile } from '../src/ingest/mseed/index.ts';
import { measureRate, summarise } from './measure.ts';

/**
 * seisplotjs in Node: its bundle defines a custom element (`class extends HTMLDivElement`,
 * `customElements.define`) when it is imported, so those two globals must exist first.
 */
export async function loadSeisplotjs(): Promise<typeof import('seisplotjs')> {
  const scope = globalThis as Record<string, unknown>;
  scope.HTMLDivElement ??= class {};
  scope.customElements ??= { define() {}, get() {} };
  return import('seisplotjs');
}

interface DecoderRow {
  decoder: string;
  recordsPerS: number;
  samplesPerS: number;
  spread: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '3' },
      repeats: { type: 'string', default: '5' },
      dir: { type: 'string', default: join(import.meta.dirname, '../../shared/data/continuous-dev') },
    },
  });
  const timing = { seconds: Number(values.seconds), repeats: Number(values.repeats) };
  const paths = readdirSync(values.dir)
    .filter((name) => name.endsWith('.mseed'))
    .map((name) => join(values.dir, name));
  const files = paths.map((path) => readFileSync(path));
  const sp = await loadSeisplotjs();

  let records = 0;
  let samples = 0;
  for (const bytes of files) {
    for (const result of readMseedBuffer(bytes)) {
      if (result.error) throw result.error;
      records++;
      samples += result.record.sampleCount;
    }
  }
  const samplesPerRecord = samples / records;
  const bytesTotal = files.reduce((sum, bytes) => sum + bytes.length, 0);
  console.log(
    `${paths.length} files, ${(bytesTotal / 1e6).toFixed(1)} MB, ${records} records, ${samples} samples ` +
      `(${samplesPerRecord.toFixed(1)} per record)`,
  );

  const decoders: Record<string, () => Promise<number>> = {
    phasestream: async () => {
      let n = 0;
      for (const bytes of files) {
        for (const result of readMseedBuffer(bytes)) n += result.record === undefined ? 0 : 1;
      }
      return n;
    },
    'phasestream (file reader)': async () => {
      let n = 0;
      for (const path of paths) {
        for await (const result of readMseedFile(path)) n += result.record === undefined ? 0 : 1;
      }
      return n;
    },
    seisplotjs: async () => {
      let n = 0;
      for (const bytes of files) {
        const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
        for (const record of sp.miniseed.parseDataRecords(buffer)) {
          record.decompress();
          n++;
        }
      }
      return n;
    },
  };

  // Decoders take turns, the first one moving a place each round, so that load from other processes
  // on a shared machine falls on all of them alike; a first turn each warms up and is not counted.
  const names = Object.keys(decoders);
  const rates = new Map<string, number[]>(names.map((name) => [name, []]));
  for (let round = -1; round < timing.repeats; round++) {
    for (let turn = 0; turn < names.length; turn++) {
      const name = names[(turn + Math.max(round, 0)) % names.length];
      const rate = await measureRate(decoders[name], { seconds: timing.seconds / timing.repeats });
      if (round >= 0) rates.get(name)!.push(rate);
    }
  }
  const rows: DecoderRow[] = names.map((decoder) => {
    const summary = summarise(rates.get(decoder)!);
    return {
      decoder,
      recordsPerS: summary.median,
      samplesPerS: summary.median * samplesPerRecord,
      spread: summary.spread,
    };
  });
  console.table(
    rows.map((row) => ({
      decoder: row.decoder,
      'records/s': Math.round(row.recordsPerS),
      'Msamples/s': Number((row.samplesPerS / 1e6).toFixed(2)),
      spread: `${(row.spread * 100).toFixed(1)} %`,
    })),
  );
  const ours = rows.find((row) => row.decoder === 'phasestream')!;
  const theirs = rows.find((row) => row.decoder === 'seisplotjs')!;
  console.log(`phasestream / seisplotjs: ${(ours.recordsPerS / theirs.recordsPerS).toFixed(1)}x`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
