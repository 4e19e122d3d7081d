//! The input methods (OpenCode's events call them thousands of times in a
//! session) as plain Node-API functions bound to one engine, which
//! `RelayEngine#inputs` hands out.
//!
//! A method call costs napi-rs its receiver: unwrapping it, checking its
//! class and bookkeeping the borrow (a process-wide lock and map) take most
//! of a `status` call that changes nothing. A bound function holds the
//! engine's state itself (one `Rc` per function, dropped when the function
//! is collected), so a call reads its arguments and runs. It runs the very
//! methods the napi-rs class declares (`index.d.ts`, argument checks and
//! errors stay one), and a call made while another runs on the same engine
//! is refused, as every method refuses it (see [`borrow`]).

use std::cell::{RefCell, RefMut};
use std::ffi::{c_void, CStr};
use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, JsError, ToNapiValue, Unknown};
use napi::{check_status, sys, Error, Result, Status};

use crate::js_engine::{EngineState, JsRelayEngine};
use crate::json::DrainText;

/// Arguments a method reads, at most.
const MAX_ARGS: usize = 5;

type Args<'a> = [Unknown<'a>; MAX_ARGS];

/// An input method: its JS name and what it does with the engine and the arguments.
struct Method {
    name: &'static CStr,
    run: for<'a> fn(&JsRelayEngine, Args<'a>) -> Result<Option<DrainText>>,
}

/// Every input method. Reading an argument object can run JS (a getter),
/// which cannot re-enter the engine meanwhile (see [`borrow`]).
static METHODS: [Method; 14] = [
    Method {
        name: c"status",
        run: |engine, [now, session, busy, ..]| engine.status(now, session, busy),
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
        run: |engine, [now, session, name, message, _]| {
            engine.session_error(now, session, name, message)
        },
    },
    Method {
        name: c"stepFinished",
        run: |engine, [now, session, finish, error, _]| {
            engine.step_finished(now, session, finish, error)
        },
    },
    Method {
        name: c"toolState",
        run: |engine, [now, session, part, tool, running]| {
            engine.tool_state(now, session, part, tool, running)
        },
    },
    Method {
        name: c"personEvent",
        run: |engine, [now, event, ..]| engine.person_event(now, event),
    },
    Method {
        name: c"turnEnding",
        run: |engine, [now, session, step, ..]| engine.turn_ending(now, session, step),
    },
    Method {
        name: c"userMessage",
        run: |engine, [session, from_plugin, ..]| engine.user_message(session, from_plugin),
    },
    Method {
        name: c"timeout",
        run: |engine, [now, ..]| engine.timeout(now),
    },
    Method {
        name: c"toolCall",
        run: |engine, [now, call, ..]| engine.tool_call(now, call).map(Some),
    },
    Method {
        name: c"outcome",
        run: |engine, [now, id, outcome, ..]| engine.outcome(now, id, outcome),
    },
    Method {
        name: c"restored",
        run: |engine, [now, handoffs, ..]| engine.restored(now, handoffs),
    },
];

/// The engine's state for one call. A call made while another runs on the
/// same engine is refused: only a getter the engine set off by reading an
/// argument object can make one, and the engine is not to be re-entered.
pub(crate) fn borrow(state: &RefCell<EngineState>) -> Result<RefMut<'_, EngineState>> {
    state.try_borrow_mut().map_err(|_| {
        Error::new(
            Status::GenericFailure,
            "RelayEngine was called while one of its methods was running (from a getter?)",
        )
    })
}

/// An object of the functions of [`METHODS`] bound to `state`.
///
/// # Safety
/// `env` is the live env of a call on the JS thread.
pub(crate) unsafe fn inputs_object(
    env: sys::napi_env,
    engine: &JsRelayEngine,
) -> Result<sys::napi_value> {
    let mut object = ptr::null_mut();
    // SAFETY: `env` is live (the caller's promise); every out-pointer is a local.
    unsafe {
        check_status!(
            sys::napi_create_object(env, &mut object),
            "could not make the inputs object"
        )?;
        for method in &METHODS {
            let held = Box::into_raw(Box::new(Bound {
                method,
                engine: engine.share(),
            }));
            let mut function = ptr::null_mut();
            let made = sys::napi_create_function(
                env,
                method.name.as_ptr(),
                method.name.to_bytes().len() as isize,
                Some(call),
                held.cast::<c_void>(),
                &mut function,
            );
            let kept = if made == sys::Status::napi_ok {
                sys::napi_add_finalizer(
                    env,
                    function,
                    held.cast::<c_void>(),
                    Some(release),
                    ptr::null_mut(),
                    ptr::null_mut(),
                )
            } else {
                made
            };
            if kept != sys::Status::napi_ok {
                // Nothing will finalize it: it is dropped here (a function made
                // without its finalizer is never called, as it is never handed out).
                drop(Box::from_raw(held));
                check_status!(kept, "could not make RelayEngine inputs.{:?}", method.name)?;
            }
            check_status!(
                sys::napi_set_named_property(env, object, method.name.as_ptr(), function),
                "could not set RelayEngine inputs.{:?}",
                method.name
            )?;
        }
    }
    Ok(object)
}

/// What a bound function holds: which method it is, and a handle on the
/// engine (sharing its state).
struct Bound {
    method: &'static Method,
    engine: JsRelayEngine,
}

unsafe extern "C" fn release(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `Bound` boxed for this function, finalized once.
    drop(unsafe { Box::from_raw(data.cast::<Bound>()) });
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
    let mut data = ptr::null_mut();
    // SAFETY: the out-pointers are locals; Node-API fills the arguments not
    // passed with `undefined`, as napi-rs's methods see them. The receiver
    // is not asked for: the function holds its engine.
    check_status!(
        unsafe {
            sys::napi_get_cb_info(
                env,
                info,
                &mut argc,
                argv.as_mut_ptr(),
                ptr::null_mut(),
                &mut data,
            )
        },
        "could not read the arguments"
    )?;
    // SAFETY: `data` is this function's `Bound`, alive until the function is
    // collected, which cannot happen while it runs.
    let bound = unsafe { &*data.cast::<Bound>().cast_const() };
    let [a, b, c, d, e] = argv.map(|raw| {
        // SAFETY: a live value of this call.
        unsafe { Unknown::from_napi_value(env, raw) }
    });
    let args = [a?, b?, c?, d?, e?];
    let output = (bound.method.run)(&bound.engine, args)?;
    // SAFETY: the env of this call.
    unsafe { Option::<DrainText>::to_napi_value(env, output) }
}
