import { LxdkitError } from '../errors.js';

/** Stable codes of {@link SimplestreamsError}. */
export const SimplestreamsErrorCode = {
  /** The URL is not http(s), or a query is malformed. Nothing was fetched. */
  INVALID_ARGUMENT: 'SIMPLESTREAMS_ERR_INVALID_ARGUMENT',
  /** The server could not be reached (refused, DNS, TLS). */
  CONNECTION: 'SIMPLESTREAMS_ERR_CONNECTION',
  /** No answer (or no data) within the timeout. */
  TIMEOUT: 'SIMPLESTREAMS_ERR_TIMEOUT',
  /** The server answered with a status other than 200, or redirected somewhere it may not. `status` says which. */
  HTTP: 'SIMPLESTREAMS_ERR_HTTP',
  /** A JSON document is not JSON, is too large, or does not have the simplestreams shape. */
  INVALID_RESPONSE: 'SIMPLESTREAMS_ERR_INVALID_RESPONSE',
  /** No product in the stream matches the query. */
  NOT_FOUND: 'SIMPLESTREAMS_ERR_NOT_FOUND',
  /** A downloaded file does not have the SHA-256 (or the size) the stream announced. The file was removed. */
  CHECKSUM_MISMATCH: 'SIMPLESTREAMS_ERR_CHECKSUM_MISMATCH',
} as const;
export type SimplestreamsErrorCode = (typeof SimplestreamsErrorCode)[keyof typeof SimplestreamsErrorCode];

/** Every error of the simplestreams reader. Branch on `code`; `url` is the document or file concerned. */
export class SimplestreamsError extends LxdkitError<SimplestreamsErrorCode> {
  override readonly name: string = 'SimplestreamsError';
  readonly url: string | undefined;
  /** HTTP status for `SIMPLESTREAMS_ERR_HTTP`. */
  readonly status: number | undefined;

  constructor(code: SimplestreamsErrorCode, message: string, details: { url?: string; status?: number; cause?: unknown } = {}) {
    super(code, message, { cause: details.cause });
    this.url = details.url;
    this.status = details.status;
  }
}
