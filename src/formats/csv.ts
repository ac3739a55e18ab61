// `csv` / `tsv` (RFC 4180): a field is quoted when it holds the delimiter, a quote,
// CR or LF, and quotes inside are doubled. null/undefined are empty, Dates ISO 8601,
// BigInts exact, other objects JSON. Hand-written: csv-stringify is the reference in
// tests, and this writer does the same work without a stream per row. Parts of rows go
// to the core's encoder (text-core.ts), which writes the same bytes faster; this
// file's per-line writer is the rule it follows and takes the parts it leaves.

import { invalidArgType } from '../binding/errors';
import { parseBoolean } from '../args/validate';
import type { Format, FormatOptions } from './registry';
import type { ByteSink } from './sink';
import { badRow, checkColumns, checkTabular, isDataFrame, parts, type Kind, type Part, dataFrameRows } from './tabular';
import { csvPart, InOrder } from './text-core';

const FLUSH_AT = 1 << 18;

interface CsvOptions {
  delimiter: string;
  eol: string;
  header: boolean;
  columns?: string[];
}

function checkOptions(options: FormatOptions, defaultDelimiter: string): CsvOptions {
  const { delimiter = defaultDelimiter, eol = '\n', header = true } = options;
  if (typeof delimiter !== 'string' || delimiter.length === 0 || /["\r\n]/.test(delimiter)) {
    throw invalidArgType('options.delimiter', 'a non-empty string without quotes or line breaks', delimiter);
  }
  if (eol !== '\n' && eol !== '\r\n') throw invalidArgType('options.eol', '"\\n" or "\\r\\n"', eol);
  return { delimiter, eol, header: parseBoolean(header, 'options.header', true), columns: checkColumns(options.columns) };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Formats one field; `quote` tells which strings need quotes. */
function makeField(delimiter: string): (value: unknown, kind?: Kind) => string {
  const special = new RegExp(`["\\r\\n]|${escapeRegExp(delimiter)}`);
  // Numbers are only checked when the delimiter could occur in one ("1.5", "-1e+21", "NaN").
  const checkNumbers = /[\w.+-]/.test(delimiter);
  const quoted = (text: string): string => (special.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  return (value, kind) => {
    switch (typeof value) {
      case 'string':
        return quoted(value);
      case 'number':
        if (kind === 'timestamp' || kind === 'date') return Number.isFinite(value) ? new Date(value).toISOString() : '';
        return checkNumbers ? quoted(String(value)) : String(value);
      case 'bigint':
        return checkNumbers ? quoted(value.toString()) : value.toString();
      case 'boolean':
        return value ? 'true' : 'false';
      case 'undefined':
        return '';
      case 'object':
        if (value === null) return '';
        if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString();
        return quoted(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? '');
      default:
        return quoted(String(value));
    }
  };
}

/** One part of rows by the JS writer, a line at a time. */
async function writePart(part: Part, sink: ByteSink, field: (value: unknown, kind?: Kind) => string, delimiter: string, eol: string, count: number): Promise<void> {
  const { names, length } = part;
  const width = names.length;
  let out = '';
  if (part.columns) {
    const cols = part.columns;
    const kinds = part.kinds ?? [];
    for (let r = 0; r < length; r++) {
      let line = width > 0 ? field(cols[0][r], kinds[0]) : '';
      for (let c = 1; c < width; c++) line += delimiter + field(cols[c][r], kinds[c]);
      out += line + eol;
      if (out.length >= FLUSH_AT) {
        await sink.write(out);
        out = '';
      }
    }
  } else {
    const rows = part.rows as unknown[];
    for (let r = 0; r < length; r++) {
      const row = rows[r] as Record<string, unknown> | unknown[];
      if (row === null || typeof row !== 'object') throw badRow(row, count + r);
      let line = '';
      if (Array.isArray(row)) {
        // As wide as the widest row: a short row gets empty fields (RFC 4180 wants one width).
        for (let c = 0; c < width; c++) line += (c ? delimiter : '') + field(row[c]);
      } else {
        for (let c = 0; c < width; c++) line += (c ? delimiter : '') + field(row[names[c]]);
      }
      out += line + eol;
      if (out.length >= FLUSH_AT) {
        await sink.write(out);
        out = '';
      }
    }
  }
  await sink.write(out);
}

function csvFormat(name: string, defaultDelimiter: string): Format {
  return {
    name,
    options: ['delimiter', 'eol', 'header', 'columns'],
    validate(data, options) {
      checkOptions(options, defaultDelimiter);
      if (!isDataFrame(data)) checkTabular(name, data);
    },
    usesPath: isDataFrame,
    async serialize(data, sink, options) {
      const { delimiter, eol, header, columns } = checkOptions(options, defaultDelimiter);
      const field = makeField(delimiter);
      const rules = { delimiter, eol, quoteNumbers: /[\w.+-]/.test(delimiter), field };
      const queue = new InOrder(sink);
      let count = 0;
      let first = true;
      for await (const part of parts(data, { rows: 65536, columns })) {
        const { names } = part;
        if (first && header && names.length > 0 && !(part.rows && !columns && Array.isArray(part.rows[0]))) {
          await sink.write(names.map((n) => field(n)).join(delimiter) + eol);
        }
        first = false;
        const at = count;
        await queue.write(
          () => csvPart(part, rules),
          () => writePart(part, sink, field, delimiter, eol, at),
        );
        count += part.length;
      }
      await queue.drain();
      return count;
    },
    writeTo(tmpPath, data, options) {
      const { delimiter, eol, header } = checkOptions(options, defaultDelimiter);
      (data as { writeCSV(dest: string, o: object): void }).writeCSV(tmpPath, { separator: delimiter, includeHeader: header, lineTerminator: eol });
      return dataFrameRows(data);
    },
  };
}

export const csv = csvFormat('csv', ',');
export const tsv = csvFormat('tsv', '\t');
