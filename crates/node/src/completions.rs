//! Settling the promises of async work, in batches: one wake-up of the JS thread
//! settles every promise whose work finished since the last one.
//!
//! napi-rs's `JsDeferred` makes a threadsafe function per promise: created on the JS
//! thread at dispatch (a `uv_async_t`, an env cleanup hook), called once from the
//! worker (its own `uv_async_send`), released and closed on the JS thread afterwards.
//! With 64 writes in flight that is 64 async handles, and the JS thread is woken for
//! them one after another as they finish. Here each JS thread (each environment) has one
//! threadsafe function; a finished write is queued, and only the first finish after a
//! drain calls the threadsafe function, so however many finish meanwhile, one callback
//! on the JS thread settles them all.
//!
//! A drain yields to the event loop. Node's threadsafe function calls its callback
//! again in the same tick when it is called while the callback runs (nodejs/node#38506,
//! up to 1,000 times before it returns to the loop), so with writes finishing while the
//! settled promises' continuations run, the loop never got to its timers or its I/O:
//! under QEMU's emulation the main thread's timers did not run for 12 s and more
//! (bench/notes/crash-vm.md), and here 32 writers whose continuations take 1 ms each
//! held a 10 ms timer back by 4 s (test/loop-fairness.test.ts). So from a drain until a
//! `setImmediate` after it (after the settled promises' continuations and the loop's
//! poll phase), work that finishes only queues; that immediate drains what queued, and
//! schedules the next look: at most one drain per turn of the loop, whose timers and
//! I/O run in between. With nothing queued it hands back to the threadsafe function.
//!
//! The threadsafe function keeps the event loop alive only while work is in flight
//! (counted on the JS thread: ref at 0 -> 1, unref back at 0), as the per-promise ones
//! did, so a process with no write pending can exit. When the environment is torn down
//! (a worker thread ends), Node finalizes the threadsafe function; the queue is then
//! marked closed under its lock, and work finishing later is dropped instead of calling
//! into a freed function.

use napi::bindgen_prelude::*;
use napi::{sys, Env};
use napi_derive::napi;
use std::cell::RefCell;
use std::ptr;
use std::sync::{Arc, Mutex};

/// Builds the settled value (or the error to reject with) on the JS thread.
pub(crate) type Settle = Box<dyn FnOnce(Env) -> Result<sys::napi_value> + Send>;

struct Done {
    deferred: Raw<sys::napi_deferred>,
    settle: Settle,
}

/// A napi pointer moved between threads. The deferred and the threadsafe function are
/// only used as napi allows: the deferred settled on the JS thread, the threadsafe
/// function called from any thread while it is alive (checked under the queue's lock).
struct Raw<P>(P);
unsafe impl<P> Send for Raw<P> {}

struct Queue {
    done: Vec<Done>,
    /// A drain is on its way (the threadsafe function was called, or a `setImmediate`
    /// is pending) or running: finishing work only queues.
    scheduled: bool,
    /// Finalized by Node (the environment is going away): never call it again.
    closed: bool,
    tsfn: Raw<sys::napi_threadsafe_function>,
}

pub(crate) struct Completions {
    queue: Mutex<Queue>,
}

/// What the JS thread keeps about its environment's completions.
struct Local {
    env: sys::napi_env,
    shared: Arc<Completions>,
    tsfn: sys::napi_threadsafe_function,
    /// Promises handed out and not yet settled (only the JS thread changes it).
    in_flight: usize,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
    /// How this thread's environment yields to the event loop between drains (without
    /// it, the next drain comes from the threadsafe function, in the same tick).
    static YIELD: RefCell<Option<Yield>> = const { RefCell::new(None) };
}

struct Yield {
    env: sys::napi_env,
    /// The runtime's own `setImmediate`, given by the package's loader
    /// (src/binding/native.ts) from `node:timers`: a test's fake timers replace the global
    /// one, and a drain handed to a fake would wait forever.
    set_immediate: sys::napi_ref,
    /// The native function handed to it: [`drain_later`].
    drain: sys::napi_ref,
}

/// Gives the binding this environment's own `setImmediate` (from `node:timers`), through
/// which completions yield to the event loop between drains. The package's loader calls
/// it once per environment, before any other call.
#[napi(catch_unwind, ts_args_type = "setImmediate: (callback: () => void) => unknown")]
pub fn use_immediate(env: &Env, set_immediate: Unknown) -> Result<()> {
    keep_immediate(env.raw(), set_immediate.raw())
}

fn keep_immediate(env: sys::napi_env, set_immediate: sys::napi_value) -> Result<()> {
    let mut kind = sys::ValueType::napi_undefined;
    check_status!(unsafe { sys::napi_typeof(env, set_immediate, &mut kind) })?;
    if kind != sys::ValueType::napi_function {
        return Err(Error::new(Status::InvalidArg, "useImmediate: setImmediate must be a function"));
    }
    let mut set_immediate_ref = ptr::null_mut();
    check_status!(unsafe { sys::napi_create_reference(env, set_immediate, 1, &mut set_immediate_ref) })?;
    let mut drain = ptr::null_mut();
    let mut drain_ref = ptr::null_mut();
    check_status!(unsafe {
        sys::napi_create_function(env, c"atomicwriterDrain".as_ptr(), -1 /* NAPI_AUTO_LENGTH */, Some(drain_later), ptr::null_mut(), &mut drain)
    })?;
    check_status!(unsafe { sys::napi_create_reference(env, drain, 1, &mut drain_ref) })?;
    YIELD.with(|cell| *cell.borrow_mut() = Some(Yield { env, set_immediate: set_immediate_ref, drain: drain_ref }));
    Ok(())
}

/// Creates a promise whose settlement [`Completions::settle`] will deliver. On the JS
/// thread; counts the promise as in flight (the event loop stays alive until it settles).
pub(crate) fn promise(env: &Env) -> Result<(Arc<Completions>, Pending, Object<'_>)> {
    let mut deferred = ptr::null_mut();
    let mut promise = ptr::null_mut();
    check_status!(unsafe { sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) })?;
    let shared = LOCAL.with(|local| -> Result<Arc<Completions>> {
        let mut local = local.borrow_mut();
        if local.as_ref().is_none_or(|l| l.env != env.raw()) {
            *local = Some(create(env)?);
        }
        let l = local.as_mut().expect("just made");
        if l.in_flight == 0 {
            check_status!(unsafe { sys::napi_ref_threadsafe_function(env.raw(), l.tsfn) })?;
        }
        l.in_flight += 1;
        Ok(l.shared.clone())
    })?;
    Ok((shared, Pending(Raw(deferred)), Object::from_raw(env.raw(), promise)))
}

/// The deferred half of a promise from [`promise`], to hand to [`Completions::settle`].
pub(crate) struct Pending(Raw<sys::napi_deferred>);

impl Completions {
    /// Queues the settlement of `pending` (from any thread); wakes the JS thread unless
    /// a wake-up is already on its way.
    pub(crate) fn settle(&self, pending: Pending, settle: Settle) {
        let mut queue = self.queue.lock().unwrap();
        if queue.closed {
            return; // the environment is gone: there is no promise left to settle
        }
        queue.done.push(Done { deferred: pending.0, settle });
        if !queue.scheduled {
            let status = unsafe { sys::napi_call_threadsafe_function(queue.tsfn.0, ptr::null_mut(), sys::ThreadsafeFunctionCallMode::nonblocking) };
            // Anything else is napi_closing: the environment is being torn down.
            queue.scheduled = status == sys::Status::napi_ok;
        }
    }
}

fn create(env: &Env) -> Result<Local> {
    let shared = Arc::new(Completions { queue: Mutex::new(Queue { done: Vec::new(), scheduled: false, closed: false, tsfn: Raw(ptr::null_mut()) }) });
    let name = env.create_string("atomicwriter")?;
    let context = Arc::into_raw(shared.clone()) as *mut std::ffi::c_void;
    let mut tsfn = ptr::null_mut();
    let status = unsafe {
        sys::napi_create_threadsafe_function(
            env.raw(),
            ptr::null_mut(),
            ptr::null_mut(),
            name.raw(),
            0,
            1,
            context,
            Some(finalize),
            context,
            Some(drain),
            &mut tsfn,
        )
    };
    if status != sys::Status::napi_ok {
        drop(unsafe { Arc::from_raw(context as *const Completions) });
        check_status!(status)?;
    }
    shared.queue.lock().unwrap().tsfn = Raw(tsfn);
    // Idle until a promise is handed out.
    check_status!(unsafe { sys::napi_unref_threadsafe_function(env.raw(), tsfn) })?;
    Ok(Local { env: env.raw(), shared, tsfn, in_flight: 0 })
}

/// `setImmediate(drain_later)`, so the next drain comes after the loop's timers and I/O.
/// False if it could not be arranged (no `setImmediate` was given: the binding used
/// without the package's loader).
fn schedule_later(env: sys::napi_env) -> bool {
    let Some((set_immediate, later)) =
        YIELD.try_with(|cell| cell.borrow().as_ref().filter(|y| y.env == env).map(|y| (y.set_immediate, y.drain))).ok().flatten()
    else {
        return false;
    };
    unsafe {
        let mut global = ptr::null_mut();
        let mut schedule = ptr::null_mut();
        let mut function = ptr::null_mut();
        let mut result = ptr::null_mut();
        sys::napi_get_global(env, &mut global) == sys::Status::napi_ok
            && sys::napi_get_reference_value(env, set_immediate, &mut schedule) == sys::Status::napi_ok
            && !schedule.is_null()
            && sys::napi_get_reference_value(env, later, &mut function) == sys::Status::napi_ok
            && !function.is_null()
            && sys::napi_call_function(env, global, schedule, 1, &function, &mut result) == sys::Status::napi_ok
    }
}

/// The `setImmediate` callback, after the last drain's continuations ran: drains what
/// finished meanwhile, or, with nothing queued, lets the next finish call the threadsafe
/// function.
unsafe extern "C" fn drain_later(env: sys::napi_env, _info: sys::napi_callback_info) -> sys::napi_value {
    let shared = LOCAL.try_with(|local| local.borrow().as_ref().filter(|l| l.env == env).map(|l| l.shared.clone())).ok().flatten();
    if let Some(shared) = shared {
        let mut queue = shared.queue.lock().unwrap();
        if queue.done.is_empty() || queue.closed {
            queue.scheduled = false;
        } else {
            drop(queue);
            settle_queued(env, &shared);
        }
    }
    ptr::null_mut()
}

/// The threadsafe function's callback, on the JS thread: settles everything queued.
unsafe extern "C" fn drain(env: sys::napi_env, _js_callback: sys::napi_value, context: *mut std::ffi::c_void, _data: *mut std::ffi::c_void) {
    if env.is_null() {
        return; // teardown empties Node's queue with no environment: nothing to settle
    }
    settle_queued(env, unsafe { &*(context as *const Completions) });
}

/// Settles everything queued, then arranges the next look at the queue through the event
/// loop.
fn settle_queued(env: sys::napi_env, shared: &Completions) {
    let done = std::mem::take(&mut shared.queue.lock().unwrap().done);
    let settled = done.len();
    for Done { deferred, settle } in done {
        let mut scope = ptr::null_mut();
        let opened = unsafe { sys::napi_open_handle_scope(env, &mut scope) } == sys::Status::napi_ok;
        match settle(Env::from_raw(env)) {
            Ok(value) => unsafe {
                sys::napi_resolve_deferred(env, deferred.0, value);
            },
            Err(error) => reject(env, deferred.0, error),
        }
        if opened {
            unsafe { sys::napi_close_handle_scope(env, scope) };
        }
    }
    let mut idle = false;
    let _ = LOCAL.try_with(|local| {
        if let Some(l) = local.borrow_mut().as_mut().filter(|l| ptr::eq(Arc::as_ptr(&l.shared), shared)) {
            l.in_flight -= settled.min(l.in_flight);
            if l.in_flight == 0 {
                unsafe { sys::napi_unref_threadsafe_function(env, l.tsfn) };
                idle = true;
            }
        }
    });
    // The promises' continuations run when this callback returns, and work that finishes
    // while they run must not call the threadsafe function (it would dispatch again in
    // this tick): `scheduled` stays set until a `setImmediate`, after the continuations
    // and the loop's poll phase, looks at the queue again. With nothing else in flight
    // (a lone sequential writer: its next write starts as the continuations end) there
    // is nothing to wait for, and no immediate to pay for (8 % of a tmpfs write).
    if !idle && schedule_later(env) {
        return;
    }
    let mut queue = shared.queue.lock().unwrap();
    queue.scheduled = false;
    if !queue.done.is_empty() && !queue.closed {
        let status = unsafe { sys::napi_call_threadsafe_function(queue.tsfn.0, ptr::null_mut(), sys::ThreadsafeFunctionCallMode::nonblocking) };
        queue.scheduled = status == sys::Status::napi_ok;
    }
}

fn reject(env: sys::napi_env, deferred: sys::napi_deferred, error: Error) {
    // The error's own JS value when it has one (our Node-style errors), else a new Error.
    let value = unsafe { ToNapiValue::to_napi_value(env, error) }.or_else(|_| {
        let mut message = ptr::null_mut();
        let mut value = ptr::null_mut();
        unsafe {
            sys::napi_create_string_utf8(env, c"atomicwriter: the error could not be converted".as_ptr(), -1, &mut message);
            check_status!(sys::napi_create_error(env, ptr::null_mut(), message, &mut value))?;
        }
        Ok::<_, Error>(value)
    });
    if let Ok(value) = value {
        unsafe { sys::napi_reject_deferred(env, deferred, value) };
    }
}

/// Node finalizes the threadsafe function at environment teardown: close the queue so
/// that no worker calls it again, and let go of our reference.
unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut std::ffi::c_void, _hint: *mut std::ffi::c_void) {
    let shared = unsafe { Arc::from_raw(data as *const Completions) };
    {
        let mut queue = shared.queue.lock().unwrap();
        queue.closed = true;
        queue.done.clear();
    }
    let _ = LOCAL.try_with(|local| {
        let mut local = local.borrow_mut();
        if local.as_ref().is_some_and(|l| Arc::ptr_eq(&l.shared, &shared)) {
            *local = None;
        }
    });
}
