// A JSON parse error says where (path, line, column, position) and what is wrong, and
// quotes nothing of the file: readJson/updateJson may be pointed (through a link, by
// someone else) at a file that is not JSON at all, such as a key or a password file.
// V8's own message quotes the token and the document's first bytes; ours never does,
// for local files and s3:// objects alike.
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aw, scratch, scratchFile } from './helpers.js';
import { haveMoto } from './s3-server.js';
import { useMotoBucket } from './s3-bucket.js';

const SECRET = 'sk_live_4242424242XYZ';

// Documents whose first bytes (or the offending token) are the secret.
const SECRET_DOCUMENTS: Array<[string, { line: number; column: number; position: number }]> = [
  [`${SECRET}\n`, { line: 1, column: 1, position: 0 }],
  [`{"token": ${SECRET}}`, { line: 1, column: 11, position: 10 }],
  [`{\n  "token": "${SECRET}",\n  oops\n}`, { line: 3, column: 3, position: 40 }],
  [`"${SECRET}`, { line: 1, column: 23, position: 22 }],
  [`["${SECRET}"] ${SECRET}`, { line: 1, column: 27, position: 26 }],
  [`{"${SECRET}" 1}`, { line: 1, column: 26, position: 25 }],
];

/** Everything an error shows: message, stack, own properties and its causes. */
function everything(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as (Error & { cause?: unknown }) | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    parts.push(String(e.message), String(e.stack), JSON.stringify(Object.fromEntries(Object.entries(e))));
  }
  return parts.join('\n');
}

function expectNoContent(err: unknown): void {
  const shown = everything(err);
  // No piece of the secret, not even its first character quoted as a token.
  for (const piece of [SECRET, SECRET.slice(0, 6), "'s'", '"s"', 'is not valid JSON']) expect(shown).not.toContain(piece);
}

describe('readJson / updateJson parse errors quote nothing of the file', () => {
  it.each(SECRET_DOCUMENTS)('readJson through a symlink: %j gives line and column only', async (text, where) => {
    const dir = scratch();
    const secret = join(dir, 'secret.key');
    writeFileSync(secret, text);
    symlinkSync(secret, join(dir, 'config.json'));
    const err = (await aw.readJson(join(dir, 'config.json')).catch((e: unknown) => e)) as Error & { cause?: unknown };
    expect(err).toBeInstanceOf(SyntaxError);
    expect(err).toMatchObject({ code: 'EJSONPARSE', path: join(dir, 'config.json'), ...where });
    expect(err.cause).toBeUndefined();
    expect(err.message).toContain(join(dir, 'config.json'));
    expectNoContent(err);
  });

  it('updateJson through a symlink: the same error, and the file is left as it was', async () => {
    const dir = scratch();
    const secret = join(dir, 'secret.key');
    writeFileSync(secret, `${SECRET}\n`);
    symlinkSync(secret, join(dir, 'state.json'));
    let called = false;
    const err = await aw
      .updateJson(join(dir, 'state.json'), () => {
        called = true;
        return {};
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EJSONPARSE', line: 1, column: 1, position: 0 });
    expectNoContent(err);
    expect(called).toBe(false);
    expect(readFileSync(secret, 'utf8')).toBe(`${SECRET}\n`);
  });

  it('says what is wrong in words of its own', async () => {
    const dir = scratch();
    const file = join(dir, 'f.json');
    for (const [text, why] of [
      ['', 'the file is empty'],
      ['[1, 2', 'ends before'],
      ['{"a": 1,}', 'property name'],
      ['{"a" 1}', "':'"],
      ['[1 2]', "',' or ']'"],
      ['{"a": 1 "b"}', "',' or '}'"],
      ['"a\\qb"', 'invalid escape'],
      ['"a\u0001b"', 'control character'],
      ['[1] x', 'more data follows'],
      ['nulx', 'literal'],
    ] as const) {
      writeFileSync(file, text);
      const err = (await aw.readJson(file).catch((e: unknown) => e)) as Error;
      expect(err.message).toContain(why);
    }
  });

  it('a reviver that throws is not a parse error: its own error comes through', async () => {
    const { file } = scratchFile('f.json', '{"a": 1}');
    const mine = new RangeError('reviver says no');
    await expect(
      aw.readJson(file, {
        reviver: (k, v) => {
          if (k === 'a') throw mine;
          return v;
        },
      }),
    ).rejects.toBe(mine);
  });
});

const suite = haveMoto ? describe : describe.skip;

suite('s3:// readJson / updateJson parse errors quote nothing of the object', () => {
  const BUCKET = 'aw-json-errors';
  useMotoBucket(BUCKET);

  it('readJson and updateJson of an object that is not JSON', async () => {
    const url = `s3://${BUCKET}/secret.json`;
    await aw.writeFile(url, `{"token": ${SECRET}}`);
    const read = await aw.readJson(url).catch((e: unknown) => e);
    expect(read).toMatchObject({ code: 'EJSONPARSE', path: url, line: 1, column: 11, position: 10 });
    expectNoContent(read);
    const updated = await aw.updateJson(url, () => ({})).catch((e: unknown) => e);
    expect(updated).toMatchObject({ code: 'EJSONPARSE', path: url, line: 1, column: 11 });
    expectNoContent(updated);
  });
});

