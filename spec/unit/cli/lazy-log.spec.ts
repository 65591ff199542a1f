import { expect } from 'chai';
import { lazyCliLogger } from '../../../lib/cli/log.js';

describe('cli logger (pino loaded on the first line written)', function () {
  it('writes enabled lines in order, with child bindings, and drops the rest', async function () {
    const lines: string[] = [];
    const logger = lazyCliLogger({ level: 'info', pretty: false, stream: { write: (s: string) => lines.push(s) } });
    expect(logger.isLevelEnabled?.('debug')).to.equal(false);
    expect(logger.isLevelEnabled?.('warn')).to.equal(true);
    logger.debug('not written');
    const child = logger.child({ component: 'lxd' });
    child.info({ method: 'GET' }, 'first');
    logger.warn('second');
    // pino loads asynchronously; the lines follow once it has
    for (let i = 0; i < 100 && lines.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((p) => p['msg'])).to.deep.equal(['first', 'second']);
    expect(parsed[0]).to.include({ component: 'lxd', method: 'GET', level: 30, name: 'lxdkit' });
    logger.error('third');
    expect(JSON.parse(lines[2] ?? '{}')).to.include({ msg: 'third', level: 50 });
  });
});
