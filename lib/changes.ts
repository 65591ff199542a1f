/**
 * Field-level differences of a profile-shaped resource (description, config, devices), as
 * `lxdkit profile diff` and stack plans show them.
 */

/** One field that differs: `description`, `config.<key>`, `devices.<name>` or `devices.<name>.<key>`. */
export interface FieldChange {
  path: string;
  from?: string | Record<string, string>;
  to?: string | Record<string, string>;
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/** `map[key]` when `map` has it as its own key: never an inherited member (`constructor`, `toString`). */
function own<T>(map: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/**
 * A change from `from` to `to`; an absent side has no key at all, because changes are printed
 * with `--json` and compared with deep equality.
 */
export function change<T extends string | Record<string, string>>(path: string, from: T | undefined, to: T | undefined): FieldChange {
  const c: FieldChange = { path };
  if (from !== undefined) c.from = from;
  if (to !== undefined) c.to = to;
  return c;
}

/** The field-level differences from `current` (the server) to `desired` (a file). */
/** What is compared: a description, a config map, a device map. */
export interface ProfileShape {
  description: string;
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
}

export function profileChanges(current: ProfileShape, desired: ProfileShape): FieldChange[] {
  const changes: FieldChange[] = [];
  if (current.description !== desired.description) changes.push({ path: 'description', from: current.description, to: desired.description });
  const keys = [...new Set([...Object.keys(current.config), ...Object.keys(desired.config)])].sort();
  for (const k of keys) {
    const from = own(current.config, k);
    const to = own(desired.config, k);
    if (from !== to) changes.push(change(`config.${k}`, from, to));
  }
  const devices = [...new Set([...Object.keys(current.devices), ...Object.keys(desired.devices)])].sort();
  for (const d of devices) {
    const from = own(current.devices, d);
    const to = own(desired.devices, d);
    if (from && to) {
      if (sameMap(from, to)) continue;
      for (const k of [...new Set([...Object.keys(from), ...Object.keys(to)])].sort()) {
        if (own(from, k) !== own(to, k)) changes.push(change(`devices.${d}.${k}`, own(from, k), own(to, k)));
      }
    } else {
      changes.push(change(`devices.${d}`, from, to));
    }
  }
  return changes;
}

