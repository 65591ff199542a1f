import { lxdPath } from '../path.js';
import {
  ProfilePutSchema,
  LxdProfileSchema,
  ProfilesPostSchema,
  type LxdProfile,
  type ProfilePut,
  type ProfilesPost,
} from '../schemas.js';
import { validateBody, validateProfileName } from '../validate.js';
import { Api, type CallOptions, type EtagOptions, type WithEtag } from './base.js';

export interface ListOptions extends CallOptions {
  /** 0: names; 1 (default): objects. */
  recursion?: 0 | 1;
}

/**
 * `/1.0/profiles`. PUT and PATCH are synchronous on LXD 5.0.2 and operations on LXD ≥ 6.6; both are
 * handled, and the methods resolve once the change is applied.
 */
export class ProfilesResource {
  constructor(private readonly api: Api) {}

  list(opts?: ListOptions & { recursion?: 1 }): Promise<LxdProfile[]>;
  list(opts: ListOptions & { recursion: 0 }): Promise<string[]>;
  list(opts: ListOptions & { recursion: 0 | 1 }): Promise<LxdProfile[] | string[]>;
  async list(opts: ListOptions = {}): Promise<LxdProfile[] | string[]> {
    return this.api.list('/1.0/profiles', LxdProfileSchema, { ...opts });
  }

  async get(name: string, opts: CallOptions = {}): Promise<WithEtag<LxdProfile>> {
    validateProfileName(name);
    return this.api.sync('GET', lxdPath`/1.0/profiles/${name}`, LxdProfileSchema, opts);
  }

  /** POST /1.0/profiles. A duplicate name throws LxdConflictError (LXD answers 500 "already exists"). */
  async create(body: ProfilesPost, opts: CallOptions = {}): Promise<void> {
    const b = validateBody(ProfilesPostSchema, body, 'profile');
    validateProfileName(b.name);
    await this.api.call('POST', '/1.0/profiles', { ...opts, body: b });
  }

  async update(name: string, body: ProfilePut, opts: EtagOptions = {}): Promise<void> {
    validateProfileName(name);
    const b = validateBody(ProfilePutSchema, body, 'profile');
    await this.api.call('PUT', lxdPath`/1.0/profiles/${name}`, { ...opts, body: b });
  }

  async patch(name: string, body: ProfilePut, opts: EtagOptions = {}): Promise<void> {
    validateProfileName(name);
    const b = validateBody(ProfilePutSchema, body, 'profile');
    await this.api.call('PATCH', lxdPath`/1.0/profiles/${name}`, { ...opts, body: b });
  }

  async rename(name: string, newName: string, opts: CallOptions = {}): Promise<void> {
    validateProfileName(name);
    validateProfileName(newName, 'new profile name');
    await this.api.call('POST', lxdPath`/1.0/profiles/${name}`, { ...opts, body: { name: newName } });
  }

  async delete(name: string, opts: CallOptions = {}): Promise<void> {
    validateProfileName(name);
    await this.api.call('DELETE', lxdPath`/1.0/profiles/${name}`, opts);
  }
}
