import { from, lastValueFrom, toArray } from 'rxjs';
import t from 'tap';
import { type LifecycleInput, stepLifecycle } from './lifecycle.ts';
import { makePick, type Pick } from './pick.ts';
import { pickLifecycle } from './pick-lifecycle.ts';

const A = { network: 'XX', station: 'A', location: '', channelPrefix: 'HH' };
const B = { network: 'XX', station: 'B', location: '', channelPrefix: 'HH' };
const at = (s: typeof A, phase: string, index: number): Pick => makePick(s, phase, index, 100, 0.9, 'm');
const prov = (p: Pick): LifecycleInput => ({ kind: 'provisional', pick: { ...p, status: 'provisional' } });
const fin = (p: Pick): LifecycleInput => ({ kind: 'final', pick: p });
const frontier = (s: typeof A, index: number): LifecycleInput => ({
  kind: 'frontier',
  station: `XX.${s.station}..HH`,
  timeUs: index * 10_000,
});

t.test(
  'the exact sequence: confirm, revise, retract with the second frontier, drop late or repeated ones',
  async (t) => {
    const inputs: LifecycleInput[] = [
      prov(at(A, 'P', 1000)),
      prov(at(A, 'P', 1020)), // the same P again, within the tolerance: dropped
      prov(at(B, 'P', 1000)),
      prov(at(A, 'S', 1500)),
      fin(at(B, 'P', 1000)), // confirms B's P
      fin(at(A, 'P', 1010)), // revises A's P
      prov(at(A, 'P', 1005)), // after its final: dropped
      prov(at(A, 'S', 2500)), // within the margin of the next frontier: kept until the end
      frontier(A, 3000), // takes effect with the next frontier
      fin(at(A, 'P', 1900)), // no provisional pick: passed on
      frontier(A, 3100), // now A's S (1500 < 3000 - 50 - 1000, the margin) is retracted
      prov(at(A, 'P', 2000)), // behind the last frontier (3100 - 50): the lane is late, dropped
      prov(at(B, 'S', 3000)), // still provisional at the end: retracted at completion
    ];
    const out = await lastValueFrom(
      from(inputs).pipe(pickLifecycle({ matchToleranceUs: 500_000 }), toArray()),
    );
    t.same(
      out.map((p) => [p.station, p.phase, p.timeUs / 10_000, p.status, p.finalId ?? null]),
      [
        ['A', 'P', 1000, 'provisional', null],
        ['B', 'P', 1000, 'provisional', null],
        ['A', 'S', 1500, 'provisional', null],
        ['B', 'P', 1000, 'final', null],
        ['A', 'P', 1000, 'revised', at(A, 'P', 1010).id],
        ['A', 'P', 1010, 'final', null],
        ['A', 'S', 2500, 'provisional', null],
        ['A', 'P', 1900, 'final', null],
        ['A', 'S', 1500, 'retracted', null],
        ['B', 'S', 3000, 'provisional', null],
        ['A', 'S', 2500, 'retracted', null],
        ['B', 'S', 3000, 'retracted', null],
      ],
    );
    t.equal(out[3].id, out[1].id, 'a confirmed pick keeps its id');
  },
);

t.test('a provisional pick older than the final picks kept is dropped: its final may be gone', async (t) => {
  const inputs: LifecycleInput[] = [
    fin(at(A, 'S', 1000)),
    fin(at(A, 'P', 8000)), // 70 s later: the S at 1000 is no longer kept
    prov(at(A, 'S', 1000)), // a lane 70 s behind: its final came long ago
    prov(at(A, 'S', 7500)), // within the finals kept, and no final near it: provisional
  ];
  const out = await lastValueFrom(from(inputs).pipe(pickLifecycle({ matchToleranceUs: 500_000 }), toArray()));
  t.same(
    out.map((p) => [p.phase, p.timeUs / 10_000, p.status]),
    [
      ['S', 1000, 'final'],
      ['P', 8000, 'final'],
      ['S', 7500, 'provisional'],
      ['S', 7500, 'retracted'],
    ],
  );
});

t.test("a step replaces its station's entry in place: no copy of every station's per input", async (t) => {
  const options = { matchToleranceUs: 500_000 };
  const first = stepLifecycle({}, options, frontier(A, 1000));
  const state = stepLifecycle(first.state, options, frontier(B, 1000)).state;
  const b = state['XX.B..HH'];
  const step = stepLifecycle(state, options, prov(at(A, 'P', 2000)));
  t.equal(step.state, state, 'the same table');
  t.equal(step.state['XX.B..HH'], b, "the other station's entry untouched");
  t.same(
    step.state['XX.A..HH'].pending.map((p) => p.timeUs),
    [at(A, 'P', 2000).timeUs],
  );
});
