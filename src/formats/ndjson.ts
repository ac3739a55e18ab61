// `ndjson` / `jsonl`: one JSON value per line, from an array or (async) iterable of
// values, a table, or an object of columns (as records). Lines are joined into large
// strings before they reach the sink.

import { invalidArgType } from '../binding/errors';
import { jsonValues } from './json';
import { stringify } from './stringify';
import type { Format } from './registry';
import { checkTabular, isDataFrame, dataFrameRows } from './tabular';

const FLUSH_AT = 1 << 18;

export const ndjson: Format = {
  name: 'ndjson',
  options: [],
  validate(data) {
    if (!isDataFrame(data)) checkTabular('ndjson', data);
  },
  usesPath: isDataFrame,
  async serialize(data, sink) {
    let out = '';
    let count = 0;
    for await (const value of jsonValues(data)) {
      {
        const line = stringify(value);
        if (line === undefined) throw invalidArgType(`row ${count}`, 'a JSON-serializable value', value);
        out += `${line}\n`;
        count++;
        if (out.length >= FLUSH_AT) {
          await sink.write(out);
          out = '';
        }
      }
    }
    await sink.write(out);
    return count;
  },
  writeTo(tmpPath, data) {
    (data as { writeJSON(dest: string, o: object): void }).writeJSON(tmpPath, { format: 'lines' });
    return dataFrameRows(data);
  },
};
