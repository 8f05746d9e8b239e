import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { launchChromium, skipUnlessChromium, startWithPage } from '../helpers/browser.ts';
import { repoRoot } from '../helpers/cli.ts';

// What a new user saw on the live page after `replay --page --hold` of the bundled example data (four
// stations, the bundled model), each with a screenshot in artifacts/.
const files = ['SYN01', 'SYN02', 'SYN03', 'SYN04'].flatMap((s) =>
  ['HHE', 'HHN', 'HHZ'].map((c) => join(repoRoot, `examples/synthetic/SY.${s}.00.${c}.mseed`)),
);

t.test('the live page after a held replay', { skip: skipUnlessChromium() }, async (t) => {
  const picksFile = join(t.testdir(), 'picks.jsonl');
  const replay = await startWithPage(['replay', ...files, '--page', '0', '--hold', '--output', picksFile]);
  t.teardown(() => {
    replay.child.kill('SIGKILL');
  });
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(replay.url);
  await page.locator('#progress-text', { hasText: 'done' }).waitFor({ timeout: 120_000 });
  await page.waitForTimeout(1000);
  mkdirSync(join(repoRoot, 'artifacts'), { recursive: true });
  const shot = (name: string) =>
    page.screenshot({ path: join(repoRoot, 'artifacts', `live-page-${name}.png`) });

  t.test('the first station is shown without a click', async (t) => {
    const first = await page.locator('#stations tbody tr').first().getAttribute('data-station');
    t.equal(await page.locator('#selected').textContent(), first);
    await page.waitForFunction(() => document.querySelectorAll('sp-seismograph').length === 5, undefined, {
      timeout: 30_000,
    });
    await shot('first-station');
  });

  t.test('an ended replay shows its stations ended, not in a gap with 0 ms latency', async (t) => {
    const rows = await page
      .locator('#stations tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].slice(1, 3).map((td) => td.textContent)),
      );
    t.equal(rows.length, 4);
    t.same(rows, Array(4).fill(['ended', '-']));
    await shot('ended');
  });

  t.test('the table is in pick time, newest first, though picks arrived in another order', async (t) => {
    const written = readFileSync(picksFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).time as string);
    t.notSame(written, [...written].sort(), 'the stations interleave: arrival order is not time order');
    const times = await page
      .locator('#picks tbody tr')
      .evaluateAll((trs) => trs.map((tr) => tr.querySelector('td')?.textContent ?? ''));
    t.equal(times.length, written.length);
    t.same(times, [...times].sort().reverse());
    t.same(
      times,
      written
        .map((time) => time.replace('T', ' ').slice(0, 23))
        .sort()
        .reverse(),
    );
    await shot('picks-in-time');
  });

  t.test('P and S flags do not share a graph, so they cannot overlap', async (t) => {
    const flags = await page.evaluate(() =>
      [...document.querySelectorAll('sp-seismograph')].map((graph) => ({
        trace: (graph as HTMLElement).dataset.trace,
        labels: [
          ...new Set(
            [...(graph.shadowRoot?.querySelectorAll('g.marker text') ?? [])].map((text) => text.textContent),
          ),
        ],
      })),
    );
    t.same(flags, [
      { trace: 'Z', labels: ['P'] },
      { trace: 'N', labels: ['S'] },
      { trace: 'E', labels: ['S'] },
      { trace: 'P', labels: ['P'] },
      { trace: 'S', labels: ['S'] },
    ]);
    await shot('flags');
  });
  t.same(errors, [], 'no errors in the page');
});
