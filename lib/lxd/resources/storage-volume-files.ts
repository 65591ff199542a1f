/**
 * `/1.0/storage-pools/{pool}/volumes/custom/{volume}/files?path=…`: the files of a custom volume
 * (Incus, `custom_volume_sftp`), over the same API as an instance's files, so served by the same
 * code as `client.instances.files`: streamed both ways, every byte from the server treated as hostile,
 * the same checks and errors. The extension is checked before any request; a server without it (LXD,
 * Incus ≤ 6.0.4) gets `LxdExtensionMissingError`.
 */
import { segment } from '../path.js';
import { validatePoolName, validateVolumeName } from '../validate.js';
import { requireExtension, type Api, type CallOptions } from './base.js';
import {
  InstanceFiles,
  validateInstancePath,
  type FileInfo,
  type MkdirOptions,
  type PulledFile,
  type PushData,
  type PushOptions,
  type PushRecursiveOptions,
  type RecursiveOptions,
  type TransferOptions,
  type TreePull,
  type TreeTransfer,
} from './instance-files.js';

const EXTENSION = 'custom_volume_sftp';

/** The instance files' code with the volume's URL: the "name" it is handed is `pool/volume` (neither may hold a slash). */
class VolumeFilesCore extends InstanceFiles {
  protected override path(name: string, path: string): string {
    validateInstancePath(path);
    const slash = name.indexOf('/');
    return `/1.0/storage-pools/${segment(name.slice(0, slash))}/volumes/custom/${segment(name.slice(slash + 1))}/files`;
  }
}

/** `client.storageVolumes.files`: files in a custom volume (paths are absolute, from the volume's root). */
export class StorageVolumeFiles {
  readonly #core: VolumeFilesCore;

  constructor(private readonly api: Api) {
    this.#core = new VolumeFilesCore(api);
  }

  /** Checks the names and paths, then the extension (before any request); the core's "name". */
  async #at(pool: string, volume: string, paths: readonly unknown[], opts: CallOptions): Promise<string> {
    validatePoolName(pool);
    validateVolumeName(volume);
    for (const p of paths) validateInstancePath(p);
    await requireExtension(this.api, EXTENSION, 'the files of a custom volume', opts);
    return `${pool}/${volume}`;
  }

  /** HEAD: the type, owner and mode of a path. */
  async stat(pool: string, volume: string, path: string, opts: CallOptions = {}): Promise<FileInfo> {
    return this.#core.stat(await this.#at(pool, volume, [path], opts), path, opts);
  }

  /** GET a file (a symlink: its target) as a stream with its metadata. */
  async pull(pool: string, volume: string, path: string, opts: TransferOptions = {}): Promise<PulledFile> {
    return this.#core.pull(await this.#at(pool, volume, [path], opts), path, opts);
  }

  /** GET a file into `localFile`, as `instances.files.pullFile` does. */
  async pullFile(pool: string, volume: string, path: string, localFile: string, opts: TransferOptions = {}): Promise<FileInfo & { size: number }> {
    return this.#core.pullFile(await this.#at(pool, volume, [path], opts), path, localFile, opts);
  }

  /** The names in a directory. */
  async list(pool: string, volume: string, path: string, opts: CallOptions = {}): Promise<string[]> {
    return this.#core.list(await this.#at(pool, volume, [path], opts), path, opts);
  }

  /** POST: writes a file (streamed). */
  async push(pool: string, volume: string, path: string, data: PushData, opts: PushOptions = {}): Promise<void> {
    return this.#core.push(await this.#at(pool, volume, [path], opts), path, data, opts);
  }

  /** POST a local file, streamed from disk. */
  async pushFile(pool: string, volume: string, localFile: string, path: string, opts: PushOptions = {}): Promise<void> {
    return this.#core.pushFile(await this.#at(pool, volume, [path], opts), localFile, path, opts);
  }

  async mkdir(pool: string, volume: string, path: string, opts: MkdirOptions = {}): Promise<void> {
    return this.#core.mkdir(await this.#at(pool, volume, [path], opts), path, opts);
  }

  async symlink(pool: string, volume: string, path: string, target: string, opts: CallOptions & { uid?: number; gid?: number } = {}): Promise<void> {
    return this.#core.symlink(await this.#at(pool, volume, [path], opts), path, target, opts);
  }

  async delete(pool: string, volume: string, path: string, opts: CallOptions & { recursive?: boolean } = {}): Promise<void> {
    return this.#core.delete(await this.#at(pool, volume, [path], opts), path, opts);
  }

  async pushRecursive(pool: string, volume: string, localDir: string, path: string, opts: PushRecursiveOptions = {}): Promise<TreeTransfer> {
    return this.#core.pushRecursive(await this.#at(pool, volume, [path], opts), localDir, path, opts);
  }

  async pullRecursive(pool: string, volume: string, path: string, localDir: string, opts: RecursiveOptions = {}): Promise<TreePull> {
    return this.#core.pullRecursive(await this.#at(pool, volume, [path], opts), path, localDir, opts);
  }
}
