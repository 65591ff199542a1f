/**
 * Sections of bench/RESULTS.md that runs of their own write (`--cluster`, `--scale`, `--metrics`, `--migration`, `--bulk-state`): each sits between
 * `<!-- bench:<id> -->` and `<!-- /bench:<id> -->`, is replaced in place by its next run, and is kept
 * when the main report is written again.
 */
export type SectionId = 'cluster-launch' | 'scale' | 'metrics-parse' | 'migration' | 'bulk-state';

const open = (id: string): string => `<!-- bench:${id} -->`;
const close = (id: string): string => `<!-- /bench:${id} -->`;
const ANY = /<!-- bench:([a-z-]+) -->\n[\s\S]*?<!-- \/bench:\1 -->\n?/g;

/** `doc` with section `id` set to `body` (replaced where it was, else appended). */
export function spliceSection(doc: string, id: SectionId, body: string): string {
  const block = `${open(id)}\n${body.trim()}\n${close(id)}\n`;
  const start = doc.indexOf(open(id));
  const end = doc.indexOf(close(id));
  if (start >= 0 && end > start) {
    let after = end + close(id).length;
    if (doc[after] === '\n') after += 1;
    return doc.slice(0, start) + block + doc.slice(after);
  }
  return `${doc.trimEnd()}\n\n${block}`;
}

/** The marked sections of `doc`, to carry over into a report written anew. */
export function markedSections(doc: string): string {
  return [...doc.matchAll(ANY)].map((m) => m[0].trimEnd()).join('\n\n');
}
