import { once } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { launchChromium, skipUnlessChromium, startWithPage } from '../helpers/browser.ts';
import { repoRoot } from '../helpers/cli.ts';
import { originalModelDir } from '../helpers/original-model.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const devFiles = ['HHE', 'HHN', 'HHZ'].map((c) =>
  sharedPath('data', 'continuous-dev', `XX.DEV1.00.${c}.mseed`),
);
const skip =
  skipUnlessChromium() ||
  skipUnlessShared('data', 'continuous-dev') ||
  skipUnlessShared('models', 'phasenet-original');

t.test(
  'the live page of a replay: stations, waveforms, probabilities, picks, progress',
  { skip },
  async (t) => {
    const picksFile = join(t.testdir(), 'picks.jsonl');
    const replay = await startWithPage([
      'replay',
      ...devFiles,
      '--model',
      await originalModelDir(),
      '--speed',
      '150',
      '--page',
      '0',
      '--hold',
      '--output',
      picksFile,
    ]);
    t.teardown(() => {
      replay.child.kill('SIGKILL');
    });
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(replay.url);

    const row = page.locator('#stations tbody tr', { hasText: 'XX.DEV1.00.HH' });
    await row.waitFor({ timeout: 30_000 });
    t.match(await row.locator('.state').textContent(), /^(live|gap)$/, 'the station is live');
    await row.click();
    t.equal(await page.locator('#selected').textContent(), 'XX.DEV1.00.HH');

    // Each trace is a seisplotjs seismograph with data; picks come marked on them while the replay runs.
    const traces = () =>
      page.evaluate(() =>
        [...document.querySelectorAll('sp-seismograph')].map((graph) => {
          const g = graph as HTMLElement & { seisData: { seismogram: { numPoints: number } | null }[] };
          return {
            trace: g.dataset.trace,
            points: g.seisData[0]?.seismogram?.numPoints ?? 0,
            markers: g.shadowRoot?.querySelectorAll('g.marker').length ?? 0,
          };
        }),
      );
    await page.waitForFunction(() => document.querySelectorAll('sp-seismograph').length === 5, undefined, {
      timeout: 30_000,
    });
    // At x150 the 2.6 h replay lasts about a minute: the polling below sees picks come into view while
    // it runs even when the page is slow to start, as the last two minutes of the record hold none.
    // P flags go on Z and the P probability, S flags on N, E and the S probability: each trace is
    // marked once a pick of its phase is in view (not necessarily all at the same moment).
    const markedTraces = new Set<string | undefined>();
    let marked = false;
    for (let i = 0; i < 120 && !marked; i++) {
      for (const trace of await traces()) if (trace.markers > 0) markedTraces.add(trace.trace);
      marked = markedTraces.size === 5;
      if (!marked) await page.waitForTimeout(500);
    }
    const shown = await traces();
    t.same(
      shown.map((trace) => trace.trace),
      ['Z', 'N', 'E', 'P', 'S'],
      'three components, then the P and S probabilities',
    );
    t.ok(
      shown.every((trace) => trace.points > 1000),
      `every trace has data: ${shown.map((s) => `${s.trace} ${s.points}`).join(', ')}`,
    );
    t.ok(marked, `picks are marked on every trace (marked: ${[...markedTraces].join(', ')})`);

    await page.locator('#progress-text', { hasText: 'done' }).waitFor({ timeout: 120_000 });
    mkdirSync(join(repoRoot, 'artifacts'), { recursive: true });
    await page.screenshot({ path: join(repoRoot, 'artifacts', 'live-page.png') });

    const written = readFileSync(picksFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    t.ok(written.length >= 100, `the replay picked the dev record (${written.length} picks)`);
    await page.waitForTimeout(1000);
    t.equal(await page.locator('#pick-count').textContent(), `${written.length} of ${written.length} picks`);
    const newest = written.slice(-5).map((p) => `${p.time.replace('T', ' ').slice(0, 23)} ${p.phase}`);
    const rows = await page.locator('#picks tbody tr').evaluateAll((trs) =>
      trs.slice(0, 5).map((tr) => {
        const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent);
        return `${cells[0]} ${cells[2]}`;
      }),
    );
    t.same(rows, newest.reverse(), 'the table shows the written picks, newest first');

    await page.selectOption('#pick-filter select[name=phase]', 'S');
    await page.fill('#pick-filter input[name=minProbability]', '0.9');
    const expected = written.filter((p) => p.phase === 'S' && p.probability >= 0.9).length;
    await page.locator('#pick-count', { hasText: `${expected} of ${written.length} picks` }).waitFor();
    const phases = await page.locator('#picks tbody td:nth-child(3)').allTextContents();
    t.ok(phases.length > 0 && phases.every((p) => p === 'S'), 'the phase filter shows S picks only');
    t.same(errors, [], 'no errors in the page');

    replay.child.kill('SIGINT');
    const [code] = await once(replay.child, 'exit');
    t.equal(code, 0, 'Ctrl-C ends a held page quietly');
  },
);
