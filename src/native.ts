// The generated loader is required on first use, not at `require('atomicwriter')`,
// so loading the package stays cheap for programs that never write.
import type * as Binding from '../native/binding';

export type NativeBinding = typeof Binding;
export type NativeHandle = Binding.AtomicHandle;
export type NativeWriteOptions = Binding.WriteOptions;

let binding: NativeBinding | undefined;

export function native(): NativeBinding {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  binding ??= require('../native/binding.js') as NativeBinding;
  return binding;
}
