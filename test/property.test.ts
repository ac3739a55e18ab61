// Property: random programs of writes, aborts (an AbortSignal mid-stream, an
// openAtomic abort), locks and updateJson calls, run by several async callers at once,
// end in the state a simple model predicts, with no temp left behind.
//
// The model stays deterministic under any interleaving: each caller owns its files
// (its own operations are sequential), and what callers share is commutative (counter
// increments through updateJson, tokens appended under an exclusive lock) or checked
// as it happens (never two holders inside an exclusive lock).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aw, entries, scratch } from './helpers.js';

type Command =
  | { t: 'write'; file: number; data: string }
  | { t: 'writeSync'; file: number; data: string }
  | { t: 'openCommit'; file: number; data: string }
  | { t: 'openAbort'; file: number; data: string }
  | { t: 'signalAbort'; file: number; data: string; chunks: number }
  | { t: 'update'; k: number }
  | { t: 'failingUpdate' }
  | { t: 'lockedAppend'; token: string }
  | { t: 'exclusive'; ms: number }
  | { t: 'shared'; ms: number };

const file = fc.integer({ min: 0, max: 2 });
const data = fc.string({ maxLength: 40 });
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ t: fc.constant('write' as const), file, data }),
  fc.record({ t: fc.constant('writeSync' as const), file, data }),
  fc.record({ t: fc.constant('openCommit' as const), file, data }),
  fc.record({ t: fc.constant('openAbort' as const), file, data }),
  fc.record({ t: fc.constant('signalAbort' as const), file, data, chunks: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ t: fc.constant('update' as const), k: fc.integer({ min: 1, max: 9 }) }),
  fc.constant({ t: 'failingUpdate' as const }),
  fc.record({ t: fc.constant('lockedAppend' as const), token: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 6 }) }),
  fc.record({ t: fc.constant('exclusive' as const), ms: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ t: fc.constant('shared' as const), ms: fc.integer({ min: 0, max: 3 }) }),
);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface World {
  dir: string;
  /** Per caller, per file: the content, or undefined when never written. */
  files: Array<Array<string | undefined>>;
  counter: number;
  tokens: string[];
  inside: { exclusive: number; shared: number };
  violations: string[];
}

const FAST = { fsync: false } as const; // atomicity is what is modelled; durability is tested elsewhere

async function step(world: World, caller: number, c: Command): Promise<void> {
  const path = (f: number) => join(world.dir, `c${caller}-f${f}`);
  switch (c.t) {
    case 'write':
      await aw.writeFile(path(c.file), c.data, FAST);
      world.files[caller]![c.file] = c.data;
      return;
    case 'writeSync':
      aw.writeFileSync(path(c.file), c.data, FAST);
      world.files[caller]![c.file] = c.data;
      return;
    case 'openCommit': {
      const f = await aw.openAtomic(path(c.file), FAST);
      await f.write(c.data);
      await f.commit();
      world.files[caller]![c.file] = c.data;
      return;
    }
    case 'openAbort': {
      const f = await aw.openAtomic(path(c.file), FAST);
      await f.write(c.data);
      f.abort();
      return;
    }
    case 'signalAbort': {
      const controller = new AbortController();
      const { data: text, chunks } = c;
      async function* source() {
        for (let i = 0; i < chunks; i++) {
          yield `${text}-${i}`;
          await sleep(0);
        }
        controller.abort();
        yield 'never published';
      }
      const outcome = await aw.writeFile(path(c.file), source(), { ...FAST, signal: controller.signal }).then(
        () => 'resolved',
        (err: Error) => err.name,
      );
      if (outcome !== 'AbortError') world.violations.push(`signalAbort: ${outcome}`);
      return;
    }
    case 'update':
      await aw.updateJson(join(world.dir, 'counter.json'), (n: number) => n + c.k, { defaultData: 0, ...FAST });
      world.counter += c.k;
      return;
    case 'failingUpdate': {
      const outcome = await aw
        .updateJson(
          join(world.dir, 'counter.json'),
          () => {
            throw new Error('nope');
          },
          { defaultData: 0 },
        )
        .then(
          () => 'resolved',
          (err: Error) => err.message,
        );
      if (outcome !== 'nope') world.violations.push(`failingUpdate: ${outcome}`);
      return;
    }
    case 'lockedAppend':
      await aw.withLock(join(world.dir, 'tokens.lock'), async () => {
        const list = join(world.dir, 'tokens.json');
        const current: string[] = existsSync(list) ? JSON.parse(readFileSync(list, 'utf8')) : [];
        await sleep(0); // a lost update would need exactly this window
        await aw.writeFile(list, JSON.stringify([...current, c.token]), FAST);
      });
      world.tokens.push(c.token);
      return;
    case 'exclusive':
    case 'shared': {
      const shared = c.t === 'shared';
      await aw.withLock(
        join(world.dir, 'rw.lock'),
        async () => {
          const { inside } = world;
          if (inside.exclusive > 0 || (!shared && inside.shared > 0)) world.violations.push(`${c.t} lock entered while held: ${JSON.stringify(inside)}`);
          if (shared) inside.shared++;
          else inside.exclusive++;
          await sleep(c.ms);
          if (shared) inside.shared--;
          else inside.exclusive--;
        },
        { shared },
      );
      return;
    }
  }
}

describe('random concurrent programs match the model', () => {
  it('final files, counter and token list match; no lock overlap; no temp left', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(command, { maxLength: 16 }), { minLength: 2, maxLength: 4 }), async (programs) => {
        const world: World = {
          dir: scratch('aw-prop-'),
          files: programs.map(() => [undefined, undefined, undefined]),
          counter: 0,
          tokens: [],
          inside: { exclusive: 0, shared: 0 },
          violations: [],
        };
        await Promise.all(
          programs.map(async (program, caller) => {
            for (const c of program) await step(world, caller, c);
          }),
        );
        expect(world.violations).toEqual([]);
        world.files.forEach((files, caller) =>
          files.forEach((content, f) => {
            const p = join(world.dir, `c${caller}-f${f}`);
            if (content === undefined) expect(existsSync(p)).toBe(false);
            else expect(readFileSync(p, 'utf8')).toBe(content);
          }),
        );
        const counterPath = join(world.dir, 'counter.json');
        if (world.counter > 0) expect(JSON.parse(readFileSync(counterPath, 'utf8'))).toBe(world.counter);
        const tokensPath = join(world.dir, 'tokens.json');
        if (world.tokens.length > 0) expect(JSON.parse(readFileSync(tokensPath, 'utf8')).sort()).toEqual([...world.tokens].sort());
        // No temps: every dot name would be debris (lock files are not dot names).
        expect(entries(world.dir).filter((n) => n.startsWith('.'))).toEqual([]);
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});
