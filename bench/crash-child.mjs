// Child for bench/crashtest.mjs: replaces one file in a loop until SIGKILLed, through
// the API named by `mode`, and prints `ack <n>` once write n has resolved, so the
// parent can check the file holds the last acknowledged write or the one after it.
// argv: path, mode (stream | json), first generation, base size in bytes.
import { once } from 'node:events';
import { createWriteStream, updateJson } from '../index.mjs';
import { jsonPad, payload } from '../test/fixtures/crash-payload.mjs';

const [path, mode, firstArg, baseArg] = process.argv.slice(2);
const base = Number(baseArg);

console.log('started');
if (mode === 'stream') {
  for (let gen = Number(firstArg); ; gen++) {
    const data = payload(gen, base);
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
      return { n, pad: jsonPad(n, base) };
    }, { defaultData: { n: 0 } });
    console.log(`ack ${next.n}`);
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
