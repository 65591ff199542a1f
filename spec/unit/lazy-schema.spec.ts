/**
 * lib/lazy-schema.ts: a schema declared with lazySchema is built the first time it is used,
 * once, and then behaves as the schema itself would (parse, errors, instanceof, extend, inside
 * another schema).
 */
import { expect } from 'chai';
import { z } from 'zod';
import { arrayOf, lazySchema, StringListSchema } from '../../lib/lazy-schema.js';
import { runProbe } from '../helpers/probe.js';
import { InstanceSchema } from '../../lib/lxd/schemas.js';

describe('lxd: schemas built on first use', () => {
  it('builds nothing until a property is read, then builds once', () => {
    let builds = 0;
    const S = lazySchema(() => {
      builds++;
      return z.looseObject({ name: z.string(), n: z.number().default(1) });
    });
    const inArray = z.array(S);
    const inObject = z.looseObject({ s: S });
    expect(builds, 'declared and used inside other schemas').to.equal(0);
    expect(inArray.parse([{ name: 'a' }])).to.deep.equal([{ name: 'a', n: 1 }]);
    expect(inObject.parse({ s: { name: 'b', x: true } })).to.deep.equal({ s: { name: 'b', n: 1, x: true } });
    expect(S.parse({ name: 'c' })).to.deep.equal({ name: 'c', n: 1 });
    expect(builds).to.equal(1);
  });

  it('is the schema in every way a caller sees: errors, instanceof, extend, partial, optional, shape', () => {
    const S = lazySchema(() => z.strictObject({ name: z.string().min(1) }));
    const r = S.safeParse({ name: '', extra: 1 });
    expect(r.success).to.equal(false);
    expect(r.error?.issues.map((i) => i.code).sort()).to.deep.equal(['too_small', 'unrecognized_keys']);
    expect(S).to.be.instanceOf(z.ZodObject);
    expect(Object.keys(S.shape)).to.deep.equal(['name']);
    expect(S.extend({ n: z.number() }).parse({ name: 'a', n: 2 })).to.deep.equal({ name: 'a', n: 2 });
    expect(S.partial().parse({})).to.deep.equal({});
    expect(S.optional().parse(undefined)).to.equal(undefined);
    expect('shape' in S).to.equal(true);
  });

  it("lxdkit's own response schemas are lazy and parse as before", () => {
    const instance = { name: 'c1', status: 'Running', status_code: 103, config: null, devices: { root: { path: '/' } }, profiles: ['default'], extra: 1 };
    expect(InstanceSchema.parse(instance)).to.deep.equal({ name: 'c1', type: 'container', architecture: '', config: {}, devices: { root: { path: '/' } }, ephemeral: false, profiles: ['default'], stateful: false, description: '', status: 'Running', status_code: 103, extra: 1 });
    expect(InstanceSchema).to.be.instanceOf(z.ZodObject);
  });

  it('arrayOf(item): one array schema per item schema, built when first used', () => {
    let builds = 0;
    const Item = lazySchema(() => {
      builds++;
      return z.looseObject({ name: z.string() });
    });
    const list = arrayOf(Item);
    expect(arrayOf(Item), 'the same schema for the same item').to.equal(list);
    expect(arrayOf(z.string())).not.to.equal(list);
    expect(builds).to.equal(0);
    expect(list.parse([{ name: 'a', x: 1 }])).to.deep.equal([{ name: 'a', x: 1 }]);
    expect(list.safeParse([{ name: 1 }]).success).to.equal(false);
    expect(builds).to.equal(1);
    expect(StringListSchema.parse(['a', 'b'])).to.deep.equal(['a', 'b']);
    expect(StringListSchema.safeParse([1]).success).to.equal(false);
  });

  it('loading every module of lxdkit (library, command, stacks, testing) and making a client builds no schema', async function () {
    this.timeout(60_000);
    // zod marks each schema it makes with a _zod property, set with Object.defineProperty: counted
    // in a fresh process, from the first module of lxdkit loaded
    const lib = (m: string): string => JSON.stringify(new URL(`../../lib/${m}`, import.meta.url).pathname);
    const out = await runProbe(
      [
        'let built = 0; let counting = false;',
        'const define = Object.defineProperty;',
        "Object.defineProperty = function (o, k, d) { if (k === '_zod' && counting) built++; return define(o, k, d); };",
        "const { z } = await import('zod');",
        'counting = true; z.string(); const one = built; built = 0;',
        `for (const m of [${['index.ts', 'cli/program.ts', 'stacks/schema.ts', 'testing/index.ts'].map(lib).join(', ')}]) await import(m);`,
        `const { LxdClient } = await import(${lib('lxd/client.ts')});`,
        "new LxdClient({ socketPath: '/run/lxdkit-none.socket' });",
        'console.log(JSON.stringify({ one, built }));',
      ].join('\n'),
    );
    // the count works (one schema made is one counted), and lxdkit made none
    expect(JSON.parse(out)).to.deep.equal({ one: 1, built: 0 });
  });
});
