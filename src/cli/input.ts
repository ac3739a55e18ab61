// Records read from standard input for `atomicwriter write --from F`: ndjson and csv
// stream (a record at a time, so a large input is never held whole); json is one
// document and is parsed whole. A malformed input throws with its line number, which
// fails the write before anything is published.

import { StringDecoder } from 'node:string_decoder';

/** Bytes from stdin (or anything else that yields chunks). */
export type ByteSource = AsyncIterable<Buffer | string>;

/** Text pieces of a byte source, decoded as UTF-8 without splitting a character. */
async function* text(input: ByteSource): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  for await (const chunk of input) {
    const piece = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (piece) yield piece;
  }
  const rest = decoder.end();
  if (rest) yield rest;
}

async function* lines(input: ByteSource): AsyncGenerator<string> {
  let pending = '';
  for await (const piece of text(input)) {
    pending += piece;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      yield pending.slice(0, nl);
      pending = pending.slice(nl + 1);
    }
  }
  if (pending) yield pending;
}

export const INPUT_FORMATS = ['ndjson', 'json', 'csv'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** An input error: the CLI prints it and exits 1. */
export class InputError extends Error {
  code = 'EINPUT';
}

async function* ndjsonRecords(input: ByteSource): AsyncGenerator<unknown> {
  let line = 0;
  for await (const content of lines(input)) {
    line++;
    if (content.trim() === '') continue;
    try {
      yield JSON.parse(content);
    } catch (err) {
      throw new InputError(`stdin line ${line} is not JSON (${(err as Error).message})`);
    }
  }
}

async function jsonValue(input: ByteSource): Promise<unknown> {
  let all = '';
  for await (const piece of text(input)) all += piece;
  try {
    return JSON.parse(all);
  } catch (err) {
    throw new InputError(`stdin is not a JSON document (${(err as Error).message})`);
  }
}

/**
 * RFC 4180 rows from text chunks: quoted fields may hold commas, quotes (doubled) and
 * line breaks; a row ends at LF or CRLF. Fields stay strings: CSV carries no types,
 * and guessing them would turn "007" into 7.
 */
async function* csvRows(input: ByteSource): AsyncGenerator<string[]> {
  let field = '';
  let row: string[] = [];
  let quoted = false; // inside a quoted field
  let afterQuote = false; // just read a quote inside a quoted field
  let started = false; // the current row has content
  let line = 1;
  for await (const chunk of text(input)) {
    for (const ch of chunk) {
      if (quoted) {
        if (afterQuote) {
          afterQuote = false;
          if (ch === '"') {
            field += '"';
            continue;
          }
          quoted = false; // the quote closed the field; fall through to handle `ch`
        } else if (ch === '"') {
          afterQuote = true;
          continue;
        } else {
          if (ch === '\n') line++;
          field += ch;
          continue;
        }
      }
      if (ch === ',') {
        row.push(field);
        field = '';
        started = true;
      } else if (ch === '\n') {
        if (field.endsWith('\r')) field = field.slice(0, -1);
        if (started || field !== '') {
          row.push(field);
          yield row;
        }
        row = [];
        field = '';
        started = false;
        line++;
      } else if (ch === '"' && field === '') {
        quoted = true;
        started = true;
      } else {
        field += ch;
        started = true;
      }
    }
  }
  if (quoted && !afterQuote) throw new InputError(`stdin ends inside a quoted CSV field (opened on or before line ${line})`);
  if (started || field !== '') {
    row.push(field.endsWith('\r') ? field.slice(0, -1) : field);
    yield row;
  }
}

async function* csvRecords(input: ByteSource): AsyncGenerator<Record<string, string>> {
  let header: string[] | undefined;
  let line = 0;
  for await (const row of csvRows(input)) {
    line++;
    if (!header) {
      header = row;
      continue;
    }
    if (row.length !== header.length) {
      throw new InputError(`CSV record ${line} has ${row.length} fields, the header has ${header.length}`);
    }
    const record: Record<string, string> = {};
    header.forEach((name, i) => (record[name] = row[i] as string));
    yield record;
  }
}

/** What `write` gets for stdin in `format`: records (streamed) or one JSON value. */
export async function readInput(input: ByteSource, format: InputFormat): Promise<unknown> {
  if (format === 'ndjson') return ndjsonRecords(input);
  if (format === 'csv') return csvRecords(input);
  return jsonValue(input);
}
