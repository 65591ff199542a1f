/**
 * Dependencies that only some calls need are loaded on first use, so that `import('lxdkit')` and the
 * CLI's commands do not pay for them: the libvirt XML builder (KVM), YAML (cloud-init), the websocket
 * library (exec, events). They load synchronously (their CommonJS builds), so the APIs that use them
 * stay synchronous.
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

/** A getter that loads `id` the first time it is called. */
export function lazyModule<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= load(id) as T);
}
