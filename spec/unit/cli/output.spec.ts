import { expect } from 'chai';
import { renderFields, renderTable } from '../../../lib/cli/output.js';
import { displayWidth } from '../../../lib/cli/text-width.js';

describe('cli tables measure what a terminal shows', function () {
  it('counts CJK characters and emoji as two columns, marks and zero-width characters as none', function () {
    expect(displayWidth('web-1')).to.equal(5);
    expect(displayWidth('コンテナ')).to.equal(8);
    expect(displayWidth('容器a')).to.equal(5);
    expect(displayWidth('한국')).to.equal(4);
    expect(displayWidth('ＡＢ')).to.equal(4); // fullwidth Latin
    expect(displayWidth('🚀')).to.equal(2);
    expect(displayWidth('👍🏽')).to.equal(2); // with a skin tone
    expect(displayWidth('👨‍👩‍👧')).to.equal(2); // a ZWJ family
    expect(displayWidth('🇫🇷')).to.equal(2); // a flag
    expect(displayWidth('❤️')).to.equal(2); // text symbol + emoji variation selector
    expect(displayWidth('é')).to.equal(1); // e + combining acute
    expect(displayWidth('a\u200bb')).to.equal(2); // zero-width space
  });

  it('aligns columns after wide names', function () {
    const rows = [
      { name: 'コンテナ', status: 'Running' },
      { name: '🚀-launch', status: 'Stopped' },
      { name: 'plain', status: 'Running' },
    ];
    const text = renderTable(rows, [
      { header: 'name', value: (r) => r.name },
      { header: 'status', value: (r) => r.status },
    ]);
    const lines = text.trimEnd().split('\n');
    // the STATUS column starts at the same terminal column on every line
    const starts = lines.map((l) => displayWidth(l.slice(0, l.search(/(STATUS|Running|Stopped)$/))));
    expect(new Set(starts).size, text).to.equal(1);
    expect(starts[0]).to.equal(displayWidth('🚀-launch') + 2);
  });

  it('right-aligned columns and key/value blocks too', function () {
    const text = renderTable([{ n: '１２' }, { n: '123' }], [{ header: 'n', value: (r) => r.n, right: true }, { header: 'x', value: () => 'x' }]);
    const widths = text.trimEnd().split('\n').map((l) => displayWidth(l));
    expect(new Set(widths).size, text).to.equal(1);
    const fields = renderFields([['名前', 'a'], ['name', 'b']]).trimEnd().split('\n');
    expect(fields.map((l) => displayWidth(l))).to.deep.equal([7, 7]);
  });

  it('shows control characters in a cell escaped, so a hostile name cannot move the cursor or recolour the terminal', function () {
    const text = renderTable([{ name: 'evil\u001b[2J\u001b]0;x\u0007' }], [{ header: 'name', value: (r) => r.name }]);
    expect(text).to.not.match(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(text).to.contain('evil\\u001b[2J');
  });
});
