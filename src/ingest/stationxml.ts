import { readFile } from 'node:fs/promises';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { StationMetadataError } from '../errors.ts';
import { channelParts } from '../stream/component.ts';
import type { StationAxes } from '../stream/rotate.ts';
import type { StationAxesLookup } from '../stream/rotate-to-zne.ts';
import type { StationId } from '../stream/types.ts';
import { isoToEpochUs } from '../train/continuous-truth.ts';

/**
 * FDSN StationXML (1.0 to 1.2): the channels' epochs, coordinates and orientation, which is all the
 * picker needs. Why not seisplotjs's parser: it needs a browser DOM (it tests `instanceof Element`
 * and reads the response stages with `firstElementChild`, which Node's XML parsers lack), and it
 * parses every response stage, which the picker never uses.
 */

const STATION_NS = 'http://www.fdsn.org/xml/station/1';

export interface ChannelMetadata {
  network: string;
  station: string;
  location: string;
  channel: string;
  /** The channel epoch [startUs, endUs); endUs undefined when open. */
  startUs: number;
  endUs?: number;
  latitude: number;
  longitude: number;
  elevationM: number;
  /** Degrees clockwise from north, and degrees down from horizontal (-90: vertical, up). */
  azimuthDeg?: number;
  dipDeg?: number;
}

export interface StationCoordinates {
  latitude: number;
  longitude: number;
  elevationM: number;
}

export interface StationInventory {
  channels: ChannelMetadata[];
  /** `NET.STA` -> the station's coordinates (the latest epoch's). */
  stations: Map<string, StationCoordinates>;
}

function children(parent: Element, name: string): Element[] {
  const out: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as Element).localName === name) out.push(node as Element);
  }
  return out;
}

function childNumber(parent: Element, name: string): number | undefined {
  const [el] = children(parent, name);
  if (!el) return undefined;
  const value = Number(el.textContent?.trim());
  return Number.isFinite(value) ? value : undefined;
}

function time(el: Element, attribute: string, where: string): number | undefined {
  const text = el.getAttribute(attribute);
  if (!text) return undefined;
  const us = isoToEpochUs(text);
  if (!Number.isFinite(us)) throw new StationMetadataError(`${where}: ${attribute} '${text}' is not a time`);
  return us;
}

/** Reads a StationXML document; `source` names it in errors. */
export function parseStationXml(xml: string, source: string): StationInventory {
  let root: Element | null;
  try {
    root = new DOMParser().parseFromString(xml, 'text/xml').documentElement;
  } catch (error) {
    throw new StationMetadataError(`${source} is not XML: ${(error as Error).message}`, {
      hint: 'give a StationXML file or an fdsnws-station query URL with level=channel',
    });
  }
  if (root?.localName !== 'FDSNStationXML' || root.namespaceURI !== STATION_NS) {
    throw new StationMetadataError(`${source} is not FDSN StationXML (no FDSNStationXML root element)`, {
      hint: 'give a StationXML file or an fdsnws-station query URL with level=channel',
    });
  }
  const channels: ChannelMetadata[] = [];
  const stations = new Map<string, StationCoordinates & { startUs: number }>();
  for (const net of children(root, 'Network')) {
    const network = net.getAttribute('code') ?? '';
    for (const sta of children(net, 'Station')) {
      const station = sta.getAttribute('code') ?? '';
      const where = `${source}: station ${network}.${station}`;
      const coordinates = {
        latitude: childNumber(sta, 'Latitude'),
        longitude: childNumber(sta, 'Longitude'),
        elevationM: childNumber(sta, 'Elevation') ?? 0,
      };
      if (coordinates.latitude === undefined || coordinates.longitude === undefined) {
        throw new StationMetadataError(`${where} has no Latitude or Longitude`);
      }
      const startUs = time(sta, 'startDate', where) ?? 0;
      const key = `${network}.${station}`;
      if ((stations.get(key)?.startUs ?? Number.NEGATIVE_INFINITY) <= startUs) {
        stations.set(key, { ...(coordinates as StationCoordinates), startUs });
      }
      for (const cha of children(sta, 'Channel')) {
        const channel = cha.getAttribute('code') ?? '';
        const location = cha.getAttribute('locationCode') ?? '';
        const chaWhere = `${where}, channel ${location}.${channel}`;
        channels.push({
          network,
          station,
          location,
          channel,
          startUs: time(cha, 'startDate', chaWhere) ?? 0,
          endUs: time(cha, 'endDate', chaWhere),
          latitude: childNumber(cha, 'Latitude') ?? (coordinates.latitude as number),
          longitude: childNumber(cha, 'Longitude') ?? (coordinates.longitude as number),
          elevationM: childNumber(cha, 'Elevation') ?? coordinates.elevationM,
          azimuthDeg: childNumber(cha, 'Azimuth'),
          dipDeg: childNumber(cha, 'Dip'),
        });
      }
    }
  }
  return {
    channels,
    stations: new Map([...stations].map(([k, { startUs: _, ...c }]) => [k, c])),
  };
}

/** StationXML from a file, or from an fdsnws-station URL (http or https). */
export async function loadStationXml(fileOrUrl: string): Promise<StationInventory> {
  if (/^https?:\/\//.test(fileOrUrl)) {
    let response: Response;
    try {
      response = await fetch(fileOrUrl);
    } catch (error) {
      throw new StationMetadataError(`${fileOrUrl} cannot be reached: ${(error as Error).message}`);
    }
    if (response.status === 204 || response.status === 404) {
      throw new StationMetadataError(`${fileOrUrl}: the station service has no stations for this query`);
    }
    if (!response.ok) {
      throw new StationMetadataError(`${fileOrUrl}: HTTP ${response.status} ${await response.text()}`.trim());
    }
    return parseStationXml(await response.text(), fileOrUrl);
  }
  let text: string;
  try {
    text = await readFile(fileOrUrl, 'utf8');
  } catch (error) {
    throw new StationMetadataError(`${fileOrUrl} cannot be read: ${(error as Error).message}`);
  }
  return parseStationXml(text, fileOrUrl);
}

const UP: { azimuthDeg: number; dipDeg: number } = { azimuthDeg: 0, dipDeg: -90 };

/**
 * The sensor axes of a station at a time, for rotation to ZNE: the channels of its band and
 * instrument whose epoch covers the time, each feeding its slot (1 and N feed N, 2 and E feed E).
 * Undefined when a horizontal's orientation is unknown; a vertical without one is taken as up.
 */
export function sensorAxesLookup(inventory: StationInventory): StationAxesLookup {
  const byStation = new Map<string, ChannelMetadata[]>();
  for (const c of inventory.channels) {
    const key = `${c.network}.${c.station}.${c.location}.${channelParts(c.channel).channelPrefix}`;
    byStation.set(key, [...(byStation.get(key) ?? []), c]);
  }
  return (station: StationId, timeUs: number) => {
    const key = `${station.network}.${station.station}.${station.location}.${station.channelPrefix}`;
    const axes: Partial<StationAxes> = {};
    for (const c of byStation.get(key) ?? []) {
      if (timeUs < c.startUs || (c.endUs !== undefined && timeUs >= c.endUs)) continue;
      const slot = channelParts(c.channel).component as keyof StationAxes | undefined;
      if (!slot || c.azimuthDeg === undefined || c.dipDeg === undefined) continue;
      axes[slot] ??= { azimuthDeg: c.azimuthDeg, dipDeg: c.dipDeg };
    }
    if (!axes.N || !axes.E) return undefined;
    return { Z: axes.Z ?? UP, N: axes.N, E: axes.E };
  };
}
