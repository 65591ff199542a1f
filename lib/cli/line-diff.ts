/**
 * A line diff in linear space: Myers' O(ND) algorithm with the middle-snake divide and conquer
 * ("An O(ND) Difference Algorithm and Its Variations", 1986, section 4b), as GNU diff runs it. Memory
 * is O(N + M) whatever the inputs: two diagonal vectors and one "changed" flag per line. The time is
 * O((N + M) · D) for D differences; a search step that has gone past `maxCost` edits without meeting
 * the other end splits at the furthest point reached instead (GNU diff's and git's heuristic), so the
 * time stays bounded on inputs with very many differences, at the price of a diff that may not be
 * the shortest there. Lines found on one side only are marked changed before the search, so files
 * that share little cost little.
 */

/** Which lines of `a` were removed and which lines of `b` were added (1 = changed). */
export interface LineChanges {
  removed: Uint8Array;
  added: Uint8Array;
}

export interface DiffOptions {
  /**
   * How many edits one middle-snake search may try before it settles for a split that may not be
   * the shortest (default: enough for about 200 million steps, at least 256).
   */
  maxCost?: number;
}

/** Marks the lines of `a` and `b` that are not on a longest common subsequence (almost always the shortest edit). */
export function diffLines(a: readonly string[], b: readonly string[], opts: DiffOptions = {}): LineChanges {
  const removed = new Uint8Array(a.length);
  const added = new Uint8Array(b.length);

  // Lines as integers; a line that appears on one side only is changed whatever the alignment.
  const ids = new Map<string, number>();
  const idOf = (line: string): number => {
    let id = ids.get(line);
    if (id === undefined) ids.set(line, (id = ids.size));
    return id;
  };
  const ia = Int32Array.from(a, idOf);
  const ib = Int32Array.from(b, idOf);
  const inA = new Uint8Array(ids.size);
  const inB = new Uint8Array(ids.size);
  for (const id of ia) inA[id] = 1;
  for (const id of ib) inB[id] = 1;
  const keepA: number[] = [];
  const keepB: number[] = [];
  ia.forEach((id, i) => (inB[id] ? keepA.push(i) : (removed[i] = 1)));
  ib.forEach((id, j) => (inA[id] ? keepB.push(j) : (added[j] = 1)));

  const x = Int32Array.from(keepA, (i) => ia[i]!);
  const y = Int32Array.from(keepB, (j) => ib[j]!);
  const cx = new Uint8Array(x.length);
  const cy = new Uint8Array(y.length);
  const maxCost = opts.maxCost ?? Math.max(256, Math.ceil(200_000_000 / Math.max(1, x.length + y.length)));
  compare(x, y, cx, cy, maxCost);
  cx.forEach((c, k) => c && (removed[keepA[k]!] = 1));
  cy.forEach((c, k) => c && (added[keepB[k]!] = 1));
  return { removed, added };
}

/** Finds the edits between x and y (iteratively: a stack of sub-boxes instead of recursion). */
function compare(x: Int32Array, y: Int32Array, cx: Uint8Array, cy: Uint8Array, maxCost: number): void {
  const n = x.length;
  const m = y.length;
  // fd[k] / bd[k]: the furthest x on diagonal k = x - y, forward and backward; k runs from -(m+1) to n+1
  const offset = m + 1;
  const fd = new Int32Array(n + m + 3);
  const bd = new Int32Array(n + m + 3);
  const stack: number[] = [0, n, 0, m];
  while (stack.length > 0) {
    let ylim = stack.pop()!;
    let yoff = stack.pop()!;
    let xlim = stack.pop()!;
    let xoff = stack.pop()!;
    while (xoff < xlim && yoff < ylim && x[xoff] === y[yoff]) {
      xoff++;
      yoff++;
    }
    while (xlim > xoff && ylim > yoff && x[xlim - 1] === y[ylim - 1]) {
      xlim--;
      ylim--;
    }
    if (xoff === xlim) {
      cy.fill(1, yoff, ylim);
      continue;
    }
    if (yoff === ylim) {
      cx.fill(1, xoff, xlim);
      continue;
    }
    const [xmid, ymid] = middle(x, y, xoff, xlim, yoff, ylim, fd, bd, offset, maxCost);
    if ((xmid === xoff && ymid === yoff) || (xmid === xlim && ymid === ylim)) {
      // no progress possible here (never seen; a guard against looping): everything in the box changed
      cx.fill(1, xoff, xlim);
      cy.fill(1, yoff, ylim);
      continue;
    }
    stack.push(xmid, xlim, ymid, ylim, xoff, xmid, yoff, ymid);
  }
}

/**
 * The point where a shortest edit path from (xoff, yoff) to (xlim, ylim) crosses the middle: the
 * forward and backward searches run one edit at a time until their furthest-reaching paths overlap.
 */
function middle(
  x: Int32Array,
  y: Int32Array,
  xoff: number,
  xlim: number,
  yoff: number,
  ylim: number,
  fd: Int32Array,
  bd: Int32Array,
  o: number,
  maxCost: number,
): [number, number] {
  const dmin = xoff - ylim;
  const dmax = xlim - yoff;
  const fmid = xoff - yoff;
  const bmid = xlim - ylim;
  let fmin = fmid;
  let fmax = fmid;
  let bmin = bmid;
  let bmax = bmid;
  const odd = ((fmid - bmid) & 1) !== 0;
  fd[o + fmid] = xoff;
  bd[o + bmid] = xlim;
  for (let cost = 1; ; cost++) {
    // one more edit forward
    if (fmin > dmin) fd[o + --fmin - 1] = -1;
    else ++fmin;
    if (fmax < dmax) fd[o + ++fmax + 1] = -1;
    else --fmax;
    for (let d = fmax; d >= fmin; d -= 2) {
      const tlo = fd[o + d - 1]!;
      const thi = fd[o + d + 1]!;
      let px = tlo >= thi ? tlo + 1 : thi;
      let py = px - d;
      while (px < xlim && py < ylim && x[px] === y[py]) {
        px++;
        py++;
      }
      fd[o + d] = px;
      if (odd && bmin <= d && d <= bmax && bd[o + d]! <= px) return [px, py];
    }
    // one more edit backward
    if (bmin > dmin) bd[o + --bmin - 1] = 0x7fffffff;
    else ++bmin;
    if (bmax < dmax) bd[o + ++bmax + 1] = 0x7fffffff;
    else --bmax;
    for (let d = bmax; d >= bmin; d -= 2) {
      const tlo = bd[o + d - 1]!;
      const thi = bd[o + d + 1]!;
      let px = tlo < thi ? tlo : thi - 1;
      let py = px - d;
      while (px > xoff && py > yoff && x[px - 1] === y[py - 1]) {
        px--;
        py--;
      }
      bd[o + d] = px;
      if (!odd && fmin <= d && d <= fmax && px <= fd[o + d]!) return [px, py];
    }
    if (cost >= maxCost) return furthest(xoff, xlim, yoff, ylim, fd, bd, o, fmin, fmax, bmin, bmax);
  }
}

/** Too many edits: split where the forward or the backward search got furthest. */
function furthest(xoff: number, xlim: number, yoff: number, ylim: number, fd: Int32Array, bd: Int32Array, o: number, fmin: number, fmax: number, bmin: number, bmax: number): [number, number] {
  let fxy = -1;
  let fx = xoff;
  for (let d = fmax; d >= fmin; d -= 2) {
    let px = Math.min(fd[o + d]!, xlim);
    let py = px - d;
    if (ylim < py) {
      px = ylim + d;
      py = ylim;
    }
    if (fxy < px + py) {
      fxy = px + py;
      fx = px;
    }
  }
  let bxy = 0x7fffffff;
  let bx = xlim;
  for (let d = bmax; d >= bmin; d -= 2) {
    let px = Math.max(xoff, bd[o + d]!);
    let py = px - d;
    if (py < yoff) {
      px = yoff + d;
      py = yoff;
    }
    if (px + py < bxy) {
      bxy = px + py;
      bx = px;
    }
  }
  return xlim + ylim - bxy < fxy - (xoff + yoff) ? [fx, fxy - fx] : [bx, bxy - bx];
}

/**
 * A line diff of two texts with every line shown: `'  '` common, `'- '` only in `a`, `'+ '` only in
 * `b`; within each run of changes the removed lines come first. '' when both are empty.
 */
export function lineDiff(a: string, b: string, opts: DiffOptions = {}): string {
  const x = a === '' ? [] : a.replace(/\n$/, '').split('\n');
  const y = b === '' ? [] : b.replace(/\n$/, '').split('\n');
  const { removed, added } = diffLines(x, y, opts);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && !removed[i] && !added[j]) {
      out.push(`  ${x[i]}`);
      i++;
      j++;
      continue;
    }
    const before = i + j;
    while (i < x.length && removed[i]) out.push(`- ${x[i++]}`);
    while (j < y.length && added[j]) out.push(`+ ${y[j++]}`);
    if (i + j === before) throw new Error('lineDiff: the edit script does not cover both texts'); // a bug, never input
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
