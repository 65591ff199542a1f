import { LxdExtensionMissingError } from '../errors.js';
import { ServerPutSchema, ServerSchema, type LxdServer, type ServerPut } from '../schemas.js';
import { validateBody } from '../validate.js';
import { Api, type CallOptions, type EtagOptions, type TargetOptions, type WithEtag } from './base.js';

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

  async hasExtension(name: string, opts: CallOptions = {}): Promise<boolean> {
    return (await this.info(opts)).api_extensions.includes(name);
  }

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
}
