import { LxdProfileSchema, ProfilePutSchema, ProfilesPostSchema, type LxdProfile, type ProfilePut, type ProfilesPost } from '../schemas.js';
import { validateProfileName } from '../validate.js';
import { RenamableCollection, type CollectionDecl } from '../routes/collection.js';
import { BOTH } from '../routes/route.js';
import type { Api } from './base.js';

export type { ListOptions } from '../routes/collection.js';

/** `/1.0/profiles`, declared. */
export const PROFILES: CollectionDecl<LxdProfile, ProfilesPost, ProfilePut> = {
  name: 'client.profiles',
  path: '/1.0/profiles',
  itemPath: '/1.0/profiles/{name}',
  what: 'profile',
  schema: LxdProfileSchema,
  post: ProfilesPostSchema,
  put: ProfilePutSchema,
  verbs: ['list', 'get', 'create', 'update', 'patch', 'rename', 'delete'],
  writes: 'sync-or-operation',
  validateName: validateProfileName,
  project: true,
  servers: BOTH,
  listVariants: ['?recursion=1'],
};

/**
 * `/1.0/profiles`. PUT and PATCH are synchronous on LXD 5.0.2 and operations on LXD ≥ 6.6; both are
 * handled, and the methods resolve once the change is applied. A duplicate name on `create` throws
 * LxdConflictError (LXD answers 500 "already exists").
 */
export class ProfilesResource extends RenamableCollection<LxdProfile, ProfilesPost, ProfilePut> {
  constructor(api: Api) {
    super(api, PROFILES);
  }
}
