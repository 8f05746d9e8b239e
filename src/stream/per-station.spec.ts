import { map, scan } from 'rxjs';
import t from 'tap';
import { marbles } from '../../test/stream/marbles.ts';
import { perChannel, perStation } from './per-station.ts';

const item = (station: string, channel: string, value = 0) => ({
  streamId: { network: 'XX', station, location: '', channel },
  value,
});
type Item = ReturnType<typeof item>;

/** Numbers each group's items from 1 (state per group) and fails on a negative value. */
const count = (group: import('rxjs').Observable<Item>, key: string) =>
  group.pipe(
    map((x) => {
      if (x.value < 0) throw new Error(`bad value at ${key}`);
      return x;
    }),
    scan((n) => n + 1, 0),
    map((n) => `${key}:${n}`),
  );

t.test(
  'perStation: channels of a site and sensor share a group; other sensors and sites do not',
  async (t) => {
    marbles(t).run(({ cold, expectObservable }) => {
      const items = cold('-a-b-c-d-|', {
        a: item('A', 'HHZ'),
        b: item('A', 'HHN'),
        c: item('A', 'HNZ'),
        d: item('B', 'HH1'),
      });
      expectObservable(items.pipe(perStation(count))).toBe('-w-x-y-z-|', {
        w: 'XX.A..HH:1',
        x: 'XX.A..HH:2',
        y: 'XX.A..HN:1',
        z: 'XX.B..HH:1',
      });
    });
  },
);

t.test('perChannel: one group per stream', async (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    const items = cold('-a-b-c-|', { a: item('A', 'HHZ'), b: item('A', 'HHN'), c: item('A', 'HHZ') });
    expectObservable(items.pipe(perChannel(count))).toBe('-x-y-z-|', {
      x: 'XX.A..HHZ:1',
      y: 'XX.A..HHN:1',
      z: 'XX.A..HHZ:2',
    });
  });
});

t.test('a failing station is reported and restarts afresh; the others go on', async (t) => {
  const failures: [string, string][] = [];
  marbles(t).run(({ cold, expectObservable }) => {
    const items = cold('-a-b-c-d-e-|', {
      a: item('A', 'HHZ'),
      b: item('B', 'HHZ'),
      c: item('B', 'HHZ', -1),
      d: item('A', 'HHZ'),
      e: item('B', 'HHZ'),
    });
    const out = items.pipe(
      perStation(count, { onError: (key, error) => failures.push([key, (error as Error).message]) }),
    );
    expectObservable(out).toBe('-w-x---y-z-|', {
      w: 'XX.A..HH:1',
      x: 'XX.B..HH:1',
      y: 'XX.A..HH:2',
      // B's state started over.
      z: 'XX.B..HH:1',
    });
  });
  t.strictSame(failures, [['XX.B..HH', 'bad value at XX.B..HH']]);
});

t.test('blocks and windows group by their station', async (t) => {
  const station = (name: string) => ({
    station: { network: 'XX', station: name, location: '00', channelPrefix: 'EH' },
  });
  marbles(t).run(({ cold, expectObservable }) => {
    const items = cold('-a-b-c-|', { a: station('A'), b: station('B'), c: station('A') });
    const out = items.pipe(
      perStation((group, key) =>
        group.pipe(
          scan((n) => n + 1, 0),
          map((n) => `${key}:${n}`),
        ),
      ),
    );
    expectObservable(out).toBe('-x-y-z-|', { x: 'XX.A.00.EH:1', y: 'XX.B.00.EH:1', z: 'XX.A.00.EH:2' });
  });
});
