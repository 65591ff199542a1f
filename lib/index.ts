/**
 * lxdkit: a typed LXD REST client, and a port of Juju's `container` package (LxdManager, KvmManager).
 */
export * from './lxd/index.js';
export * from './container/index.js';
export * from './lxdprofile/index.js';
export { silentLogger, redact, redactText, describeKeys, isRedactedKey, isSecretText, isExecEnvironment, redactExecEnvironment, EXEC_ENVIRONMENT_KEPT, REDACTED, REDACTED_KEYS, REDACTED_KEY_PREFIXES, type Logger, type LogFn } from './logger.js';
export * from './container/lxd/index.js';
export * from './container/kvm/index.js';
export { LxdkitError, errorText, annotate, type CodeOf, type ErrorFamily } from './errors.js';
export * from './simplestreams/index.js';
export { ProxyError, ProxyErrorCode, proxyFor, bypassesProxy, type Proxy } from './proxy.js';
export * from './stacks/index.js';
