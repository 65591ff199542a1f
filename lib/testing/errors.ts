import { LxdkitError } from '../errors.js';

/** Stable codes of {@link TestingError}, the errors of `lxdkit/testing`. */
export const TestingErrorCode = {
  /** A fixture file cannot be read, is not JSON, or does not have the fixture format. Re-record it. */
  FIXTURE: 'TESTING_ERR_FIXTURE',
  /** A replay did not follow its recording: a request went unmatched, or a recorded one never came. */
  REPLAY_MISMATCH: 'TESTING_ERR_REPLAY_MISMATCH',
  /** The recorder could not follow the daemon's events (refused, or broken while recording). Record again. */
  RECORDING: 'TESTING_ERR_RECORDING',
} as const;
export type TestingErrorCode = (typeof TestingErrorCode)[keyof typeof TestingErrorCode];

/** The family of the test kit's errors. */
export class TestingError extends LxdkitError<TestingErrorCode> {
  override readonly name: string = 'TestingError';
}
