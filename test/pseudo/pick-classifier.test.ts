import t from 'tap';
import { trainPickClassifier } from '../../src/pseudo/pick-classifier.ts';

t.test('a separable toy set is classified: every training point and new points on either side', async (t) => {
  // Right picks: high probability, small residual; wrong: low probability, large residual.
  const right = [
    [0.9, 0.01],
    [0.8, 0.02],
    [0.95, 0.0],
    [0.7, 0.03],
    [0.85, 0.015],
  ];
  const wrong = [
    [0.3, 0.5],
    [0.4, 0.8],
    [0.2, 0.3],
    [0.35, 1.2],
    [0.25, 0.6],
  ];
  const classifier = await trainPickClassifier([...right, ...wrong], [1, 1, 1, 1, 1, 0, 0, 0, 0, 0], {
    cost: 10,
  });
  t.same(classifier.classify([...right, ...wrong]), [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
  t.same(
    classifier.classify([
      [0.88, 0.01],
      [0.3, 0.9],
    ]),
    [1, 0],
  );
  t.same(classifier.classify([]), []);
  classifier.free();
});

t.test('XOR, which no line separates, is learnt by the RBF kernel', async (t) => {
  const points = [
    [0, 0],
    [1, 1],
    [1, 0],
    [0, 1],
  ];
  const classifier = await trainPickClassifier(points, [0, 0, 1, 1], { cost: 100, gamma: 2 });
  t.same(classifier.classify(points), [0, 0, 1, 1]);
  classifier.free();
});
