import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PhaseStreamError } from '../src/errors.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMs(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The compiled build's module of `src/<path>.ts` (`dist/<path>.js`), typed as the source. A bench
 * that times the product runs what `phasestream` runs: tsx's transform of the sources wraps every
 * closure the operators make per record in esbuild's `__name` (a property store per closure), which
 * made the live pipeline's loop about a fifth busier at 5,000 stations than the build.
 */
export async function compiled<Module>(path: string): Promise<Module> {
  const file = join(repoRoot, 'dist', `${path}.js`);
  if (!existsSync(file)) {
    throw new PhaseStreamError(`the bench runs the compiled build, and ${file} is missing`, {
      hint: 'run `npm run build` first',
    });
  }
  if (statSync(file).mtimeMs < newestSourceMs(join(repoRoot, 'src'))) {
    throw new PhaseStreamError(`dist/ is older than src/: the bench would time an old build`, {
      hint: 'run `npm run build` first',
    });
  }
  return (await import(pathToFileURL(file).href)) as Module;
}
