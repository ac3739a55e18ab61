// The adapter for each object-store scheme, apart from adapter.ts (the interface and the
// helpers every adapter imports): the adapters import adapter.ts, so the lookup that loads
// them lives here, and the store's modules form no cycle.
import type { ObjectStore } from './adapter';
import type { Scheme } from './url';

/** The adapter for a scheme, loaded on first use (with it, on first request, its SDK). */
export function storeFor(scheme: Scheme): ObjectStore {
  /* eslint-disable @typescript-eslint/no-require-imports */
  if (scheme === 'gs') return (require('./gcs') as typeof import('./gcs')).gcs;
  if (scheme === 'az') return (require('./azure') as typeof import('./azure')).azure;
  return (require('./s3/adapter') as typeof import('./s3/adapter')).s3;
  /* eslint-enable @typescript-eslint/no-require-imports */
}
