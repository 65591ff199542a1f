import { expect } from 'chai';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ContainerDir,
  ContainerError,
  ContainerErrorCode,
  RemovedContainerDir,
  newDirectory,
  removeDirectory,
} from '../../../lib/container/index.js';
import { captureLogger } from './capture-logger.js';

async function isDirectory(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined)) !== undefined;
}

describe('container directories (Juju DirectorySuite)', () => {
  let root: string;
  let containerDir: string;
  let removedContainerDir: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'lxdkit-dirspec-'));
    containerDir = join(root, 'containers');
    removedContainerDir = join(root, 'removed-containers');
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('defaults to Juju paths', () => {
    expect(ContainerDir).to.equal('/var/lib/juju/containers');
    expect(RemovedContainerDir).to.equal('/var/lib/juju/removed-containers');
  });

  it('newDirectory creates the directory with its parents, mode 0755, and returns its path (TestNewContainerDir)', async () => {
    const oldMask = process.umask(0o022);
    try {
      const dir = await newDirectory('testing', { containerDir });
      expect(dir).to.equal(join(containerDir, 'testing'));
      expect(await isDirectory(dir)).to.equal(true);
      expect((await stat(dir)).mode & 0o777).to.equal(0o755);
    } finally {
      process.umask(oldMask);
    }
  });

  it('newDirectory on an existing directory is not an error and logs TRACE create directory', async () => {
    const { logger, entries } = captureLogger();
    await newDirectory('testing', { containerDir });
    const again = await newDirectory('testing', { containerDir, logger });
    expect(again).to.equal(join(containerDir, 'testing'));
    expect(entries).to.deep.include({
      level: 'trace',
      msg: `create directory: ${join(containerDir, 'testing')}`,
      bindings: { module: 'juju.container' },
    });
  });

  it('newDirectory failure logs Juju ERROR text and throws CONTAINER_ERR_DIRECTORY with the OS error', async () => {
    await writeFile(join(root, 'file'), 'x');
    const { logger, entries } = captureLogger();
    const err = await newDirectory('testing', { containerDir: join(root, 'file'), logger }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ContainerError);
    expect((err as ContainerError).code).to.equal(ContainerErrorCode.DIRECTORY);
    expect((err as ContainerError).cause).to.have.property('code', 'ENOTDIR');
    expect(entries.map((e) => `${e.level} ${e.msg}`)).to.deep.equal([
      `trace create directory: ${join(root, 'file', 'testing')}`,
      `error failed to create container directory: ${(err as Error).message}`,
    ]);
  });

  it('removeDirectory moves the directory into removed-containers (TestRemoveContainerDir)', async () => {
    const dir = await newDirectory('testing', { containerDir });
    await writeFile(join(dir, 'user-data'), 'keep me');
    const moved = await removeDirectory('testing', { containerDir, removedContainerDir });
    expect(moved).to.equal(join(removedContainerDir, 'testing'));
    expect(await exists(dir)).to.equal(false);
    expect(await isDirectory(moved)).to.equal(true);
    expect(await readdir(moved)).to.deep.equal(['user-data']);
  });

  const clashes: { existing: string[]; expected: string }[] = [
    { existing: ['testing'], expected: 'testing.1' },
    { existing: ['testing', 'testing.1'], expected: 'testing.2' },
    { existing: ['testing', 'testing.1', 'testing.2', 'testing.3'], expected: 'testing.4' },
    { existing: ['testing.1'], expected: 'testing' },
    { existing: ['testing', 'testing.2'], expected: 'testing.1' },
  ];
  for (const { existing, expected } of clashes) {
    it(`removeDirectory with ${existing.join(', ')} already removed goes to ${expected} (TestRemoveContainerDirWithClash)`, async () => {
      const dir = await newDirectory('testing', { containerDir });
      for (const name of existing) await mkdir(join(removedContainerDir, name), { recursive: true });
      const moved = await removeDirectory('testing', { containerDir, removedContainerDir });
      expect(moved).to.equal(join(removedContainerDir, expected));
      expect(await exists(dir)).to.equal(false);
      expect(await isDirectory(moved)).to.equal(true);
    });
  }

  it('removeDirectory of a missing directory logs the rename failure, throws, and leaves no reservation behind', async () => {
    const { logger, entries } = captureLogger();
    const err = await removeDirectory('missing', { containerDir, removedContainerDir, logger }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ContainerError);
    expect((err as ContainerError).code).to.equal(ContainerErrorCode.DIRECTORY);
    expect((err as ContainerError).cause).to.have.property('code', 'ENOENT');
    expect(entries.map((e) => `${e.level} ${e.msg}`)).to.deep.equal([
      `error failed to rename container directory: ${(err as Error).message}`,
    ]);
    expect(await readdir(removedContainerDir)).to.deep.equal([]);
  });

  it('removeDirectory logs Juju text when the removed-containers directory cannot be created', async () => {
    await newDirectory('testing', { containerDir });
    await writeFile(join(root, 'file'), 'x');
    const { logger, entries } = captureLogger();
    const err = await removeDirectory('testing', {
      containerDir,
      removedContainerDir: join(root, 'file', 'removed'),
      logger,
    }).catch((e: unknown) => e);
    expect((err as ContainerError).code).to.equal(ContainerErrorCode.DIRECTORY);
    expect(entries.map((e) => `${e.level} ${e.msg}`)).to.deep.equal([
      `error failed to create removed container directory: ${(err as Error).message}`,
    ]);
    expect(await isDirectory(join(containerDir, 'testing'))).to.equal(true);
  });

  it('two concurrent removals of the same name never overwrite each other', async () => {
    const dir = await newDirectory('testing', { containerDir });
    await writeFile(join(dir, 'marker'), 'first');
    await mkdir(join(removedContainerDir, 'testing'), { recursive: true });
    await writeFile(join(removedContainerDir, 'testing', 'marker'), 'earlier removal');
    const results = await Promise.allSettled([
      removeDirectory('testing', { containerDir, removedContainerDir }),
      removeDirectory('testing', { containerDir, removedContainerDir }),
    ]);
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(fulfilled).to.have.length(1);
    expect(rejected).to.have.length(1);
    expect((rejected[0] as PromiseRejectedResult).reason).to.have.property('code', ContainerErrorCode.DIRECTORY);
    const winner = (fulfilled[0] as PromiseFulfilledResult<string>).value;
    // Each caller reserved its own target (testing.1 or testing.2); only the winner's remains.
    expect([join(removedContainerDir, 'testing.1'), join(removedContainerDir, 'testing.2')]).to.include(winner);
    expect((await readdir(removedContainerDir)).sort()).to.deep.equal(['testing', winner.slice(removedContainerDir.length + 1)]);
    expect(await readFile(join(winner, 'marker'), 'utf8')).to.equal('first');
    expect(await readFile(join(removedContainerDir, 'testing', 'marker'), 'utf8')).to.equal('earlier removal');
  });

  it('successive removals of re-created directories get testing, testing.1, testing.2', async () => {
    const moved: string[] = [];
    for (let i = 0; i < 3; i++) {
      await newDirectory('testing', { containerDir });
      moved.push(await removeDirectory('testing', { containerDir, removedContainerDir }));
    }
    expect(moved).to.deep.equal(['testing', 'testing.1', 'testing.2'].map((n) => join(removedContainerDir, n)));
  });

  const badNames = ['', '.', '..', 'a/b', '/abs', '../escape', 'a..b', 'nul\0byte'];
  for (const name of badNames) {
    it(`refuses container name ${JSON.stringify(name)} before touching the disk`, async () => {
      for (const op of [
        () => newDirectory(name, { containerDir }),
        () => removeDirectory(name, { containerDir, removedContainerDir }),
      ]) {
        const err = await op().catch((e: unknown) => e);
        expect(err).to.be.instanceOf(ContainerError);
        expect((err as ContainerError).code).to.equal(ContainerErrorCode.INVALID_NAME);
      }
      expect(await exists(containerDir)).to.equal(false);
      expect(await exists(removedContainerDir)).to.equal(false);
    });
  }

  it('an aborted signal stops before any I/O', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await newDirectory('testing', { containerDir, signal: ac.signal }).catch((e: unknown) => e);
    expect(err).to.have.property('name', 'AbortError');
    expect(await exists(containerDir)).to.equal(false);
  });
});
