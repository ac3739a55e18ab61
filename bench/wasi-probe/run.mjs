import { WASI } from 'node:wasi';
import { readFileSync } from 'node:fs';
// The preopens napi-rs's generated Node WASI loader passes: the host root as '/'.
const wasi = new WASI({ version: 'preview1', preopens: { '/': '/' } });
const mod = await WebAssembly.compile(readFileSync(new URL('./target/wasm32-wasip1/release/wasilock.wasm', import.meta.url)));
wasi.start(await WebAssembly.instantiate(mod, wasi.getImportObject()));
