/**
 * Which route of the table a concrete request is: `GET /1.0/network-zones/example.com/records/www`
 * is `GET /1.0/network-zones/{zone}/records/{name}`, served by `client.networkZones.records.get`.
 * The replay server names it when a request was never recorded, and says so when no route of
 * either spec has the path at all.
 */
import type { Route } from './route.js';

interface Compiled {
  route: Route;
  re: RegExp;
  /** Literal characters of the template: the most specific template wins (`logs/exec-output` over `logs/{filename}`). */
  weight: number;
}

const cache = new WeakMap<readonly Route[], Compiled[]>();

function compile(routes: readonly Route[]): Compiled[] {
  let compiled = cache.get(routes);
  // Stryker disable next-line ConditionalExpression: without the cache the same list is compiled again on every call; only the cost differs
  if (compiled) return compiled;
  compiled = [];
  for (const route of routes) {
    // Stryker disable next-line ConditionalExpression: a variant compiled anyway needs a literal '?' in the path, and matchRoute cuts the query string off first, so it never matches
    if (route.path.includes('?')) continue; // query-string variants match through their base path
    const pieces = route.path.split(/\{[^}]+\}/);
    const re = new RegExp(`^${pieces.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]+')}$`);
    compiled.push({ route, re, weight: pieces.join('').length });
  }
  compiled.sort((a, b) => b.weight - a.weight);
  cache.set(routes, compiled);
  return compiled;
}

/**
 * The route of `method` and `path` (without its query string; percent-encoded segments are fine),
 * or undefined when neither spec has it.
 */
export function matchRoute(routes: readonly Route[], method: string, path: string): { route: Route | undefined; pathKnown: boolean } {
  const bare = path.split('?')[0]!.replace(/\/+$/, '') || '/';
  const m = method.toUpperCase();
  let pathKnown = false;
  for (const c of compile(routes)) {
    if (!c.re.test(bare)) continue;
    pathKnown = true;
    if (c.route.method === m) return { route: c.route, pathKnown };
  }
  return { route: undefined, pathKnown };
}

/** A few words on what a request is, from the table: `client.networkAcls.get`, or why nothing serves it. */
export function describeRoute(routes: readonly Route[], method: string, path: string): string {
  const { route, pathKnown } = matchRoute(routes, method, path);
  if (route) return route.name ? `${route.method} ${route.path}, served by ${route.name}` : `${route.method} ${route.path}, which no typed method serves`;
  return pathKnown ? `no ${method.toUpperCase()} on this path in LXD 5.0's or Incus 6.0's API` : "not a path of LXD 5.0's or Incus 6.0's API";
}
