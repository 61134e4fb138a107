/**
 * Interrupts: every run holds a lease on its `(user_id, session_id)` and
 * listens for stop signals; a stop from anywhere interrupts the run's fiber.
 *
 * `InterruptBackend` is the pluggable part, a handful of primitives (start,
 * renew and end a run's lease, signal, listen) that a memory map or Redis can
 * provide. `Claims` composes them for one run, the same way for every backend.
 *
 * @since 0.1.0
 */
import { Effect, Metric, type Option, Tracer } from "effect"
import { stopLatency } from "./internal/telemetry/observe.ts"
import { capId, InterruptBackend, type InterruptBackendError, NoActiveRun, type RunRecord, type SessionKey } from "./internal/interrupt/backend.ts"

export {
  InterruptBackend,
  InterruptBackendError,
  keyString,
  makeSessionKey,
  NoActiveRun,
  RunRecord,
  RunState,
  SessionBusy,
  type SessionKey,
  type StopSignal,
  TooManyRuns
} from "./internal/interrupt/backend.ts"
export { type Claim, claim, type ClaimOptions, Claims } from "./internal/interrupt/claim.ts"
export { type ListenerRegistry, makeListenerRegistry } from "./internal/interrupt/listeners.ts"
export { layerMemory, makeMemory, type MemoryOptions } from "./internal/interrupt/memory.ts"

const signalStop = Effect.fnUntraced(function*(key: SessionKey) {
  const backend = yield* InterruptBackend
  const signal = yield* backend.signalStop(key)
  if (!signal.received) {
    const session = capId(key.sessionId)
    return yield* new NoActiveRun({
      userId: key.userId,
      sessionId: key.sessionId,
      message: signal.leaseExpiresAt === undefined
        ? `No run is active for session ${session}`
        : `No live run took the stop for session ${session}: its node does not answer, and its lease frees at ` +
          new Date(signal.leaseExpiresAt).toISOString(),
      ...(signal.leaseExpiresAt === undefined ? {} : { leaseExpiresAt: signal.leaseExpiresAt })
    })
  }
})

/**
 * Stops the run of a session, wherever it runs. Fails with `NoActiveRun`
 * when no run holds the session.
 *
 * With a tracing backend installed, the stop is an `Interrupt.stop` span.
 * Without one (Effect's native tracer, whose spans nobody can see) it makes
 * no span, which would cost as much as the rest of the stop.
 *
 * @since 0.1.0
 */
export const stop = (key: SessionKey): Effect.Effect<void, NoActiveRun | InterruptBackendError, InterruptBackend> =>
  Effect.withFiber((fiber) => {
    if (fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer) return signalStop(key)
    const started = Date.now()
    return Effect.withSpan(
      Effect.tap(signalStop(key), () => Metric.update(stopLatency, Date.now() - started)),
      "Interrupt.stop",
      { attributes: { "agentapp.session_id": key.sessionId, "agentapp.user_id": key.userId }, captureStackTrace: false }
    )
  })

/**
 * The recorded state of a session's latest run.
 *
 * @since 0.1.0
 */
export const state = (key: SessionKey): Effect.Effect<Option.Option<RunRecord>, InterruptBackendError, InterruptBackend> =>
  InterruptBackend.use((backend) => backend.getState(key))
