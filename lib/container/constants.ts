/**
 * Constants of Juju's `container` package (juju-2.9.16), with Juju's exact values.
 */

/** Manager config key holding the model UUID (Juju `container.ConfigModelUUID`). */
export const ConfigModelUUID = 'model-uuid';
/** Manager config key holding the log directory (Juju `container.ConfigLogDir`). */
export const ConfigLogDir = 'log-dir';
/** Manager config key holding the availability zone (Juju `container.ConfigAvailabilityZone`). */
export const ConfigAvailabilityZone = 'availability-zone';
/** The only network type the managers support (Juju `container.BridgeNetwork`). */
export const BridgeNetwork = 'bridge';

/** Default directory holding one sub-directory per KVM container (Juju `container.ContainerDir`). */
export const ContainerDir = '/var/lib/juju/containers';
/** Default directory that removed container directories are moved into (Juju `container.RemovedContainerDir`). */
export const RemovedContainerDir = '/var/lib/juju/removed-containers';

/** Name of the logger Juju's container package logs on; bound as `{ module }` on child loggers. */
export const ContainerLoggerName = 'juju.container';

/**
 * Juju's instance statuses (`core/status`) that the managers report through the status callback.
 * Note that "provisioning" has the value `allocating`, as in Juju.
 */
export const StatusProvisioning = 'allocating';
/** Juju `status.ProvisioningError`. */
export const StatusProvisioningError = 'provisioning error';
/** Juju `status.Running`. */
export const StatusRunning = 'running';
/** Juju `status.Stopped`. */
export const StatusStopped = 'stopped';

/** Juju `config.ContainerImageMetadataURLKey`: the simplestreams mirror both managers read images from. */
export const ConfigContainerImageMetadataURL = 'container-image-metadata-url';
/** Juju `config.ContainerImageStreamKey`: the image stream (`released`, `daily`, ...). */
export const ConfigContainerImageStream = 'container-image-stream';
/** Juju `config.LXDSnapChannel`: consumed (and ignored) by the LXD manager so that it is not reported as unused. */
export const ConfigLXDSnapChannel = 'lxd-snap-channel';
