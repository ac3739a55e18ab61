// Runs once before any test file (vitest globalSetup): provisions the Python tools the S3
// and independent-reader tests need (scripts/test-deps.mjs, the one path for npm test, CI
// and a bare `npx vitest run`), and hands their paths to the test workers through the
// environment, which the workers inherit.
import { missingReport, provision } from '../scripts/test-deps.mjs';

export default async function setup(): Promise<void> {
  const { env, missing } = await provision();
  Object.assign(process.env, env);
  const report = missingReport(missing);
  // CI must not pass by skipping: there a missing tool fails the run before any test.
  if (report !== '' && process.env.AW_REQUIRE_TEST_DEPS === '1') throw new Error(`AW_REQUIRE_TEST_DEPS=1:${report}`);
  // For test/skip-report.ts, which prints it after the summary.
  process.env.AW_TEST_DEPS_REPORT = report;
}
