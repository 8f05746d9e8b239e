/**
 * bench/synth.ts: grid-point updates per second of the finite-difference kernel of src/synth
 * (TypeScript on V8) against the same kernel in plain C (bench/synth-kernel.c), compiled here at run
 * time with gcc into a temporary directory. Both run the same homogeneous grid with a sponge and an
 * explosion, in turns, and must end with the same wavefield (checksum of |vz|).
 *
 *   npm run bench:synth
 *   node --import tsx bench/synth.ts --nx 600 --nz 300 --steps 300 --repeats 5 --json bench-synth.json
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { newWavefield, type StaggeredMedium, updateStress, updateVelocity } from '../src/synth/kernel.ts';

const { values } = parseArgs({
  options: {
    nx: { type: 'string', default: '600' },
    nz: { type: 'string', default: '300' },
    steps: { type: 'string', default: '300' },
    repeats: { type: 'string', default: '5' },
    cc: { type: 'string', default: 'gcc' },
    json: { type: 'string' },
  },
});
const [nx, nz, steps, repeats] = [values.nx, values.nz, values.steps, values.repeats].map(Number);

/** The bench medium of bench/synth-kernel.c, value for value. */
function benchMedium(): StaggeredMedium {
  const [rho, vp, vs] = [2000, 3000, 1700];
  const size = nx * nz;
  const sponge = (k: number, n: number) => {
    const edge = Math.min(k, n - 1 - k);
    if (edge >= 20) return 1;
    const a = (0.3 / 20) * (20 - edge);
    return Math.fround(Math.exp(-a * a));
  };
  const lam2mu = new Float32Array(size).fill(rho * vp * vp);
  const damp = new Float32Array(size);
  for (let j = 0; j < nz; j++) for (let i = 0; i < nx; i++) damp[j * nx + i] = sponge(i, nx) * sponge(j, nz);
  return {
    nx,
    nz,
    bx: new Float32Array(size).fill(1 / rho),
    bz: new Float32Array(size).fill(1 / rho),
    lam2mu,
    lam: new Float32Array(size).fill(rho * (vp * vp - 2 * vs * vs)),
    muxz: new Float32Array(size).fill(rho * vs * vs),
    damp,
  };
}

function runTypeScript(medium: StaggeredMedium): { seconds: number; checksum: number } {
  const h = 10;
  const dt = (0.5 * h) / 3000;
  const w = newWavefield(nx * nz);
  const source = Math.floor(nz / 2) * nx + Math.floor(nx / 2);
  const started = performance.now();
  for (let s = 0; s < steps; s++) {
    updateVelocity(w, medium, dt / h);
    updateStress(w, medium, dt / h);
    const t = (s + 0.5) * dt - 0.1;
    const a = (Math.PI * 15 * t) ** 2;
    const m = (dt * 1e12 * (1 - 2 * a) * Math.exp(-a)) / (h * h);
    w.sxx[source] -= m;
    w.szz[source] -= m;
  }
  const seconds = (performance.now() - started) / 1000;
  let checksum = 0;
  for (const v of w.vz) checksum += Math.abs(v);
  return { seconds, checksum };
}

const dir = mkdtempSync(join(tmpdir(), 'phasestream-bench-synth-'));
const builds = [
  { name: 'C gcc -O2', flags: ['-O2'] },
  { name: 'C gcc -O3 -march=native', flags: ['-O3', '-march=native'] },
];
const binaries = new Map<string, string>();
const notes: string[] = [];
try {
  for (const build of builds) {
    const binary = join(dir, build.name.replace(/[^a-zA-Z0-9]+/g, '-'));
    try {
      // -ffp-contract=off: no fused multiply-adds, so that C rounds as JavaScript does.
      execFileSync(values.cc, [
        ...build.flags,
        '-ffp-contract=off',
        '-o',
        binary,
        join(import.meta.dirname, 'synth-kernel.c'),
        '-lm',
      ]);
      binaries.set(build.name, binary);
    } catch (error) {
      notes.push(`${build.name}: could not compile (${(error as Error).message.split('\n')[0]})`);
    }
  }
  const medium = benchMedium();
  runTypeScript(medium); // warm-up: let V8 optimize the loops
  const results = new Map<string, { seconds: number[]; checksum: number }>();
  const record = (name: string, seconds: number, checksum: number) => {
    const entry = results.get(name) ?? { seconds: [], checksum };
    entry.seconds.push(seconds);
    results.set(name, entry);
  };
  const loadBefore = loadavg()[0];
  for (let r = 0; r < repeats; r++) {
    const ts = runTypeScript(medium);
    record('TypeScript (V8)', ts.seconds, ts.checksum);
    for (const [name, binary] of binaries) {
      const [seconds, checksum] = execFileSync(binary, [String(nx), String(nz), String(steps), '1'], {
        encoding: 'utf8',
      })
        .trim()
        .split(' ')
        .map(Number);
      record(name, seconds, checksum);
    }
  }
  const loadAfter = loadavg()[0];
  const updates = (nx - 4) * (nz - 4) * steps;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const baseline = results.get('C gcc -O2');
  const rows = [...results].map(([name, { seconds, checksum }]) => {
    const rate = updates / median(seconds);
    return {
      name,
      mupdates: rate / 1e6,
      best: updates / Math.min(...seconds) / 1e6,
      spread: (Math.max(...seconds) - Math.min(...seconds)) / median(seconds),
      ofC: baseline ? rate / (updates / median(baseline.seconds)) : Number.NaN,
      checksum,
    };
  });
  console.log(
    `grid ${nx} x ${nz}, ${steps} steps, ${repeats} repeats in turns; ${cpus()[0]?.model ?? 'cpu'}; load ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after`,
  );
  console.log('kernel                     M updates/s   best  spread   x C -O2   checksum of |vz|');
  for (const row of rows) {
    console.log(
      `${row.name.padEnd(26)} ${row.mupdates.toFixed(1).padStart(12)} ${row.best.toFixed(1).padStart(6)} ${(100 * row.spread).toFixed(0).padStart(6)} % ${row.ofC.toFixed(2).padStart(9)}   ${row.checksum.toPrecision(12)}`,
    );
  }
  const reference = rows[0].checksum;
  const agree = rows.every((row) => Math.abs(row.checksum - reference) <= 1e-6 * Math.abs(reference));
  console.log(
    agree
      ? 'the wavefields agree (checksums within 1e-6)'
      : 'WARNING: the wavefields differ: the kernels do not compute the same thing',
  );
  for (const note of notes) console.log(note);
  if (values.json)
    writeFileSync(values.json, `${JSON.stringify({ nx, nz, steps, repeats, rows, notes }, null, 2)}\n`);
  if (!agree) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
