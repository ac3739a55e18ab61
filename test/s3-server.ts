// A real S3-compatible server for the S3 tests: moto_server (PyPI `moto[server]`) on
// 127.0.0.1 (test/fixtures/moto.mjs), stopped after the tests.
// `.ci/run` installs it and sets AW_MOTO_SERVER; without it the S3 tests are skipped (and fail under AW_REQUIRE_S3=1, as in CI).

import { motoBinary, startMoto, type MotoServer } from './fixtures/moto.mjs';

export { motoBinary, startMoto };
export type S3Server = MotoServer;

export const haveMoto = motoBinary() !== undefined;
if (!haveMoto && process.env.AW_REQUIRE_S3 === '1') throw new Error('AW_REQUIRE_S3=1 but moto_server was not found: set AW_MOTO_SERVER');

/** Test credentials for the local server (moto accepts any); the secret is recognizable so tests can look for leaks. */
export const TEST_SECRET = 'aw-test-secret-DO-NOT-LEAK-9f3c1e';

export function s3Env(endpoint: string): Record<string, string> {
  return { AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: 'awtestkey', AWS_SECRET_ACCESS_KEY: TEST_SECRET, AWS_REGION: 'us-east-1' };
}
