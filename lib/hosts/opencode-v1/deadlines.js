// Time limits for calls through the SDK client, as the AbortSignals it takes.
//
// Making an AbortSignal costs Node about 4.5 µs (AbortSignal.timeout twice
// that), more than the rest of a relay's dispatch together; so calls whose
// limits fall in the same SLOT_MS window share one, which aborts at the
// window's end: never before a call's own limit, at most SLOT_MS after it.
// Aborting a call that has settled does nothing, so a signal simply lives
// until its moment and is dropped then.

const SLOT_MS = 250

/** @returns {(limitMs: number) => AbortSignal} the signal for a call that may take `limitMs` */
export function createDeadlines(now = Date.now) {
  /** @type {Map<number, AbortSignal>} by window */
  const slots = new Map()
  return function deadline(limitMs) {
    const slot = Math.ceil((now() + limitMs) / SLOT_MS)
    let signal = slots.get(slot)
    if (signal === undefined) {
      const controller = new AbortController()
      signal = controller.signal
      slots.set(slot, signal)
      const timer = setTimeout(
        () => {
          slots.delete(slot)
          controller.abort(new DOMException("The operation timed out.", "TimeoutError"))
        },
        slot * SLOT_MS - now(),
      )
      // A pending time limit must not keep the host process alive.
      timer.unref?.()
    }
    return signal
  }
}
