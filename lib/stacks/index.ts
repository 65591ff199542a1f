/**
 * Stacks: a whole environment (projects, storage pools, networks, volumes, profiles, images,
 * instances) declared in YAML, planned against the server itself and applied. See docs/stacks.md.
 */
export { loadStack, parseStackText, mergeStacks, stackFromObject, MAX_STACK_FILE_BYTES } from './load.js';
export { plan, describeStep, type Plan, type PlanStep, type PlanOptions, type StepAction } from './plan.js';
export { apply, type ApplyOptions, type ApplyProgress, type ApplyResult } from './apply.js';
export { exportStack, stackYaml, type StackExportOptions } from './export.js';
export { StackError, StackErrorCode, type StackSource } from './errors.js';
export { STACK_MARKER, ALIAS_MARKER, KINDS, PENDING_KINDS, type KindAdapter, type Found, type Ref, type FieldChange, type ListScope, type StepContext } from './kinds.js';
export {
  STACK_KINDS,
  StackFileSchema,
  type Stack,
  type StackFile,
  type StackKind,
  type StackItems,
  type Sourced,
  type ItemSource,
  type ProjectItem,
  type StoragePoolItem,
  type NetworkItem,
  type ProfileItem,
  type StorageVolumeItem,
  type ImageItem,
  type InstanceItem,
} from './schema.js';
