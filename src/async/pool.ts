// The one bounded worker pool: verify's checksum reads, a dataset's part uploads and a
// store's multipart uploads all run `concurrency` tasks at once over an indexed list,
// in order, and stop taking new work at the first failure (which they reject with).

/** Runs `run(index)` for 0..count-1, at most `concurrency` at once, in order; one failure stops the rest. */
export async function inParallel(count: number, concurrency: number, run: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < count) await run(next++);
  };
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, () =>
      worker().catch((err: unknown) => {
        failed = true;
        throw err;
      }),
    ),
  );
}
