// The README's code, checked on the Node running the tests: every js/mjs block parses as
// an ES module (top-level await allowed), blocks tagged `run` after the language run in
// a scratch directory against this package, and json blocks are JSON. A block tagged
// `node24` needs syntax newer than Node 20 and 22 have (`await using`): it is checked
// only where the running Node parses that syntax, so the examples every supported Node
// runs stay separate from it.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runNode, scratch } from './helpers.js';

interface Block {
  line: number;
  lang: string;
  tags: string[];
  code: string;
}

/** Fenced code blocks of a Markdown text, with the line of their opening fence. */
function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let open: Block | undefined;
  markdown.split('\n').forEach((text, i) => {
    const fence = /^```(.*)$/.exec(text);
    if (open === undefined && fence) {
      const [lang = '', ...tags] = fence[1]!.trim().split(/\s+/);
      open = { line: i + 1, lang, tags, code: '' };
    } else if (open !== undefined && text.trim() === '```') {
      blocks.push(open);
      open = undefined;
    } else if (open !== undefined) {
      open.code += `${text}\n`;
    }
  });
  if (open !== undefined) throw new Error(`README.md:${open.line}: code block never closed`);
  return blocks;
}

const blocks = codeBlocks(readFileSync(join(repoRoot, 'README.md'), 'utf8'));
const jsBlocks = blocks.filter((b) => ['js', 'mjs', 'javascript'].includes(b.lang));

/**
 * `node --check` of `code` as an ES module; the compiler's message when it does not parse.
 * Under Bun, `--check` means "type check, then run", so its parser is asked instead:
 * `bun build --no-bundle` transpiles the one file without resolving its imports.
 */
async function syntaxError(code: string, dir: string, name: string): Promise<string | undefined> {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, code);
  const r = await runNode(process.versions.bun ? ['build', '--no-bundle', file] : ['--check', file]);
  return r.status === 0 ? undefined : r.stderr.trim();
}

describe('README code blocks', () => {
  it('has the blocks this test is about', () => {
    expect(jsBlocks.length).toBeGreaterThan(10);
    expect(jsBlocks.some((b) => b.tags.includes('run'))).toBe(true);
  });

  it('every js block parses on this Node (node24 blocks where it has their syntax)', async () => {
    const dir = scratch();
    const hasAwaitUsing = (await syntaxError('await using x = null;\n', dir, 'probe')) === undefined;
    const checked = jsBlocks.filter((b) => hasAwaitUsing || !b.tags.includes('node24'));
    const errors = await Promise.all(checked.map((b) => syntaxError(b.code, dir, `block-${b.line}`)));
    const broken = checked.flatMap((b, i) => (errors[i] === undefined ? [] : [`README.md:${b.line} (${process.version}):\n${errors[i]}`]));
    expect(broken).toEqual([]);
  });

  it('a block that needs `await using` is tagged node24, and says what to do elsewhere', () => {
    for (const block of jsBlocks) {
      if (/^\s*await using\s/m.test(block.code)) expect(block.tags, `README.md:${block.line}`).toContain('node24');
    }
  });

  it('json blocks are JSON', () => {
    for (const block of blocks.filter((b) => b.lang === 'json')) {
      expect(() => JSON.parse(block.code), `README.md:${block.line}`).not.toThrow();
    }
  });

  it.each(jsBlocks.filter((b) => b.tags.includes('run')).map((b) => [b.line, b] as const))(
    'README.md:%i runs as written, in a scratch directory',
    async (_line, block) => {
      const dir = scratch();
      // The block imports `atomicwriter` (this checkout) and devDependencies by name.
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(repoRoot, join(dir, 'node_modules', 'atomicwriter'));
      for (const dep of ['yaml']) symlinkSync(join(repoRoot, 'node_modules', dep), join(dir, 'node_modules', dep));
      writeFileSync(join(dir, 'example.mjs'), block.code);
      const r = await runNode(['example.mjs'], { cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    },
  );
});
