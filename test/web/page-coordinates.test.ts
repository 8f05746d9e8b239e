import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { launchChromium, skipUnlessChromium, startWithPage } from '../helpers/browser.ts';
import { repoRoot } from '../helpers/cli.ts';

// Two of the bundled example's stations; the StationXML knows only SYN01.
const files = ['SYN01', 'SYN02'].flatMap((s) =>
  ['HHE', 'HHN', 'HHZ'].map((c) => join(repoRoot, `examples/synthetic/SY.${s}.00.${c}.mseed`)),
);

const stationXml = `<?xml version="1.0" encoding="UTF-8"?>
<FDSNStationXML xmlns="http://www.fdsn.org/xml/station/1" schemaVersion="1.1">
  <Source>PhaseStream test</Source>
  <Created>2024-01-01T00:00:00Z</Created>
  <Network code="SY">
    <Station code="SYN01" startDate="2000-01-01T00:00:00Z">
      <Latitude>46.123456</Latitude>
      <Longitude>-7.25</Longitude>
      <Elevation>1203.6</Elevation>
      <Site><Name>synthetic</Name></Site>
    </Station>
  </Network>
</FDSNStationXML>
`;

t.test(
  'the live page shows the coordinates StationXML gives, and none where it gives none',
  {
    skip: skipUnlessChromium(),
  },
  async (t) => {
    const dir = t.testdir();
    const xml = join(dir, 'stations.xml');
    writeFileSync(xml, stationXml);
    const replay = await startWithPage([
      'replay',
      ...files,
      '--stationxml',
      xml,
      '--page',
      '0',
      '--hold',
      '--output',
      join(dir, 'picks.jsonl'),
    ]);
    t.teardown(() => {
      replay.child.kill('SIGKILL');
    });
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(replay.url);
    await page.locator('#progress-text', { hasText: 'done' }).waitFor({ timeout: 120_000 });
    await page.waitForTimeout(1500);
    const rows = await page
      .locator('#stations tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [
          (tr as HTMLElement).dataset.station,
          tr.querySelector('td.coordinates')?.textContent,
        ]),
      );
    t.same(rows, [
      ['SY.SYN01.00.HH', '46.1235, -7.2500, 1204 m'],
      ['SY.SYN02.00.HH', ''],
    ]);
    t.same(errors, [], 'no errors in the page');
  },
);
