// Formats by name and by file extension: the built-in ones and those added with
// `registerFormat`. Looking a format up never loads an encoder; each format module
// requires its heavy dependency on first use.

import { invalidArgType } from '../binding/errors';
import { parseBoolean } from '../args/validate';
import { checkOptionNames } from '../file/options';
import type { ByteSink } from './sink';

export type FormatOptions = Record<string, unknown>;

/** What `registerFormat` takes: a `serialize` (into the staged temp) or a `writeTo` (a path). */
export interface FormatPlugin {
  name: string;
  /** File name endings this format is picked for, with or without the dot: `['yaml', '.yml']`. */
  extensions?: readonly string[];
  /** Streams `data` into the staged temp; resolves when all of it was written to `sink`. */
  serialize?(data: unknown, sink: ByteSink, options: FormatOptions): unknown;
  /** For encoders that only write to a path: write `data` to `tmpPath` (which exists, empty). */
  writeTo?(tmpPath: string, data: unknown, options: FormatOptions): unknown;
  /** Checks `data` and options before anything touches the disk; throw a TypeError to refuse. */
  validate?(data: unknown, options: FormatOptions): void;
  /**
   * The option names the format reads (`['indent']`): with it, a name that neither the
   * call nor the format knows (a typo such as `delimter`) is a TypeError. Without it,
   * every name is accepted and passed on.
   */
  options?: readonly string[];
  /** Replace a format (or extensions) registered before under the same name. */
  override?: boolean;
}

/** A registered format; built-ins may also write some inputs through a path. */
export interface Format extends FormatPlugin {
  /** Built-ins: `true` when this input is written by its own library through `writeTo`. */
  usesPath?(data: unknown): boolean;
  /** Built-ins: runs before the temp is created (so its errors touch no disk); the result replaces `data`. */
  prepare?(data: unknown, options: FormatOptions): unknown;
  /** Built-ins only: `serialize` reads an async source only by iterating it, so it may get an abortable view of it. */
  builtin?: boolean;
}

// A slot holds a format, or how to load it: the built-ins' modules (and their encoders)
// are required on first use, so `require('atomicwriter')` stays small.
interface Slot {
  name: string;
  format?: Format;
  load?: () => Format;
}

const byName = new Map<string, Slot>();
const byExtension = new Map<string, Slot>();

function formatOf(slot: Slot): Format {
  slot.format ??= (slot.load as () => Format)();
  return slot.format;
}

function normalizeExtension(ext: unknown): string {
  if (typeof ext !== 'string' || ext.replace(/^\./, '').length === 0 || /[/\\\0]/.test(ext)) {
    throw invalidArgType('plugin.extensions', 'an array of non-empty strings such as "yaml" or ".yml"', ext);
  }
  return (ext.startsWith('.') ? ext : `.${ext}`).toLowerCase();
}

function add(slot: Slot, names: readonly string[], rawExtensions: readonly string[], override: boolean): void {
  const extensions = rawExtensions.map(normalizeExtension);
  if (!override) {
    for (const name of names) {
      if (byName.has(name)) throw duplicate(`A format named "${name}" is already registered`);
    }
    for (const ext of extensions) {
      const owner = byExtension.get(ext);
      if (owner) throw duplicate(`The extension "${ext}" already belongs to the format "${owner.name}"`);
    }
  }
  for (const name of names) byName.set(name, slot);
  for (const ext of extensions) byExtension.set(ext, slot);
}

function duplicate(message: string): Error {
  const error = new Error(`${message}; pass \`override: true\` to replace it`) as Error & { code: string };
  error.code = 'ERR_FORMAT_EXISTS';
  return error;
}

/** Internal: a built-in, under its name and aliases, loaded on first use. */
export function defineFormat(name: string, extensions: readonly string[], load: () => Format, aliases: readonly string[] = []): void {
  add({ name, load: () => ({ ...load(), builtin: true }) }, [name, ...aliases], extensions, false);
}

/** Adds a format; a plugin gets the same atomicity, marker and targets as the built-ins. */
export function registerFormat(plugin: FormatPlugin): void {
  if (plugin === null || typeof plugin !== 'object') throw invalidArgType('plugin', 'an object { name, extensions, serialize | writeTo }', plugin);
  const { name, extensions, serialize, writeTo, validate, options, override } = plugin;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][\w.+-]*$/.test(name)) {
    throw invalidArgType('plugin.name', 'a non-empty string of letters, digits, ".", "+", "-" or "_"', name);
  }
  if (extensions !== undefined && !Array.isArray(extensions)) throw invalidArgType('plugin.extensions', 'an array of strings', extensions);
  if ((serialize === undefined) === (writeTo === undefined)) {
    throw invalidArgType('plugin', 'an object with exactly one of serialize(data, sink, options) or writeTo(tmpPath, data, options)', plugin);
  }
  for (const [key, fn] of [['serialize', serialize], ['writeTo', writeTo], ['validate', validate]] as const) {
    if (fn !== undefined && typeof fn !== 'function') throw invalidArgType(`plugin.${key}`, 'a function', fn);
  }
  parseBoolean(override, 'plugin.override', undefined);
  if (options !== undefined && !(Array.isArray(options) && options.every((o) => typeof o === 'string'))) {
    throw invalidArgType('plugin.options', 'an array of option names', options);
  }
  const format: Format = { name: name.toLowerCase(), extensions: extensions ? [...extensions] : [], serialize, writeTo, validate, options: options && [...options] };
  add({ name: format.name, format }, [format.name], format.extensions ?? [], override === true);
}

/**
 * Refuses an option name that neither `callNames` (what the entry point reads itself)
 * nor `format` reads. No format (content written as it is): only `callNames`. A format
 * that declares no `options` (a plugin from before the list existed) takes any name.
 */
export function checkFormatOptionNames(options: unknown, format: Format | undefined, callNames: readonly string[]): void {
  if (format !== undefined && format.options === undefined) return;
  checkOptionNames(options, format?.options ?? [], callNames);
}

/** Names of every format, sorted (aliases included). */
export function knownFormats(): string[] {
  return [...byName.keys()].sort();
}

function unknown(message: string): TypeError {
  const error = new TypeError(`${message}. Known formats: ${knownFormats().join(', ')} (add one with registerFormat)`) as TypeError & { code: string };
  error.code = 'ERR_UNKNOWN_FORMAT';
  return error;
}

/** The format for a file name's extension (longest match wins), if one is registered. */
export function formatForName(fileName: string): Format | undefined {
  const base = baseName(fileName);
  let best: Slot | undefined;
  let bestLength = 0;
  for (const [ext, candidate] of byExtension) {
    if (ext.length > bestLength && base.length > ext.length && base.endsWith(ext)) {
      best = candidate;
      bestLength = ext.length;
    }
  }
  return best && formatOf(best);
}

function baseName(fileName: string): string {
  return fileName.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1).toLowerCase();
}

/** The format for `options.format`, else for the file name's extension (longest match wins). */
export function pickFormat(format: unknown, fileName: string): Format {
  if (format !== undefined) {
    if (typeof format !== 'string') throw invalidArgType('options.format', 'a format name string', format);
    const found = byName.get(format.toLowerCase());
    if (!found) throw unknown(`Unknown format "${format}"`);
    return formatOf(found);
  }
  const found = formatForName(fileName);
  if (!found) {
    const base = baseName(fileName);
    const dot = base.lastIndexOf('.');
    throw unknown(dot > 0 ? `No format for the extension "${base.slice(dot)}"; pass { format }` : `Cannot tell the format of "${base}" (no extension); pass { format }`);
  }
  return found;
}
