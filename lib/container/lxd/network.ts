/**
 * Juju container/lxd network.go and storage.go helpers on lxdkit's client: `ensureIPv4`,
 * `verifyNetworkDevice` (with `ensureDefaultNetworking`), `verifyNoIPv6` and `ensureDefaultStorage`.
 */
import type { LxdClient } from '../../lxd/client.js';
import { isNotFound } from '../../lxd/errors.js';
import type { LxdNetwork, LxdProfile } from '../../lxd/schemas.js';
import { silentLogger, type Logger } from '../../logger.js';
import { goQuote } from '../../go-compat.js';
import { annotate } from '../../errors.js';
import { LxdManagerError, LxdManagerErrorCode } from './errors.js';

interface Call {
  signal?: AbortSignal;
}

/**
 * Juju `EnsureIPv4(net)`: when the network's `ipv4.address` is absent or `none`, sets
 * `ipv4.address=auto` and `ipv4.nat=true` (PUT with the ETag) and resolves true; otherwise false
 * and nothing is written. Never point this at a real daemon's bridge you don't own: it gives the
 * bridge an address.
 */
export async function ensureIPv4(client: LxdClient, name: string, call: Call = {}): Promise<boolean> {
  const { value, etag } = await client.networks.get(name, call);
  const current = value.config['ipv4.address'];
  if (current !== undefined && current !== 'none') return false;
  const config = { ...value.config, 'ipv4.address': 'auto', 'ipv4.nat': 'true' };
  await client.networks.update(name, { description: value.description, config }, { ...call, etag });
  return true;
}

/**
 * Juju `verifyNoIPv6`: an unmanaged network, or one whose `ipv6.address` is absent or `none`, is
 * fine; otherwise `juju does not support IPv6. Disable IPv6 in LXD via:\n\tlxc network set <name>
 * ipv6.address none\nand run the command again`.
 */
export function verifyNoIPv6(network: LxdNetwork): void {
  if (!network.managed) return;
  const v6 = network.config['ipv6.address'];
  if (v6 === undefined || v6 === 'none') return;
  throw new LxdManagerError(
    LxdManagerErrorCode.INITIALISE,
    `juju does not support IPv6. Disable IPv6 in LXD via:\n\tlxc network set ${network.name} ipv6.address none\nand run the command again`,
  );
}

/** Juju's config of the default bridge it creates. It gives the bridge an address: tests use a fake server. */
export const DefaultBridgeConfig: Readonly<Record<string, string>> = Object.freeze({
  'ipv4.address': 'auto',
  'ipv4.nat': 'true',
  'ipv6.address': 'none',
  'ipv6.nat': 'false',
});

/**
 * Options of `verifyNetworkDevice()` and `ensureDefaultNetworking()`: the bridge to create and its config, logger.
 */
export interface NetworkSetupOptions {
  /** The bridge created when the profile has no NIC (default `lxdbr0`). */
  bridgeName?: string;
  /** Its config when it must be created (default {@link DefaultBridgeConfig}, Juju's). */
  bridgeConfig?: Readonly<Record<string, string>>;
  logger?: Logger;
}

/**
 * What `verifyNetworkDevice()` needs to know of the server: whether it has the network API and whether it is clustered.
 */
export interface ServerFacts {
  networkAPI: boolean;
  clustered: boolean;
}

function nicsOf(profile: LxdProfile): [string, Record<string, string>][] {
  return Object.entries(profile.devices).filter(([, d]) => d['type'] === 'nic');
}

/**
 * Juju `VerifyNetworkDevice(profile, eTag)`. Resolves to the local bridge name.
 *
 * - No NIC in the profile: with the network API on a server that is not clustered,
 *   `ensureDefaultNetworking` (creates the bridge if missing, refuses one with IPv6, adds the first
 *   free `ethN` NIC to the profile); otherwise `profile "<p>" does not have any devices configured
 *   with type "nic"`.
 * - NICs: the first whose network (`network`, else `parent`) is a bridge or macvlan network, or
 *   whose `nictype` is bridged or macvlan, and has no IPv6. Errors are prefixed `profile "<p>": `.
 */
export async function verifyNetworkDevice(
  client: LxdClient,
  profile: LxdProfile,
  etag: string | undefined,
  server: ServerFacts,
  opts: NetworkSetupOptions & Call = {},
): Promise<string> {
  const nics = nicsOf(profile);
  if (nics.length === 0) {
    if (server.networkAPI && !server.clustered) {
      try {
        return await ensureDefaultNetworking(client, profile, etag, opts);
      } catch (err) {
        throw annotate(LxdManagerError, 'ensuring default bridge config', err, LxdManagerErrorCode.INITIALISE);
      }
    }
    throw new LxdManagerError(LxdManagerErrorCode.INITIALISE, `profile ${goQuote(profile.name)} does not have any devices configured with type "nic"`);
  }
  if (!server.networkAPI) {
    throw new LxdManagerError(LxdManagerErrorCode.INITIALISE, `profile ${goQuote(profile.name)}: this LXD has no network API; lxdkit supports only LXD with the "network" extension`);
  }
  try {
    return await verifyNICsWithAPI(client, nics, opts);
  } catch (err) {
    throw annotate(LxdManagerError, `profile ${goQuote(profile.name)}`, err, LxdManagerErrorCode.INITIALISE);
  }
}

async function verifyNICsWithAPI(client: LxdClient, nics: [string, Record<string, string>][], call: Call): Promise<string> {
  const checked: string[] = [];
  let ipv6Err: unknown;
  for (const [name, nic] of nics) {
    checked.push(name);
    const netName = nic['network'] ?? nic['parent'] ?? '';
    if (netName === '') continue;
    let network: LxdNetwork;
    try {
      network = (await client.networks.get(netName, { signal: call.signal })).value;
    } catch (err) {
      throw annotate(LxdManagerError, `retrieving network ${goQuote(netName)}`, err, LxdManagerErrorCode.INITIALISE);
    }
    try {
      verifyNoIPv6(network);
    } catch (err) {
      ipv6Err = err;
      continue;
    }
    const validNet = network.type === 'bridge' || network.type === 'macvlan';
    const validNic = nic['nictype'] === 'bridged' || nic['nictype'] === 'macvlan';
    if (!validNet && !validNic) continue;
    return netName;
  }
  if (ipv6Err !== undefined) throw ipv6Err;
  throw new LxdManagerError(
    LxdManagerErrorCode.INITIALISE,
    `no network device found with nictype "bridged" or "macvlan"\n\tthe following devices were checked: ${checked.join(', ')}\nNote: juju does not support IPv6.\nReconfigure lxd to use a network of type "bridged" or "macvlan", disabling IPv6.`,
  );
}

/** Juju `ensureDefaultNetworking`, with the bridge name and config as options. */
async function ensureDefaultNetworking(client: LxdClient, profile: LxdProfile, etag: string | undefined, opts: NetworkSetupOptions & Call): Promise<string> {
  const call = { signal: opts.signal };
  const bridge = opts.bridgeName ?? 'lxdbr0';
  const log = (opts.logger ?? silentLogger).child({ module: 'juju.container.lxd' });
  let network: LxdNetwork;
  try {
    network = (await client.networks.get(bridge, call)).value;
    verifyNoIPv6(network);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await client.networks.create({ name: bridge, type: 'bridge', config: { ...(opts.bridgeConfig ?? DefaultBridgeConfig) } }, call);
    network = (await client.networks.get(bridge, call)).value;
  }
  let nicName = '';
  for (let i = 0; i < 100; i++) {
    if (!(`eth${i}` in profile.devices)) {
      nicName = `eth${i}`;
      break;
    }
  }
  if (nicName === '') throw new LxdManagerError(LxdManagerErrorCode.INITIALISE, `failed to generate a unique device name for profile ${goQuote(profile.name)}`);
  const devices = { ...profile.devices, [nicName]: { type: 'nic', nictype: network.type === 'bridge' ? 'bridged' : 'macvlan', parent: bridge } };
  await client.profiles.update(profile.name, { description: profile.description, config: profile.config, devices }, { ...call, etag });
  log.debug(`created new nic device ${goQuote(nicName)} in profile ${goQuote(profile.name)}`);
  return bridge;
}

/**
 * Juju `EnsureDefaultStorage(profile, eTag)`: when no device of the profile has `path: /`, adds
 * `root = { type: disk, path: /, pool }` with the pool `default` if it exists, else the first pool,
 * else a new `dir` pool named `default`; PUT with the ETag. Resolves true when it changed something.
 */
export async function ensureDefaultStorage(client: LxdClient, profile: LxdProfile, etag: string | undefined, call: Call = {}): Promise<boolean> {
  if (Object.values(profile.devices).some((d) => d['path'] === '/')) return false;
  const c = { signal: call.signal };
  const pools = await client.storagePools.list({ recursion: 0, ...c });
  let pool = pools.includes('default') ? 'default' : pools[0];
  if (pool === undefined) {
    try {
      await client.storagePools.create({ name: 'default', driver: 'dir' }, c);
    } catch (err) {
      throw annotate(LxdManagerError, `creating storage pool ${goQuote('default')}`, err, LxdManagerErrorCode.INITIALISE);
    }
    pool = 'default';
  }
  const devices = { ...profile.devices, root: { type: 'disk', path: '/', pool } };
  await client.profiles.update(profile.name, { description: profile.description, config: profile.config, devices }, { ...c, etag });
  return true;
}

