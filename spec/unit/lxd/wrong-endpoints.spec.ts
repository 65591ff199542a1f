/**
 * Two endpoints lxdkit used to get wrong: the exec output files of `instances.logs` (in
 * `logs/exec-output/` on Incus and LXD ≥ 6.8) and the join token of `cluster.update` (LXD 5.0 reads
 * it from `cluster_password`).
 */
import { expect } from 'chai';
import type { LxdClient } from '../../../lib/lxd/client.js';
import { lxdError, serverInfo, startFakeLxd, sync, type FakeLxd } from '../../helpers/fake-lxd.js';

function server(kind: 'lxd' | 'incus', extensions: string[] = []): unknown {
  const info = serverInfo({ extensions: ['clustering', 'container_exec_recording', ...extensions], version: kind === 'incus' ? '6.0.4' : '5.0.2' }) as { environment: Record<string, unknown> };
  return { ...info, environment: { ...info.environment, server: kind } };
}

describe('lxd: endpoints that differ between servers', () => {
  let fake: FakeLxd;
  let client: LxdClient;
  const start = async (info: unknown) => {
    fake = await startFakeLxd();
    fake.on('GET', '/1.0', () => sync(info));
    client = fake.client();
  };
  afterEach(async () => {
    await client.close();
    await fake.close();
  });

  describe('instances.logs and the output files of exec', () => {
    const out = 'exec_0f4c5e3a-1d2b-4c6e-9a8b-7c6d5e4f3a2b.stdout';
    const wire = (kind: 'lxd' | 'incus', extensions: string[] = []) => async () => {
      await start(server(kind, extensions));
      fake.on('GET', '/1.0/instances/c1/logs', () => sync(['/1.0/instances/c1/logs/lxc.log']));
      fake.on('GET', '/1.0/instances/c1/logs/exec-output', () => sync([`/1.0/instances/c1/logs/exec-output/${out}`]));
      fake.on('DELETE', /^\/1\.0\/instances\/c1\/logs\/.*/, () => sync(null));
    };

    it('on Incus: DELETE logs/exec-output/{file} for an exec output file, logs/{file} for the others; list has both', async () => {
      await wire('incus')();
      await client.instances.logs.delete('c1', out);
      await client.instances.logs.delete('c1', 'lxc.log');
      expect(fake.calls().filter((c) => c.startsWith('DELETE'))).to.deep.equal([`DELETE /1.0/instances/c1/logs/exec-output/${out}`, 'DELETE /1.0/instances/c1/logs/lxc.log']);
      expect(await client.instances.logs.list('c1')).to.deep.equal(['lxc.log', out]);
    });

    it('on Incus before any recorded exec: the 404 of the missing exec-output directory is an empty listing', async () => {
      await wire('incus')();
      fake.on('GET', '/1.0/instances/c1/logs/exec-output', () => lxdError(404, 'open /var/lib/incus/containers/c1/exec-output: no such file or directory'));
      expect(await client.instances.logs.list('c1')).to.deep.equal(['lxc.log']);
    });

    it('on LXD ≥ 6.8 (storage_and_network_operations): logs/exec-output/{file} too', async () => {
      await wire('lxd', ['storage_and_network_operations'])();
      await client.instances.logs.delete('c1', out);
      expect(fake.calls().filter((c) => c.startsWith('DELETE'))).to.deep.equal([`DELETE /1.0/instances/c1/logs/exec-output/${out}`]);
    });

    it('on LXD 5.0: logs/{file}, where 5.0 keeps them, and one listing', async () => {
      await wire('lxd')();
      await client.instances.logs.delete('c1', out);
      expect(fake.calls().filter((c) => c.startsWith('DELETE'))).to.deep.equal([`DELETE /1.0/instances/c1/logs/${out}`]);
      expect(await client.instances.logs.list('c1')).to.deep.equal(['lxc.log']);
      expect(fake.calls().filter((c) => c.includes('exec-output'))).to.deep.equal([]);
    });
  });

  describe('cluster.update with a join token', () => {
    const join = { enabled: true, server_name: 'm4', server_address: '127.0.1.4:8443', cluster_address: '127.0.1.1:8443', cluster_certificate: 'PEM', cluster_token: 'dG9rZW4=' };

    it('LXD 5.0 (no explicit_trust_token) reads the token from cluster_password: it is sent there', async () => {
      await start(server('lxd'));
      fake.on('PUT', '/1.0/cluster', () => fake.operation());
      await (await client.cluster.update(join)).wait();
      const { cluster_token: token, ...rest } = join;
      expect(fake.requestsTo('PUT', '/1.0/cluster')[0]?.body).to.deep.equal({ ...rest, cluster_password: token });
    });

    it('Incus and LXD with explicit_trust_token read cluster_token: it is sent as given', async () => {
      for (const info of [server('incus'), server('lxd', ['explicit_trust_token'])]) {
        await start(info);
        fake.on('PUT', '/1.0/cluster', () => fake.operation());
        await (await client.cluster.update(join)).wait();
        expect(fake.requestsTo('PUT', '/1.0/cluster')[0]?.body).to.deep.equal(join);
        await client.close();
        await fake.close();
      }
      await start(server('lxd'));
    });

    it('a different cluster_password beside the token is refused before any I/O', async () => {
      await start(server('lxd'));
      const err = await client.cluster.update({ ...join, cluster_password: 'other' }).catch((e: unknown) => e);
      expect(err).to.have.property('code', 'LXD_ERR_INVALID_ARGUMENT');
      expect(fake.requestsTo('PUT', '/1.0/cluster')).to.have.length(0);
    });
  });
});
