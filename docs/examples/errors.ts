/**
 * Recognising lxdkit's errors: one `Family.is(err, code?)` per family, codes from the family's table.
 * Run: npx tsx docs/examples/errors.ts   (needs a running LXD)
 */
import { ContainerError, ContainerErrorCode, LxdClient, LxdError, LxdErrorCode, LxdkitError, Namespace, errorText } from 'lxdkit';

const lxd = new LxdClient();
try {
  await lxd.instances.get('lxdkit-example-no-such-instance');
} catch (err) {
  if (LxdError.is(err, LxdErrorCode.NOT_FOUND)) console.log(`not found: ${errorText(err)}`); // LXD's own text
  if (LxdkitError.is(err)) console.log(`code ${err.code}`); // anything lxdkit throws
} finally {
  await lxd.close();
}

try {
  new Namespace('not-a-uuid');
} catch (err) {
  if (ContainerError.is(err, ContainerErrorCode.NOT_VALID)) console.log(err.message);
}
