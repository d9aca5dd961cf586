import { WhitespaceScan } from '../local/record-lines';

/**
 * Unicode's White_Space characters other than the space and LF, written out from the Unicode
 * Character Database (PropList.txt), not from the contract the scanner reads: a CR counts only where
 * no LF follows it.
 */
const OTHER = /[\t\v\f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]|\r(?!\n)/u;

/** The scanner's answer for `text` fed whole, and fed in three chunks split at each pair of bytes. */
function answers(text: string): boolean[] {
  const bytes = Buffer.from(text);
  const splits = Array.from({ length: bytes.length + 1 }, (_, i) =>
    Array.from({ length: bytes.length + 1 - i }, (_, j) => [
      bytes.subarray(0, i),
      bytes.subarray(i, i + j),
      bytes.subarray(i + j),
    ]),
  ).flat();
  return [[bytes], ...splits].map((chunks) => {
    const scan = new WhitespaceScan();
    for (const chunk of chunks) scan.feed(chunk);
    return scan.end();
  });
}

const WHITE = [
  '\t',
  '\v',
  '\f',
  '\u0085',
  '\u00a0',
  '\u1680',
  ...Array.from({ length: 11 }, (_, i) => String.fromCodePoint(0x2000 + i)),
  '\u2028',
  '\u2029',
  '\u202f',
  '\u205f',
  '\u3000',
];

describe('the scan for whitespace other than the space', () => {
  test('finds each such character, wherever a chunk ends', () => {
    for (const character of [...WHITE, '\r']) {
      const text = `11/4/2024 8:42:35 AM,101,ONLINE,a${character}b\n`;
      expect(OTHER.test(text)).toBe(true);
      expect(answers(text)).toEqual(answers(text).map(() => true));
    }
  });

  test('finds none in text of spaces, line ends and other non-ASCII characters, wherever a chunk ends', () => {
    // Characters that share UTF-8 lead bytes with White_Space ones: U+00A9, U+1681, U+2013, U+2019,
    // U+2026, U+201C, U+2060, U+3001, and others that share none.
    const texts = [
      'Done On,Extension,Action,Details\n11/4/2024 8:42:35 AM, 101 ,ONLINE,  a note  \n',
      'a,b\r\nc,d\r\n',
      '\u00a9 \u1681 \u2013\u2019\u2026\u201c \u2060\u3001 \u00e9t\u00e9 \u4e2d\u6587 \u{1f600}\r\n',
    ];
    for (const text of texts) {
      expect(OTHER.test(text)).toBe(false);
      expect(answers(text)).toEqual(answers(text).map(() => false));
    }
  });

  test('counts a CR or a character cut short by the end of the file', () => {
    expect(answers('a,b\r')).toEqual(answers('a,b\r').map(() => true));
    const cut = Buffer.from('\u3000').subarray(0, 2);
    const scan = new WhitespaceScan();
    scan.feed(Buffer.concat([Buffer.from('a,b,'), cut]));
    expect(scan.end()).toBe(true);
  });
});
