// The built-in formats by name and extension. Each module (and its encoder:
// apache-arrow; the addon for parquet) is required only when a write first needs it.
/* eslint-disable @typescript-eslint/no-require-imports */

import { defineFormat } from './registry';

defineFormat('json', ['.json'], () => (require('./json') as typeof import('./json')).json);
defineFormat('ndjson', ['.ndjson', '.jsonl'], () => (require('./ndjson') as typeof import('./ndjson')).ndjson, ['jsonl']);
defineFormat('csv', ['.csv'], () => (require('./csv') as typeof import('./csv')).csv);
defineFormat('tsv', ['.tsv', '.tab'], () => (require('./csv') as typeof import('./csv')).tsv);
defineFormat('arrow', ['.arrow', '.feather'], () => (require('./arrow') as typeof import('./arrow')).arrow, ['feather']);
defineFormat('arrows', ['.arrows'], () => (require('./arrow') as typeof import('./arrow')).arrows);
defineFormat('parquet', ['.parquet', '.pq'], () => (require('./parquet') as typeof import('./parquet')).parquet);
defineFormat('npy', ['.npy'], () => (require('./npy') as typeof import('./npy')).npy);
defineFormat('text', ['.txt', '.text'], () => (require('./text') as typeof import('./text')).text);
defineFormat('bytes', ['.bin'], () => (require('./bytes') as typeof import('./bytes')).bytes);
