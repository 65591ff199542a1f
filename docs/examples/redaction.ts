/**
 * Secrets in log lines: the redaction rule the library, the lxdkit command and the fixture recorder
 * share. No daemon needed. Run: npx tsx docs/examples/redaction.ts
 */
import assert from 'node:assert/strict';
import pino from 'pino';
import { describeKeys, isRedactedKey, redact } from 'lxdkit';

const body = {
  name: 'web',
  config: { 'limits.cpu': '2', 'user.user-data': '#cloud-config\npassword: hunter2\n', 'environment.DB_PASSWORD': 'hunter2' },
};
assert.deepEqual(redact(body), {
  name: 'web',
  config: { 'limits.cpu': '2', 'user.user-data': '[redacted]', 'environment.DB_PASSWORD': '[redacted]' },
});
assert.equal(isRedactedKey('cloud-init.vendor-data'), true); // by prefix: user., cloud-init., environment.
assert.equal(isRedactedKey('password'), true); // by name: password, token, trust_token, key, fds, secret, ...

// A config map in a log message: name the keys, never the values.
assert.equal(describeKeys(body.config), '["limits.cpu","user.user-data","environment.DB_PASSWORD"]');

// Your own pino logger: run every logged object through redact().
const logger = pino({ formatters: { log: (obj) => redact(obj) as Record<string, unknown> } });
logger.info({ body }, 'creating an instance'); // "user.user-data":"[redacted]"
