import { expect } from 'chai';
import { createCliLogger } from '../../../lib/cli/log.js';
import { prettyLine, terminalSafe } from '../../../lib/cli/log-pretty.js';

describe('cli logs on a terminal (no pino-pretty needed)', function () {
  it('the CLI logger writes readable lines, not JSON, when pretty', async function () {
    const lines: string[] = [];
    const logger = await createCliLogger({ level: 'info', pretty: true, color: false, stream: { write: (s: string) => lines.push(s) } });
    logger.child({ component: 'lxd' }).warn({ method: 'GET', path: '/1.0' }, 'slow answer');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^\d\d:\d\d:\d\d WARN  slow answer component=lxd method=GET path=\/1\.0\n$/);
    expect(() => JSON.parse(lines[0]!)).to.throw();
  });

  it('keeps the redaction rule of the JSON lines', async function () {
    const lines: string[] = [];
    const logger = await createCliLogger({ level: 'info', pretty: true, color: false, stream: { write: (s: string) => lines.push(s) } });
    logger.info({ config: { 'user.secret': 'hunter2' } }, 'config');
    expect(lines.join('')).to.not.contain('hunter2');
  });

  it('formats level, time, message and fields, in colour when asked', function () {
    const time = new Date(2026, 0, 2, 3, 4, 5).getTime();
    const line = JSON.stringify({ level: 50, time, pid: 1, hostname: 'h', name: 'lxdkit', msg: 'it failed', code: 'LXD_ERR_NOT_FOUND', n: 3, obj: { a: 1 }, text: 'two words' });
    expect(prettyLine(line, false)).to.equal('03:04:05 ERROR it failed code=LXD_ERR_NOT_FOUND n=3 obj={"a":1} text="two words"\n');
    const coloured = prettyLine(line, true);
    expect(coloured).to.contain('\u001b[31mERROR\u001b[0m');
    expect(coloured.replace(/\u001b\[[0-9;]*m/g, '')).to.equal(prettyLine(line, false));
  });

  it('shows control characters from hostile text escaped instead of sending them to the terminal', function () {
    const hostile = 'name\u001b]0;pwned\u0007\u001b[2J\r\nfake line\u202e\u009b';
    const out = prettyLine(JSON.stringify({ level: 30, time: 0, msg: hostile, [`k${hostile}`]: hostile, nested: { v: hostile } }), true);
    const text = out.replace(/\u001b\[(?:0|2|3[0-9]|4[0-9]|90)m/g, '');
    expect(text.slice(0, -1)).to.not.match(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(out.endsWith('\n')).to.equal(true);
    expect(out.split('\n')).to.have.length(2);
    expect(terminalSafe('a\u001bb\nc')).to.equal('a\\u001bb\\nc');
    // a line that is not JSON is shown safely too
    expect(prettyLine('\u001b[2Jnot json', false)).to.equal('\\u001b[2Jnot json\n');
  });
});
