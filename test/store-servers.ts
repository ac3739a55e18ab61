// The GCS and Azure emulators for test/store.test.ts, each with an independent reader
// (the provider's SDK used directly, never our code) and a loopback TCP proxy that can
// cut a connection mid-upload. Without an emulator its tests are skipped, and fail under
// AW_REQUIRE_S3=1 (CI), as for moto.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { azuriteBinary, AZURITE_KEY, fakeGcsBinary, startAzurite, startFakeGcs } from './fixtures/emulators.mjs';

const require = createRequire(import.meta.url);

export const haveFakeGcs = fakeGcsBinary() !== undefined;
export const haveAzurite = azuriteBinary() !== undefined;
if (process.env.AW_REQUIRE_S3 === '1' && !(haveFakeGcs && haveAzurite)) {
  throw new Error(`AW_REQUIRE_S3=1 but ${haveFakeGcs ? '' : 'fake-gcs-server (go install github.com/fsouza/fake-gcs-server@v1.56.1) '}${haveAzurite ? '' : 'azurite (npm install)'} was not found`);
}

/** One emulator with a bucket, the environment our default clients read, and a reader of its own. */
export interface Provider {
  scheme: 'gs' | 'az';
  name: string;
  available: boolean;
  /** Starts the server and makes `bucket`; returns the environment that points our code at it. */
  start(bucket: string): Promise<Record<string, string>>;
  stop(): Promise<void>;
  port(): number;
  body(key: string): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  /** Replaces an object behind our back. */
  putRaw(key: string, data: Buffer): Promise<void>;
  removeRaw(key: string): Promise<void>;
  /** Creates `count` objects at `key` at once, create-only, with the SDK itself: how many succeeded. */
  raceRaw(key: string, count: number): Promise<number>;
  /** A client of the provider's SDK for our `gcs` / `azure` option, through 127.0.0.1:`port`, without retries. */
  clientVia(port: number): unknown;
  /** A credential that signs requests and must never be printed (none on the GCS emulator). */
  secret: string | undefined;
}

type GcsSdk = typeof import('@google-cloud/storage');
type AzureSdk = typeof import('@azure/storage-blob');

export function gcsProvider(): Provider {
  let server: Awaited<ReturnType<typeof startFakeGcs>> | undefined;
  let bucket = '';
  let admin: InstanceType<GcsSdk['Storage']>;
  const { Storage } = require('@google-cloud/storage') as GcsSdk;
  const file = (key: string) => admin.bucket(bucket).file(key);
  return {
    scheme: 'gs',
    name: 'GCS (fake-gcs-server)',
    available: haveFakeGcs,
    secret: undefined,
    async start(b) {
      bucket = b;
      server = await startFakeGcs();
      admin = new Storage({ apiEndpoint: server.endpoint, projectId: 'aw-test' });
      await admin.createBucket(b);
      return { STORAGE_EMULATOR_HOST: server.endpoint };
    },
    stop: async () => server?.stop(),
    port: () => server!.port,
    body: async (key) => (await file(key).download())[0],
    exists: async (key) => (await file(key).exists())[0],
    putRaw: async (key, data) => file(key).save(data, { resumable: false }),
    removeRaw: async (key) => void (await file(key).delete()),
    async raceRaw(key, count) {
      const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => file(key).save(`raw ${i}`, { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } })));
      return results.filter((r) => r.status === 'fulfilled').length;
    },
    clientVia: (port) => new Storage({ apiEndpoint: `http://127.0.0.1:${port}`, projectId: 'aw-test', retryOptions: { autoRetry: false } }),
  };
}

export function azureProvider(): Provider {
  let server: Awaited<ReturnType<typeof startAzurite>> | undefined;
  let bucket = '';
  let admin: InstanceType<AzureSdk['BlobServiceClient']>;
  const { BlobServiceClient } = require('@azure/storage-blob') as AzureSdk;
  const blob = (key: string) => admin.getContainerClient(bucket).getBlockBlobClient(key);
  return {
    scheme: 'az',
    name: 'Azure Blob (Azurite)',
    available: haveAzurite,
    secret: AZURITE_KEY,
    async start(b) {
      bucket = b;
      server = await startAzurite();
      admin = BlobServiceClient.fromConnectionString(server.connectionString);
      await admin.getContainerClient(b).create();
      return { AZURE_STORAGE_CONNECTION_STRING: server.connectionString };
    },
    stop: async () => server?.stop(),
    port: () => server!.port,
    body: (key) => blob(key).downloadToBuffer(),
    exists: (key) => blob(key).exists(),
    putRaw: async (key, data) => void (await blob(key).upload(data, data.length)),
    removeRaw: async (key) => void (await blob(key).delete()),
    async raceRaw(key, count) {
      const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => blob(key).upload(`raw ${i}`, `raw ${i}`.length, { conditions: { ifNoneMatch: '*' } })));
      return results.filter((r) => r.status === 'fulfilled').length;
    },
    clientVia: (port) =>
      BlobServiceClient.fromConnectionString(server!.connectionString.replace(/BlobEndpoint=http:\/\/127\.0\.0\.1:\d+/, `BlobEndpoint=http://127.0.0.1:${port}`), { retryOptions: { maxTries: 1 } }),
  };
}

/**
 * A TCP proxy to 127.0.0.1:`target()`. Once a connection has sent `limit` bytes
 * upstream, `cut` drops both sides, `corrupt` flips the bits of that one byte (in the
 * body of a large request) and goes on; `pass` forwards everything.
 */
export class CuttingProxy {
  mode: 'cut' | 'corrupt' | 'pass' = 'cut';
  cuts = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly target: () => number,
    private readonly limit: number,
  ) {}

  async listen(): Promise<number> {
    this.server = createServer((down) => {
      const up = connect(this.target(), '127.0.0.1');
      this.sockets.add(down).add(up);
      let sent = 0;
      const close = (): void => {
        down.destroy();
        up.destroy();
      };
      down.on('data', (chunk: Buffer) => {
        const before = sent;
        sent += chunk.length;
        const crossed = before <= this.limit && sent > this.limit;
        if (this.mode === 'cut' && sent > this.limit) {
          this.cuts++;
          close();
          return;
        }
        if (this.mode === 'corrupt' && crossed) {
          this.cuts++;
          chunk = Buffer.from(chunk);
          chunk[this.limit - before] ^= 0xff;
        }
        up.write(chunk);
      });
      up.pipe(down);
      down.on('error', close).on('close', close);
      up.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
  }
}
