// The `atomicwriter` command: write (stdin, published atomically), lock (run a command
// holding a lock, like flock(1)), verify (a `_SUCCESS` manifest) and sweep (orphaned
// temps). Everything goes through the library; this file parses arguments, reports
// and picks exit codes.
//
// Exit codes: 0 ok; 1 failure (the error's code and path are printed); 2 bad usage;
// 75 lock timeout (EX_TEMPFAIL, as flock(1) -E's common choice); 128+n killed by
// signal n before publishing; `lock` exits with its command's code.

import { spawn } from 'node:child_process';
import { closeSync, fstatSync } from 'node:fs';
import { constants } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { INPUT_FORMATS, readInput, type ByteSource, type InputFormat } from './input';
import { progressBar } from './progress';
import '../formats/builtins'; // the built-in formats, which pickFormat checks arguments against
import { pickFormat } from '../formats/registry';
import { FileLockError, inheritableFd, lock } from '../lock';
import { packageVersion, type VerifyResult } from '../manifest';
import { isRemoteUrl, probeConditionalWrites, sweep, verify, write, writeFile } from '../route';
import { checkPath } from '../args/target';
import { throwIfAborted } from '../binding/errors';
import { throttle } from '../file/progress';

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const EXIT_TEMPFAIL = 75;

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** A usage error: printed with a pointer to `--help`, exit 2. */
class UsageError extends Error {}

const HELP = `Usage: atomicwriter <command> [options]

Commands:
  write <path>       Read standard input completely and publish it at <path> atomically
                     and durably: readers see the old file or the new one, never a part.
      --from F         Convert stdin (ndjson, json or csv) to the format of <path>
      --format F       Output format (default: from the extension of <path>); needs --from
                       unless F is bytes or text
      --marker         Also write a _SUCCESS manifest beside <path>
      --mode 0644      Permission bits (default: the old file's, else 0666 & ~umask)
      --mkdir          Create missing parent directories
      --no-fsync       Do not sync (atomic, but not durable across a power loss)
      --size N         Expected size in bytes: shows a total in the progress bar, and a
                       different size publishes nothing (catches a truncated pipe)
  lock <lockfile> [--timeout ms] [--shared] -- <command> [args...]
                     Run <command> while holding a lock on <lockfile>, like flock(1); exit
                     with its code; 75 when --timeout (ms; default: wait forever) runs out.
                     The command inherits the lock as fd 3: it stays held while the
                     command runs, even if atomicwriter itself is killed.
  verify <dir|file> [--json] [--no-checksums]
                     Check a _SUCCESS manifest: exit 0 when complete, 1 otherwise.
  probe <url> [--json]
                     Check that the object store behind <url> (s3://bucket, gs://bucket,
                     az://container) refuses a second create-only write and a stale
                     compare-and-swap, and lets exactly one of racing creators win:
                     exit 0 when it does, 1 otherwise (it writes and removes scratch
                     objects under .atomicwriter-probe/).
  sweep <dir> [--older-than 1h] [--dry-run]
                     Remove temps left by crashed writers (only ones older than the age;
                     units ms, s, m, h, d; a bare number is ms).

<path>, <dir|file> may be object-store URLs: s3://bucket/key, gs://bucket/key,
az://container/blob (the SDK of each is an optional peer dependency).

Options: -h, --help   this text;   -v, --version   the version.
A SIGINT, SIGTERM or SIGHUP before the write is published publishes nothing.
`;


function parse(args: string[], options: ParseArgsConfig['options']): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Runs a library check of an argument; its TypeError or RangeError is a usage error. */
function asUsage(check: () => unknown): void {
  try {
    check();
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
}

function oneOperand(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected one ${what}, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  return positionals[0] as string;
}

function parseSize(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--size takes a number of bytes, got ${JSON.stringify(text)}`);
  return Number(text);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new UsageError(`${option} takes a duration such as 500ms, 30s, 10m, 1h or 2d, got ${JSON.stringify(text)}`);
  return Number(match[1]) * UNIT_MS[match[2] ?? 'ms']!;
}

/** Size of stdin when it is a regular file (`< file`), for the progress bar's total. */
function stdinSize(): number | undefined {
  try {
    const st = fstatSync(0);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Aborts `controller` on SIGINT/SIGTERM/SIGHUP (and stops reading stdin) instead of
 * dying mid-write; remembers which signal, for the exit code. A second signal exits.
 */
function interruptible(controller: AbortController): { signal: () => string | undefined; dispose: () => void } {
  let received: string | undefined;
  const handlers = Object.keys(SIGNALS).map((name) => {
    const handler = (): void => {
      if (received !== undefined) process.exit(128 + SIGNALS[name]!);
      received = name;
      controller.abort(new Error(`interrupted by ${name}`));
      process.stdin.destroy();
    };
    process.on(name, handler);
    return () => process.off(name, handler);
  });
  return { signal: () => received, dispose: () => handlers.forEach((off) => off()) };
}

async function cmdWrite(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    format: { type: 'string' },
    from: { type: 'string' },
    marker: { type: 'boolean' },
    mode: { type: 'string' },
    mkdir: { type: 'boolean' },
    'no-fsync': { type: 'boolean' },
    size: { type: 'string' },
  });
  if (values.help) return help();
  const path = oneOperand(positionals, 'path to write');
  const from = values.from as string | undefined;
  if (from !== undefined && !(INPUT_FORMATS as readonly string[]).includes(from)) {
    throw new UsageError(`--from takes ${INPUT_FORMATS.join(', ')}, got ${JSON.stringify(from)}`);
  }
  const format = values.format as string | undefined;
  if (format !== undefined && from === undefined && format !== 'bytes' && format !== 'text') {
    throw new UsageError(`--format ${format} needs --from (ndjson, json or csv) to say what stdin holds; without it, stdin is published byte for byte`);
  }
  const mode = values.mode as string | undefined;
  if (mode !== undefined && !/^[0-7]{1,6}$/.test(mode)) throw new UsageError(`--mode takes octal permission bits such as 0644, got ${JSON.stringify(mode)}`);
  const expected = parseSize(values.size as string | undefined);
  // What the arguments decide is checked now (a bad one is usage, exit 2); from here
  // on, a TypeError is about what stdin holds (a failure, exit 1).
  if (!isRemoteUrl(path)) asUsage(() => checkPath(path));
  if (from !== undefined || values.marker === true || format !== undefined) asUsage(() => pickFormat(from === undefined ? (format ?? 'bytes') : format, path));
  if (process.stdin.isTTY) process.stderr.write('atomicwriter: reading standard input (end it with Ctrl-D)\n');

  const controller = new AbortController();
  const interrupt = interruptible(controller);
  const bar = progressBar(process.stderr, expected ?? stdinSize());
  const common = { mode, fsync: values['no-fsync'] !== true, mkdir: values.mkdir === true, signal: controller.signal };
  let count = 0;
  // Every byte of stdin passes here on its way to the temp: the count feeds the bar,
  // and a size other than --size fails the write before it is published.
  const draw = throttle((bytes) => bar.update(bytes));
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      count += chunk.length;
      if (expected !== undefined && count > expected) throw sizeError(expected, count, path);
      draw(count, false);
      yield chunk;
    }
    // Ctrl-C in a pipeline also kills the program feeding us: stdin can end in the
    // same poll of the event loop in which our SIGINT becomes readable, or just before
    // it. The end of input only counts once a whole further poll has run (two
    // setImmediate hops: the second runs after the next poll phase), so an interrupt
    // that came with the end is seen and nothing (truncated) is published.
    await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
    throwIfAborted(controller.signal);
    if (expected !== undefined && count !== expected) throw sizeError(expected, count, path);
    draw(count, true);
  }
  try {
    if (from !== undefined) {
      const data = await readInput(counted() as ByteSource, from as InputFormat);
      await write(data, path, { ...common, format, marker: values.marker === true });
    } else if (values.marker === true || format !== undefined) {
      await write(counted(), path, { ...common, format: format ?? 'bytes', marker: values.marker === true });
    } else {
      await writeFile(path, counted(), common);
    }
  } catch (err) {
    bar.done();
    const signal = interrupt.signal();
    if (signal !== undefined) {
      process.stderr.write(`atomicwriter: interrupted by ${signal}; nothing was published at ${path}\n`);
      return 128 + SIGNALS[signal]!;
    }
    // The arguments were checked above: whatever failed now (a record the format
    // refuses, a full disk) is a failure, not usage.
    process.stderr.write(describeError('write', err));
    return EXIT_FAILURE;
  } finally {
    interrupt.dispose();
  }
  bar.done();
  return 0;
}

function sizeError(expected: number, actual: number, path: string): Error {
  const more = actual > expected ? `more than ${expected}` : `${actual}, not ${expected}`;
  return Object.assign(new Error(`standard input had ${more} bytes (--size); nothing was published`), { code: 'ESIZE', path });
}

async function cmdLock(args: string[]): Promise<number> {
  const dash = args.indexOf('--');
  const own = dash >= 0 ? args.slice(0, dash) : args;
  const { values, positionals } = parse(own, { timeout: { type: 'string', short: 'w' }, shared: { type: 'boolean', short: 's' } });
  if (values.help) return help();
  const [lockfile, ...rest] = positionals;
  const command = dash >= 0 ? [...rest, ...args.slice(dash + 1)] : rest;
  if (lockfile === undefined) throw new UsageError('expected a lock file and a command: atomicwriter lock <lockfile> -- <command> [args...]');
  if (command.length === 0) throw new UsageError('expected a command after the lock file: atomicwriter lock <lockfile> -- <command> [args...]');
  let timeout = Infinity;
  if (values.timeout !== undefined) {
    const text = values.timeout as string;
    if (!/^\d+$/.test(text)) throw new UsageError(`--timeout takes milliseconds (0 tries once), got ${JSON.stringify(text)}`);
    timeout = Number(text);
  }
  let held: Awaited<ReturnType<typeof lock>>;
  try {
    held = await lock(lockfile, { timeout, shared: values.shared === true });
  } catch (err) {
    if (err instanceof FileLockError && (err.code === 'ETIMEDOUT' || err.code === 'ELOCKED')) {
      process.stderr.write(`atomicwriter lock: ${err.message}\n`);
      return EXIT_TEMPFAIL;
    }
    throw err;
  }
  try {
    return await runCommand(command, inheritableFd(held));
  } finally {
    held.release();
  }
}

/**
 * Runs the command with our stdio; signals meant for the pair go to the command. The
 * command gets a descriptor of the lock as fd 3 (like flock(1)'s), so the lock stays
 * held while it runs even if this process is killed with SIGKILL.
 */
function runCommand([cmd, ...args]: string[], lockFd: number | undefined): Promise<number> {
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(cmd as string, args, { stdio: lockFd === undefined ? 'inherit' : ['inherit', 'inherit', 'inherit', lockFd] });
    } finally {
      if (lockFd !== undefined) closeSync(lockFd);
    }
    // Ctrl-C reaches the child too (same process group); we outlive it to unlock.
    const forward = (name: NodeJS.Signals) => (): void => void child.kill(name);
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((name) => [name, forward(name)] as const);
    for (const [name, handler] of handlers) process.on(name, handler);
    const cleanup = (): void => {
      for (const [name, handler] of handlers) process.off(name, handler);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      process.stderr.write(`atomicwriter lock: cannot run ${cmd}: ${err.code ?? err.message}\n`);
      resolve(err.code === 'ENOENT' ? 127 : 126);
    });
    child.on('exit', (code, signal) => {
      cleanup();
      resolve(code ?? 128 + (signal ? (SIGNALS[signal] ?? osSignal(signal)) : 0));
    });
  });
}

function osSignal(name: NodeJS.Signals): number {
  return constants.signals[name] ?? 0;
}

function report(result: VerifyResult): string {
  const lines: string[] = [];
  if (result.ok) {
    const what = result.marker === 'json' ? `${result.checked} file${result.checked === 1 ? '' : 's'} match the manifest` : `_SUCCESS is present (${result.marker === 'empty' ? 'an empty Hadoop marker' : "another committer's JSON"}; it lists nothing to check)`;
    lines.push(`OK ${result.dir}: ${what}`);
  } else {
    lines.push(`FAILED ${result.dir}: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}`);
    for (const p of result.problems) lines.push(`  ${p.code} ${p.name}: ${p.message}`);
  }
  if (result.extra.length > 0) lines.push(`  not in the manifest (not an error): ${result.extra.join(', ')}`);
  return lines.join('\n') + '\n';
}

async function cmdVerify(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, 'no-checksums': { type: 'boolean' } });
  if (values.help) return help();
  const path = oneOperand(positionals, 'directory or file to verify');
  const result = await verify(path, { checksums: values['no-checksums'] !== true });
  if (values.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else {
    (result.ok ? process.stdout : process.stderr).write(report(result));
  }
  return result.ok ? 0 : EXIT_FAILURE;
}

async function cmdSweep(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { 'older-than': { type: 'string' }, 'dry-run': { type: 'boolean', short: 'n' } });
  if (values.help) return help();
  const dir = oneOperand(positionals, 'directory to sweep');
  const olderThan = values['older-than'] === undefined ? undefined : parseDuration(values['older-than'] as string, '--older-than');
  const dryRun = values['dry-run'] === true;
  const removed = await sweep(dir, { olderThan, dryRun });
  for (const path of removed) process.stdout.write(path + '\n');
  process.stderr.write(`atomicwriter sweep: ${dryRun ? 'would remove' : 'removed'} ${removed.length} temp${removed.length === 1 ? '' : 's'} in ${dir}\n`);
  return 0;
}

function help(): number {
  process.stdout.write(HELP);
  return 0;
}

/** One line with the message, then the code and path, as a user needs them to act. */
function describeError(command: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException & { dest?: string };
  const details: string[] = [];
  if (e?.code) details.push(`code ${e.code}`);
  if (e?.path) details.push(`path ${e.path}`);
  if (e?.dest) details.push(`dest ${e.dest}`);
  const message = e instanceof Error ? e.message : String(err);
  return `atomicwriter ${command}: ${message}${details.length ? ` (${details.join(', ')})` : ''}\n`;
}

async function cmdProbe(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  if (values.help) return help();
  const url = oneOperand(positionals, 'object-store URL to probe (s3://bucket, gs://bucket, az://container)');
  if (!isRemoteUrl(url)) throw new UsageError(`probe takes an s3://, gs:// or az:// URL, got ${JSON.stringify(url)}`);
  let result: Awaited<ReturnType<typeof probeConditionalWrites>>;
  try {
    result = await probeConditionalWrites(url);
  } catch (err) {
    process.stderr.write(describeError('probe', err));
    return EXIT_FAILURE;
  }
  if (values.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else if (result.safe) process.stdout.write(`${result.target}: conditional writes are honoured (create-only refused twice, stale compare-and-swap refused, 1 of ${result.checks.racers} racing creators won)\n`);
  else process.stderr.write(`${result.target}: conditional writes are NOT honoured:\n${result.failed.map((f) => `  - ${f}\n`).join('')}`);
  return result.safe ? 0 : EXIT_FAILURE;
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = { write: cmdWrite, lock: cmdLock, verify: cmdVerify, sweep: cmdSweep, probe: cmdProbe };

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') return help();
  if (command === '-v' || command === '--version') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`atomicwriter: unknown command ${JSON.stringify(command)}; try atomicwriter --help\n`);
    return EXIT_USAGE;
  }
  try {
    return await run(rest);
  } catch (err) {
    if (err instanceof UsageError || err instanceof TypeError || err instanceof RangeError) {
      process.stderr.write(`atomicwriter ${command}: ${(err as Error).message}; try atomicwriter ${command} --help\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(describeError(command, err));
    return EXIT_FAILURE;
  }
}

/** The bin's entry: exits when the command is done (a lingering handle must not keep it). */
export function run(argv = process.argv.slice(2)): void {
  // A reader of our stdout that went away (`| head`) is not worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_FAILURE);
  });
  main(argv).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(describeError(argv[0] ?? '', err));
      process.exit(EXIT_FAILURE);
    },
  );
}
