/**
 * Unit specs never reach a daemon. This mocha root-hook plugin (.mocharc.json `require`s it) guards
 * every unit spec (a spec under spec/unit/):
 * - LXD_SOCKET, LXD_DIR, INCUS_SOCKET and INCUS_DIR point into a directory that does not exist, and
 *   LIBVIRT_DEFAULT_URI at a libvirt socket there, so code that finds the daemon's socket as the real
 *   clients do (and any child process, which inherits the environment) finds none;
 * - a connection to a real daemon's socket (LXD, Incus, libvirt, the test cluster's members) is
 *   refused (ECONNREFUSED, as on a host without the daemon), and the spec that tried fails, naming it.
 * A run of unit specs only (`npm run test:unit`, `npx mocha spec/unit/x.spec.ts`) is guarded from its
 * first hook to its end; in a run that mixes them with integration specs, each unit test is guarded
 * while it runs. spec/unit/no-daemon.spec.ts checks that the guard is on and works.
 */
import net from 'node:net';
import { resolve, sep } from 'node:path';
import type { Context, RootHookObject, Suite } from 'mocha';

/** Where the guarded environment points: a directory that does not exist. */
export const NO_DAEMON_DIR = '/nonexistent/lxdkit-unit-specs';

const GUARDED_ENV: Record<string, string> = {
  LXD_SOCKET: `${NO_DAEMON_DIR}/lxd/unix.socket`,
  LXD_DIR: `${NO_DAEMON_DIR}/lxd`,
  INCUS_SOCKET: `${NO_DAEMON_DIR}/incus/unix.socket`,
  INCUS_DIR: `${NO_DAEMON_DIR}/incus`,
  LIBVIRT_DEFAULT_URI: `qemu+unix:///system?socket=${NO_DAEMON_DIR}/libvirt/libvirt-sock`,
  LXDKIT_CLUSTER_M1_SOCKET: `${NO_DAEMON_DIR}/cluster/m1/unix.socket`,
};

/** The sockets of the host's daemons. */
const DAEMON_SOCKETS = [
  '/var/lib/lxd/unix.socket',
  '/var/snap/lxd/common/lxd/unix.socket',
  '/var/lib/incus/unix.socket',
  '/run/incus/unix.socket',
  '/var/lib/lxdkit-cluster/',
  '/run/libvirt/',
  '/var/run/libvirt/',
  '/var/run/incus/',
];

/** True for a path that is (or is inside, for a directory ending in '/') a daemon's socket. */
export function isDaemonSocket(path: string): boolean {
  const p = resolve(path);
  return DAEMON_SOCKETS.some((d) => (d.endsWith(sep) ? p.startsWith(d) : p === d));
}

/** The unix socket path a `Socket.connect` call is for, whichever of its forms it was called with. */
function pathOf(args: unknown[]): string | undefined {
  let first = args[0];
  if (Array.isArray(first)) first = first[0]; // net.connect() hands its normalised arguments on
  if (typeof first === 'string') return first;
  if (first && typeof first === 'object' && typeof (first as { path?: unknown }).path === 'string') return (first as { path: string }).path;
  return undefined;
}

let violations: string[] = [];
let active = false;
let savedEnv: Record<string, string | undefined> = {};
const originalConnect = net.Socket.prototype.connect;

/** The refused connections since the last call, emptied. */
export function takeViolations(): string[] {
  const out = violations;
  violations = [];
  return out;
}

export function guardActive(): boolean {
  return active;
}

export function installGuard(): void {
  if (active) return;
  active = true;
  savedEnv = Object.fromEntries(Object.keys(GUARDED_ENV).map((k) => [k, process.env[k]]));
  Object.assign(process.env, GUARDED_ENV);
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]): net.Socket {
    const path = pathOf(args);
    if (path !== undefined && isDaemonSocket(path)) {
      violations.push(path);
      const err = Object.assign(new Error(`connect ECONNREFUSED ${path} (a unit spec must not reach a daemon)`), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: path });
      process.nextTick(() => this.destroy(err));
      return this;
    }
    return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
}

export function removeGuard(): void {
  if (!active) return;
  active = false;
  net.Socket.prototype.connect = originalConnect;
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

const UNIT = `${resolve(import.meta.dirname, '..', 'unit')}${sep}`;
const isUnit = (file: string | undefined): boolean => file !== undefined && resolve(file).startsWith(UNIT);

function files(suite: Suite, out = new Set<string>()): Set<string> {
  if (suite.file) out.add(suite.file);
  for (const t of suite.tests) if (t.file) out.add(t.file);
  for (const s of suite.suites) files(s, out);
  return out;
}

let wholeRun = false;

function check(what: string): void {
  const seen = takeViolations();
  if (seen.length > 0) throw new Error(`${what} reached a daemon: ${[...new Set(seen)].join(', ')}. Unit specs use fake servers (spec/helpers/fake-lxd.ts); specs that need a daemon belong in spec/integration.`);
}

export const mochaHooks: RootHookObject = {
  beforeAll(this: Context) {
    const all = [...files(this.test!.parent!)];
    wholeRun = all.length > 0 && all.every(isUnit);
    if (wholeRun) installGuard();
  },
  beforeEach(this: Context) {
    if (!wholeRun && isUnit(this.currentTest?.file)) installGuard();
  },
  afterEach(this: Context) {
    const title = this.currentTest?.fullTitle() ?? 'a unit spec';
    if (!wholeRun && active) removeGuard();
    check(`"${title}"`);
  },
  afterAll() {
    check('a unit spec hook');
    if (wholeRun) removeGuard();
  },
};
