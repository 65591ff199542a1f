import type { Dispatcher } from 'undici';
import { isValidTimeout } from '../deadline.js';
import { silentLogger, type Logger } from '../logger.js';
import { LxdValidationError } from './errors.js';
import { EventSubscription, type SubscribeOptions } from './events.js';
import { DEFAULT_OPERATION_TIMEOUT_MS } from './operation.js';
import { OperationsHub } from './operations-hub.js';
import { Api, type CallOptions, type QueryResult } from './resources/base.js';
import type { QueryValue } from './path.js';
import type { ServerKind } from './socket.js';
import { CertificatesResource } from './resources/certificates.js';
import { ClusterResource } from './resources/cluster.js';
import { ImagesResource } from './resources/images.js';
import { InstancesResource } from './resources/instances.js';
import { NetworkAllocationsResource, NetworksResource, StoragePoolsResource } from './resources/networks.js';
import { NetworkAclsResource } from './resources/network-acls.js';
import { NetworkForwardsResource, NetworkLoadBalancersResource } from './resources/network-forwards.js';
import { NetworkIntegrationsResource, NetworkPeersResource } from './resources/network-peers.js';
import { NetworkZonesResource } from './resources/network-zones.js';
import { OperationsResource } from './resources/operations.js';
import { ProfilesResource } from './resources/profiles.js';
import { ProjectsResource, validateProjectName } from './resources/projects.js';
import { checkRemoteUrl, checkTlsOptions } from './remote.js';
import { ServerResource } from './resources/server.js';
import { registerMigrationApi } from './resources/migration.js';
import { StorageVolumesResource } from './resources/storage-volumes.js';
import { WarningsResource } from './resources/warnings.js';
import { MetricsResource } from './resources/metrics.js';
import { StorageBucketsResource } from './resources/storage-buckets.js';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS, Transport, type TlsOptions } from './transport.js';

/** Options of `client.query()`: the query string, a JSON body and an ETag to send as If-Match. */
export interface QueryOptions extends CallOptions {
  query?: Record<string, QueryValue>;
  body?: unknown;
  etag?: string | undefined;
}

/**
 * Options of `new LxdClient()`: where the server is (socket, remote URL and TLS), which server kind, the project, and the timeouts and limits.
 */
export interface LxdClientOptions {
  /**
   * Unix socket path. Default: as the server's own client finds it (see `server`): for LXD `$LXD_SOCKET`,
   * `$LXD_DIR/unix.socket`, the snap socket, `/var/lib/lxd/unix.socket`; for Incus `$INCUS_SOCKET`,
   * `$INCUS_DIR/unix.socket`, `/run/incus/unix.socket`, `/var/lib/incus/unix.socket`.
   */
  socketPath?: string;
  /**
   * Which daemon's socket to look for: `lxd` or `incus`. Without it, LXD's socket is used unless only
   * an Incus one is there. What the client then talks to is the server's own word: `serverKind()`.
   */
  server?: ServerKind;
  /**
   * A remote LXD, e.g. `https://127.0.0.1:8443` (needs `tls`). Only `https://`; a user name or
   * password in it (`https://user:pw@host`) is refused: remotes authenticate by client certificate.
   */
  url?: string;
  /**
   * Client certificate and key for a remote LXD, and how its certificate is checked: pinned
   * (`serverCert`), chained to `ca`, or chained to the system CAs when neither is given.
   */
  tls?: TlsOptions;
  /** Project for every call (default: LXD's `default`). */
  project?: string;
  /**
   * A cluster member (or `@group`) every call is sent to, as LXD's `?target=`: where new instances
   * go, whose config and state `server`, `networks` and `storagePools` read and write. Operations
   * and events are not targeted. See `withTarget()`.
   */
  target?: string;
  /** A pino-compatible logger (silent by default). Logs method, path, status, duration; never bodies. */
  logger?: Logger;
  /** Per-request deadline in ms (default 30 s). */
  timeoutMs?: number;
  /** Deadline for `Operation.wait()` when none is given (default 10 minutes). */
  operationTimeoutMs?: number;
  /** The largest response body accepted, in bytes (default 256 MiB); a larger one is cut off with LxdResponseTooLargeError. */
  maxResponseBytes?: number;
  /**
   * Raise V8's WebAssembly tier-up budget once for the process, which keeps undici's HTTP parser off
   * V8's optimising tier and ~35 MiB out of the process (default true; see docs/client.md, "Memory").
   * `false` leaves V8's flags as they are, as does any `--wasm-*` flag of your own.
   */
  tuneWasmTiering?: boolean;
  /** An undici dispatcher (MockAgent, a recorder/replayer) instead of the socket. */
  dispatcher?: Dispatcher;
  /** Wait for operations through the events websocket (default true; false uses `/wait`). */
  useEvents?: boolean;
  userAgent?: string;
  /**
   * A remote goes through the proxy of `HTTPS_PROXY` unless `NO_PROXY` names it or it is a loopback
   * address, as `lxc` does (a CONNECT tunnel: TLS stays end to end). `false`: never through a proxy.
   */
  proxy?: boolean;
  /** Where the proxy variables are read (default `process.env`). */
  proxyEnv?: Readonly<Record<string, string | undefined>>;
}

/**
 * A typed LXD REST client. Construction does no I/O; the first call connects.
 *
 * ```ts
 * const lxd = new LxdClient();
 * const op = await lxd.instances.setState('c1', { action: 'start' });
 * await op.wait({ timeoutMs: 60_000 });
 * ```
 */
export class LxdClient {
  readonly server: ServerResource;
  readonly instances: InstancesResource;
  readonly profiles: ProfilesResource;
  readonly images: ImagesResource;
  readonly networks: NetworksResource;
  readonly networkAcls: NetworkAclsResource;
  readonly networkZones: NetworkZonesResource;
  readonly networkForwards: NetworkForwardsResource;
  readonly networkLoadBalancers: NetworkLoadBalancersResource;
  readonly networkPeers: NetworkPeersResource;
  readonly networkAllocations: NetworkAllocationsResource;
  readonly networkIntegrations: NetworkIntegrationsResource;
  readonly storagePools: StoragePoolsResource;
  /** `/1.0/storage-pools/{pool}/volumes`: storage volumes, their state and snapshots. */
  readonly storageVolumes: StorageVolumesResource;
  /** `/1.0/storage-pools/{pool}/buckets`: S3 buckets of a pool (Incus), their keys and backups. */
  readonly storageBuckets: StorageBucketsResource;
  readonly operations: OperationsResource;
  readonly certificates: CertificatesResource;
  /** `/1.0/warnings`: what the server found wrong with itself. */
  readonly warnings: WarningsResource;
  /** `/1.0/metrics`: the server's metrics, parsed. */
  readonly metrics: MetricsResource;
  /** `/1.0/projects`: server-wide, whatever the client's project. */
  readonly projects: ProjectsResource;
  readonly events: EventsResource;
  /** `/1.0/cluster`: the cluster, its members, groups and join tokens. */
  readonly cluster: ClusterResource;
  readonly project: string | undefined;
  /** The cluster member this client targets (`withTarget()`), if any. */
  readonly target: string | undefined;
  readonly logger: Logger;
  private readonly transport: Transport;
  private readonly hub: OperationsHub;
  private readonly api: Api;
  private readonly options: LxdClientOptions;
  private readonly ownsTransport: boolean;

  constructor(options: LxdClientOptions = {}, shared?: { transport: Transport }) {
    if (options.url !== undefined) {
      // an https:// URL without a user name or password (never repeated in a message)
      checkRemoteUrl(options.url);
      if (options.socketPath) throw new LxdValidationError('url', 'give either socketPath or url, not both');
      if (options.tls !== undefined) checkTlsOptions(options.tls);
    }
    if (options.server !== undefined && options.server !== 'lxd' && options.server !== 'incus') throw new LxdValidationError('server', `"${String(options.server)}" is not a server: give "lxd" or "incus"`);
    for (const field of ['timeoutMs', 'operationTimeoutMs', 'maxResponseBytes'] as const) {
      const v = options[field];
      if (v !== undefined && !isValidTimeout(v)) throw new LxdValidationError(field, `${v} is not valid: give a positive, finite number`);
    }
    if (options.project !== undefined) validateProjectName(options.project, 'project');
    if (options.target !== undefined && (typeof options.target !== 'string' || options.target === '' || /[/\s]/.test(options.target))) throw new LxdValidationError('target', `"${String(options.target)}" is not a cluster member name`);
    this.options = options;
    this.project = options.project;
    this.target = options.target;
    this.logger = (options.logger ?? silentLogger).child({ component: 'lxd' });
    this.ownsTransport = !shared;
    this.transport =
      shared?.transport ??
      new Transport({
        socketPath: options.socketPath,
        server: options.server,
        url: options.url,
        tls: options.tls,
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
        tuneWasmTiering: options.tuneWasmTiering,
        dispatcher: options.dispatcher,
        logger: this.logger,
        userAgent: options.userAgent,
        proxy: options.proxy,
        proxyEnv: options.proxyEnv,
      });
    this.hub = new OperationsHub(this.transport, this.project, this.logger, options.useEvents ?? true);
    const api = (this.api = new Api({
      transport: this.transport,
      project: this.project,
      target: this.target,
      logger: this.logger,
      hub: this.hub,
      serverKind: (opts) => this.serverKind(opts),
      hasExtension: (name, opts) => this.server.hasExtension(name, opts),
      operationTimeoutMs: options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
    }));
    registerMigrationApi(this, api);
    this.server = new ServerResource(api);
    this.instances = new InstancesResource(api);
    this.profiles = new ProfilesResource(api);
    this.images = new ImagesResource(api);
    this.networks = new NetworksResource(api);
    this.networkAcls = new NetworkAclsResource(api);
    this.networkZones = new NetworkZonesResource(api);
    this.networkForwards = new NetworkForwardsResource(api);
    this.networkLoadBalancers = new NetworkLoadBalancersResource(api);
    this.networkPeers = new NetworkPeersResource(api);
    this.networkAllocations = new NetworkAllocationsResource(api);
    this.networkIntegrations = new NetworkIntegrationsResource(api);
    this.storagePools = new StoragePoolsResource(api);
    this.storageVolumes = new StorageVolumesResource(api);
    this.storageBuckets = new StorageBucketsResource(api);
    this.operations = new OperationsResource(api, this.server);
    this.certificates = new CertificatesResource(api);
    this.warnings = new WarningsResource(api);
    this.metrics = new MetricsResource(api);
    this.projects = new ProjectsResource(api);
    this.cluster = new ClusterResource(api, this.server);
    this.events = new EventsResource(this.transport, this.project, this.logger, (project) => api.ensureProject({}, project));
  }

  /**
   * Which daemon this is, by its own word (`environment.server` of `GET /1.0`, read once per client):
   * `lxd` or `incus`. Features are checked through API extensions (`server.hasExtension()`), never
   * through this; it names the server to people and picks the header names that differ.
   */
  async serverKind(opts: CallOptions = {}): Promise<ServerKind> {
    return (await this.server.info(opts)).environment?.server === 'incus' ? 'incus' : 'lxd';
  }

  /** The socket path or URL this client talks to. */
  get endpoint(): string {
    return this.transport.endpoint;
  }

  /**
   * A raw call, like `lxc query`, for endpoints lxdkit does not model: LXD's `metadata` untyped, with the
   * ETag, or an Operation when LXD answers with one. Errors are mapped as everywhere else.
   */
  async query(method: string, path: string, opts: QueryOptions = {}): Promise<QueryResult> {
    if (!/^\/1\.0(\/|$|\?)/.test(path) && path !== '/') throw new LxdValidationError('path', `"${path}" must start with /1.0`);
    return this.api.operationOrSync(method, path, opts);
  }

  /** A client for another project sharing this one's connections (LXD's UseProject). */
  withProject(project: string): LxdClient {
    return new LxdClient({ ...this.options, project }, { transport: this.transport });
  }

  /**
   * A client whose calls go to one cluster member (LXD's `?target=`, the Go client's `UseTarget`),
   * sharing this one's connections: new instances are placed on `member`, and `server`, `networks`
   * and `storagePools` read and write that member's own config. `@<group>` names a cluster group.
   */
  withTarget(member: string): LxdClient {
    return new LxdClient({ ...this.options, target: member }, { transport: this.transport });
  }

  /**
   * Closes everything the client opened: the operations events socket, every subscription made with
   * `events.subscribe()`, and (unless it shares them with the client it came from) its connections.
   * Nothing of it keeps the process alive afterwards; a wait still pending rejects.
   */
  async close(): Promise<void> {
    this.hub.close();
    this.events.closeAll();
    if (this.ownsTransport) await this.transport.close();
  }
}

/** `/1.0/events`. */
export class EventsResource {
  private readonly open = new Set<EventSubscription>();

  constructor(
    private readonly transport: Transport,
    private readonly project: string | undefined,
    private readonly logger: Logger,
    private readonly ensureProject: (project: string) => Promise<void>,
  ) {}

  /**
   * Opens an events websocket of the client's project (or `opts.project`, or every project). Await
   * `sub.ready` before acting if you must not miss the events your own next request causes; it
   * rejects with `LxdNotFoundError` when the project does not exist. Close it when done.
   */
  subscribe(opts: SubscribeOptions = {}): EventSubscription {
    if (opts.maxBuffered !== undefined && !(Number.isSafeInteger(opts.maxBuffered) && opts.maxBuffered >= 1)) {
      throw new LxdValidationError('maxBuffered', `${String(opts.maxBuffered)} is not a number of events: give a whole number of at least 1`);
    }
    const project = opts.project ?? this.project;
    const before = opts.allProjects || project === undefined ? undefined : () => this.ensureProject(project);
    const sub = new EventSubscription(this.transport, { ...opts, project, before }, this.logger);
    if (!sub.isClosed) {
      this.open.add(sub);
      sub.on('close', () => this.open.delete(sub));
    }
    return sub;
  }

  /** Closes every subscription this resource opened (the client's `close()` does it). */
  closeAll(): void {
    for (const sub of this.open) sub.close();
    this.open.clear();
  }
}
