// The generated loader is required on first use, not at `require('atomicwriter')`,
// so loading the package stays cheap for programs that never write.
//
// The one place native errors are handled: every function and method of the binding is
// wrapped once, here, so that each error it throws or rejects with gets its hint
// (`explain`, src/binding/errors.ts). The errors themselves are real Node-style errors made by
// the binding; no call site converts anything.
import type * as Binding from '../../native/binding';
import { explain } from './errors';

export type NativeBinding = typeof Binding;
export type NativeHandle = Binding.AtomicHandle;
export type NativeWriteOptions = Binding.WriteOptions;

let binding: NativeBinding | undefined;

export function native(): NativeBinding {
  if (binding === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const raw = require('../../native/binding.js') as NativeBinding;
    // Completions yield to the event loop through setImmediate (crates/node/src/completions.rs):
    // node:timers' own, which a test's fake timers (they replace the global) leave working.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    raw.useImmediate((require('node:timers') as typeof import('node:timers')).setImmediate);
    binding = withHints(raw);
  }
  return binding;
}

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

function hinted(call: string, fn: AnyFunction): AnyFunction {
  return function (this: unknown, ...args: unknown[]): unknown {
    let result: unknown;
    try {
      result = fn.apply(this, args);
    } catch (err) {
      throw explain(call, args, err);
    }
    if (result instanceof Promise) {
      return result.catch((err: unknown) => {
        throw explain(call, args, err);
      });
    }
    return result;
  };
}

/** Wraps a class's methods, getters and static factories in place: instances made by the binding keep working. */
function hintClass(name: string, cls: AnyFunction): void {
  for (const [target, prefix] of [[cls.prototype as object, name], [cls, name]] as const) {
    for (const key of Object.getOwnPropertyNames(target)) {
      if (key === 'constructor' || key === 'prototype' || key === 'length' || key === 'name') continue;
      const descriptor = Object.getOwnPropertyDescriptor(target, key);
      if (!descriptor?.configurable) continue;
      if (typeof descriptor.value === 'function') descriptor.value = hinted(`${prefix}.${key}`, descriptor.value as AnyFunction);
      else if (descriptor.get) descriptor.get = hinted(`${prefix}.${key}`, descriptor.get as AnyFunction) as () => unknown;
      else continue;
      Object.defineProperty(target, key, descriptor);
    }
  }
}

function withHints(raw: NativeBinding): NativeBinding {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value !== 'function') {
      wrapped[name] = value;
    } else if (/^[A-Z]/.test(name)) {
      // napi-rs exports classes in PascalCase and functions in camelCase.
      hintClass(name, value as AnyFunction);
      wrapped[name] = value;
    } else {
      wrapped[name] = hinted(name, value as AnyFunction);
    }
  }
  return wrapped as NativeBinding;
}
