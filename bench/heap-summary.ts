/**
 * The allocation sites of a sampling heap profile (bench/heap-sample.mjs), largest first: bytes by
 * function and its caller, and their share of all sampled bytes.
 *
 *   node --import tsx bench/heap-summary.ts /tmp/prof/heap-1234.heapprofile [rows]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const [file, rows = '30'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node --import tsx bench/heap-summary.ts FILE [rows]\n');
  process.exit(2);
}
const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: ProfileNode };
const frame = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`;
const bytes = new Map<string, number>();
let total = 0;
const walk = (node: ProfileNode, caller: string) => {
  const site = `${frame(node)} < ${caller}`;
  bytes.set(site, (bytes.get(site) ?? 0) + node.selfSize);
  total += node.selfSize;
  for (const child of node.children) walk(child, frame(node));
};
walk(head, '');
process.stdout.write(`${(total / 1e6).toFixed(0)} MB sampled\n`);
for (const [site, size] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, Number(rows)))
  process.stdout.write(
    `${(size / 1e6).toFixed(1).padStart(8)} MB ${((100 * size) / total).toFixed(1).padStart(5)} %  ${site}\n`,
  );
