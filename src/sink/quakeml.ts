import type { Pick, PickStatus } from '../picker/pick.ts';

/**
 * Picks as a QuakeML 1.2 (BED) document. QuakeML places picks only inside events, and PhaseStream
 * does not associate picks into events, so one event holds them all (no origin, no type) and says so
 * in its comment. Resource ids are derived from the pick id, so the same pick gets the same publicID
 * in every export.
 */

const AUTHORITY = 'smi:phasestream';

const EVALUATION_STATUS: Record<PickStatus, string> = {
  provisional: 'preliminary',
  final: 'confirmed',
  // A revised provisional pick gave way to its final pick, which is a pick of its own.
  revised: 'rejected',
  retracted: 'rejected',
};

/** A QuakeML ResourceReference path segment: only the characters its pattern allows. */
function idSegment(text: string): string {
  return text.replace(/[^\w\-.*()~']/g, '_');
}

export const pickPublicId = (pick: Pick) => `${AUTHORITY}/pick/${idSegment(pick.id)}`;
export const modelMethodId = (model: string) => `${AUTHORITY}/model/${idSegment(model)}`;

function xmlText(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

function pickElement(pick: Pick): string {
  const lines = [
    `      <pick publicID="${xmlText(pickPublicId(pick))}">`,
    '        <time>',
    `          <value>${pick.time}</value>`,
  ];
  if (pick.uncertaintyS !== undefined)
    lines.push(`          <uncertainty>${pick.uncertaintyS}</uncertainty>`);
  lines.push(
    '        </time>',
    `        <waveformID networkCode="${xmlText(pick.network)}" stationCode="${xmlText(pick.station)}" locationCode="${xmlText(pick.location)}" channelCode="${xmlText(pick.channel)}"/>`,
    `        <methodID>${xmlText(modelMethodId(pick.model))}</methodID>`,
    `        <phaseHint>${xmlText(pick.phase)}</phaseHint>`,
  );
  if (pick.polarity !== undefined) lines.push(`        <polarity>${pick.polarity}</polarity>`);
  lines.push(
    '        <evaluationMode>automatic</evaluationMode>',
    `        <evaluationStatus>${EVALUATION_STATUS[pick.status]}</evaluationStatus>`,
    '        <comment>',
    `          <text>probability=${pick.probability}</text>`,
    '        </comment>',
    '      </pick>',
  );
  return lines.join('\n');
}

/** The whole document; `eventId` names the event that holds the picks (stable for the same picks). */
export function quakeMlDocument(picks: Pick[]): string {
  const eventId =
    picks.length === 0 ? `${AUTHORITY}/event/empty` : `${AUTHORITY}/event/${idSegment(picks[0].id)}`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<q:quakeml xmlns="http://quakeml.org/xmlns/bed/1.2" xmlns:q="http://quakeml.org/xmlns/quakeml/1.2">',
    `  <eventParameters publicID="${AUTHORITY}/picks">`,
    `    <event publicID="${xmlText(eventId)}">`,
    '      <comment>',
    '        <text>Automatic picks by PhaseStream, not associated into an event: QuakeML 1.2 places picks only inside events.</text>',
    '      </comment>',
    ...picks.map(pickElement),
    '    </event>',
    '  </eventParameters>',
    '</q:quakeml>',
    '',
  ].join('\n');
}
