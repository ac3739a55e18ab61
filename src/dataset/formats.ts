// Connects datasets to the formats: `stage.write(name, data, {format})` goes through the
// same dispatch as `write()` (formats/dispatch.ts), into the part's staged temp; the
// dispatch also says what a stage writes as it is (bytes, byte streams).

import { setFormatWriter } from './index';
import { isRawContent, prepareFormat } from '../formats/dispatch';

setFormatWriter((data, name, options, callNames) => {
  if (options.format === undefined && isRawContent(data, name)) return undefined;
  const job = prepareFormat(data, options, name, callNames);
  return {
    format: job.format.name,
    byPath: job.byPath,
    write: async (file) => (await job.run(file)).rows,
  };
});
