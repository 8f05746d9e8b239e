import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { cliEntry, repoRoot, runCli } from '../helpers/cli.ts';

const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const station = ['HHE', 'HHN', 'HHZ'].map((c) => join(repoRoot, `examples/synthetic/SY.SYN01.00.${c}.mseed`));

t.test('phasestream --version prints the package version', async (t) => {
  const result = await runCli(['--version']);
  t.equal(result.code, 0);
  t.equal(result.stdout.trim(), version);
});

t.test('logs are JSON lines when piped and one pretty line per event on a terminal', async (t) => {
  const empty = join(t.testdir({ 'empty.mseed': '' }), 'empty.mseed');
  const piped = await runCli(['replay', empty], { env: { PHASESTREAM_LOG_LEVEL: 'info' } });
  const lines = piped.stderr.trim().split('\n');
  t.ok(lines.length >= 2, piped.stderr);
  for (const line of lines) t.match(JSON.parse(line), { level: Number, msg: String });
  // `script` runs the command on a pseudo-terminal, as a user's shell would.
  const command = ['node', ...cliEntry, 'replay', empty].join(' ');
  const tty = spawnSync('script', ['-qec', command, '/dev/null'], {
    env: { ...process.env, PHASESTREAM_LOG_LEVEL: 'info', NO_COLOR: '1' },
    encoding: 'utf8',
  });
  t.equal(tty.status, 0, tty.stdout);
  t.match(
    tty.stdout,
    /\[\d\d:\d\d:\d\d\.\d{3}\] WARN: empty file: nothing to replay in it \{"file":".*empty\.mseed"\}\r?\n/,
  );
  t.match(tty.stdout, /INFO: replay done \{"picks":0,/);
  t.notMatch(tty.stdout, /"level":/, 'no JSON on a terminal');
});

t.test(
  'the package runs compiled JavaScript: the build gives a CLI that needs no TypeScript loader',
  async (t) => {
    // The package's layout in a temporary folder: bin, the build output, what the code reads at run time.
    const root = t.testdir();
    mkdirSync(join(root, 'bin'));
    copyFileSync(join(repoRoot, 'bin/phasestream.js'), join(root, 'bin/phasestream.js'));
    copyFileSync(join(repoRoot, 'package.json'), join(root, 'package.json'));
    for (const shared of ['node_modules', 'models']) symlinkSync(join(repoRoot, shared), join(root, shared));
    const dist = join(root, 'dist');
    execFileSync(
      process.execPath,
      [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', dist],
      {
        cwd: repoRoot,
      },
    );
    execFileSync(process.execPath, [join(repoRoot, 'scripts/copy-build-assets.mjs'), dist]);
    const bin = join(root, 'bin/phasestream.js');
    t.equal(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim(), version);
    const help = execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    t.match(help, /replay \[options\] \[files\.\.\.\]/);
    // No tsx anywhere in the compiled code: it would be a development dependency at run time.
    t.notMatch(readFileSync(join(dist, 'cli/main.js'), 'utf8'), /tsx/);
    const env = { ...process.env, PHASESTREAM_LOG_LEVEL: 'warn' };
    const compiled = execFileSync(process.execPath, [bin, 'replay', ...station], { encoding: 'utf8', env });
    const sources = await runCli(['replay', ...station]);
    t.ok(compiled.trim().split('\n').length > 0, 'picks');
    t.equal(compiled, sources.stdout, 'the same picks as the sources');
  },
);
