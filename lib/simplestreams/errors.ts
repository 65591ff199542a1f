import { errorCodes, LxdkitError, type CodeOf } from '../errors.js';

/** The stable codes of the family, `SIMPLESTREAMS_ERR_*` (each is explained in docs/errors.md). */
export const SimplestreamsErrorCode = errorCodes('SIMPLESTREAMS_ERR', [
  'INVALID_ARGUMENT', 'CONNECTION', 'TIMEOUT', 'HTTP', 'INVALID_RESPONSE', 'NOT_FOUND', 'CHECKSUM_MISMATCH',
]);
export type SimplestreamsErrorCode = CodeOf<typeof SimplestreamsErrorCode>;

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
