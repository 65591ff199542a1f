/**
 * The fixture file format: request/response pairs (and event streams) recorded from a real LXD daemon
 * by `Recorder`, replayed by `Replayer` and `startReplayServer`.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { lazySchema } from '../lazy-schema.js';
import { TestingError, TestingErrorCode } from './errors.js';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const JsonSchema: z.ZodType<Json> = lazySchema(() => z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(JsonSchema), z.record(z.string(), JsonSchema)]),
));

const StringRecord = lazySchema(() => z.record(z.string(), z.string()));

export const RecordedRequestSchema = lazySchema(() => z.strictObject({
  method: z.string().min(1),
  /** The path as sent (percent-encoded), without the query. */
  path: z.string().startsWith('/'),
  /** Query parameters, keys sorted. */
  query: StringRecord,
  /** Only the headers that change LXD's answer (`if-match`). */
  headers: StringRecord.optional(),
  /** The JSON body, when there was one. */
  body: JsonSchema.optional(),
  /** A body that was not JSON (kept as text). */
  text: z.string().optional(),
  /** A streamed body (a file push, an upload): its size and SHA-256, not its bytes. */
  stream: z.strictObject({ bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
}));
/**
 * One recorded request: method, path, query, the headers kept and the JSON body (strict: unknown fields refused).
 */
export type RecordedRequest = z.infer<typeof RecordedRequestSchema>;

export const RecordedResponseSchema = lazySchema(() => z.strictObject({
  status: z.number().int().min(100).max(599),
  /** `content-type`, `etag` and `location`, when LXD sent them. */
  headers: StringRecord,
  /** The JSON body (LXD's envelope), when the response was JSON. */
  body: JsonSchema.optional(),
  /** The raw body when it was not JSON (e.g. `Bad Request` from `/1.0/events` without an upgrade). */
  text: z.string().optional(),
  /** A body that is not UTF-8 text (a file's bytes, a tarball), base64-encoded. */
  base64: z.string().optional(),
}));
/** One recorded response: status, the headers kept, the JSON body or the raw one (strict). */
export type RecordedResponse = z.infer<typeof RecordedResponseSchema>;

export const InteractionSchema = lazySchema(() => z.strictObject({
  request: RecordedRequestSchema,
  response: RecordedResponseSchema,
}));
/** One recorded request and its response (strict). */
export type Interaction = z.infer<typeof InteractionSchema>;

export const RecordedEventSchema = lazySchema(() => z.strictObject({
  /** How many interactions of this fixture had completed when LXD sent the event. */
  after: z.number().int().min(0),
  /** The message exactly as LXD sent it (after normalisation). */
  message: JsonSchema,
}));
/** One message of a recorded event stream, with how many interactions came before it (strict). */
export type RecordedEvent = z.infer<typeof RecordedEventSchema>;

export const EventStreamSchema = lazySchema(() => z.strictObject({
  path: z.literal('/1.0/events'),
  /** The subscription's query (`type`, `project`, `all-projects`). */
  query: StringRecord,
  messages: z.array(RecordedEventSchema),
}));
/** A recorded `/1.0/events` subscription: its query and its messages (strict). */
export type EventStream = z.infer<typeof EventStreamSchema>;

export const WebsocketFrameSchema = lazySchema(() => z.strictObject({
  from: z.enum(['daemon', 'client']),
  /** `text`: a text message (an empty one is LXD's barrier); `binary`: data. */
  kind: z.enum(['text', 'binary']),
  /** The message as text (a binary frame whose bytes are UTF-8 text). */
  text: z.string().optional(),
  /** A binary frame's bytes that are not UTF-8 text, base64-encoded. */
  base64: z.string().optional(),
}));
/** One frame of a recorded operation websocket, from the daemon or the client (strict). */
export type WebsocketFrame = z.infer<typeof WebsocketFrameSchema>;

/** One websocket of an operation (an exec's stdin, stdout, stderr, pty or control), frame by frame. */
export const RecordedWebsocketSchema = lazySchema(() => z.strictObject({
  /** `/1.0/operations/<id>/websocket` (the secret of the query is never kept). */
  path: z.string().startsWith('/1.0/operations/'),
  operation: z.string(),
  /** Which of the operation's websockets: `0`, `1`, `2` or `control`. */
  fd: z.string(),
  /** How many interactions had completed when it connected. */
  after: z.number().int().min(0),
  /**
   * `omitted`: recorded with `recordExecStreams: false`; `frames` holds only the end-of-stream
   * barriers (and, on `control`, its messages), no data.
   */
  streams: z.literal('omitted').optional(),
  frames: z.array(WebsocketFrameSchema),
}));
/** One recorded websocket of an operation, frame by frame (strict). */
export type RecordedWebsocket = z.infer<typeof RecordedWebsocketSchema>;

/**
 * Strict schema of a fixture file (format 1): the daemon it was recorded from, the interactions, event streams and websockets; unknown fields refused.
 */
export const FixtureSchema = lazySchema(() => z.strictObject({
  format: z.literal(1),
  description: z.string().optional(),
  /** The daemon it was recorded from: its version, extension count and `environment.server` (`lxd`, `incus`). */
  lxd: z.strictObject({ version: z.string(), api_extensions_count: z.number().int().min(0), server: z.string().optional() }),
  /** Normalised to a fixed value so that re-recording an unchanged daemon gives an identical file. */
  recordedAt: z.string(),
  interactions: z.array(InteractionSchema),
  events: z.array(EventStreamSchema).optional(),
  /** Operation websockets (exec sessions), recorded through `Recorder.listen()`. */
  websockets: z.array(RecordedWebsocketSchema).optional(),
}));
/** A fixture file, as `loadFixture()` and `parseFixture()` give it (strict). */
export type Fixture = z.infer<typeof FixtureSchema>;

/** A fixture file that cannot be read or does not have the fixture format. */
export class FixtureError extends TestingError {
  override readonly name = 'FixtureError';
  readonly file: string | undefined;
  constructor(message: string, file?: string, options?: { cause?: unknown }) {
    super(TestingErrorCode.FIXTURE, message, options);
    this.file = file;
  }
}

/** Validates a parsed fixture; throws `FixtureError` naming the first problem. */
export function parseFixture(value: unknown, file?: string): Fixture {
  const r = FixtureSchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue ? `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}` : 'invalid';
  throw new FixtureError(`${file ?? 'fixture'} is not an lxdkit fixture (${where}); re-record it with Recorder.save()`, file);
}

/** Reads and validates a fixture file written by `Recorder.save()`. */
export async function loadFixture(file: string | URL, opts: { signal?: AbortSignal } = {}): Promise<Fixture> {
  const name = typeof file === 'string' ? file : file.pathname;
  let text: string;
  try {
    text = await readFile(file, { encoding: 'utf8', signal: opts.signal });
  } catch (err) {
    throw new FixtureError(`cannot read fixture ${name}: ${(err as Error).message}`, name, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FixtureError(`fixture ${name} is not JSON: ${(err as Error).message}`, name, { cause: err });
  }
  return parseFixture(json, name);
}

/** Sorted query parameters of a path such as `/1.0/instances?recursion=1`. */
export function splitPath(pathWithQuery: string): { path: string; query: Record<string, string> } {
  const q = pathWithQuery.indexOf('?');
  const path = q < 0 ? pathWithQuery : pathWithQuery.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : pathWithQuery.slice(q + 1));
  const entries = [...params.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { path, query: Object.fromEntries(entries) };
}

/** `GET /1.0/instances?recursion=1` */
export function describeRequest(r: { method: string; path: string; query: Record<string, string> }): string {
  const q = new URLSearchParams(r.query).toString();
  return `${r.method} ${r.path}${q ? `?${q}` : ''}`;
}
