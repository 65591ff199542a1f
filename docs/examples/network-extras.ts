/**
 * Networks beyond the plain network (docs/client.md, "Network ACLs, zones and the rest"): an ACL with
 * its rules, a DNS zone with a record, the state and DHCP leases of a managed network, and the
 * addresses in use; the same code on LXD and on Incus (Incus also has `networkAllocations`). Needs a
 * running LXD and a running Incus (scripts/provision-host.sh starts both, each with a managed bridge);
 * nothing here gives a network an address, and everything it makes is removed.
 * Run: npx tsx docs/examples/network-extras.ts
 */
import { randomBytes } from 'node:crypto';
import { LxdClient } from 'lxdkit';

const run = randomBytes(3).toString('hex');

for (const client of [new LxdClient({ server: 'lxd' }), new LxdClient({ server: 'incus' })]) {
  const acl = `lxdkit-example-acl-${run}`;
  const zone = `lxdkit-example-${run}.example.net`;
  try {
    await client.networkAcls.create({ name: acl, ingress: [{ action: 'allow', state: 'enabled', protocol: 'tcp', destination_port: '22' }] });
    await client.networkAcls.patch(acl, { config: { 'user.owner': 'web' } });          // the rules stay
    console.log(`${await client.serverKind()}: ACL ${acl}: ${(await client.networkAcls.get(acl)).value.ingress.length} ingress rule(s)`);

    await client.networkZones.create({ name: zone, config: { 'dns.nameservers': `ns1.${zone}` } });
    await client.networkZones.records.create(zone, { name: 'www', entries: [{ type: 'A', value: '192.0.2.1', ttl: 300 }] });
    console.log(`zone ${zone}: ${(await client.networkZones.records.list(zone)).map((r) => `${r.name} ${r.entries.map((e) => `${e.type} ${e.value}`).join(', ')}`).join('; ')}`);

    const bridge = (await client.networks.list()).find((n) => n.managed && n.type === 'bridge');
    if (bridge) {
      const state = await client.networks.state(bridge.name);
      console.log(`${bridge.name}: ${state.state}, MTU ${state.mtu}, ${(await client.networks.leases(bridge.name)).length} lease(s)`);
    }
    if (await client.server.hasExtension('network_allocations')) console.log(`addresses in use: ${(await client.networkAllocations.list({ allProjects: true })).length}`);
  } finally {
    await client.networkZones.records.delete(zone, 'www').catch(() => {});
    await client.networkZones.delete(zone).catch(() => {});
    await client.networkAcls.delete(acl).catch(() => {});
    await client.close();
  }
}
