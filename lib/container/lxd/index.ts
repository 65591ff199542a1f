/**
 * Juju's `container/lxd`: the LXD container manager and initialiser.
 */
export {
  ConfigContainerImageMetadataURL,
  ConfigContainerImageStream,
  ConfigLXDSnapChannel,
  DefaultLXDBridge,
  LxdLoggerName,
  LxdManager,
  type LxdManagerOptions,
} from './manager.js';
export { LxdInitialiser, type LxdInitialiserOptions } from './initialiser.js';
export { LxdContainerInstance, LxdStatusCode } from './instance.js';
export { memberOf, type LxdCreateOptions } from './placement.js';
export { LxdManagerError, LxdManagerErrorCode } from './errors.js';
export {
  CONTAINER_METADATA_FTYPE,
  CloudImagesDailyRemote,
  CloudImagesRemote,
  SimplestreamsImageServer,
  ensureHTTPS,
  findImage,
  getImageSources,
  localImageAlias,
  lxdImageMetadataURL,
  seriesRemoteAliases,
  type FindImageOptions,
  type FoundImage,
  type ImageRemote,
  type ImageRemoteOptions,
  type ImageSource,
  type RemoteImage,
  type SimplestreamsImageServerOptions,
} from './image.js';
export {
  DefaultBridgeConfig,
  ensureDefaultStorage,
  ensureIPv4,
  verifyNetworkDevice,
  verifyNoIPv6,
  type NetworkSetupOptions,
  type ServerFacts,
} from './network.js';
