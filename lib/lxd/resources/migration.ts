/**
 * Migration between two servers: `client.instances.migrate()` and `client.storageVolumes.migrate()`
 * copy or move an instance or a custom volume to another server (`to`, another `LxdClient`), as
 * `lxc copy`/`lxc move` and `lxc storage volume copy`/`move` with a remote do. Three modes:
 *
 * - `pull` (default): the source makes a migration operation with websockets; the target creates the
 *   instance (or volume) with `source: { type: 'migration', mode: 'pull' }`, the source's operation
 *   URL, its websocket secrets and its certificate, and connects to the source itself;
 * - `push`: the target makes a migration sink (`mode: 'push'`); the source is told where it is
 *   (`target: { operation, secrets, certificate }`) and connects to the target itself;
 * - `relay`: both sides make their operation, and this client opens both sides' websockets and
 *   copies every frame between them: no network between the servers is needed.
 *
 * An abort or a failure leaves nothing on the target (what the migration made there is deleted, and a
 * name that was taken before is never touched) and the source as it was; a move deletes the source
 * only once both sides have reported success. The websocket secrets and certificates of the
 * operations are never logged, never put in a message and never passed to `onProgress`.
 */
import type WebSocket from 'ws';
import { z } from 'zod';
import { lazySchema, StringListSchema } from '../../lazy-schema.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { deadline, isValidTimeout } from '../../deadline.js';
import { isNotFound, LxdApiError, LxdStreamLostError, LxdTimeoutError, LxdValidationError } from '../errors.js';
import type { Operation, OperationProgress } from '../operation.js';
import { lxdPath } from '../path.js';
import { validateBody, validateSegment } from '../validate.js';
import { requireExtension, type Api, type CallOptions } from './base.js';
import { openSocket as openOperationSocket } from './instance-exec.js';

/**
 * How `migrate()` moves an instance or volume between servers: the target pulls from the source (`pull`, default), the source pushes to the target (`push`), or lxdkit relays the streams between them (`relay`).
 */
export const MigrationModes = ['pull', 'push', 'relay'] as const;
/** One of `MigrationModes`. */
export type MigrationMode = (typeof MigrationModes)[number];

/** A progress update of a migration: which side's operation reported it, and what it said. */
export interface MigrationProgress extends OperationProgress {
  side: 'source' | 'target';
}

/** What every migration takes. */
export interface MigrateOptions extends CallOptions {
  /** The server to copy or move to: another `LxdClient` (its project is where the copy goes). */
  to: object;
  /** `pull` (default): the target connects to the source; `push`: the source to the target; `relay`: this client carries the data. */
  mode?: MigrationMode;
  /** The name on the target (default: the same name). */
  newName?: string;
  /** Delete the source once the target reports success (`lxc move`). */
  move?: boolean;
  /** Progress of both sides' operations (secrets left out). */
  onProgress?: (progress: MigrationProgress) => void;
  /**
   * Relay mode: run a young-generation collection every 8 MiB carried (default true), which keeps
   * the client's memory near its fixed cost. It turns on V8's `--expose-gc` for the process once
   * (unless it runs with it); `false` leaves V8's flags alone, at the cost of ~30 MiB more RSS.
   */
  relayCollectsGarbage?: boolean;
}

/** What a finished migration made. */
export interface MigrationResult {
  /** The name on the target. */
  name: string;
  /** The target's storage pool. */
  pool: string | undefined;
  mode: MigrationMode;
  /** The cluster member the copy went to (`location`), when the target says. */
  location: string | undefined;
  /** The source was deleted (a move). */
  moved: boolean;
}

/** The API of each `LxdClient`, for the migrations between two of them (set by the client itself). */
const APIS = new WeakMap<object, Api>();

/** Makes `client` usable as the `to` of a migration. */
export function registerMigrationApi(client: object, api: Api): void {
  APIS.set(client, api);
}

/** The Api of the client given as `to`; a validation error for anything else. */
export function targetApi(to: unknown): Api {
  const api = typeof to === 'object' && to !== null ? APIS.get(to) : undefined;
  if (!api) throw new LxdValidationError('to', 'give the target server as an LxdClient (e.g. new LxdClient({ url, tls }))');
  return api;
}

export function validateMode(mode: unknown): MigrationMode {
  if (mode === undefined) return 'pull';
  if (!MigrationModes.includes(mode as MigrationMode)) throw new LxdValidationError('mode', `"${String(mode)}" is not a migration mode: give "pull", "push" or "relay"`);
  return mode as MigrationMode;
}

export function validateFlag(value: unknown, field: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new LxdValidationError(field, 'give true or false');
  return value;
}

/** The websocket secrets of a migration operation: its string-valued metadata, as LXD's Go client reads them. */
const SecretsSchema = lazySchema(() => z.record(z.string(), z.unknown()).nullish());

function secretsOf(op: Operation): Record<string, string> {
  const md = SecretsSchema.safeParse(op.current.metadata);
  const out: Record<string, string> = {};
  if (md.success && md.data) for (const [k, v] of Object.entries(md.data)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** GET /1.0's network addresses and certificate: where the other server reaches this one. */
const ConnectionSchema = lazySchema(() => z.looseObject({
  environment: z.looseObject({ addresses: z.array(z.string()).nullish(), certificate: z.string().optional() }).optional(),
}));

export async function connectionInfo(api: Api, signal: AbortSignal): Promise<{ addresses: string[]; certificate: string }> {
  const { value } = await api.sync('GET', '/1.0', ConnectionSchema, { signal, noProject: true });
  return { addresses: value.environment?.addresses ?? [], certificate: value.environment?.certificate ?? '' };
}

/** The operation URLs a server is reached at (one per network address). */
function operationUrls(addresses: readonly string[], id: string): string[] {
  return addresses.map((a) => `https://${a}${lxdPath`/1.0/operations/${id}`}`);
}

const DefaultProfileSchema = lazySchema(() => z.looseObject({ devices: z.record(z.string(), z.record(z.string(), z.unknown())).nullish() }));

/**
 * The pool the target uses for `pool`: `pool` itself when the target has it, else the pool of the root
 * disk of the target's `default` profile, as `lxc copy` does (undefined when it has neither).
 */
export async function targetPool(target: Api, pool: string | undefined, { signal }: { signal: AbortSignal | undefined }): Promise<string | undefined> {
  const names = (await target.sync('GET', '/1.0/storage-pools', StringListSchema, { signal, noProject: true })).value.map((u) => decodeURIComponent(u.slice(u.lastIndexOf('/') + 1)));
  if (pool !== undefined && names.includes(pool)) return pool;
  const profile = (await target.sync('GET', '/1.0/profiles/default', DefaultProfileSchema, { signal })).value;
  for (const dev of Object.values(profile.devices ?? {})) {
    if (dev['type'] === 'disk' && dev['path'] === '/' && typeof dev['pool'] === 'string') return dev['pool'];
  }
  return undefined;
}

/** The extensions a mode needs on each side (as LXD's Go client checks them), before any request. */
export async function requireModeExtensions(source: Api, target: Api, mode: MigrationMode, what: string, { signal }: { signal: AbortSignal | undefined }): Promise<void> {
  if (mode === 'pull') return;
  await requireExtension(source, 'container_push', `${what} in ${mode} mode (on the source)`, { signal });
  await requireExtension(target, 'container_push', `${what} in ${mode} mode (on the target)`, { signal });
  if (mode === 'push') await requireExtension(source, 'container_push_target', `${what} in push mode (on the source)`, { signal });
}

/** One migration, as its resource describes it. */
export interface MigrationPlan {
  what: string;
  mode: MigrationMode;
  source: Api;
  target: Api;
  /** `POST` on the source that makes its migration operation (given `target` in push mode). */
  sourcePath: string;
  sourceBody: Record<string, unknown>;
  /** `POST` on the target that makes the copy; `source` is the migration source of the body. */
  targetPath: string;
  /** The target's `?target=` (a cluster member), if any. */
  targetQuery: { target: string } | undefined;
  targetBody: (source: Record<string, unknown>) => Record<string, unknown>;
  /** Whether the target already has something under the new name. */
  targetExists: (signal: AbortSignal) => Promise<boolean>;
  /** Deletes what the migration made on the target (only called when the name was free before). */
  removeTarget: (signal: AbortSignal) => Promise<void>;
  onProgress: ((p: MigrationProgress) => void) | undefined;
  /** Relay mode: collect the relayed buffers every 8 MiB (see `MigrateOptions.relayCollectsGarbage`). */
  collectGarbage: boolean;
  signal: AbortSignal | undefined;
  timeoutMs: number | undefined;
}

/** How long the clean-up after a failure may take (cancelling, waiting for the operations, deleting). */
const CLEANUP_MS = 60_000;
/**
 * The relay's frames are masked with zeros, which the ws library then leaves as they are: a frame is
 * forwarded without a masked copy of it, halving what a relay allocates (and what the garbage
 * collector has to catch up with). The mask guards browsers' intermediaries against cache
 * poisoning; these connections go straight to the servers' sockets, with data the servers made.
 */
const ZERO_MASK = (mask: Buffer): void => void mask.fill(0);
/** The handshake of each relayed websocket. */
const HANDSHAKE_MS = 10_000;

/**
 * Runs a migration to its end; resolves with the target's finished operation's `location`. On an abort or
 * a failure everything that was made on the target is removed before it rejects.
 */
export async function runMigration(plan: MigrationPlan): Promise<{ location: string | undefined }> {
  const timeoutMs = plan.timeoutMs ?? plan.target.ctx.operationTimeoutMs;
  if (!isValidTimeout(timeoutMs)) throw new LxdValidationError('timeoutMs', `${timeoutMs} is not valid: give a positive, finite number`);
  const dl = deadline(plan.signal, timeoutMs);
  const signal = dl.signal;
  let existedBefore = true;
  let sourceOp: Operation | undefined;
  let targetOp: Operation | undefined;
  let relay: Relay | undefined;
  let sourceSecrets: Record<string, string> = {};
  let targetSecrets: Record<string, string> = {};
  /** The websockets of each side that someone (the other side, or the relay) may have connected to. */
  const taken = { source: new Set<string>(), target: new Set<string>() };
  try {
    existedBefore = await plan.targetExists(signal);
    const progress = (side: 'source' | 'target', secrets: () => Record<string, string>) =>
      plan.onProgress &&
      ((p: OperationProgress) => {
        const hidden = secrets();
        const metadata = Object.fromEntries(Object.entries(p.metadata).filter(([k, v]) => !(k in hidden) && !(typeof v === 'string' && Object.values(hidden).includes(v))));
        plan.onProgress!({ ...p, metadata, side });
      });
    let waits: Promise<unknown>[];
    if (plan.mode === 'push') {
      const info = await connectionInfo(plan.target, signal);
      if (info.addresses.length === 0) throw notListening('target');
      targetOp = await plan.target.operation('POST', plan.targetPath, { ...plan.targetQuery, body: plan.targetBody({ type: 'migration', mode: 'push' }), signal });
      OPERATION_APIS.set(targetOp, plan.target);
      targetSecrets = secretsOf(targetOp);
      const url = operationUrls(info.addresses, targetOp.id)[0]!;
      // from here on the source may connect to every websocket of the target
      for (const n of Object.keys(targetSecrets)) taken.target.add(n);
      sourceOp = await refusedFrees(taken.target, () => plan.source.operation('POST', plan.sourcePath, { body: { ...plan.sourceBody, target: { operation: url, secrets: targetSecrets, certificate: info.certificate } }, signal }));
      waits = [sourceOp.wait({ signal, timeoutMs, onProgress: progress('source', () => targetSecrets) }), targetOp.wait({ signal, timeoutMs, onProgress: progress('target', () => targetSecrets) })];
    } else {
      const info = plan.mode === 'pull' ? await connectionInfo(plan.source, signal) : undefined;
      if (info && info.addresses.length === 0) throw notListening('source');
      sourceOp = await plan.source.operation('POST', plan.sourcePath, { body: plan.sourceBody, signal });
      OPERATION_APIS.set(sourceOp, plan.source);
      sourceSecrets = secretsOf(sourceOp);
      if (plan.mode === 'pull') {
        const url = operationUrls(info!.addresses, sourceOp.id)[0]!;
        // from here on the target may connect to every websocket of the source
        for (const n of Object.keys(sourceSecrets)) taken.source.add(n);
        targetOp = await refusedFrees(taken.source, () => plan.target.operation('POST', plan.targetPath, { ...plan.targetQuery, body: plan.targetBody({ type: 'migration', mode: 'pull', operation: url, certificate: info!.certificate, secrets: sourceSecrets }), signal }));
      } else {
        targetOp = await plan.target.operation('POST', plan.targetPath, { ...plan.targetQuery, body: plan.targetBody({ type: 'migration', mode: 'push' }), signal });
        OPERATION_APIS.set(targetOp, plan.target);
        targetSecrets = secretsOf(targetOp);
        relay = await openRelay(plan.source, sourceOp.id, sourceSecrets, plan.target, targetOp.id, targetSecrets, signal, taken, plan.collectGarbage);
      }
      const hidden = () => ({ ...sourceSecrets, ...targetSecrets });
      waits = [sourceOp.wait({ signal, timeoutMs, onProgress: progress('source', hidden) }), targetOp.wait({ signal, timeoutMs, onProgress: progress('target', hidden) })];
      if (relay) waits.push(relay.done);
    }
    const [, target] = (await allOrFirstFailure(waits)) as [unknown, { location?: string }];
    relay?.close();
    return { location: target.location || undefined };
  } catch (err) {
    relay?.close(true);
    await cleanUp(plan, [
      { op: targetOp, secrets: unconnected(targetSecrets, taken.target) },
      { op: sourceOp, secrets: unconnected(sourceSecrets, taken.source) },
    ], existedBefore);
    const hidden = [...Object.values(sourceSecrets), ...Object.values(targetSecrets)];
    redactSecrets(err, hidden);
    if (dl.timedOut) throw new LxdTimeoutError(`${plan.what} migration did not finish within ${timeoutMs} ms; nothing was left on the target`, { timeoutMs }, { cause: err });
    throw err;
  } finally {
    dl.clear();
  }
}

/**
 * Takes the websocket secrets out of an error and its causes: a server's own text may quote the URL it
 * failed to reach (`…/websocket?secret=…`), and an operation error carries the operation, whose
 * metadata holds the secrets of a migration.
 */
export function redactSecrets(err: unknown, secrets: readonly string[]): void {
  const all = secrets.filter((x) => x.length > 0);
  if (all.length === 0) return;
  const clean = (text: string): string => all.reduce((t, x) => t.split(x).join('***'), text);
  const seen = new Set<unknown>();
  for (let e = err, depth = 0; e instanceof Error && !seen.has(e) && depth < 8; e = e.cause, depth++) {
    seen.add(e);
    e.message = clean(e.message);
    if (e.stack) e.stack = clean(e.stack);
    const rec = e as unknown as Record<string, unknown>;
    if (typeof rec['lxdMessage'] === 'string') rec['lxdMessage'] = clean(rec['lxdMessage']);
    const op = rec['operation'];
    if (op && typeof op === 'object') {
      const o = op as Record<string, unknown>;
      if (typeof o['err'] === 'string') o['err'] = clean(o['err']);
      const md = o['metadata'];
      if (md && typeof md === 'object') {
        for (const [k, v] of Object.entries(md as Record<string, unknown>)) if (typeof v === 'string') (md as Record<string, unknown>)[k] = clean(v);
      }
    }
  }
}

function notListening(side: 'source' | 'target'): LxdValidationError {
  return new LxdValidationError(
    'mode',
    side === 'source'
      ? 'the source server is not listening on the network (core.https_address is empty), so the target cannot pull from it: set core.https_address on the source, or use mode "relay"'
      : 'the target server is not listening on the network (core.https_address is empty), so the source cannot push to it: set core.https_address on the target, or use mode "relay"',
  );
}

/** Resolves when every promise resolved; rejects with the first rejection (not waiting for the rest). */
function allOrFirstFailure(promises: Promise<unknown>[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    Promise.all(promises).then(resolve, reject);
  });
}

/**
 * After an abort or a failure: stop both operations (cancel; an operation that still waits for its
 * websockets gets them opened and dropped, which ends it), wait for them, and remove what the target made.
 */
async function cleanUp(plan: MigrationPlan, sides: { op: Operation | undefined; secrets: Record<string, string> }[], existedBefore: boolean): Promise<void> {
  const dl = deadline(undefined, CLEANUP_MS);
  const signal = dl.signal;
  try {
    const live = sides.filter((s): s is { op: Operation; secrets: Record<string, string> } => s.op !== undefined && s.op.id !== '');
    await Promise.all(live.map((s) => s.op.cancel({ signal }).catch(() => {})));
    await Promise.all(live.map(async (s) => {
      const now = await s.op.refresh({ signal }).catch(() => undefined);
      if ((now?.status_code === 103 || now?.status_code === 105) && Object.keys(s.secrets).length > 0) await dropSockets(s.op, s.secrets, signal);
    }));
    await Promise.all(live.map((s) => s.op.wait({ signal, timeoutMs: CLEANUP_MS }).catch(() => {})));
    if (!existedBefore && (await plan.targetExists(signal).catch(() => false))) await plan.removeTarget(signal);
  } catch (err) {
    plan.target.ctx.logger.warn({ err: (err as Error).message }, `lxd migration: could not remove the partial ${plan.what} from the target`);
  } finally {
    dl.clear();
  }
}

/** `post()`; when the server refused it (an error answer), nobody got the websockets of `taken`. */
async function refusedFrees<T>(taken: Set<string>, post: () => Promise<T>): Promise<T> {
  try {
    return await post();
  } catch (err) {
    if (err instanceof LxdApiError) taken.clear();
    throw err;
  }
}

/** The secrets of the websockets nobody may have connected to. */
function unconnected(secrets: Record<string, string>, taken: Set<string>): Record<string, string> {
  return Object.fromEntries(Object.entries(secrets).filter(([n]) => !taken.has(n)));
}

/**
 * Opens and drops an operation's websockets that nobody connected to: the operation then fails. Never
 * a websocket someone else may have connected to: a second connection to a migration websocket makes
 * LXD 5.0.2's daemon panic ("close of closed channel" in migrationSink.Connect).
 */
async function dropSockets(op: Operation, secrets: Record<string, string>, signal: AbortSignal): Promise<void> {
  const api = OPERATION_APIS.get(op);
  if (!api) return;
  const sockets: WebSocket[] = [];
  await Promise.all(Object.entries(secrets).map(([name, secret]) => openSocket(api, op.id, secret, name, signal, sockets).catch(() => undefined)));
  for (const s of sockets) s.terminate();
}

/** The Api each migration operation was made through (to reach its websockets in a clean-up). */
const OPERATION_APIS = new WeakMap<Operation, Api>();

/** A relay between the websockets of the two sides' operations. */
interface Relay {
  /** Resolves when every pair of sockets has closed after its control socket did; rejects when a socket failed. */
  readonly done: Promise<void>;
  /** Closes every socket (`hard`: at once, without a closing handshake). */
  close(hard?: boolean): void;
}

/** Above this many bytes waiting to be sent on one side, the other side is paused (so memory stays flat). */
const HIGH_WATER = 1 << 20;

/**
 * Opens the source's and the target's websockets, control first, as LXD's Go client does, and copies
 * every frame (text or binary) between each pair, both ways. A socket that closes closes its peer.
 */
export async function openRelay(
  source: Api,
  sourceId: string,
  sourceSecrets: Record<string, string>,
  target: Api,
  targetId: string,
  targetSecrets: Record<string, string>,
  signal: AbortSignal,
  taken: { source: Set<string>; target: Set<string> } = { source: new Set(), target: new Set() },
  collectGarbage = true,
): Promise<Relay> {
  for (const name of Object.keys(targetSecrets)) {
    if (!(name in sourceSecrets)) throw new LxdStreamLostError(`migration:${name}`, `relay: the target expects a "${name}" websocket that the source does not offer`);
  }
  if (!targetSecrets['control']) throw new LxdStreamLostError('migration:control', 'relay: the target did not set up a control websocket');
  const names = ['control', ...Object.keys(targetSecrets).filter((n) => n !== 'control')];
  const sockets: WebSocket[] = [];
  const closeAll = (hard = false): void => {
    for (const s of sockets) {
      if (hard) s.terminate();
      else if (s.readyState === s.OPEN || s.readyState === s.CONNECTING) s.close(1000);
    }
  };
  const pairs: Promise<void>[] = [];
  try {
    for (const name of names) {
      taken.source.add(name);
      const a = await openSocket(source, sourceId, sourceSecrets[name]!, name, signal, sockets);
      taken.target.add(name);
      const b = await openSocket(target, targetId, targetSecrets[name]!, name, signal, sockets);
      pairs.push(pipePair(a, b, name, collectGarbage));
    }
  } catch (err) {
    closeAll(true);
    throw err;
  }
  const done = Promise.all(pairs).then(() => undefined);
  done.catch(() => {});
  return { done, close: closeAll };
}

/**
 * One of the relay's websockets, opened as exec opens its own (zero masks; failures named after the
 * socket, never quoting its URL). It is paused as it opens, before it can read a frame: a server may
 * write as soon as its socket is up, while the relay is still opening the peer's, and a frame read
 * with no listener yet would be lost. `pipePair` resumes both once it forwards them.
 */
function openSocket(api: Api, opId: string, secret: string, name: string, signal: AbortSignal, sockets: WebSocket[]): Promise<WebSocket> {
  const onSocket = (ws: WebSocket): void => {
    sockets.push(ws);
    ws.once('open', () => ws.pause());
  };
  return openOperationSocket(api, opId, secret, HANDSHAKE_MS, signal, onSocket, {
    extra: { generateMask: ZERO_MASK },
    refused: (status) => new LxdStreamLostError(`migration:${name}`, `relay: the ${name} websocket was refused: HTTP ${status}`),
    // the error's text never holds the URL (and so never the secret)
    failed: (err) => new LxdStreamLostError(`migration:${name}`, `relay: the ${name} websocket could not be opened: ${err.message}`, { cause: api.ctx.transport.websocketError(err) }),
  });
}

/** How many relayed bytes between two young-generation collections. */
const RELAY_GC_BYTES = 8 << 20;
let relayedSinceGc = 0;
let youngGc: ((opts: { type: 'minor' }) => void) | null | undefined;

/**
 * Every socket read of a relay is a buffer of its own (Node allocates one per read), garbage once
 * forwarded; V8 only collects them when its young generation fills with other objects, about 33 MiB of
 * relayed data later (measured: a relay's peak RSS was the process's fixed cost plus ~33 MiB). A
 * young-generation collection every RELAY_GC_BYTES (well under a millisecond: the relay keeps almost
 * nothing alive) keeps the peak near the fixed cost. V8's collector is the one of a process started
 * with --expose-gc, else taken once from a new context (`--expose-gc` affects only contexts made
 * after it is set: the program's own global object never gets a `gc`).
 */
function collectRelayGarbage(bytes: number): void {
  relayedSinceGc += bytes;
  if (relayedSinceGc < RELAY_GC_BYTES) return;
  relayedSinceGc = 0;
  if (youngGc === undefined) {
    youngGc = null;
    try {
      const own = (globalThis as { gc?: unknown }).gc;
      if (typeof own === 'function') youngGc = own as (opts: { type: 'minor' }) => void;
      else {
        setFlagsFromString('--expose-gc');
        const gc: unknown = runInNewContext('gc');
        if (typeof gc === 'function') youngGc = gc as (opts: { type: 'minor' }) => void;
      }
    } catch {
      // not fatal: only memory is at stake
    }
  }
  youngGc?.({ type: 'minor' });
}

/**
 * Copies frames both ways between `a` and `b`, pausing a reader while its peer has more than
 * HIGH_WATER bytes queued. Resolves when both closed; rejects when one failed.
 */
function pipePair(a: WebSocket, b: WebSocket, name: string, collectGarbage: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed: Error | undefined;
    let closed = 0;
    const forward = (from: WebSocket, to: WebSocket): void => {
      from.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
        if (to.readyState !== to.OPEN) return;
        if (collectGarbage && Buffer.isBuffer(data)) collectRelayGarbage(data.length);
        to.send(data, { binary: isBinary }, () => {
          if (to.bufferedAmount < HIGH_WATER && from.isPaused) from.resume();
        });
        if (to.bufferedAmount >= HIGH_WATER) from.pause();
      });
      from.on('close', () => {
        // the end of one side ends its peer, once what was queued for it is sent
        if (to.readyState === to.OPEN) to.close(1000);
        if (++closed === 2) failed ? reject(failed) : resolve();
      });
      from.on('error', (err) => {
        failed ??= new LxdStreamLostError(`migration:${name}`, `relay: the ${name} websocket failed: ${err.message}`, { cause: err });
        to.terminate();
      });
    };
    forward(a, b);
    forward(b, a);
    // both were paused as they opened (openSocket): nothing either server sent has been read yet
    a.resume();
    b.resume();
  });
}

/** The name on the target is taken: whether a GET of `path` finds something there. */
export async function exists(api: Api, path: string, signal: AbortSignal, query?: Record<string, string>): Promise<boolean> {
  try {
    await api.call('GET', path, { signal, ...(query ? { query } : {}) });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

// ---------------------------------------------------------------- instances

/** `client.instances.migrate()` options. */
export interface InstanceMigrateOptions extends MigrateOptions {
  /** Leave the snapshots out. */
  instanceOnly?: boolean;
  /** Migrate a running instance with its state (CRIU; LXD 5.0 refuses it for most containers). Ignored for a stopped instance. */
  live?: boolean;
  /** The target's storage pool for the root disk (default: the source's, or, when the target lacks it, its default profile's). */
  pool?: string;
  /** The cluster member of the target to place the copy on. */
  target?: string;
}

const Str = lazySchema(() => z.string());
const MigrationSourceSchema = lazySchema(() => z.strictObject({
  type: z.literal('migration'),
  mode: z.enum(['pull', 'push']),
  operation: Str.optional(),
  certificate: Str.optional(),
  secrets: z.record(Str, Str).optional(),
  'base-image': Str.optional(),
  live: z.boolean().optional(),
  instance_only: z.boolean().optional(),
  container_only: z.boolean().optional(),
}));

/** The strict body of the target's `POST /1.0/instances` in a migration. */
export const MigrationInstancesPostSchema = lazySchema(() => z.strictObject({
  name: Str,
  type: z.enum(['container', 'virtual-machine']),
  architecture: Str.optional(),
  profiles: z.array(Str),
  config: z.record(Str, Str),
  devices: z.record(Str, z.record(Str, Str)),
  ephemeral: z.boolean(),
  description: Str,
  stateful: z.boolean(),
  source: MigrationSourceSchema,
}));

const SourceInstanceSchema = lazySchema(() => z.looseObject({
  name: Str,
  type: Str.default('container'),
  architecture: Str.default(''),
  config: z.record(Str, Str).nullish().transform((v) => v ?? {}),
  devices: z.record(Str, z.record(Str, Str)).nullish().transform((v) => v ?? {}),
  ephemeral: z.boolean().default(false),
  profiles: z.array(Str).nullish().transform((v) => v ?? []),
  stateful: z.boolean().default(false),
  description: Str.default(''),
  status_code: z.number(),
}));

const RUNNING = 103;

export async function migrateInstance(source: Api, name: string, opts: InstanceMigrateOptions, validateName: (v: unknown, field?: string) => string): Promise<MigrationResult> {
  validateName(name);
  if (typeof opts !== 'object' || opts === null) throw new LxdValidationError('options', 'give { to, mode?, newName?, move?, … }');
  const target = targetApi(opts.to);
  const mode = validateMode(opts.mode);
  const newName = opts.newName === undefined ? name : validateName(opts.newName, 'newName');
  const move = validateFlag(opts.move, 'move');
  const instanceOnly = validateFlag(opts.instanceOnly, 'instanceOnly');
  let live = validateFlag(opts.live, 'live');
  const pool = opts.pool === undefined ? undefined : validateSegment(opts.pool, 'pool');
  const member = opts.target === undefined ? undefined : validateSegment(opts.target, 'target');
  if (opts.timeoutMs !== undefined && !isValidTimeout(opts.timeoutMs)) throw new LxdValidationError('timeoutMs', `${String(opts.timeoutMs)} is not valid: give a positive, finite number`);
  if (target === source && newName === name && (target.ctx.project ?? 'default') === (source.ctx.project ?? 'default')) throw new LxdValidationError('newName', 'the target is the source itself: give a newName (or another server as `to`)');
  const signal = opts.signal;
  const what = 'instance migration';
  await requireModeExtensions(source, target, mode, what, { signal });
  if (instanceOnly) {
    await requireExtension(source, 'container_only_migration', `${what} with instanceOnly (on the source)`, { signal });
    await requireExtension(target, 'container_only_migration', `${what} with instanceOnly (on the target)`, { signal });
  }
  const inst = (await source.sync('GET', lxdPath`/1.0/instances/${name}`, SourceInstanceSchema, { signal })).value;
  // as LXD's Go client: live only for a running instance
  live = live && inst.status_code === RUNNING;
  if (move && inst.status_code === RUNNING && !live) throw new LxdValidationError('move', `instance "${name}" is running: stop it first, or move it live (live: true)`);
  const devices: Record<string, Record<string, string>> = Object.fromEntries(Object.entries(inst.devices).map(([k, v]) => [k, { ...v }]));
  const rootKey = Object.keys(devices).find((k) => devices[k]!['type'] === 'disk' && devices[k]!['path'] === '/');
  const wanted = pool ?? (rootKey ? devices[rootKey]!['pool'] : undefined);
  const toPool = await targetPool(target, wanted, { signal });
  if (rootKey && toPool !== undefined) devices[rootKey]!['pool'] = toPool;
  else if (pool !== undefined && toPool !== undefined) devices['root'] = { type: 'disk', path: '/', pool: toPool };
  // a move keeps the volatile keys (MAC addresses, …), between servers of one kind: LXD refuses the
  // volatile keys only Incus has (volatile.uuid.generation), so a move between LXD and Incus drops them as a copy does
  const sameKind = move && (await source.ctx.serverKind({ signal })) === (await target.ctx.serverKind({ signal }));
  const config = move && sameKind ? { ...inst.config } : Object.fromEntries(Object.entries(inst.config).filter(([k]) => !k.startsWith('volatile.')));
  const baseImage = inst.config['volatile.base_image'];
  const flags = { live, instance_only: instanceOnly, container_only: instanceOnly };
  const targetBody = (src: Record<string, unknown>): Record<string, unknown> =>
    validateBody(MigrationInstancesPostSchema, {
      name: newName,
      type: inst.type === 'virtual-machine' ? 'virtual-machine' : 'container',
      ...(inst.architecture ? { architecture: inst.architecture } : {}),
      profiles: inst.profiles,
      config,
      devices,
      ephemeral: inst.ephemeral,
      description: inst.description,
      stateful: inst.stateful,
      source: { ...src, ...(baseImage ? { 'base-image': baseImage } : {}), ...flags },
    }, 'instance');
  const targetItem = lxdPath`/1.0/instances/${newName}`;
  const { location } = await runMigration({
    what: 'instance',
    mode,
    source,
    target,
    sourcePath: lxdPath`/1.0/instances/${name}`,
    sourceBody: { migration: true, ...flags },
    targetPath: '/1.0/instances',
    targetQuery: member === undefined ? undefined : { target: member },
    targetBody,
    targetExists: (s) => exists(target, targetItem, s),
    removeTarget: async (s) => {
      await (await target.operation('DELETE', targetItem, { signal: s })).wait({ signal: s });
    },
    onProgress: opts.onProgress,
    collectGarbage: opts.relayCollectsGarbage !== false,
    signal,
    timeoutMs: opts.timeoutMs,
  });
  if (move) await (await source.operation('DELETE', lxdPath`/1.0/instances/${name}`, { signal })).wait({ signal });
  return { name: newName, pool: toPool, mode, location, moved: move };
}

// ---------------------------------------------------------------- storage volumes

/** `client.storageVolumes.migrate()` options. */
export interface VolumeMigrateOptions extends MigrateOptions {
  /** The target's pool (default: the source's name, or, when the target lacks it, its default profile's root pool). */
  pool?: string;
  /** Leave the snapshots out. */
  volumeOnly?: boolean;
  /** The cluster member of the target to place the copy on. */
  target?: string;
}

const VolumeMigrationSourceSchema = lazySchema(() => z.strictObject({
  type: z.literal('migration'),
  mode: z.enum(['pull', 'push']),
  name: Str,
  pool: Str,
  operation: Str.optional(),
  certificate: Str.optional(),
  secrets: z.record(Str, Str).optional(),
  volume_only: z.boolean(),
}));

/** The strict body of the target's `POST /1.0/storage-pools/{pool}/volumes/custom` in a migration. */
export const MigrationVolumesPostSchema = lazySchema(() => z.strictObject({
  name: Str,
  type: z.literal('custom'),
  config: z.record(Str, Str),
  description: Str,
  content_type: Str,
  source: VolumeMigrationSourceSchema,
}));

const SourceVolumeSchema = lazySchema(() => z.looseObject({
  name: Str,
  config: z.record(Str, Str).nullish().transform((v) => v ?? {}),
  description: Str.default(''),
  content_type: Str.default('filesystem'),
}));

export async function migrateVolume(source: Api, pool: string, name: string, opts: VolumeMigrateOptions, validateName: (v: unknown, field?: string) => string): Promise<MigrationResult> {
  validateSegment(pool, 'storage pool name');
  validateName(name);
  if (typeof opts !== 'object' || opts === null) throw new LxdValidationError('options', 'give { to, pool?, mode?, newName?, move?, … }');
  const target = targetApi(opts.to);
  const mode = validateMode(opts.mode);
  const newName = opts.newName === undefined ? name : validateName(opts.newName, 'newName');
  const move = validateFlag(opts.move, 'move');
  const volumeOnly = validateFlag(opts.volumeOnly, 'volumeOnly');
  const toPoolWanted = opts.pool === undefined ? pool : validateSegment(opts.pool, 'pool');
  const member = opts.target === undefined ? undefined : validateSegment(opts.target, 'target');
  if (opts.timeoutMs !== undefined && !isValidTimeout(opts.timeoutMs)) throw new LxdValidationError('timeoutMs', `${String(opts.timeoutMs)} is not valid: give a positive, finite number`);
  if (target === source && newName === name && toPoolWanted === pool) throw new LxdValidationError('newName', 'the target is the source itself: give a newName or a pool (or another server as `to`)');
  const signal = opts.signal;
  const what = 'storage volume migration';
  await requireExtension(source, 'storage_api_remote_volume_handling', `${what} (on the source)`, { signal });
  await requireExtension(target, 'storage_api_remote_volume_handling', `${what} (on the target)`, { signal });
  await requireModeExtensions(source, target, mode, what, { signal });
  const sourceItem = lxdPath`/1.0/storage-pools/${pool}/volumes/custom/${name}`;
  const vol = (await source.sync('GET', sourceItem, SourceVolumeSchema, { signal })).value;
  const toPool = await targetPool(target, toPoolWanted, { signal });
  if (toPool === undefined) throw new LxdValidationError('pool', `the target has no storage pool "${toPoolWanted}" and its default profile has no root disk to take one from: give pool`);
  const targetItem = lxdPath`/1.0/storage-pools/${toPool}/volumes/custom/${newName}`;
  const targetBody = (src: Record<string, unknown>): Record<string, unknown> =>
    validateBody(MigrationVolumesPostSchema, {
      name: newName,
      type: 'custom',
      config: vol.config,
      description: vol.description,
      content_type: vol.content_type,
      source: { ...src, name, pool, volume_only: volumeOnly },
    }, 'storage volume');
  const { location } = await runMigration({
    what: 'storage volume',
    mode,
    source,
    target,
    sourcePath: sourceItem,
    sourceBody: { migration: true, name, pool, volume_only: volumeOnly },
    targetPath: lxdPath`/1.0/storage-pools/${toPool}/volumes/custom`,
    targetQuery: member === undefined ? undefined : { target: member },
    targetBody,
    targetExists: (s) => exists(target, targetItem, s, member === undefined ? undefined : { target: member }),
    removeTarget: async (s) => {
      await (await target.operation('DELETE', targetItem, { signal: s, ...(member === undefined ? {} : { target: member }) })).wait({ signal: s });
    },
    onProgress: opts.onProgress,
    collectGarbage: opts.relayCollectsGarbage !== false,
    signal,
    timeoutMs: opts.timeoutMs,
  });
  if (move) await (await source.operation('DELETE', sourceItem, { signal })).wait({ signal });
  return { name: newName, pool: toPool, mode, location, moved: move };
}
