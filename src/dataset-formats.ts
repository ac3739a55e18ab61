// Connects datasets to the formats registry: `stage.write(name, records, {format})`
// serializes a part exactly as `write()` serializes a file (same formats, plugins
// included), into the part's staged temp.

import { setFormatWriter } from './dataset';
import './formats/builtins';
import { pickFormat, type FormatOptions } from './formats/registry';
import { FileSink } from './formats/sink';

setFormatWriter((data, options) => {
  const o: FormatOptions = { ...options };
  const format = pickFormat(o.format, options.name);
  format.validate?.(data, o);
  const byPath = format.writeTo !== undefined && (format.serialize === undefined || format.usesPath?.(data) === true);
  const prepared = !byPath && format.prepare ? format.prepare(data, o) : data;
  return {
    format: format.name,
    byPath,
    async write(file) {
      if (byPath) {
        await (format.writeTo as NonNullable<typeof format.writeTo>)(file.tempPath as string, prepared, o);
        return undefined;
      }
      const sink = new FileSink(file);
      const result = await (format.serialize as NonNullable<typeof format.serialize>)(prepared, sink, o);
      await sink.close();
      return typeof result === 'number' ? result : undefined;
    },
  };
});
