// Child for bench/crashtest.mjs: replaces one file in a loop until SIGKILLed, through
// the API named by `mode`, and prints `ack <n>` once write n has resolved, so the
// parent can check the file holds the last acknowledged write or the one after it.
// argv: path, mode (stream | json), first generation, base size in bytes.
import { once } from 'node:events';
import { createWriteStream, updateJson } from '../index.mjs';

const [path, mode, firstArg, baseArg] = process.argv.slice(2);
const base = Number(baseArg);

/** The crash-writer payload format: header `gen <n> <size> <fill>`, then the fill byte. */
export function payload(gen) {
  const size = base + (gen % 5) * (base >> 2) + gen;
  const fill = String.fromCharCode(97 + (gen % 26));
  const buf = Buffer.alloc(size, fill);
  buf.write(`gen ${gen} ${size} ${fill}\n`);
  return buf;
}

console.log('started');
if (mode === 'stream') {
  for (let gen = Number(firstArg); ; gen++) {
    const data = payload(gen);
    const stream = createWriteStream(path);
    // Several chunks with backpressure, so a kill can land between two of them.
    for (let at = 0; at < data.length; at += 64 << 10) {
      if (!stream.write(data.subarray(at, at + (64 << 10)))) await once(stream, 'drain');
    }
    stream.end();
    await stream.committed;
    console.log(`ack ${gen}`);
  }
} else if (mode === 'json') {
  // The padding is derived from n, so a document mixing two versions is detectable.
  for (;;) {
    const next = await updateJson(path, (d) => {
      const n = d.n + 1;
      return { n, pad: String.fromCharCode(97 + (n % 26)).repeat(base + (n % 7) * 1000) };
    }, { defaultData: { n: 0 } });
    console.log(`ack ${next.n}`);
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
