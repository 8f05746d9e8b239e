import t from 'tap';
import { checkWithSchema, readConfigFile } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';
import { trainConfigSchema } from '../../src/train/config.ts';

t.test('the example training config lists the defaults', async (t) => {
  const example = checkWithSchema(
    trainConfigSchema,
    await readConfigFile('config/train.example.yaml'),
    'example',
  );
  t.same(example, checkWithSchema(trainConfigSchema, {}, 'empty'));
  t.equal(example.labels.widthSamples, 50);
  t.equal(example.augment.alpha, 0.95);
  t.equal(example.data.split.by, 'station');
});

t.test('a wrong key is named', async (t) => {
  t.throws(() => checkWithSchema(trainConfigSchema, { training: { epoch: 3 } }, 'x.yaml'), ConfigError);
  t.throws(() => checkWithSchema(trainConfigSchema, { labels: { shape: 'box' } }, 'x.yaml'), /labels.shape/);
});
