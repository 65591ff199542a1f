import { Operation, parseOperation } from '../operation.js';
import { lxdPath } from '../path.js';
import { OperationListSchema, OperationSchema, type OperationData } from '../schemas.js';
import { validateSegment } from '../validate.js';
import { Api, type CallOptions } from './base.js';
import type { ServerResource } from './server.js';

/** `/1.0/operations`. */
export class OperationsResource {
  constructor(
    private readonly api: Api,
    private readonly server?: ServerResource,
  ) {}

  /**
   * The operations of the client's project that the server knows (running, and finished in the last
   * 5 s), flattened. `allProjects` needs the API extension `operations_get_query_all_projects`
   * (Incus; LXD after 5.0, which would ignore the parameter and list only `default`'s).
   */
  async list(opts: CallOptions & { allProjects?: boolean } = {}): Promise<OperationData[]> {
    const { allProjects, ...rest } = opts;
    if (allProjects) await this.server?.requireExtension('operations_get_query_all_projects', 'listing the operations of every project', rest);
    const r = await this.api.sync('GET', '/1.0/operations', OperationListSchema, {
      ...rest,
      query: { recursion: 1, 'all-projects': allProjects ? 'true' : undefined },
    });
    return Object.values(r.value).flatMap((v) => v ?? []);
  }

  /**
   * GET /1.0/operations/{id}: the operation as the server reports it now (`LxdNotFoundError` once it is gone, 5 s after it finished).
   */
  async get(id: string, opts: CallOptions = {}): Promise<OperationData> {
    validateSegment(id, 'operation id');
    const r = await this.api.sync('GET', lxdPath`/1.0/operations/${id}`, OperationSchema, opts);
    return r.value;
  }

  /** An Operation handle for an id (e.g. to wait on an operation something else started). */
  async attach(id: string, opts: CallOptions = {}): Promise<Operation> {
    const data = await this.get(id, opts);
    return new Operation(this.api.ctx, parseOperation('GET', `/1.0/operations/${id}`, data), false);
  }

  /**
   * DELETE /1.0/operations/{id}: asks the server to cancel it (`LxdApiError` when it cannot be cancelled).
   */
  async cancel(id: string, opts: CallOptions = {}): Promise<void> {
    validateSegment(id, 'operation id');
    await this.api.call('DELETE', lxdPath`/1.0/operations/${id}`, opts);
  }
}
