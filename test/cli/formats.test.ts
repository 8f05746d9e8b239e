import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOMParser, Element as XmlElement } from '@xmldom/xmldom';
import t from 'tap';
import { loadSeisplotjs } from '../../bench/mseed-decode.ts';
import type { Pick } from '../../src/picker/pick.ts';
import { nonLinLocDocument } from '../../src/sink/nonlinloc.ts';
import { quakeMlDocument } from '../../src/sink/quakeml.ts';
import { readPicks } from '../../src/sink/read-picks.ts';
import { repoRoot, runCli } from '../helpers/cli.ts';
import { testPicks } from '../helpers/picks.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const rng = sharedPath('schemas/quakeml-1.2.rng');
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0;
const skip = skipUnlessShared('schemas/quakeml-1.2.rng') || (!hasXmllint && 'needs xmllint (libxml2-utils)');

/** xmllint's verdict on a document against the QuakeML 1.2 RELAX NG schema. */
function validate(path: string): { ok: boolean; message: string } {
  const run = spawnSync('xmllint', ['--noout', '--relaxng', rng, path], { encoding: 'utf8' });
  return { ok: run.status === 0, message: run.stderr };
}

/** The picks of a QuakeML document as seisplotjs's QuakeML parser reads them. */
async function seisplotjsPicks(xml: string) {
  const sp = await loadSeisplotjs();
  // seisplotjs checks `instanceof Element`; in Node the DOM is xmldom's.
  (globalThis as Record<string, unknown>).Element ??= XmlElement;
  const doc = new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;
  const parameters = sp.quakeml.parseQuakeML(doc);
  return parameters.eventList.flatMap((event) => event.pickList);
}

t.test('the schema check itself refuses a bad document', { skip }, async (t) => {
  t.notOk(validate(sharedPath('schemas/examples/invalid_enum.xml')).ok, 'invalid_enum.xml refused');
  t.ok(validate(sharedPath('schemas/examples/quakeml_1.2_pick.xml')).ok, 'the valid example passes');
});

t.test('a replay writes QuakeML that the schema validates and seisplotjs reads back', { skip }, async (t) => {
  const dir = t.testdir();
  const files = ['HHE', 'HHN', 'HHZ'].map((c) => join(repoRoot, `examples/synthetic/SY.SYN01.00.${c}.mseed`));
  const jsonl = join(dir, 'picks.jsonl');
  const xml = join(dir, 'picks.xml');
  for (const [output, format] of [
    [jsonl, 'jsonl'],
    [xml, 'quakeml'],
  ]) {
    const run = await runCli(['replay', ...files, '--output', output, '--format', format]);
    t.equal(run.code, 0, run.stderr);
  }
  const picks = readPicks(jsonl);
  t.ok(picks.length >= 6, `${picks.length} picks in the replay`);
  t.ok(
    picks.filter((p) => p.uncertaintyS !== undefined).length >= picks.length / 2,
    'most picks have an uncertainty',
  );
  t.ok(
    picks.some((p) => p.phase === 'P' && p.polarity !== undefined),
    'P picks have a polarity',
  );
  const check = validate(xml);
  t.ok(check.ok, `schema: ${check.message}`);

  const read = await seisplotjsPicks(readFileSync(xml, 'utf8'));
  t.same(
    read.map((p) => ({
      id: p.publicId,
      station: `${p.networkCode}.${p.stationCode}.${p.locationCode}.${p.channelCode}`,
      phase: p.phaseHint,
      timeMs: p.time.toMillis(),
      uncertaintyS: p.timeQuantity.uncertainty,
      polarity: p.polarity,
      method: p.methodID,
      mode: p.evaluationMode,
      status: p.evaluationStatus,
      comment: p.comments.map((c) => c.text),
    })),
    picks.map((p) => ({
      id: `smi:phasestream/pick/${p.id}`,
      station: `${p.network}.${p.station}.${p.location}.${p.channel}`,
      phase: p.phase,
      timeMs: p.timeUs / 1000,
      uncertaintyS: p.uncertaintyS,
      polarity: p.polarity,
      method: `smi:phasestream/model/${p.model}`,
      mode: 'automatic',
      status: 'confirmed',
      comment: [`probability=${p.probability}`],
    })),
    'the same picks, in time order',
  );

  const exported = await runCli(['export', jsonl, '--format', 'quakeml']);
  t.equal(exported.code, 0, exported.stderr);
  t.equal(exported.stdout, readFileSync(xml, 'utf8'), 'export of the pick file = the replay, byte for byte');
});

const withLife = (): Pick[] => {
  const [a, b, c] = testPicks(3);
  return [
    { ...a, status: 'provisional', uncertaintyS: 0.031, polarity: 'positive' },
    { ...b, status: 'final', polarity: 'negative' },
    { ...c, status: 'retracted' },
  ];
};

t.test('status, uncertainty and polarity in QuakeML; ids stable; the schema agrees', { skip }, async (t) => {
  const picks = withLife();
  const doc = quakeMlDocument(picks);
  t.equal(quakeMlDocument(picks), doc, 'same picks, same document');
  const path = join(t.testdir(), 'life.xml');
  writeFileSync(path, doc);
  const check = validate(path);
  t.ok(check.ok, `schema: ${check.message}`);
  const read = await seisplotjsPicks(doc);
  t.same(
    read.map((p) => [p.evaluationStatus, p.polarity, p.timeQuantity.uncertainty]),
    [
      ['preliminary', 'positive', 0.031],
      ['confirmed', 'negative', undefined],
      ['rejected', undefined, undefined],
    ],
  );
});

t.test('a provisional pick then its final: the document holds it once, final', async (t) => {
  const dir = t.testdir();
  const [pick] = testPicks(1);
  const file = join(dir, 'picks.jsonl');
  writeFileSync(
    file,
    [{ ...pick, status: 'provisional' }, pick]
      .map((p) => JSON.stringify({ ...p, timeUs: undefined }))
      .join('\n'),
  );
  const run = await runCli(['export', file, '--format', 'quakeml']);
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stdout.match(/<pick /g)?.length, 1, 'one pick element');
  t.match(run.stdout, /<evaluationStatus>confirmed</);
});

t.test('NonLinLoc phase lines: fields where locators read them; retracted picks left out', async (t) => {
  const lines = nonLinLocDocument(withLife()).trim().split('\n');
  t.equal(lines.length, 2, 'the retracted pick is not there');
  const fields = lines.map((l) => l.split(/\s+/));
  const [a, b] = withLife();
  t.same(fields[0].slice(0, 11), [
    a.station,
    '?',
    '?',
    '?',
    a.phase,
    'U',
    '20240101',
    '0000',
    '0.0000',
    'GAU',
    '3.10e-02',
  ]);
  t.same(fields[1].slice(4, 11), [b.phase, 'D', '20240101', '0000', '0.3700', 'GAU', '5.00e-02']);
  t.equal(fields[0].length, 15, 'station ... coda, amplitude, period, prior weight');
});

t.test('export refuses what is not a pick file, and an unknown format', async (t) => {
  const dir = t.testdir({ 'bad.csv': 'a,b\n1,2\n' });
  const bad = await runCli(['export', join(dir, 'bad.csv'), '--format', 'quakeml']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /neither JSON lines nor a CSV of picks/);
  const format = await runCli(['export', join(dir, 'bad.csv'), '--format', 'sac']);
  t.equal(format.code, 2);
  t.match(format.stderr, /expected one of quakeml, nonlinloc/);
});
