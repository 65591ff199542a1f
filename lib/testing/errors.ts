import { errorCodes, LxdkitError, type CodeOf } from '../errors.js';

/** The stable codes of the family, `TESTING_ERR_*` (each is explained in docs/errors.md). */
export const TestingErrorCode = errorCodes('TESTING_ERR', [
  'FIXTURE', 'REPLAY_MISMATCH', 'RECORDING',
]);
export type TestingErrorCode = CodeOf<typeof TestingErrorCode>;

/** The family of the test kit's errors. */
export class TestingError extends LxdkitError<TestingErrorCode> {
  override readonly name: string = 'TestingError';
}
