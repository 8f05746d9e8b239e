import { Gauge, type Registry } from 'prom-client';
import type { SeedLinkClientEvent } from '../ingest/seedlink/client.ts';
import type { Logger } from '../log.ts';
import type { SequenceRecord } from '../stream/index.ts';
import type { ChannelEvent } from '../stream/types.ts';
import type { HealthSource } from './sinks.ts';

/**
 * The health of live picking, per SeedLink connection (state, reconnects, age of the last packet) and
 * per station (age of the last sample, gaps, silence), for /healthz and /metrics. A station is silent
 * when nothing of it arrived for `silentAfterS` (a configured station that never sent anything counts
 * from the start); the log says so once when it goes silent and once when it comes back. A connection
 * that is not streaming, or a silent station, makes /healthz degraded, with the reason.
 */

export interface ConnectionHealth {
  state: 'connecting' | 'streaming' | 'disconnected';
  reconnects: number;
  /** Seconds since the last packet (null before the first). */
  lastPacketAgeS: number | null;
  /** Why the last connection ended. */
  lastError?: string;
}

export interface StationHealth {
  /** Seconds between now and the time of the newest sample (the data's latency). */
  lastSampleAgeS: number | null;
  /** Seconds since data of the station last arrived. */
  lastArrivalAgeS: number | null;
  gaps: number;
  silent: boolean;
}

interface StationEntry {
  lastSampleEndUs?: number;
  lastArrivalMs?: number;
  gaps: number;
  silent: boolean;
}

interface ConnectionEntry {
  state: ConnectionHealth['state'];
  reconnects: number;
  lastPacketMs?: number;
  lastError?: string;
}

export class LiveHealth implements HealthSource {
  readonly name = 'seedlink';

  private readonly connections = new Map<string, ConnectionEntry>();
  private readonly stations = new Map<string, StationEntry>();
  private readonly startedMs: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly options: {
      /** How long a station may say nothing. */
      silentAfterS: number;
      /** Configured stations (NET.STA, without wildcards) that count as silent before their first data. */
      expected: readonly string[];
      logger: Logger;
      clock?: () => number;
    },
  ) {
    this.startedMs = this.now();
    for (const station of options.expected) this.stations.set(station, { gaps: 0, silent: false });
    this.timer = setInterval(() => this.check(), 1000);
    this.timer.unref();
  }

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }

  /** A SeedLink client's event. */
  connectionEvent(server: string, event: SeedLinkClientEvent): void {
    const entry = this.connections.get(server) ?? { state: 'connecting', reconnects: 0 };
    this.connections.set(server, entry);
    if (event.type === 'streaming') entry.state = 'streaming';
    else if (event.type === 'disconnected') {
      entry.state = 'disconnected';
      entry.lastError = event.error?.message ?? event.reason;
    } else if (event.type === 'reconnecting') entry.reconnects++;
    else if (event.type === 'connecting')
      entry.state = entry.state === 'streaming' ? 'streaming' : 'connecting';
    else if (event.type === 'packet') entry.lastPacketMs = this.now();
  }

  /** A decoded record, as it arrives. */
  record = (record: SequenceRecord): void => {
    const key = `${record.streamId.network}.${record.streamId.station}`;
    const entry = this.stations.get(key) ?? { gaps: 0, silent: false };
    this.stations.set(key, entry);
    const endUs = record.startTimeUs + (record.samples.length / record.samplingRate) * 1e6;
    entry.lastSampleEndUs = Math.max(entry.lastSampleEndUs ?? endUs, endUs);
    entry.lastArrivalMs = this.now();
    if (entry.silent) {
      entry.silent = false;
      this.options.logger.info({ station: key }, 'station is sending again');
    }
  };

  channelEvent = (event: ChannelEvent): void => {
    if (event.kind !== 'gap') return;
    const key = `${event.streamId.network}.${event.streamId.station}`;
    const entry = this.stations.get(key) ?? { gaps: 0, silent: false };
    this.stations.set(key, entry);
    entry.gaps++;
  };

  /** Marks stations silent (logging each once) by the time since their last data. */
  check(): void {
    const now = this.now();
    for (const [station, entry] of this.stations) {
      const quietMs = now - (entry.lastArrivalMs ?? this.startedMs);
      if (!entry.silent && quietMs >= this.options.silentAfterS * 1000) {
        entry.silent = true;
        this.options.logger.warn(
          { station, silentS: Math.round(quietMs / 1000) },
          entry.lastArrivalMs === undefined ? 'station has sent nothing yet' : 'station went silent',
        );
      }
    }
  }

  connectionsReport(): Record<string, ConnectionHealth> {
    const now = this.now();
    return Object.fromEntries(
      [...this.connections].map(([server, c]) => [
        server,
        {
          state: c.state,
          reconnects: c.reconnects,
          lastPacketAgeS: c.lastPacketMs === undefined ? null : (now - c.lastPacketMs) / 1000,
          ...(c.lastError !== undefined && { lastError: c.lastError }),
        },
      ]),
    );
  }

  stationsReport(): Record<string, StationHealth> {
    const now = this.now();
    return Object.fromEntries(
      [...this.stations].map(([station, s]) => [
        station,
        {
          lastSampleAgeS: s.lastSampleEndUs === undefined ? null : (now * 1000 - s.lastSampleEndUs) / 1e6,
          lastArrivalAgeS: s.lastArrivalMs === undefined ? null : (now - s.lastArrivalMs) / 1000,
          gaps: s.gaps,
          silent: s.silent,
        },
      ]),
    );
  }

  report(): Record<string, unknown> {
    return { connections: this.connectionsReport(), stations: this.stationsReport() };
  }

  /** What makes /healthz degraded. */
  problems(): string[] {
    const problems: string[] = [];
    for (const [server, c] of this.connections) {
      if (c.state !== 'streaming')
        problems.push(`SeedLink ${server} is ${c.state}${c.lastError ? `: ${c.lastError}` : ''}`);
    }
    for (const [station, s] of this.stations) if (s.silent) problems.push(`station ${station} is silent`);
    return problems;
  }

  /** The per-connection and per-station series on /metrics. */
  register(registry: Registry): void {
    const gauge = (
      name: string,
      help: string,
      label: string,
      read: () => Iterable<[string, number | null]>,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: [label],
        registers: [registry],
        collect() {
          this.reset();
          for (const [key, value] of read()) if (value !== null) this.set({ [label]: key }, value);
        },
      });
    const connections = () => Object.entries(this.connectionsReport());
    const stations = () => Object.entries(this.stationsReport());
    gauge('phasestream_seedlink_connected', '1 while the SeedLink connection streams', 'server', () =>
      connections().map(([k, c]) => [k, Number(c.state === 'streaming')]),
    );
    gauge('phasestream_seedlink_reconnects', 'reconnects since the start', 'server', () =>
      connections().map(([k, c]) => [k, c.reconnects]),
    );
    gauge('phasestream_seedlink_last_packet_age_seconds', 'seconds since the last packet', 'server', () =>
      connections().map(([k, c]) => [k, c.lastPacketAgeS]),
    );
    gauge(
      'phasestream_station_last_sample_age_seconds',
      'now minus the time of the newest sample',
      'station',
      () => stations().map(([k, s]) => [k, s.lastSampleAgeS]),
    );
    gauge('phasestream_station_gaps', 'gaps since the start', 'station', () =>
      stations().map(([k, s]) => [k, s.gaps]),
    );
    gauge('phasestream_station_silent', '1 while the station sends nothing', 'station', () =>
      stations().map(([k, s]) => [k, Number(s.silent)]),
    );
  }

  close(): void {
    clearInterval(this.timer);
  }
}
