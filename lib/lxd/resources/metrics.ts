/**
 * `GET /1.0/metrics`: the server's metrics in the Prometheus text format, parsed strictly
 * (`lib/lxd/metrics-text.ts`). Both servers answer it over the unix socket; over HTTPS they want a
 * certificate of type `metrics` (or `core.metrics_authentication=false`).
 */
import { LxdResponseValidationError } from '../errors.js';
import { parseMetrics, type ParsedMetrics } from '../metrics-text.js';
import { requireExtension, type Api, type CallOptions } from './base.js';
import { readCapped } from './stream-util.js';

/** The server's metrics (`metrics.get()`): the parsed samples and the text they came from. */
export interface LxdMetrics extends ParsedMetrics {
  /** The text as the server sent it. */
  text: string;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** `client.metrics` (extension `metrics`). */
export class MetricsResource {
  constructor(private readonly api: Api) {}

  /**
   * The metrics of the client's project (of every project for a client without one): the text, and
   * its samples `{ name, labels, value, timestamp? }` with the families' `types` and `help`. A text
   * the format does not allow throws `LxdResponseValidationError` naming the line.
   */
  async get(opts: CallOptions = {}): Promise<LxdMetrics> {
    await requireExtension(this.api, 'metrics', 'client.metrics.get', opts);
    const path = '/1.0/metrics';
    const res = await this.api.stream('GET', path, opts);
    const bytes = await readCapped(res.body, this.api.ctx.transport.maxResponseBytes, 'GET', path);
    let text: string;
    try {
      text = UTF8.decode(bytes);
    } catch {
      throw new LxdResponseValidationError('GET', path, [{ path: [], message: 'the metrics are not UTF-8 text' }]);
    }
    return { text, ...parseMetrics(text, 'GET', path) };
  }
}
