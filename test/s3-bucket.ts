// A moto server with one bucket for a describe block, the S3 environment pointed at it
// while the block runs (for test files outside s3.test.ts that need a few s3:// cases).
import { afterAll, beforeAll } from 'vitest';
import { s3Env, startMoto, type S3Server } from './s3-server.js';

/** Call inside a `describe` (skipped without moto): starts the server and makes `bucket` before its tests. */
export function useMotoBucket(bucket: string): void {
  let server: S3Server | undefined;
  const savedEnv: Record<string, string | undefined> = {};

  beforeAll(async () => {
    server = await startMoto();
    for (const [k, v] of Object.entries(s3Env(server.endpoint))) {
      savedEnv[k] = process.env[k];
      process.env[k] = v;
    }
    const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
    const client = new S3Client({ forcePathStyle: true, endpoint: server.endpoint, region: 'us-east-1' });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    client.destroy();
  }, 60_000);

  afterAll(async () => {
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await server?.stop();
  });
}
