/**
 * The `image`, `network` and `storage` commands, named as `lxc` names them. Each command's module is
 * loaded when it runs (`--help` loads none of them).
 */
import { Option, type Command } from 'commander';
import type { CliContext } from './context.js';

type Run = (cmd: Command, work: (ctx: CliContext) => Promise<number | void>) => Promise<void>;
type Fmt = { format?: string };
type Desc = { description?: string };

const formatOption = (): Option => new Option('--format <format>', 'table, json, yaml or csv (default: table; json with --json)').choices(['table', 'json', 'yaml', 'csv']);

const image = () => import('./commands/image.js');
const network = () => import('./commands/network.js');
const storage = () => import('./commands/storage.js');

/** Adds `image`, `publish`-less image management, `network` and `storage` to `program`. */
export function addResourceCommands(program: Pick<Command, 'command'>, run: Run): void {
  // ------------------------------------------------------------------ image
  const img = program.command('image').description('images: list, info, show, delete, aliases, import, copy, export, refresh');
  img
    .command('list')
    .description('the images (FILTER: a fingerprint start, part of an alias, or KEY=VALUE of a property)')
    .argument('[filters...]', 'filters; an image must match all')
    .addOption(formatOption())
    .action((filters: string[], o: Fmt, cmd: Command) => run(cmd, async (ctx) => (await image()).imageList(ctx, filters, o)));
  img
    .command('info')
    .description('one image: fingerprint, size, architecture, dates, aliases, properties')
    .argument('<image>', 'an alias, a fingerprint or its start')
    .action((ref: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await image()).imageInfo(ctx, ref)));
  img
    .command('show')
    .description("an image's writable fields as YAML (as lxc image show)")
    .argument('<image>', 'an alias, a fingerprint or its start')
    .action((ref: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await image()).imageShow(ctx, ref)));
  img
    .command('delete')
    .description('delete images (each is tried; the exit code is the first failure\'s)')
    .argument('<images...>', 'aliases, fingerprints or their starts')
    .action((refs: string[], _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await image()).imageDelete(ctx, refs)));
  img
    .command('import')
    .description('upload an image (streamed): METADATA and ROOTFS tarballs, or one unified tarball')
    .argument('<metadata>', 'metadata tarball (or the unified tarball)')
    .argument('[rootfs]', 'rootfs tarball (split image)')
    .option('--alias <names...>', 'aliases to point at the image (moved when they exist)')
    .option('--public', 'make the image public')
    .action((metadata: string, rootfs: string | undefined, o: { alias?: string[]; public?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await image()).imageImport(ctx, metadata, rootfs, o)));
  img
    .command('copy')
    .description('copy an image to another server (lxdkit carries it, streamed: LXD and Incus take each other\'s images)')
    .argument('<image>', '[REMOTE:]IMAGE: an alias, a fingerprint or its start')
    .argument('<target>', 'REMOTE: the server to copy to ("local:": the unix socket)')
    .option('--alias <alias>', 'an alias for the copy (repeat for more; moved when it exists)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--copy-aliases', "also the source image's aliases")
    .option('--public', 'make the copy public')
    .action((src: string, dst: string, o: { alias?: string[]; copyAliases?: boolean; public?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await image()).imageCopy(ctx, src, dst, o)));
  img
    .command('export')
    .description('download an image into a directory (the server\'s file names) or a file (a split image: FILE and FILE.root); never overwrites')
    .argument('<image>', '[REMOTE:]IMAGE: an alias, a fingerprint or its start')
    .argument('[target]', 'a directory (default: the current one) or a new file')
    .action((ref: string, target: string | undefined, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await image()).imageExport(ctx, ref, target)));
  img
    .command('refresh')
    .description('have the server look for a newer version of images it copied from an image server (each is tried)')
    .argument('<images...>', '[REMOTE:]IMAGE: aliases, fingerprints or their starts')
    .action((refs: string[], _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await image()).imageRefresh(ctx, refs)));
  const alias = img.command('alias').description('image aliases');
  alias
    .command('list')
    .description('the aliases (FILTER: part of the name)')
    .argument('[filters...]', 'filters; an alias must match all')
    .addOption(formatOption())
    .action((filters: string[], o: Fmt, cmd: Command) => run(cmd, async (ctx) => (await image()).imageAliasList(ctx, filters, o)));
  alias
    .command('create')
    .description('point a new alias at an image')
    .argument('<alias>', 'the new alias')
    .argument('<image>', 'an alias, a fingerprint or its start')
    .option('--description <text>', "the alias's description")
    .action((name: string, ref: string, o: Desc, cmd: Command) => run(cmd, async (ctx) => (await image()).imageAliasCreate(ctx, name, ref, o)));
  alias
    .command('delete')
    .description('delete an alias (the image stays)')
    .argument('<alias>', 'the alias')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await image()).imageAliasDelete(ctx, name)));

  program
    .command('publish')
    .description('make an image of a stopped instance or a snapshot (as lxc publish); REMOTE: puts it on another server')
    .argument('<source>', '[REMOTE:]INSTANCE[/SNAPSHOT]')
    .argument('[target-and-properties...]', '[REMOTE:] the server to put the image on, and KEY=VALUE image properties')
    .option('--alias <alias>', 'an alias for the image (repeat for more)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--public', 'make the image public')
    .option('--compression <algorithm>', "gzip, xz, none, … (default: the server's images.compression_algorithm)")
    .option('-f, --force', 'stop a running instance first (killed) and start it again afterwards')
    .action((src: string, rest: string[], o: { alias?: string[]; public?: boolean; compression?: string; force?: boolean }, cmd: Command) => run(cmd, async (ctx) => (await image()).publishCommand(ctx, src, rest, o)));

  // ------------------------------------------------------------------ network
  const net = program.command('network').description('networks, their ACLs, zones and forwards');
  net
    .command('list')
    .description('the networks')
    .addOption(formatOption())
    .action((o: Fmt, cmd: Command) => run(cmd, async (ctx) => (await network()).networkList(ctx, o)));
  net
    .command('show')
    .description('one network as YAML')
    .argument('<network>', 'network name')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await network()).networkShow(ctx, name)));
  net
    .command('create')
    .description('create a network; a bridge needs ipv4.address= and ipv6.address= (an address, or none)')
    .argument('<network>', 'network name')
    .argument('[config...]', 'KEY=VALUE config')
    .option('--type <type>', 'bridge (default), macvlan, sriov, ovn, physical')
    .option('--description <text>', 'description')
    .action((name: string, pairs: string[], o: { type?: string } & Desc, cmd: Command) => run(cmd, async (ctx) => (await network()).networkCreate(ctx, name, pairs, o)));
  net
    .command('delete')
    .description('delete a network')
    .argument('<network>', 'network name')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await network()).networkDelete(ctx, name)));
  net
    .command('set')
    .description('set config keys (KEY VALUE, or KEY=VALUE…; an empty value unsets)')
    .argument('<network>', 'network name')
    .argument('<config...>', 'KEY VALUE, or KEY=VALUE…')
    .action((name: string, args: string[], _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await network()).networkSet(ctx, name, args)));
  net
    .command('get')
    .description('the value of a config key (empty when unset)')
    .argument('<network>', 'network name')
    .argument('<key>', 'config key')
    .action((name: string, key: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await network()).networkGet(ctx, name, key)));
  net
    .command('edit')
    .description('edit as YAML in $EDITOR (or from a piped stdin); written back with the ETag it was read with')
    .argument('<network>', 'network name')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await network()).networkEdit(ctx, name)));
  net
    .command('attach')
    .description('give an instance a NIC on the network (device named after the network by default)')
    .argument('<network>', 'network name')
    .argument('<instance>', 'instance name')
    .argument('[device]', 'device name')
    .argument('[interface]', 'interface name inside the instance')
    .action((name: string, inst: string, dev: string | undefined, iface: string | undefined, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await network()).networkAttach(ctx, name, inst, dev, iface)));
  net
    .command('detach')
    .description("remove the instance's NIC on the network")
    .argument('<network>', 'network name')
    .argument('<instance>', 'instance name')
    .argument('[device]', 'device name (when it has several on the network)')
    .action((name: string, inst: string, dev: string | undefined, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await network()).networkDetach(ctx, name, inst, dev)));

  const acl = net.command('acl').description('network ACLs');
  acl.command('list').description('the ACLs').addOption(formatOption())
    .action((o: Fmt, cmd: Command) => run(cmd, async (ctx) => (await network()).aclList(ctx, o)));
  acl.command('show').description('one ACL as YAML').argument('<acl>', 'ACL name')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await network()).aclShow(ctx, name)));
  acl.command('create').description('create an ACL').argument('<acl>', 'ACL name').argument('[config...]', 'KEY=VALUE config').option('--description <text>', 'description')
    .action((name: string, pairs: string[], o: Desc, cmd: Command) => run(cmd, async (ctx) => (await network()).aclCreate(ctx, name, pairs, o)));
  acl.command('delete').description('delete an ACL').argument('<acl>', 'ACL name')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await network()).aclDelete(ctx, name)));
  acl.command('edit').description('edit as YAML (description, config, ingress, egress) in $EDITOR or from a piped stdin').argument('<acl>', 'ACL name')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await network()).aclEdit(ctx, name)));

  const zone = net.command('zone').description('network DNS zones');
  zone.command('list').description('the zones').addOption(formatOption())
    .action((o: Fmt, cmd: Command) => run(cmd, async (ctx) => (await network()).zoneList(ctx, o)));
  zone.command('show').description('one zone as YAML').argument('<zone>', 'zone name')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await network()).zoneShow(ctx, name)));
  zone.command('create').description('create a zone').argument('<zone>', 'zone name (a DNS name)').argument('[config...]', 'KEY=VALUE config').option('--description <text>', 'description')
    .action((name: string, pairs: string[], o: Desc, cmd: Command) => run(cmd, async (ctx) => (await network()).zoneCreate(ctx, name, pairs, o)));
  zone.command('delete').description('delete a zone').argument('<zone>', 'zone name')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await network()).zoneDelete(ctx, name)));
  zone.command('edit').description('edit as YAML (description, config) in $EDITOR or from a piped stdin').argument('<zone>', 'zone name')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await network()).zoneEdit(ctx, name)));

  const fwd = net.command('forward').description("a network's forwards (named by their listen address)");
  fwd.command('list').description("the network's forwards").argument('<network>', 'network name').addOption(formatOption())
    .action((name: string, o: Fmt, cmd: Command) => run(cmd, async (ctx) => (await network()).forwardList(ctx, name, o)));
  fwd.command('show').description('one forward as YAML').argument('<network>', 'network name').argument('<listen-address>', 'its listen address')
    .action((name: string, listen: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await network()).forwardShow(ctx, name, listen)));
  fwd.command('create').description('create a forward').argument('<network>', 'network name').argument('<listen-address>', 'the address it listens on').argument('[config...]', 'KEY=VALUE config (target_address=…)').option('--description <text>', 'description')
    .action((name: string, listen: string, pairs: string[], o: Desc, cmd: Command) => run(cmd, async (ctx) => (await network()).forwardCreate(ctx, name, listen, pairs, o)));
  fwd.command('delete').description('delete a forward').argument('<network>', 'network name').argument('<listen-address>', 'its listen address')
    .action((name: string, listen: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await network()).forwardDelete(ctx, name, listen)));
  fwd.command('edit').description('edit as YAML (description, config, ports) in $EDITOR or from a piped stdin').argument('<network>', 'network name').argument('<listen-address>', 'its listen address')
    .action((name: string, listen: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await network()).forwardEdit(ctx, name, listen)));

  // ------------------------------------------------------------------ storage
  const sto = program.command('storage').description('storage pools and their volumes');
  sto.command('list').description('the storage pools').addOption(formatOption())
    .action((o: Fmt, cmd: Command) => run(cmd, async (ctx) => (await storage()).storageList(ctx, o)));
  sto.command('show').description('one pool as YAML').argument('<pool>', 'pool name')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await storage()).storageShow(ctx, name)));
  sto.command('create').description('create a pool').argument('<pool>', 'pool name').argument('<driver>', 'dir, zfs, btrfs, lvm, ceph, …').argument('[config...]', 'KEY=VALUE config (source=…)').option('--description <text>', 'description')
    .action((name: string, driver: string, pairs: string[], o: Desc, cmd: Command) => run(cmd, async (ctx) => (await storage()).storageCreate(ctx, name, driver, pairs, o)));
  sto.command('delete').description('delete a pool').argument('<pool>', 'pool name')
    .action((name: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await storage()).storageDelete(ctx, name)));

  const vol = sto.command('volume').description('storage volumes (VOLUME: a custom volume\'s name, or TYPE/NAME)');
  vol.command('list').description("a pool's volumes").argument('<pool>', 'pool name').addOption(formatOption()).option('--type <type>', 'only volumes of this type: custom, container, virtual-machine, image')
    .action((pool: string, o: Fmt & { type?: string }, cmd: Command) => run(cmd, async (ctx) => (await storage()).volumeList(ctx, pool, o)));
  vol.command('show').description('one volume as YAML').argument('<pool>', 'pool name').argument('<volume>', 'NAME or TYPE/NAME')
    .action((pool: string, v: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await storage()).volumeShow(ctx, pool, v)));
  vol.command('create').description('create a custom volume').argument('<pool>', 'pool name').argument('<volume>', 'volume name').argument('[config...]', 'KEY=VALUE config (size=…)')
    .option('--type <content-type>', 'filesystem (default) or block').option('--description <text>', 'description')
    .action((pool: string, v: string, pairs: string[], o: { type?: string } & Desc, cmd: Command) => run(cmd, async (ctx) => (await storage()).volumeCreate(ctx, pool, v, pairs, { ...(o.description !== undefined ? { description: o.description } : {}), ...(o.type !== undefined ? { contentType: o.type } : {}) })));
  vol.command('delete').description('delete a volume').argument('<pool>', 'pool name').argument('<volume>', 'NAME or TYPE/NAME')
    .action((pool: string, v: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await storage()).volumeDelete(ctx, pool, v)));
  vol.command('set').description('set config keys (KEY VALUE, or KEY=VALUE…; an empty value unsets)').argument('<pool>', 'pool name').argument('<volume>', 'NAME or TYPE/NAME').argument('<config...>', 'KEY VALUE, or KEY=VALUE…')
    .action((pool: string, v: string, args: string[], _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await storage()).volumeSet(ctx, pool, v, args)));
  vol.command('get').description('the value of a config key (empty when unset)').argument('<pool>', 'pool name').argument('<volume>', 'NAME or TYPE/NAME').argument('<key>', 'config key')
    .action((pool: string, v: string, key: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await storage()).volumeGet(ctx, pool, v, key)));
  vol.command('attach').description('give an instance a disk device of the volume').argument('<pool>', 'pool name').argument('<volume>', 'custom volume name').argument('<instance>', 'instance name').argument('[device-and-path...]', '[DEVICE] [PATH]: the device name (default: the volume\'s), the mount path (filesystem volumes)')
    .action((pool: string, v: string, inst: string, rest: string[], _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await storage()).volumeAttach(ctx, pool, v, inst, rest)));
  vol.command('detach').description("remove the instance's disk device of the volume").argument('<pool>', 'pool name').argument('<volume>', 'custom volume name').argument('<instance>', 'instance name').argument('[device]', 'device name')
    .action((pool: string, v: string, inst: string, dev: string | undefined, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await storage()).volumeDetach(ctx, pool, v, inst, dev)));
  vol.command('snapshot').description("snapshot a custom volume (prints the snapshot's name)").argument('<pool>', 'pool name').argument('<volume>', 'custom volume name').argument('[snapshot]', 'snapshot name (default: the server picks one)')
    .option('--expiry <when>', 'when the server deletes it: 30m, 12h, 7d, 2w, or a date')
    .action((pool: string, v: string, snap: string | undefined, o: { expiry?: string }, cmd: Command) => run(cmd, async (ctx) => (await storage()).volumeSnapshot(ctx, pool, v, snap, o)));
  vol.command('copy').description('copy a custom volume (or a snapshot: POOL/VOLUME/SNAPSHOT) on this server').argument('<source>', 'POOL/VOLUME[/SNAPSHOT]').argument('<target>', 'POOL/VOLUME')
    .option('--volume-only', 'without its snapshots').option('--target-project <project>', 'copy into this project').option('--description <text>', "the copy's description")
    .action((src: string, dst: string, o: { volumeOnly?: boolean; targetProject?: string } & Desc, cmd: Command) => run(cmd, async (ctx) => (await storage()).volumeCopy(ctx, src, dst, o)));
  vol.command('move').description('rename a custom volume, or move it to another pool of this server').argument('<source>', 'POOL/VOLUME').argument('<target>', 'POOL/VOLUME')
    .action((src: string, dst: string, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await storage()).volumeMove(ctx, src, dst)));
  vol.command('export').description('a backup tarball of a custom volume, streamed to FILE (default backup.tar.gz)').argument('<pool>', 'pool name').argument('<volume>', 'custom volume name').argument('[file]', 'the tarball to write')
    .option('--volume-only', 'without its snapshots').option('--compression <algorithm>', 'gzip (default), none, xz, zstd, …')
    .action((pool: string, v: string, f: string | undefined, o: { volumeOnly?: boolean; compression?: string }, cmd: Command) => run(cmd, async (ctx) => (await storage()).volumeExport(ctx, pool, v, f, o)));
  vol.command('import').description('a new custom volume from a backup tarball (streamed from disk)').argument('<pool>', 'pool name').argument('<file>', 'the tarball').argument('[name]', "the volume's name (default: the backup's)")
    .action((pool: string, f: string, name: string | undefined, _o: unknown, cmd: Command) => run(cmd, async (ctx) => (await storage()).volumeImport(ctx, pool, f, name)));
}
