// `text`: a string (or an (async) iterable of strings, such as a text stream) in
// `options.encoding` (default utf8).

import { invalidArgType } from '../binding/errors';
import { encodingOf, writeChunks } from './bytes';
import type { Format } from './registry';
import { isAsyncIterable, isIterable } from './tabular';

export const text: Format = {
  name: 'text',
  options: [], // `encoding` is a write option
  validate(data) {
    if (typeof data !== 'string' && (typeof data !== 'object' || data === null || ArrayBuffer.isView(data) || !(isIterable(data) || isAsyncIterable(data)))) {
      throw invalidArgType('data', 'for the text format a string, or an (async) iterable or stream of strings', data);
    }
  },
  serialize(data, sink, options) {
    return writeChunks(data, sink, encodingOf(options));
  },
};
