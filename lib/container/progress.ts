import type { CallOptions } from '../deadline.js';
import type { OperationProgress } from '../lxd/operation.js';

/** The steps of a container creation, in order. */
export type CreationStage = 'spec' | 'image' | 'create' | 'start' | 'started';

/**
 * What a manager's `onProgress` hook hears while it creates a container: the stage it entered, and
 * LXD's own progress within a stage (the image download, the unpacking) when LXD reports one.
 */
export interface CreationProgress {
  stage: CreationStage;
  /** A line for people: Juju's status text, or LXD's progress text. */
  text: string;
  /** Percent done within the stage, when LXD reports it. */
  percent?: number | undefined;
  /** LXD's progress entry, with its metadata (e.g. the speed), when the progress came from an operation. */
  operation?: OperationProgress | undefined;
}

/**
 * Options of a manager's `createContainer`. An abort or the deadline rejects the call at once; the
 * manager then removes, in the background, whatever the call had made (see `settled()`).
 */
export interface CreateOptions extends CallOptions {
  /** Called at every stage of the creation, and with LXD's progress within a stage. */
  onProgress?: ((progress: CreationProgress) => void) | undefined;
}
