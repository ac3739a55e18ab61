// Writes to one file from one process are applied in call order (as
// write-file-atomic promises): each runs after the previous one for the same key
// settles. Writes to different files run concurrently.

const tails = new Map<string, Promise<void>>();

function ignore(): void {}

export function inFileOrder<T>(key: string, run: () => Promise<T>): Promise<T> {
  const previous = tails.get(key);
  const result = previous ? previous.then(run) : run();
  const tail = result.then(ignore, ignore);
  tails.set(key, tail);
  void tail.then(() => {
    if (tails.get(key) === tail) tails.delete(key);
  });
  return result;
}
