/**
 * Runs lineDiff on two 25,000-line profiles and prints {"ms", "lines", "changed", "heapUsedMB"} as
 * JSON: the diff spec runs it in a child process with a small heap (--max-old-space-size).
 */
import { lineDiff } from '../../lib/cli/line-diff.js';
import { bigProfiles } from './big-profiles.js';

const { before, after } = bigProfiles(Number(process.argv[2] ?? 25_000));
const started = performance.now();
const out = lineDiff(before, after);
const ms = performance.now() - started;
const lines = out.split('\n').filter((l) => l !== '');
console.log(JSON.stringify({ ms, lines: lines.length, changed: lines.filter((l) => !l.startsWith('  ')).length, heapUsedMB: process.memoryUsage().heapUsed / 2 ** 20 }));
