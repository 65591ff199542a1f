/**
 * Response types without index signatures. lxdkit parses what a server answers with loose schemas,
 * so the fields a newer server adds are kept at run time (a round-trip PUT sends them back), but
 * the published types list only the fields lxdkit knows: a misspelled field (`instance.stauts`) is a
 * compile error, as it would be with a hand-written interface. Maps (`config`, `devices`: records
 * with no known keys) keep their index signatures.
 */
type IsIndexKey<K> = string extends K ? true : number extends K ? true : symbol extends K ? true : false;

/** The keys of T that are not index signatures. */
type KnownKeys<T> = keyof { [K in keyof T as IsIndexKey<K> extends true ? never : K]: 0 };

/** T with the index signatures of its objects removed, at every depth, where the object also has known keys. */
export type Closed<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly unknown[]
    ? { [I in keyof T]: Closed<T[I]> }
    : T extends object
      ? [KnownKeys<T>] extends [never]
        ? { [K in keyof T]: Closed<T[K]> }
        : { [K in keyof T as IsIndexKey<K> extends true ? never : K]: Closed<T[K]> }
      : T;
