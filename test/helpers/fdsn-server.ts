import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { endTimeUs, readMseedBuffer } from '../../src/ingest/mseed/index.ts';
import { isoToEpochUs } from '../../src/train/continuous-truth.ts';

/**
 * A local FDSN web service as strict as the specification (FDSN Web Service Specifications 1.2,
 * fdsnws-dataselect 1): GET /fdsnws/dataselect/1/query with the long and short parameter names,
 * `?` and `*` wildcards and comma lists, `--` for an empty location, times as
 * YYYY-MM-DDTHH:MM:SS[.ssssss], every record that overlaps the window, and the error document
 * (`Error <code>: ...`, the request, the time, the service version) with 400 for a bad request,
 * 204 (or 404 with nodata=404) for no data and 413 for a request larger than the server allows.
 * fdsnws-station 1 answers with a fixed StationXML document. Fault injection: the next n queries
 * answered 503.
 */

interface StoredRecord {
  key: string[];
  startUs: number;
  endUs: number;
  bytes: Uint8Array;
}

export interface FdsnServerOptions {
  /** miniSEED files served by dataselect. */
  files: string[];
  /** The largest request: matched channels × requested seconds (else 413). */
  maxChannelSeconds?: number;
  /** What fdsnws-station answers. */
  stationXml?: string;
}

const PARAMS: Record<string, string> = {
  starttime: 'starttime',
  start: 'starttime',
  endtime: 'endtime',
  end: 'endtime',
  network: 'network',
  net: 'network',
  station: 'station',
  sta: 'station',
  location: 'location',
  loc: 'location',
  channel: 'channel',
  cha: 'channel',
  quality: 'quality',
  minimumlength: 'minimumlength',
  longestonly: 'longestonly',
  format: 'format',
  nodata: 'nodata',
};

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z?$/;
const CODES = /^[A-Za-z0-9?*,-]*$/;

class BadRequest extends Error {}

function codeMatcher(list: string | undefined): (code: string) => boolean {
  if (list === undefined || list === '*') return () => true;
  if (!CODES.test(list)) throw new BadRequest(`'${list}' is not a list of codes with ? and *`);
  const patterns = list.split(',').map((p) => {
    const code = p === '--' ? '' : p;
    return new RegExp(`^${code.replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  });
  return (code) => patterns.some((p) => p.test(code));
}

export class FdsnServer {
  readonly requests: { url: string; status: number }[] = [];
  private failures = 0;
  private readonly records: StoredRecord[] = [];
  private readonly server: Server;

  private constructor(private readonly options: FdsnServerOptions) {
    for (const file of options.files) {
      const bytes = new Uint8Array(readFileSync(file));
      for (const result of readMseedBuffer(bytes)) {
        if (!result.record) continue;
        const { streamId: id, startTimeUs, recordLength } = result.record;
        this.records.push({
          key: [id.network, id.station, id.location, id.channel],
          startUs: startTimeUs,
          endUs: endTimeUs(result.record),
          bytes: bytes.subarray(result.offset, result.offset + recordLength),
        });
      }
    }
    this.server = createServer((req, res) => this.handle(req, res));
  }

  static async start(options: FdsnServerOptions): Promise<FdsnServer> {
    const server = new FdsnServer(options);
    await new Promise<void>((resolve) => server.server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The next `count` queries are answered 503 (service unavailable). */
  failNext(count: number): void {
    this.failures = count;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const status = this.answer(req, url, res);
    this.requests.push({ url: url.pathname + url.search, status });
  }

  private error(res: ServerResponse, url: URL, status: number, title: string, detail: string): number {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(
      `Error ${status}: ${title}\n\n${detail}\n\nRequest:\n${url.href}\n\nRequest Submitted:\n${new Date().toISOString()}\n\nService version:\n1.1.0\n`,
    );
    return status;
  }

  private answer(req: IncomingMessage, url: URL, res: ServerResponse): number {
    if (req.method !== 'GET') return this.error(res, url, 405, 'Method Not Allowed', 'GET only here');
    if (url.pathname === '/fdsnws/dataselect/1/version') {
      res.end('1.1.0');
      return 200;
    }
    if (url.pathname === '/fdsnws/station/1/query' && this.options.stationXml) {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(this.options.stationXml);
      return 200;
    }
    if (url.pathname !== '/fdsnws/dataselect/1/query')
      return this.error(res, url, 404, 'Not Found', url.pathname);
    if (this.failures > 0) {
      this.failures--;
      return this.error(res, url, 503, 'Service Unavailable', 'try again later');
    }
    try {
      return this.query(url, res);
    } catch (error) {
      if (error instanceof BadRequest) return this.error(res, url, 400, 'Bad Request', error.message);
      throw error;
    }
  }

  private query(url: URL, res: ServerResponse): number {
    const params: Record<string, string> = {};
    for (const [name, value] of url.searchParams) {
      const canonical = PARAMS[name];
      if (!canonical) throw new BadRequest(`unknown parameter '${name}'`);
      if (params[canonical] !== undefined) throw new BadRequest(`parameter '${name}' given twice`);
      params[canonical] = value;
    }
    for (const name of ['starttime', 'endtime']) {
      if (params[name] === undefined) throw new BadRequest(`${name} is required`);
      if (!TIME.test(params[name]))
        throw new BadRequest(`${name} '${params[name]}' is not YYYY-MM-DDTHH:MM:SS[.ssssss]`);
    }
    const startUs = isoToEpochUs(params.starttime);
    const endUs = isoToEpochUs(params.endtime);
    if (!(endUs > startUs)) throw new BadRequest('endtime must be after starttime');
    if (params.format !== undefined && params.format !== 'miniseed') {
      throw new BadRequest(`format '${params.format}' is not supported (miniseed)`);
    }
    const nodata = params.nodata ?? '204';
    if (nodata !== '204' && nodata !== '404')
      throw new BadRequest(`nodata must be 204 or 404, not '${nodata}'`);
    const matchers = ['network', 'station', 'location', 'channel'].map((n) => codeMatcher(params[n]));
    const channels = new Set<string>();
    const hits = this.records.filter((r) => {
      if (!matchers.every((m, k) => m(r.key[k]))) return false;
      channels.add(r.key.join('.'));
      return r.startUs < endUs && r.endUs > startUs;
    });
    const size = channels.size * ((endUs - startUs) / 1e6);
    if (this.options.maxChannelSeconds !== undefined && size > this.options.maxChannelSeconds) {
      return this.error(
        res,
        url,
        413,
        'Request Entity Too Large',
        `${channels.size} channels x ${(endUs - startUs) / 1e6} s exceeds ${this.options.maxChannelSeconds} channel-seconds`,
      );
    }
    if (hits.length === 0) {
      if (nodata === '404') return this.error(res, url, 404, 'Not Found', 'no data matches the request');
      res.writeHead(204);
      res.end();
      return 204;
    }
    res.writeHead(200, { 'content-type': 'application/vnd.fdsn.mseed' });
    res.end(Buffer.concat(hits.map((r) => r.bytes)));
    return 200;
  }
}
