import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import type { Closed } from '../../closed.js';
import { LxdExtensionMissingError } from '../errors.js';
import { ServerPutSchema, ServerSchema, type LxdServer, type ServerPut } from '../schemas.js';
import { validateBody } from '../validate.js';
import { requireExtension, Api, type CallOptions, type EtagOptions, type TargetOptions, type WithEtag } from './base.js';

const Loose = lazySchema(() => z.looseObject({}));

/** `GET /1.0/resources`: the host's hardware, loosely (the fields grow with every release). */
export const ServerResourcesSchema = lazySchema(() => z.looseObject({
  cpu: z.looseObject({ architecture: z.string().default(''), total: z.number().default(0), sockets: z.array(Loose).nullish() }),
  memory: z.looseObject({ used: z.number().default(0), total: z.number().default(0) }),
  gpu: Loose.optional(),
  network: Loose.optional(),
  storage: Loose.optional(),
  usb: Loose.optional(),
  pci: Loose.optional(),
  system: Loose.optional(),
  /** Incus (`resources_load`). */
  load: Loose.optional(),
}));
/** The host's hardware (loose: unknown fields kept). */
export type LxdServerResources = Closed<z.infer<typeof ServerResourcesSchema>>;

/** One configuration key's documentation. */
const ConfigKeyDocSchema = lazySchema(() => z.looseObject({
  type: z.string().optional(),
  shortdesc: z.string().optional(),
  longdesc: z.string().optional(),
  defaultdesc: z.string().optional(),
}));

/** `GET /1.0/metadata/configuration` (Incus): every configuration key, by entity and group. */
export const ConfigurationMetadataSchema = lazySchema(() => z.looseObject({
  configs: z.record(z.string(), z.record(z.string(), z.looseObject({ keys: z.array(z.record(z.string(), ConfigKeyDocSchema)).nullish() }))),
}));
/** Every configuration key's documentation (loose: unknown fields kept). */
export type LxdConfigurationMetadata = Closed<z.infer<typeof ConfigurationMetadataSchema>>;

/** `GET/PUT/PATCH /1.0`: server information, API extensions, server config. */
export class ServerResource {
  private cached: Promise<LxdServer> | undefined;

  constructor(private readonly api: Api) {}

  /** GET /1.0 with its ETag (always fresh). In a cluster, `target` reads that member's own view. */
  async get(opts: TargetOptions = {}): Promise<WithEtag<LxdServer>> {
    const r = await this.api.sync('GET', '/1.0', ServerSchema, opts);
    if (opts.target === undefined) this.cached = Promise.resolve(r.value);
    return r;
  }

  /** GET /1.0 once per client; later calls reuse the answer (extensions don't change while a daemon runs). */
  info(opts: CallOptions = {}): Promise<LxdServer> {
    if (!this.cached) {
      const p = this.api.sync('GET', '/1.0', ServerSchema, opts).then((r) => r.value);
      this.cached = p;
      p.catch(() => {
        if (this.cached === p) this.cached = undefined;
      });
    }
    return this.cached;
  }

  /** Whether the server has the API extension `name` (read from `GET /1.0`, cached by the client). */
  async hasExtension(name: string, opts: CallOptions = {}): Promise<boolean> {
    return (await this.info(opts)).api_extensions.includes(name);
  }

  /** Throws `LxdExtensionMissingError` naming `what` unless the server has the API extension `name`. */
  async requireExtension(name: string, what: string, opts: CallOptions = {}): Promise<void> {
    if (!(await this.hasExtension(name, opts))) throw new LxdExtensionMissingError(name, what);
  }

  /** PUT /1.0 (replaces the server config; in a cluster, `target` sets that member's own keys). */
  async update(body: ServerPut, opts: EtagOptions & TargetOptions = {}): Promise<void> {
    const b = validateBody(ServerPutSchema, body, 'server');
    this.cached = undefined;
    await this.api.call('PUT', '/1.0', { ...opts, body: b });
  }

  /** PATCH /1.0 (merges the given config keys). */
  async patch(body: ServerPut, opts: EtagOptions & TargetOptions = {}): Promise<void> {
    const b = validateBody(ServerPutSchema, body, 'server');
    this.cached = undefined;
    await this.api.call('PATCH', '/1.0', { ...opts, body: b });
  }

  /**
   * GET /1.0/resources: the host's CPUs, memory, GPUs, NICs, disks, USB and PCI devices (extension
   * `resources`). In a cluster, `target` reads that member's.
   */
  async resources(opts: TargetOptions = {}): Promise<LxdServerResources> {
    await requireExtension(this.api, 'resources', 'client.server.resources', opts);
    return (await this.api.sync('GET', '/1.0/resources', ServerResourcesSchema, { ...opts, noProject: true })).value;
  }

  /**
   * GET /1.0/metadata/configuration: the documentation of every configuration key (Incus, extension
   * `metadata_configuration`; LXD 5.0 has none: LxdExtensionMissingError before any request).
   */
  async configurationMetadata(opts: CallOptions = {}): Promise<LxdConfigurationMetadata> {
    await requireExtension(this.api, 'metadata_configuration', 'client.server.configurationMetadata', opts);
    return (await this.api.sync('GET', '/1.0/metadata/configuration', ConfigurationMetadataSchema, { ...opts, noProject: true })).value;
  }
}
