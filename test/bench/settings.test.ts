import t from 'tap';
import { parseBenchArgs } from '../../bench/settings.ts';
import { UsageError } from '../../src/errors.ts';

t.test('defaults: four engines, two threads, a short budget for the pure-JS tfjs-cpu', async (t) => {
  const settings = parseBenchArgs([]);
  if (settings === 'help') throw new Error('unexpected help');
  t.same(settings.engines, ['onnxruntime', 'tfjs-wasm', 'tfjs-cpu', 'pytorch']);
  t.same(settings.batches.onnxruntime, [1, 8, 32, 128]);
  t.same(settings.batches.pytorch, [1, 8, 32, 128]);
  t.same(settings.batches['tfjs-cpu'], [1, 8]);
  t.equal(settings.peakSize['tfjs-cpu'], 512);
  t.equal(settings.peakSize['tfjs-wasm'], 1024);
  t.match(settings, { threads: 2, seconds: 5, repeats: 5, peakSeconds: 3, python: '/usr/bin/python3' });
  t.equal(settings.json, undefined);
});

t.test('given batches and peak size apply to every engine, tfjs-cpu included', async (t) => {
  const settings = parseBenchArgs([
    '--engines',
    'tfjs-cpu,onnxruntime',
    '--batches',
    '2,16',
    '--peak-size',
    '256',
    '--threads',
    '1',
    '--seconds',
    '0.5',
    '--json',
    'out.json',
  ]);
  if (settings === 'help') throw new Error('unexpected help');
  t.same(settings.batches, { 'tfjs-cpu': [2, 16], onnxruntime: [2, 16] });
  t.same(settings.peakSize, { 'tfjs-cpu': 256, onnxruntime: 256 });
  t.match(settings, { threads: 1, seconds: 0.5, json: 'out.json' });
});

t.test('--help asks for the usage', async (t) => {
  t.equal(parseBenchArgs(['--help']), 'help');
});

t.test('bad input is a UsageError naming the option', async (t) => {
  t.throws(() => parseBenchArgs(['--engines', 'onnxruntime,tensorrt']), {
    constructor: UsageError,
    message: /unknown engine tensorrt/,
  });
  t.throws(() => parseBenchArgs(['--batches', '8,zero']), { constructor: UsageError, message: /--batches/ });
  t.throws(() => parseBenchArgs(['--batches', '1.5']), { constructor: UsageError, message: /--batches/ });
  t.throws(() => parseBenchArgs(['--threads', '0']), { constructor: UsageError, message: /--threads/ });
  t.throws(() => parseBenchArgs(['--threads', '1,2']), { constructor: UsageError, message: /one value/ });
  t.throws(() => parseBenchArgs(['--seconds', '-1']), { constructor: UsageError, message: /--seconds/ });
  t.throws(() => parseBenchArgs(['--fast']), { constructor: UsageError, message: /--fast/ });
});
