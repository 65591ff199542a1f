/**
 * Adding and removing an instance's devices (`network attach|detach`, `storage volume attach|detach`):
 * a GET of the instance and a PUT of its writable fields with the ETag it was read with, so a change
 * made by someone else in between is never overwritten (exit 5).
 */
import type { LxdInstance } from '../../lxd/schemas.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { terminalSafe } from '../log-pretty.js';

type Device = Record<string, string>;

async function putDevices(ctx: CliContext, instance: string, change: (i: LxdInstance) => Record<string, Device>): Promise<void> {
  const instances = ctx.client().instances;
  const { value, etag } = await instances.get(instance, { signal: ctx.signal });
  const devices = change(value);
  const op = await instances.update(
    instance,
    { architecture: value.architecture, config: value.config, devices, ephemeral: value.ephemeral, profiles: value.profiles, description: value.description },
    { etag, signal: ctx.signal },
  );
  await op.wait({ signal: ctx.signal });
}

/** Adds `device` to the instance; a device of that name that is there already exits 5. */
export async function attachDevice(ctx: CliContext, instance: string, name: string, device: Device): Promise<void> {
  await putDevices(ctx, instance, (i) => {
    if (Object.hasOwn(i.devices, name)) throw new CliError(ExitCode.CONFLICT, `${instance} has a device named ${terminalSafe(name)} already: give another device name`);
    return { ...i.devices, [name]: device };
  });
}

/**
 * Removes the instance's own device that `match` picks (a device of a profile is not the instance's to
 * remove); none exits 4, several exit 3 (name the device). Resolves to the device's name.
 */
export async function detachDevice(ctx: CliContext, instance: string, what: string, match: (name: string, d: Device) => boolean): Promise<string> {
  let removed = '';
  await putDevices(ctx, instance, (i) => {
    const hits = Object.entries(i.devices).filter(([n, d]) => match(n, d));
    if (hits.length === 0) throw new CliError(ExitCode.NOT_FOUND, `${instance} has no device of its own for ${what}`);
    if (hits.length > 1) throw new CliError(ExitCode.INVALID_INPUT, `${instance} has ${hits.length} devices for ${what} (${hits.map(([n]) => n).join(', ')}): name the one to remove`);
    removed = hits[0]![0];
    const devices = { ...i.devices };
    delete devices[removed];
    return devices;
  });
  return removed;
}
