import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { ORIGINAL_SOURCE } from '../../src/model/original.ts';
import { loadModelDir } from '../../src/model/store.ts';
import { runCli } from '../helpers/cli.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

/**
 * `model fetch` against a local HTTP server laid out as GitHub's raw files and serving the shared
 * copy of the checkpoint (nothing here reaches GitHub).
 */
async function serveCheckpoint(alter?: (file: string, bytes: Buffer) => Buffer | number): Promise<Server> {
  const { repository, commit, directory } = ORIGINAL_SOURCE;
  const prefix = `/${repository}/${commit}/${directory}/`;
  const server = createServer((req, res) => {
    const file = req.url?.startsWith(prefix) ? req.url.slice(prefix.length) : '';
    const path = sharedPath('models', 'phasenet-original', file);
    if (!file || !existsSync(path)) {
      res.writeHead(404).end('not found');
      return;
    }
    const served = alter ? alter(file, readFileSync(path)) : readFileSync(path);
    if (typeof served === 'number') res.writeHead(served).end();
    else res.writeHead(200, { 'content-length': served.length }).end(served);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

const baseUrl = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

t.test(
  'fetch downloads, checks, imports and caches the original',
  { skip: skipUnlessShared('models') },
  async (t) => {
    const server = await serveCheckpoint();
    t.teardown(() => server.close());
    const cache = t.testdir();
    const result = await runCli([
      'model',
      'fetch',
      'phasenet-original',
      '--base-url',
      baseUrl(server),
      '--cache-dir',
      cache,
    ]);
    t.equal(result.code, 0, result.stderr);
    const modelDir = join(cache, 'models', 'phasenet-original');
    t.equal(result.stdout.trim(), modelDir);
    const model = await loadModelDir(modelDir);
    t.equal(model.card.name, 'phasenet-original');
    t.equal(model.card.source.commit, ORIGINAL_SOURCE.commit);
    t.equal(model.weights.get('input_conv/kernel')?.values.length, 7 * 3 * 8);
  },
);

t.test(
  'a download whose sha256 differs is refused and leaves nothing',
  { skip: skipUnlessShared('models') },
  async (t) => {
    const server = await serveCheckpoint((file, bytes) => {
      if (file.endsWith('.index')) bytes[100] ^= 0xff;
      return bytes;
    });
    t.teardown(() => server.close());
    const cache = t.testdir();
    const result = await runCli([
      'model',
      'fetch',
      'phasenet-original',
      '--base-url',
      baseUrl(server),
      '--cache-dir',
      cache,
    ]);
    t.equal(result.code, 1);
    t.match(result.stderr, /model_95\.ckpt\.index has sha256 [0-9a-f]{64}, expected f96b553b/);
    t.notOk(result.stderr.includes('    at '), 'no stack trace');
    t.same(
      readdirSync(cache).filter((d) => d !== 'checkpoints'),
      [],
      'no model cached',
    );
    t.notOk(
      existsSync(join(cache, 'checkpoints', 'phasenet-original', ORIGINAL_SOURCE.commit)),
      'no partial download',
    );
  },
);

t.test('an HTTP error names the URL and status', { skip: skipUnlessShared('models') }, async (t) => {
  const server = await serveCheckpoint(() => 503);
  t.teardown(() => server.close());
  const result = await runCli([
    'model',
    'fetch',
    'phasenet-original',
    '--base-url',
    baseUrl(server),
    '--cache-dir',
    t.testdir(),
  ]);
  t.equal(result.code, 1);
  t.match(result.stderr, /cannot download http:\/\/127\.0\.0\.1:\d+\/AI4EPS\/PhaseNet\/.*: HTTP 503/);
});

t.test('an unknown model name is a usage error', async (t) => {
  const result = await runCli(['model', 'fetch', 'no-such-model', '--cache-dir', t.testdir()]);
  t.equal(result.code, 2);
  t.match(result.stderr, /unknown model 'no-such-model'/);
});
