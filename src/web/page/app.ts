import * as sp from 'seisplotjs';
import type { PickMessage } from '../../sink/broadcast/protocol.ts';
import type { PageMessage, TraceChunk } from '../messages.ts';
import type { StationStatus } from '../station-status.ts';

/**
 * The live page: the stations and their states, the chosen station's three components with its P
 * and S probabilities under them and the picks marked (seisplotjs), a filtered table of picks, and a
 * replay's progress. Everything comes over the WebSocket rebroadcast that subscribers use: its
 * `picks` stream and the page's own (src/web/messages.ts). Memory is bounded: traces keep
 * `DISPLAY_S` seconds, the table `MAX_PICKS` picks; drawing is throttled to `DRAW_MS`.
 */

const DISPLAY_S = 120;
const MAX_PICKS = 2000;
const SHOWN_PICKS = 300;
const DRAW_MS = 400;

const { DateTime, Interval } = sp.luxon;

interface Trace {
  startUs: number;
  samplingRate: number;
  data: number[];
  /** Made on first draw and kept: a chunk is drawn many times as the window moves on. */
  segment?: sp.seismogramsegment.SeismogramSegment;
}

const page = {
  socket: null as WebSocket | null,
  selected: null as string | null,
  stations: [] as StationStatus[],
  /** Per trace name (`Z`, `N`, `E`, `P`, `S`): chunks of the selected station, oldest first. */
  traces: new Map<string, Trace[]>(),
  picks: [] as PickMessage[],
  /** The last pick's sequence number: a reconnect resumes after it, so nothing comes twice. */
  pickSeq: null as number | null,
  /** Picks the rebroadcast could not send this page (it lagged): said beside the table. */
  missedPicks: 0,
  /** A replay that has ended: its stations get no more data, which is neither a gap nor latency. */
  replayDone: false,
  dirtyTraces: false,
  dirtyPicks: false,
  lastDrawMs: 0,
};

const $ = <T extends Element>(selector: string) => document.querySelector(selector) as T;
const stationOf = (p: PickMessage) => `${p.network}.${p.station}.${p.location}.${p.channel}`;

function connect(): void {
  const path = $<HTMLMetaElement>('meta[name=phasestream-ws]').content;
  const token = new URLSearchParams(location.search).get('token');
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  const socket = new WebSocket(
    `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}${query}`,
  );
  page.socket = socket;
  socket.onopen = () => {
    setConnection(true);
    const picks = page.pickSeq === null ? { since: '1970-01-01T00:00:00Z' } : { afterSeq: page.pickSeq };
    send({ v: 1, type: 'subscribe', streams: ['picks'], ...picks });
    send({ v: 1, type: 'subscribe', streams: ['stations', 'progress'] });
    if (page.selected) watch(page.selected);
  };
  socket.onclose = () => {
    setConnection(false);
    setTimeout(connect, 2000);
  };
  socket.onmessage = (event) => receive(JSON.parse(String(event.data)) as PageMessage);
}

function send(message: object): void {
  if (page.socket?.readyState === WebSocket.OPEN) page.socket.send(JSON.stringify(message));
}

/** Subscribing again replaces the filter: the station's history comes first, then its new traces. */
function watch(key: string): void {
  page.traces.clear();
  send({ v: 1, type: 'subscribe', streams: ['waveforms', 'probabilities'], filter: { stations: [key] } });
}

function setConnection(up: boolean): void {
  const badge = $<HTMLElement>('#connection');
  badge.textContent = up ? 'connected' : 'disconnected';
  badge.className = `connection ${up ? 'up' : 'down'}`;
}

function receive(message: PageMessage): void {
  switch (message.type) {
    case 'stations':
      page.stations = message.stations;
      drawStations();
      break;
    case 'waveform':
    case 'probability':
      if (message.station === page.selected) addTrace(message);
      break;
    case 'pick':
      page.pickSeq = message.seq;
      livePick(message.pick);
      if (page.picks.length > MAX_PICKS) page.picks.splice(0, page.picks.length - MAX_PICKS);
      page.dirtyPicks = true;
      if (stationOf(message.pick) === page.selected) page.dirtyTraces = true;
      break;
    case 'progress':
      drawProgress(message.fraction, message.picks, message.done);
      if (message.done && !page.replayDone) {
        page.replayDone = true;
        drawStations();
      }
      break;
    case 'gap':
      if (message.stream === 'picks') {
        page.missedPicks += message.missed;
        page.dirtyPicks = true;
      }
      break;
    case 'error':
      console.warn('rebroadcast:', message.message);
      break;
  }
}

function addTrace(chunk: TraceChunk): void {
  if ((chunk.data[0]?.length ?? 0) === 0) return;
  for (const [i, name] of chunk.names.entries()) {
    const chunks = page.traces.get(name) ?? [];
    chunks.push({ startUs: chunk.startUs, samplingRate: chunk.samplingRate, data: chunk.data[i] });
    page.traces.set(name, chunks);
  }
  page.dirtyTraces = true;
}

function traceEndUs(t: Trace): number {
  return t.startUs + (t.data.length * 1e6) / t.samplingRate;
}

function select(key: string): void {
  page.selected = key;
  $<HTMLElement>('#selected').textContent = key;
  watch(key);
  drawStations();
  page.dirtyTraces = true;
}

function drawStations(): void {
  const body = $<HTMLTableSectionElement>('#stations tbody');
  body.replaceChildren(
    ...page.stations.map((s) => {
      const row = document.createElement('tr');
      row.dataset.station = s.key;
      row.className = s.key === page.selected ? 'selected' : '';
      const last = s.lastPick ? `${s.lastPick.phase} ${s.lastPick.time.slice(11, 22)}` : '';
      const state = page.replayDone ? 'ended' : s.state;
      row.append(
        cell(`${s.network}.${s.station}.${s.location}.${s.channel}`),
        cell(state, `state ${state}`),
        cell(page.replayDone ? '-' : formatLatency(s.latencyMs)),
        cell(last),
        cell(s.coordinates ? formatCoordinates(s.coordinates) : '', 'coordinates'),
      );
      row.onclick = () => select(s.key);
      return row;
    }),
  );
  // The first station's traces show from the start; a click chooses another.
  if (page.selected === null && page.stations.length > 0) select(page.stations[0].key);
}

/** Four decimals of a degree are about 10 m, finer than a station's site. */
function formatCoordinates(at: NonNullable<StationStatus['coordinates']>): string {
  return `${at.latitude.toFixed(4)}, ${at.longitude.toFixed(4)}, ${Math.round(at.elevationM)} m`;
}

function cell(text: string, className = ''): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  td.className = className;
  return td;
}

function formatLatency(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

function drawProgress(fraction: number, picks: number, done: boolean): void {
  $<HTMLElement>('#progress').hidden = false;
  $<HTMLProgressElement>('#progress-bar').value = fraction;
  $<HTMLElement>('#progress-text').textContent =
    `${(fraction * 100).toFixed(1)} %, ${picks} picks${done ? ', done' : ''}`;
}

/** Wildcards `*` and `?` against NET.STA.LOC.BAND, as subscribers' station patterns. */
function matchesPattern(key: string, pattern: string): boolean {
  if (pattern === '') return true;
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}`).test(key);
}

/**
 * A pick's life on the page (docs/page.md): a provisional pick is shown at once, marked so; its final
 * pick (same id) takes its place, a revised one gives way to the final pick that follows it, and a
 * retracted one goes.
 */
function livePick(pick: PickMessage): void {
  const at = page.picks.findIndex((p) => p.id === pick.id);
  if (pick.status === 'revised' || pick.status === 'retracted') {
    if (at >= 0) page.picks.splice(at, 1);
  } else if (at >= 0) page.picks[at] = pick;
  else page.picks.push(pick);
}

function drawPicks(): void {
  const form = new FormData($<HTMLFormElement>('#pick-filter'));
  const station = String(form.get('station') ?? '').trim();
  const phase = String(form.get('phase') ?? '');
  const minProbability = Number(form.get('minProbability') ?? 0);
  // Picks arrive in the order their stations' data came; the table is in pick time (ISO 8601 strings
  // of one format sort as times).
  const shown = page.picks
    .filter(
      (p) =>
        matchesPattern(stationOf(p), station) &&
        (phase === '' || p.phase === phase) &&
        p.probability >= minProbability,
    )
    .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  const missed = page.missedPicks > 0 ? ` (${page.missedPicks} missed while this page lagged)` : '';
  $<HTMLElement>('#pick-count').textContent = `${shown.length} of ${page.picks.length} picks${missed}`;
  $<HTMLTableSectionElement>('#picks tbody').replaceChildren(
    ...shown
      .slice(-SHOWN_PICKS)
      .reverse()
      .map((p) => {
        const row = document.createElement('tr');
        row.className = p.status;
        row.dataset.id = p.id;
        row.append(
          cell(p.time.replace('T', ' ').slice(0, 23)),
          cell(stationOf(p)),
          cell(p.status === 'provisional' ? `${p.phase}?` : p.phase, `phase-${p.phase}`),
          cell(p.probability.toFixed(2)),
        );
        if (p.status === 'provisional') row.title = 'provisional: the final pick replaces it';
        return row;
      }),
  );
}

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumSignificantDigits: 3 });
const seismographs = new Map<string, sp.seismograph.Seismograph>();

function seismographFor(name: string): sp.seismograph.Seismograph {
  let graph = seismographs.get(name);
  if (!graph) {
    const config = new sp.seismographconfig.SeismographConfig();
    const probability = name === 'P' || name === 'S';
    config.title = [probability ? `${name} probability` : `component ${name}`];
    config.isXAxis = name === 'S';
    config.xLabel = '';
    config.yLabel = '';
    config.ySublabel = '';
    config.ySublabelIsUnits = false;
    config.yAxisNumTickHint = 3;
    config.wheelZoom = false;
    config.margin = { top: 16, right: 10, bottom: name === 'S' ? 22 : 4, left: 50 };
    config.amplitudeFormat = probability ? (v) => v.toFixed(1) : (v) => compact.format(v);
    if (probability) config.fixedAmplitudeScale = [0, 1];
    graph = new sp.seismograph.Seismograph([], config);
    graph.dataset.trace = name;
    seismographs.set(name, graph);
    $<HTMLElement>('#seismographs').append(graph);
  }
  return graph;
}

function drawTraces(): void {
  const [network, station, location, band] = (page.selected ?? '...').split('.');
  let newestUs = 0;
  for (const chunks of page.traces.values())
    for (const t of chunks) newestUs = Math.max(newestUs, traceEndUs(t));
  const fromUs = newestUs - DISPLAY_S * 1e6;
  const window = Interval.fromDateTimes(toDateTime(fromUs), toDateTime(newestUs));
  const markers = page.picks
    .filter((p) => stationOf(p) === page.selected)
    .map((p) => ({
      phase: p.phase,
      name: p.phase,
      time: DateTime.fromISO(p.time, { zone: 'utc' }),
      // seisplotjs draws a `predicted` marker apart from a `pick`: provisional picks look different.
      markertype: p.status === 'provisional' ? 'predicted' : 'pick',
      description: `${p.phase} ${p.probability.toFixed(2)}${p.status === 'provisional' ? ' provisional' : ''}`,
    }))
    .filter((m) => window.contains(m.time));
  for (const name of ['Z', 'N', 'E', 'P', 'S']) {
    const chunks = (page.traces.get(name) ?? []).filter((t) => traceEndUs(t) > fromUs);
    page.traces.set(name, chunks);
    if (chunks.length === 0) continue;
    const channel = name === 'P' || name === 'S' ? `${band}${name === 'P' ? 'X' : 'Y'}` : `${band}${name}`;
    const sourceId = sp.fdsnsourceid.FDSNSourceId.fromNslc(network, station, location, channel);
    const segments = chunks.map((t) => {
      t.segment ??= new sp.seismogramsegment.SeismogramSegment(
        Float32Array.from(t.data),
        t.samplingRate,
        toDateTime(t.startUs),
        sourceId,
      );
      return t.segment;
    });
    const data = sp.seismogram.SeismogramDisplayData.fromSeismogram(new sp.seismogram.Seismogram(segments));
    // One phase's flags per graph, so that a P and an S a second apart do not overlap ("PS"): P on
    // Z and the P probability, S on the horizontals and the S probability.
    const phase = name === 'Z' || name === 'P' ? 'P' : 'S';
    data.addMarkers(markers.filter((m) => m.phase === phase));
    const graph = seismographFor(name);
    graph.seismographConfig.fixedTimeScale = window;
    graph.seisData = [data];
    // An autoscaled graph only rescales its axis on new data; a full draw also places the markers.
    graph.redraw();
  }
}

function toDateTime(us: number) {
  return DateTime.fromMillis(us / 1000, { zone: 'utc' });
}

function frame(nowMs: number): void {
  requestAnimationFrame(frame);
  if (nowMs - page.lastDrawMs < DRAW_MS || !(page.dirtyTraces || page.dirtyPicks)) return;
  page.lastDrawMs = nowMs;
  const [traces, picks] = [page.dirtyTraces, page.dirtyPicks];
  page.dirtyTraces = false;
  page.dirtyPicks = false;
  if (picks) drawPicks();
  if (traces && page.selected) drawTraces();
}

$<HTMLFormElement>('#pick-filter').addEventListener('input', () => {
  page.dirtyPicks = true;
});
connect();
requestAnimationFrame(frame);
