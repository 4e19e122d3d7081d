//! The input methods OpenCode's events call (thousands in a session) as
//! plain Node-API callbacks, put over napi-rs's own on
//! `RelayEngine.prototype` when the module loads.
//!
//! napi-rs wraps every call of a class method in borrow bookkeeping (a scope
//! allocated per call, a process-wide lock and map for the receiver): about
//! half of a `status` call that changes nothing. These callbacks unwrap and
//! check the receiver as napi-rs does, then run the very methods napi-rs
//! declares (so `index.d.ts`, argument checks and errors stay one), and
//! refuse a call made while the engine is running (see [`Running`]) where
//! napi-rs would refuse the second borrow.

// napi-rs registers the module's exports hook outside test builds only.
#![cfg_attr(test, allow(dead_code))]

use std::cell::Cell;
use std::ffi::{c_void, CStr};
use std::ptr;

use napi::bindgen_prelude::{
    class_accessor_unwrap_this, FromNapiValue, JsError, Object, ToNapiValue, Unknown,
};
use napi::{check_status, sys, Env, Error, JsValue, Result, Status};
use napi_derive::napi;

use crate::js_engine::JsRelayEngine;
use crate::json::DrainText;

/// Arguments a method reads, at most.
const MAX_ARGS: usize = 4;

type Args<'a> = [Unknown<'a>; MAX_ARGS];

/// An input method: its JS name and what it does with the receiver and the arguments.
struct Method {
    name: &'static CStr,
    run: for<'a> fn(&mut JsRelayEngine, Args<'a>) -> Result<Option<DrainText>>,
}

/// Methods whose arguments are primitives only, so reading them runs no JS.
static METHODS: [Method; 9] = [
    Method {
        name: c"status",
        run: |engine, [now, session, busy, _]| engine.status(now, session, busy),
    },
    Method {
        name: c"idle",
        run: |engine, [now, session, ..]| engine.idle(now, session),
    },
    Method {
        name: c"compacted",
        run: |engine, [now, session, ..]| engine.compacted(now, session),
    },
    Method {
        name: c"deleted",
        run: |engine, [now, session, ..]| engine.deleted(now, session),
    },
    Method {
        name: c"sessionError",
        run: |engine, [now, session, name, message]| {
            engine.session_error(now, session, name, message)
        },
    },
    Method {
        name: c"stepFinished",
        run: |engine, [now, session, finish, error]| {
            engine.step_finished(now, session, finish, error)
        },
    },
    Method {
        name: c"turnEnding",
        run: |engine, [now, session, step, _]| engine.turn_ending(now, session, step),
    },
    Method {
        name: c"userMessage",
        run: |engine, [session, from_plugin, ..]| engine.user_message(session, from_plugin),
    },
    Method {
        name: c"timeout",
        run: |engine, [now, ..]| engine.timeout(now),
    },
];

thread_local! {
    /// Whether an engine method is running on this thread.
    static RUNNING: Cell<bool> = const { Cell::new(false) };
}

/// Marks an engine method as running. napi-rs methods that may run JS while
/// they hold the engine (reading an object's properties can call a getter)
/// enter too, so a getter cannot reach the engine through these callbacks
/// meanwhile.
pub(crate) struct Running(());

impl Running {
    pub(crate) fn enter() -> Result<Running> {
        if RUNNING.with(|running| running.replace(true)) {
            return Err(Error::new(
                Status::GenericFailure,
                "RelayEngine was called while one of its methods was running (from a getter?)",
            ));
        }
        Ok(Running(()))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.with(|running| running.set(false));
    }
}

/// Puts the callbacks over napi-rs's methods of the same names.
#[napi(module_exports)]
pub fn install_raw_inputs(exports: Object, env: Env) -> Result<()> {
    let env = env.raw();
    let exports = exports.raw();
    // SAFETY: `env` and `exports` are the live values of module registration;
    // every out-pointer is a local of this frame.
    unsafe {
        let class = named(env, exports, c"RelayEngine")?;
        let prototype = named(env, class, c"prototype")?;
        for method in &METHODS {
            let mut function = ptr::null_mut();
            check_status!(
                sys::napi_create_function(
                    env,
                    method.name.as_ptr(),
                    method.name.to_bytes().len() as isize,
                    Some(call),
                    ptr::from_ref(method).cast_mut().cast::<c_void>(),
                    &mut function,
                ),
                "could not make RelayEngine.{:?}",
                method.name
            )?;
            check_status!(
                sys::napi_set_named_property(env, prototype, method.name.as_ptr(), function),
                "could not set RelayEngine.{:?}",
                method.name
            )?;
        }
    }
    Ok(())
}

unsafe fn named(
    env: sys::napi_env,
    object: sys::napi_value,
    name: &CStr,
) -> Result<sys::napi_value> {
    let mut value = ptr::null_mut();
    // SAFETY: the caller's values are live; `value` is a local.
    check_status!(
        unsafe { sys::napi_get_named_property(env, object, name.as_ptr(), &mut value) },
        "could not read {:?} of the module",
        name
    )?;
    Ok(value)
}

unsafe extern "C" fn call(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: Node-API calls this with a live env and callback info.
    match unsafe { run(env, info) } {
        Ok(value) => value,
        Err(error) => {
            // SAFETY: as above; this is what napi-rs does with a method's error.
            unsafe { JsError::from(error).throw_into(env) };
            ptr::null_mut()
        }
    }
}

unsafe fn run(env: sys::napi_env, info: sys::napi_callback_info) -> Result<sys::napi_value> {
    let mut argc = MAX_ARGS;
    let mut argv = [ptr::null_mut(); MAX_ARGS];
    let mut this = ptr::null_mut();
    let mut data = ptr::null_mut();
    // SAFETY: the out-pointers are locals; Node-API fills the arguments not
    // passed with `undefined`, as napi-rs's methods see them.
    check_status!(
        unsafe {
            sys::napi_get_cb_info(
                env,
                info,
                &mut argc,
                argv.as_mut_ptr(),
                &mut this,
                &mut data,
            )
        },
        "could not read the arguments"
    )?;
    // SAFETY: `data` is the `&'static Method` given to `napi_create_function`.
    let method = unsafe { &*data.cast::<Method>().cast_const() };
    let _running = Running::enter()?;
    // SAFETY: napi-rs's own unwrap, which refuses a receiver that is not a
    // RelayEngine; nothing else holds the engine while `Running` is held
    // (these callbacks and the napi-rs methods that run JS enter it).
    let engine = unsafe { &mut *class_accessor_unwrap_this::<JsRelayEngine>(env, this)? };
    let [a, b, c, d] = argv.map(|raw| {
        // SAFETY: a live value of this call.
        unsafe { Unknown::from_napi_value(env, raw) }
    });
    let args = [a?, b?, c?, d?];
    let output = (method.run)(engine, args)?;
    // SAFETY: the env of this call.
    unsafe { Option::<DrainText>::to_napi_value(env, output) }
}
