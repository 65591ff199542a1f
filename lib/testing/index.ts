/**
 * `lxdkit/testing`: record what a real LXD daemon answers and replay it in tests, without a daemon.
 * See docs/testing.md.
 */
export { TestingError, TestingErrorCode } from './errors.js';
export {
  FixtureSchema,
  FixtureError,
  loadFixture,
  parseFixture,
  describeRequest,
  type Fixture,
  type Interaction,
  type RecordedRequest,
  type RecordedResponse,
  type RecordedEvent,
  type EventStream,
  type Json,
  type RecordedWebsocket,
  type WebsocketFrame,
} from './fixture.js';
export { normaliseFixture, FIXTURE_REDACTED_KEYS, REDACTED, RECORDED_AT, type NormaliseOptions } from './normalise.js';
export { Recorder, RECORDED_REQUEST_HEADERS, RECORDED_RESPONSE_HEADERS, type RecorderOptions, type RecordEventsOptions } from './recorder.js';
export {
  Replayer,
  ReplayMismatchError,
  type ReplayerOptions,
  type ReplayRequest,
  type ReplayResponse,
  type UnmatchedRequest,
} from './replayer.js';
export { startReplayServer, type ReplayServer } from './server.js';
