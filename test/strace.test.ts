// The syscall order that makes a write atomic and durable, observed from outside with
// strace: temp created exclusively in the target's directory, mode set, data written
// to the temp, fdatasync of the temp, then the rename (or link) onto the target name,
// then fsync of the directory. Nothing ever opens the target itself for writing.
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entries, fixture, hasCommand, run, scratch } from './helpers.js';

interface Call {
  /** Position in the trace, by completion. */
  seq: number;
  tid: number;
  name: string;
  args: string[];
  ret: number;
  /** What each fd argument referred to when the call ran (absolute paths). */
  fdPaths: Map<number, string>;
}

const TRACED = 'openat,write,fdatasync,fsync,rename,renameat,renameat2,linkat,fchmod,close';

/** Splits strace's argument text, keeping quoted strings (with escapes) whole. */
function splitArgs(text: string): string[] {
  return (text.match(/"(?:[^"\\]|\\.)*"(?:\.\.\.)?|\{[^}]*\}|[^,]+/g) ?? []).map((a) => a.trim());
}

function unquote(arg: string): string {
  return JSON.parse(arg.replace(/\.\.\.$/, '')) as string;
}

/** Parses `strace -f` output, joining calls split into unfinished/resumed halves. */
function parseTrace(text: string): Call[] {
  const pending = new Map<number, string>();
  const calls: Call[] = [];
  // fd -> absolute path; "<dir>/<O_TMPFILE>" for anonymous temps. One table: threads share fds.
  const fds = new Map<number, string>();
  for (const raw of text.split('\n')) {
    const m = /^(\d+)\s+(.*)$/.exec(raw);
    if (!m) continue;
    const tid = Number(m[1]);
    let line = m[2]!;
    if (line.endsWith('<unfinished ...>')) {
      pending.set(tid, line.slice(0, -'<unfinished ...>'.length));
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (resumed) {
      line = (pending.get(tid) ?? '') + resumed[1];
      pending.delete(tid);
    }
    const call = /^(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(line);
    if (!call) continue;
    const [, name, argText, retText] = call;
    const args = splitArgs(argText!);
    const ret = Number(retText);
    const fdPaths = new Map<number, string>();
    for (const a of args) if (/^\d+$/.test(a) && fds.has(Number(a))) fdPaths.set(Number(a), fds.get(Number(a))!);
    calls.push({ seq: calls.length, tid, name: name!, args, ret, fdPaths });
    if (name === 'openat' && ret >= 0) {
      const [dirfd, path, flags] = [args[0]!, unquote(args[1]!), args[2]!];
      const base = dirfd === 'AT_FDCWD' ? '' : fds.get(Number(dirfd)) ?? '?';
      const full = path.startsWith('/') ? path : `${base}/${path}`.replace(/\/\.$/, '');
      fds.set(ret, flags.includes('O_TMPFILE') ? `${full}/<O_TMPFILE>` : full);
    } else if (name === 'close' && ret === 0) {
      fds.delete(Number(args[0]));
    }
  }
  return calls;
}

/** Absolute path named by a (dirfd, name) pair of a call. */
function atPath(call: Call, dirfdArg: number, nameArg: number): string {
  const name = unquote(call.args[nameArg]!);
  if (name.startsWith('/')) return name;
  const dirfd = call.args[dirfdArg]!;
  return `${dirfd === 'AT_FDCWD' ? '?' : call.fdPaths.get(Number(dirfd)) ?? '?'}/${name}`;
}

function find(calls: Call[], after: number, what: string, pred: (c: Call) => boolean): Call {
  const found = calls.find((c) => c.seq > after && c.ret >= 0 && pred(c));
  if (!found) throw new Error(`no ${what} after trace position ${after}`);
  return found;
}

/** Asserts the protocol's order for one write of `payload` to `dir/name`. */
function checkOrder(calls: Call[], dir: string, name: string, payload: string): string[] {
  const target = `${dir}/${name}`;
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const tempName = new RegExp(`^${escape(dir)}/\\.${escape(name)}\\.aw[0-9a-f]{16}\\.tmp$`);

  const created = find(calls, -1, 'temp creation', (c) => {
    if (c.name !== 'openat') return false;
    const flags = c.args[2]!;
    if (flags.includes('O_TMPFILE')) return atPath(c, 0, 1).replace(/\/\.$/, '') === dir;
    return flags.includes('O_EXCL') && flags.includes('O_NOFOLLOW') && tempName.test(atPath(c, 0, 1));
  });
  const fd = created.ret;
  const anonymous = created.args[2]!.includes('O_TMPFILE');
  // Exclusive and private: 0600 at creation.
  expect(created.args[3]).toBe('0600');

  const onTemp = (c: Call) => Number(c.args[0]) === fd;
  const written = find(calls, created.seq, 'data write to the temp', (c) => c.name === 'write' && onTemp(c) && c.args[1]!.startsWith(JSON.stringify(payload).slice(0, -1)));
  expect(written.ret).toBe(payload.length);
  // The temp stays 0600 while written; the final mode goes on the fd before the sync.
  const chmod = find(calls, written.seq, 'fchmod of the temp', (c) => c.name === 'fchmod' && onTemp(c));
  const synced = find(calls, chmod.seq, 'fdatasync of the temp', (c) => (c.name === 'fdatasync' || c.name === 'fsync') && onTemp(c));

  // Publish: rename onto the target name (an O_TMPFILE temp is first linked under a
  // temp name; a create-only publish may link straight to the target).
  const isRename = (c: Call) => ['rename', 'renameat', 'renameat2'].includes(c.name);
  const newPath = (c: Call) => (c.name === 'rename' ? unquote(c.args[1]!) : c.name === 'linkat' ? atPath(c, 2, 3) : atPath(c, 2, 3));
  const published = find(calls, synced.seq, 'rename onto the target', (c) => (isRename(c) || c.name === 'linkat') && newPath(c) === target);
  if (anonymous) {
    const linked = find(calls, synced.seq, 'linkat of the anonymous temp', (c) => c.name === 'linkat' && unquote(c.args[1]!) === `/proc/self/fd/${fd}`);
    expect(linked.seq).toBeLessThanOrEqual(published.seq);
  }
  const dirSynced = find(calls, published.seq, 'fsync of the directory', (c) => c.name === 'fsync' && c.fdPaths.get(Number(c.args[0])) === dir);

  // The target is never opened for writing in place.
  const inPlace = calls.filter((c) => c.name === 'openat' && c.ret >= 0 && atPath(c, 0, 1) === target);
  expect(inPlace).toEqual([]);

  return [created, written, synced, published, dirSynced].map((c) => `${c.name}(${c.args.slice(0, 2).join(', ')})`);
}

const haveStrace = hasCommand('strace');
if (!haveStrace) console.warn('strace tests skipped: strace is not installed (CI installs it in .ci/run)');

describe.skipIf(!haveStrace)('syscall order under strace -f (needs strace)', () => {
  const modes = [
    ['async', 'the default temp (O_TMPFILE where the filesystem has it)'],
    ['sync', 'the sync call'],
    ['named', 'a named temp (tmpfileCreated)'],
    ['exclusive', 'a create-only publish'],
    ['stream', 'createWriteStream'],
    ['json', 'updateJson (under its lock file)'],
  ] as const;

  it.each(modes)('%s: %s', async (mode) => {
    const dir = realpathSync(scratch('aw-strace-'));
    const trace = join(scratch('aw-trace-'), 'trace');
    const result = await run('strace', ['-f', '-e', `trace=${TRACED}`, '-o', trace, process.execPath, fixture('strace-write.mjs'), join(dir, 'out.txt'), mode]);
    expect(result.status, result.stderr).toBe(0);
    // updateJson stores the string as a JSON document.
    const payload = mode === 'json' ? `${JSON.stringify(`strace-payload-${mode}\n`)}\n` : `strace-payload-${mode}\n`;
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe(payload);
    expect(entries(dir)).toEqual(mode === 'json' ? ['out.txt', 'out.txt.lock'] : ['out.txt']);
    const order = checkOrder(parseTrace(readFileSync(trace, 'utf8')), dir, 'out.txt', payload);
    expect(order).toHaveLength(5);
    console.log(`strace ${mode}: ${order.join(' -> ')}`);
  });

  it('the checker rejects a trace with the wrong order (it can fail)', () => {
    const dir = '/d';
    const good = [
      '1 openat(AT_FDCWD, "/d", O_RDONLY|O_CLOEXEC|O_DIRECTORY) = 3',
      '1 openat(3, ".", O_WRONLY|O_CLOEXEC|O_TMPFILE, 0600) = 4',
      '1 write(4, "p\\n", 2) = 2',
      '1 fchmod(4, 0644) = 0',
      '1 fdatasync(4) = 0',
      '1 linkat(AT_FDCWD, "/proc/self/fd/4", 3, ".f.aw0123456789abcdef.tmp", AT_SYMLINK_FOLLOW) = 0',
      '1 renameat(3, ".f.aw0123456789abcdef.tmp", 3, "f") = 0',
      '1 close(4) = 0',
      '1 fsync(3) = 0',
    ];
    expect(checkOrder(parseTrace(good.join('\n')), dir, 'f', 'p\n')).toHaveLength(5);
    // Split across threads the same calls still parse.
    const split = [...good.slice(0, 4), '2 fdatasync(4 <unfinished ...>', '1 close(9) = -1 EBADF (Bad file descriptor)', '2 <... fdatasync resumed>) = 0', ...good.slice(5)];
    expect(checkOrder(parseTrace(split.join('\n')), dir, 'f', 'p\n')).toHaveLength(5);
    const swap = (a: number, b: number) => good.map((l, i) => (i === a ? good[b] : i === b ? good[a] : l)!);
    // Rename before the data sync; directory sync before the rename; no data sync at all.
    expect(() => checkOrder(parseTrace(swap(4, 6).join('\n')), dir, 'f', 'p\n')).toThrow();
    expect(() => checkOrder(parseTrace(swap(6, 8).join('\n')), dir, 'f', 'p\n')).toThrow();
    expect(() => checkOrder(parseTrace(good.filter((_, i) => i !== 4).join('\n')), dir, 'f', 'p\n')).toThrow();
    // Mode set after the data sync.
    expect(() => checkOrder(parseTrace(swap(3, 4).join('\n')), dir, 'f', 'p\n')).toThrow();
  });
});
