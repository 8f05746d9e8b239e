import { join } from 'node:path';
import t from 'tap';
import { PickSinks } from '../../src/app/sinks.ts';
import { checkConfig } from '../../src/config/load.ts';
import type { Pick } from '../../src/picker/pick.ts';
import { PickFile } from '../../src/sink/pick-file.ts';
import { launchChromium, skipUnlessChromium } from '../helpers/browser.ts';
import { testPicks } from '../helpers/picks.ts';

t.test(
  'the live page shows a provisional pick apart, then its final pick in its place; revised and retracted ones go',
  { skip: skipUnlessChromium() },
  async (t) => {
    const config = checkConfig({ page: { enabled: true }, sinks: { http: { port: 0 } } });
    const file = new PickFile(join(t.testdir(), 'picks.jsonl'), 'jsonl');
    const sinks = await PickSinks.open(config, file, { live: true, classes: ['noise', 'P', 'S'] });
    t.teardown(async () => {
      await sinks.close();
      await file.close();
    });
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`${sinks.url}/`);
    const rows = () =>
      page.evaluate(() =>
        [...document.querySelectorAll('#picks tbody tr')].map((row) => [
          (row as HTMLElement).dataset.id,
          row.className,
          row.children[2].textContent,
        ]),
      );
    const until = async (want: unknown[], what: string) => {
      const deadline = Date.now() + 10_000;
      let got: unknown[] = [];
      while (Date.now() < deadline) {
        got = await rows();
        if (JSON.stringify(got) === JSON.stringify(want)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      t.same(got, want, what);
    };
    const [a, b, c] = testPicks(3, 1);
    const provisional = (p: Pick): Pick => ({ ...p, status: 'provisional' });

    await sinks.write(provisional(a));
    await until([[a.id, 'provisional', 'P?']], 'a provisional pick is marked so');
    await sinks.write(a);
    await until([[a.id, 'final', 'P']], 'its final pick (same id) takes its place');

    const moved = { ...b, id: `${b.id}-moved` };
    await sinks.write(provisional(b));
    await sinks.write(provisional(c));
    await until(
      [
        [c.id, 'provisional', 'P?'],
        [b.id, 'provisional', 'S?'],
        [a.id, 'final', 'P'],
      ],
      'newest first',
    );
    await sinks.write({ ...b, status: 'revised', finalId: moved.id });
    await sinks.write(moved);
    await sinks.write({ ...c, status: 'retracted' });
    await until(
      [
        [moved.id, 'final', 'S'],
        [a.id, 'final', 'P'],
      ],
      'a revised pick gives way to its final pick, a retracted one goes',
    );
  },
);
