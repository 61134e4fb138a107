/**
 * The conformance suite of `InterruptBackend`: what every backend (memory,
 * Redis, a custom one) must do. It uses only the service interface.
 */
import { Interrupt } from "@agentapp/core"
import { expect, layer } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Layer, Option, Scope, Tracer } from "effect"
import { eventually } from "../../../../test/support/eventually.ts"

const fresh = (): Interrupt.SessionKey => ({ userId: `u-${crypto.randomUUID()}`, sessionId: `s-${crypto.randomUUID()}` })
const ttl = Duration.seconds(30)
const short = Duration.millis(300)
const running = (runId: string) => ({ state: "RUNNING" as const, runId, updatedAt: 1 })

export const interruptBackendSuite = <E>(name: string, backend: Layer.Layer<Interrupt.InterruptBackend, E>) =>
  layer(Layer.provideMerge(Interrupt.Claims.layer, backend), { excludeTestServices: true })(`InterruptBackend conformance: ${name}`, (it) => {
    it.effect("startRun takes the lease and records RUNNING at once; endRun records the end and releases", () =>
      Effect.gen(function*() {
        const b = yield* Interrupt.InterruptBackend
        const key = fresh()
        expect(yield* b.getState(key)).toEqual(Option.none())
        expect(yield* b.startRun(key, running("run-1"), ttl, ttl)).toBe(true)
        expect(yield* b.getState(key)).toEqual(Option.some(running("run-1")))
        // the lease is exclusive and owned: a second run neither takes it nor touches the state
        expect(yield* b.startRun(key, running("run-2"), ttl, ttl)).toBe(false)
        expect(yield* b.getState(key)).toEqual(Option.some(running("run-1")))
        expect(yield* b.renewLease(key, "run-1", ttl)).toBe(true)
        expect(yield* b.renewLease(key, "run-2", ttl)).toBe(false)
        // a run that lost its lease records its end but frees nothing
        yield* b.endRun(key, { state: "STOPPED", runId: "run-2", updatedAt: 2 }, ttl)
        expect(yield* b.startRun(key, running("run-3"), ttl, ttl)).toBe(false)
        expect(yield* b.renewLease(key, "run-1", ttl)).toBe(true)
        // the owner's end records its state (which expires after its TTL) and frees the lease
        yield* b.endRun(key, { state: "FINISHED", runId: "run-1", updatedAt: 3 }, short)
        expect(yield* b.renewLease(key, "run-1", ttl)).toBe(false)
        expect(yield* b.getState(key)).toEqual(Option.some({ state: "FINISHED", runId: "run-1", updatedAt: 3 }))
        yield* eventually(Effect.map(b.getState(key), Option.isNone))
        expect(yield* b.startRun(key, running("run-3"), ttl, ttl)).toBe(true)
        yield* b.endRun(key, { state: "FINISHED", runId: "run-3", updatedAt: 4 }, ttl)
      }))

    it.effect("keys are distinct per user and per session", () =>
      Effect.gen(function*() {
        const b = yield* Interrupt.InterruptBackend
        const key = fresh()
        const keys = [
          key,
          { ...key, userId: `${key.userId}x` },
          { ...key, sessionId: `${key.sessionId}x` },
          // a user id that contains the separator does not collide with another key
          { userId: "a:b", sessionId: `c-${key.sessionId}` },
          { userId: "a", sessionId: `b:c-${key.sessionId}` }
        ]
        for (const [i, each] of keys.entries()) expect(yield* b.startRun(each, running(`r${i}`), ttl, ttl)).toBe(true)
        for (const [i, each] of keys.entries()) yield* b.endRun(each, { ...running(`r${i}`), state: "FINISHED" }, ttl)
      }))

    it.effect("startRun with perUser: a user's live runs across sessions are capped; an end or an expired lease frees a slot; other users are apart", () =>
      Effect.gen(function*() {
        const b = yield* Interrupt.InterruptBackend
        const user = `u-${crypto.randomUUID()}`
        const session = () => ({ userId: user, sessionId: `s-${crypto.randomUUID()}` })
        const [a, c, d] = [session(), session(), session()]
        expect(yield* b.startRun(a, running("a"), ttl, ttl, 2)).toBe(true)
        expect(yield* b.startRun(c, running("c"), short, ttl, 2)).toBe(true)
        expect(yield* b.startRun(d, running("d"), ttl, ttl, 2)).toBe("limited")
        // a busy session is busy before it is limited
        expect(yield* b.startRun(a, running("a2"), ttl, ttl, 2)).toBe(false)
        expect(yield* b.startRun(fresh(), running("other"), ttl, ttl, 2)).toBe(true)
        // c's lease is not renewed: once it expires, d finds room
        yield* eventually(Effect.map(b.startRun(d, running("d"), ttl, ttl, 2), (started) => started === true))
        expect(yield* b.startRun(session(), running("e"), ttl, ttl, 2)).toBe("limited")
        yield* b.endRun(a, { ...running("a"), state: "FINISHED" }, ttl)
        expect(yield* b.startRun(session(), running("e"), ttl, ttl, 2)).toBe(true)
      }))

    it.effect("a lease that is not renewed expires after its TTL", () =>
      Effect.gen(function*() {
        const b = yield* Interrupt.InterruptBackend
        const key = fresh()
        expect(yield* b.startRun(key, running("dead"), short, ttl)).toBe(true)
        yield* eventually(Effect.map(b.startRun(key, running("alive"), ttl, ttl), (started) => started === true))
        expect(yield* b.renewLease(key, "dead", ttl)).toBe(false)
        yield* b.endRun(key, { ...running("alive"), state: "FINISHED" }, ttl)
      }))

    it.effect("retakeRun: a free lease is taken again with its RUNNING state; the owner's is held; another's is lost", () =>
      Effect.gen(function*() {
        const b = yield* Interrupt.InterruptBackend
        const key = fresh()
        expect(yield* b.retakeRun(key, running("run-1"), ttl, ttl)).toBe("taken")
        expect(yield* b.getState(key)).toEqual(Option.some(running("run-1")))
        expect(yield* b.renewLease(key, "run-1", ttl)).toBe(true)
        expect(yield* b.retakeRun(key, { ...running("run-1"), updatedAt: 5 }, ttl, ttl)).toBe("held")
        expect(yield* b.retakeRun(key, running("run-2"), ttl, ttl)).toBe("lost")
        // neither changed the state
        expect(yield* b.getState(key)).toEqual(Option.some(running("run-1")))
        yield* b.endRun(key, { ...running("run-1"), state: "FINISHED" }, ttl)
      }))

    it.effect("a stop reaches every listener of the key once, whatever the lease, and says whether one took it", () =>
      Effect.gen(function*() {
        const b = yield* Interrupt.InterruptBackend
        const key = fresh()
        const other = fresh()
        const scope = yield* Scope.make()
        const first = yield* Scope.provide(b.listen(key), scope)
        const second = yield* Scope.provide(b.listen(key), scope)
        const unrelated = yield* Scope.provide(b.listen(other), scope)
        // nobody listens and no lease: not received, no lease to wait for
        expect(yield* b.signalStop(fresh())).toEqual({ received: false, leaseExpiresAt: undefined })
        // a lease left by a run that is gone (its node died): not received, and when it frees
        const orphan = fresh()
        expect(yield* b.startRun(orphan, running("gone"), ttl, ttl)).toBe(true)
        const orphaned = yield* b.signalStop(orphan)
        expect(orphaned.received).toBe(false)
        expect(orphaned.leaseExpiresAt).toBeGreaterThan(Date.now())
        expect(orphaned.leaseExpiresAt).toBeLessThanOrEqual(Date.now() + Duration.toMillis(ttl) + 50)
        yield* b.endRun(orphan, { ...running("gone"), state: "STOPPED" }, ttl)
        expect(yield* b.startRun(other, running("run"), ttl, ttl)).toBe(true)
        // listeners without a lease (a run whose lease a Redis restart lost) still get the stop
        expect((yield* b.signalStop(key)).received).toBe(true)
        yield* Deferred.await(first).pipe(Effect.timeout(Duration.seconds(3)))
        yield* Deferred.await(second).pipe(Effect.timeout(Duration.seconds(3)))
        const unrelatedFiber = yield* Effect.forkChild(Deferred.await(unrelated))
        yield* Effect.sleep(Duration.millis(100))
        expect(unrelatedFiber.pollUnsafe()).toBeUndefined()
        yield* Fiber.interrupt(unrelatedFiber)
        yield* Scope.close(scope, Exit.void)
        yield* b.endRun(other, { ...running("run"), state: "FINISHED" }, ttl)
      }))

    it.effect("listeners are removed when their scope closes", () =>
      Effect.gen(function*() {
        const b = yield* Interrupt.InterruptBackend
        const before = yield* b.listeners
        const scope = yield* Scope.make()
        yield* Scope.provide(b.listen(fresh()), scope)
        yield* Scope.provide(b.listen(fresh()), scope)
        expect(yield* b.listeners).toBe(before + 2)
        yield* Scope.close(scope, Exit.void)
        expect(yield* b.listeners).toBe(before)

        // two listeners of one key, leaving one at a time: the other still gets the stop
        const key = fresh()
        const one = yield* Scope.make()
        const two = yield* Scope.make()
        yield* Scope.provide(b.listen(key), one)
        const stays = yield* Scope.provide(b.listen(key), two)
        expect(yield* b.listeners).toBe(before + 2)
        yield* Scope.close(one, Exit.void)
        expect(yield* b.listeners).toBe(before + 1)
        expect((yield* b.signalStop(key)).received).toBe(true)
        yield* Deferred.await(stays).pipe(Effect.timeout(Duration.seconds(3)))
        yield* Scope.close(two, Exit.void)
        expect(yield* b.listeners).toBe(before)
      }))

    it.effect("claim: holds the session, records RUNNING, and the final state when finished", () =>
      Effect.gen(function*() {
        const b = yield* Interrupt.InterruptBackend
        const key = fresh()
        const options = { leaseTtl: ttl, stateTtl: ttl, onBusy: "reject" as const, takeoverTimeout: ttl }
        const scope = yield* Scope.make()
        const claim = yield* Scope.provide(Interrupt.claim(key, options), scope)
        expect(Option.map(yield* b.getState(key), (r) => r.state)).toEqual(Option.some("RUNNING"))
        const busy = yield* Scope.provide(Interrupt.claim(key, options), scope).pipe(Effect.flip)
        expect(busy._tag).toBe("SessionBusy")
        yield* claim.finish("FINISHED")
        expect(yield* b.renewLease(key, claim.runId, ttl)).toBe(false)
        expect(Option.map(yield* b.getState(key), (r) => r.state)).toEqual(Option.some("FINISHED"))
        // a second finish does not change what was recorded
        yield* claim.finish("ERROR")
        expect(Option.map(yield* b.getState(key), (r) => r.state)).toEqual(Option.some("FINISHED"))
        yield* Scope.close(scope, Exit.void)
        expect(yield* b.listeners).toBe(0)
      }))

    it.effect("claim: the lease is renewed while the run lives, past its TTL, and not after", () =>
      Effect.gen(function*() {
        const b = yield* Interrupt.InterruptBackend
        const key = fresh()
        const options = { leaseTtl: short, stateTtl: ttl, onBusy: "reject" as const, takeoverTimeout: ttl }
        const scope = yield* Scope.make()
        const claim = yield* Scope.provide(Interrupt.claim(key, options), scope)
        // three TTLs later the run still holds its session
        yield* Effect.sleep(Duration.times(short, 3))
        expect(yield* b.startRun(key, running("other"), ttl, ttl)).toBe(false)
        expect((yield* b.getState(key)).pipe(Option.map((r) => r.runId))).toEqual(Option.some(claim.runId))
        yield* Scope.close(scope, Exit.void)
        expect(yield* b.renewLease(key, claim.runId, ttl)).toBe(false)
      }))

    it.effect("claim: a run interrupted while the backend takes its lease still gives it up (it kept the session for the lease's TTL)", () =>
      Effect.gen(function*() {
        const b = yield* Interrupt.InterruptBackend
        const taken = yield* Deferred.make<void>()
        // the lease is taken, and the backend's answer arrives only after the claim was interrupted
        const slow = Interrupt.InterruptBackend.of({
          ...b,
          startRun: (key, record, leaseTtl, stateTtl) =>
            b.startRun(key, record, leaseTtl, stateTtl).pipe(
              Effect.tap(() => Deferred.succeed(taken, undefined)),
              Effect.delay(Duration.millis(100))
            )
        })
        const claims = yield* Interrupt.Claims.make.pipe(Effect.provideService(Interrupt.InterruptBackend, slow))
        const key = fresh()
        const options = { leaseTtl: ttl, stateTtl: ttl, onBusy: "reject" as const, takeoverTimeout: ttl }
        const fiber = yield* Effect.forkChild(Effect.scoped(claims.claim(key, options)))
        yield* Deferred.await(taken)
        yield* Fiber.interrupt(fiber)
        // the session is free at once, and its run recorded as stopped
        expect(yield* b.startRun(key, running("next"), ttl, ttl)).toBe(true)
        yield* b.endRun(key, { ...running("next"), state: "FINISHED" }, ttl)
      }).pipe(Effect.scoped))

    it.effect("claim: a stop completes `stopped`; a scope closed without finish records STOPPED", () =>
      Effect.gen(function*() {
        const key = fresh()
        const options = { leaseTtl: ttl, stateTtl: ttl, onBusy: "reject" as const, takeoverTimeout: ttl }
        const scope = yield* Scope.make()
        const claim = yield* Scope.provide(Interrupt.claim(key, options), scope)
        const done = yield* Deferred.make<void>()
        yield* Effect.forkChild(Effect.andThen(Deferred.await(claim.stopped), Deferred.succeed(done, undefined)))
        yield* Interrupt.stop(key)
        yield* Deferred.await(done).pipe(Effect.timeout(Duration.seconds(3)))
        yield* Scope.close(scope, Exit.interrupt())
        expect(Option.map(yield* Interrupt.state(key), (r) => r.state)).toEqual(Option.some("STOPPED"))
        const none = yield* Interrupt.stop(key).pipe(Effect.flip)
        expect(none._tag).toBe("NoActiveRun")
      }))

    // (without a backend a stop makes no span; Effect's native spans cannot be seen, which is why that is safe)
    it.effect("stop: an `Interrupt.stop` span under a tracing backend, for a stop that fails too", () =>
      Effect.gen(function*() {
        const names: Array<string> = []
        const recording = Tracer.make({
          span: (options) => {
            names.push(options.name)
            return new Tracer.NativeSpan(options)
          }
        })
        const options = { leaseTtl: ttl, stateTtl: ttl, onBusy: "reject" as const, takeoverTimeout: ttl }
        const stopOnce = (traced: boolean) =>
          Effect.scoped(Effect.gen(function*() {
            const key = fresh()
            const claim = yield* Interrupt.claim(key, options)
            const stop = Interrupt.stop(key)
            yield* traced ? Effect.withTracer(stop, recording) : stop
            // the run hears it (through Redis, a moment later)
            yield* Deferred.await(claim.stopped).pipe(Effect.timeout(Duration.seconds(3)))
          }))
        yield* stopOnce(true)
        expect(names).toEqual(["Interrupt.stop"])
        yield* stopOnce(false)
        // a failed stop under a tracer is a span too, and still fails with NoActiveRun
        const none = yield* Effect.withTracer(Interrupt.stop(fresh()), recording).pipe(Effect.flip)
        expect(none._tag).toBe("NoActiveRun")
        expect(names).toEqual(["Interrupt.stop", "Interrupt.stop"])
      }))

    it.effect("claim with onBusy interrupt: stops the running run and takes over", () =>
      Effect.gen(function*() {
        const key = fresh()
        const base = { leaseTtl: ttl, stateTtl: ttl, takeoverTimeout: Duration.seconds(5) }
        const oldScope = yield* Scope.make()
        const old = yield* Scope.provide(Interrupt.claim(key, { ...base, onBusy: "reject" }), oldScope)
        // the old run ends when it is stopped, as the query route does
        yield* Effect.forkChild(Effect.andThen(Deferred.await(old.stopped), Scope.close(oldScope, Exit.void)))
        const scope = yield* Scope.make()
        const next = yield* Scope.provide(Interrupt.claim(key, { ...base, onBusy: "interrupt" }), scope)
        expect(next.runId).not.toBe(old.runId)
        const b = yield* Interrupt.InterruptBackend
        expect(yield* b.renewLease(key, next.runId, ttl)).toBe(true)
        expect(yield* b.renewLease(key, old.runId, ttl)).toBe(false)
        yield* Scope.close(scope, Exit.void)
      }))

    it.effect("queues: tickets in order of arrival, at most max, leaving frees the turn, a ticket not renewed is dropped", () =>
      Effect.gen(function*() {
        const b = yield* Interrupt.InterruptBackend
        const key = fresh()
        expect(yield* b.joinQueue(key, "t1", 2, ttl)).toBe(true)
        expect(yield* b.joinQueue(key, "t2", 2, ttl)).toBe(true)
        expect(yield* b.joinQueue(key, "t3", 2, ttl)).toBe(false)
        expect(yield* b.joinQueue(fresh(), "t3", 2, ttl)).toBe(true)
        expect(yield* b.queueTurn(key, "t2", ttl)).toBe(false)
        expect(yield* b.queueTurn(key, "t1", ttl)).toBe(true)
        yield* b.leaveQueue(key, "t1")
        expect(yield* b.queueTurn(key, "t2", ttl)).toBe(true)
        // a ticket whose node died (not renewed within its TTL) no longer holds the queue up
        expect(yield* b.joinQueue(key, "t4", 3, ttl)).toBe(true)
        const other = fresh()
        expect(yield* b.joinQueue(other, "dead", 3, short)).toBe(true)
        expect(yield* b.joinQueue(other, "alive", 3, ttl)).toBe(true)
        expect(yield* b.queueTurn(other, "alive", ttl)).toBe(false)
        yield* eventually(b.queueTurn(other, "alive", ttl))
        expect(yield* b.queueTurn(other, "dead", ttl)).toBe(false)
      }))

    it.effect("claim with onBusy enqueue: waiting runs take the session one after another, in order; a full queue is SessionBusy", () =>
      Effect.gen(function*() {
        const key = fresh()
        const options = { leaseTtl: ttl, stateTtl: ttl, takeoverTimeout: Duration.seconds(5), onBusy: "enqueue" as const, maxQueue: 2 }
        const firstScope = yield* Scope.make()
        yield* Scope.provide(Interrupt.claim(key, options), firstScope)
        const order: Array<string> = []
        // whether `n` runs wait: a probe finds the queue full at `n` (and leaves it when it is not)
        const queued = (n: number) =>
          Interrupt.InterruptBackend.use((b) =>
            Effect.flatMap(b.joinQueue(key, "probe", n, ttl), (joined) => joined ? Effect.as(b.leaveQueue(key, "probe"), false) : Effect.succeed(true))
          )
        const waiting = yield* Effect.forEach(["second", "third"], (name, i) =>
          Effect.gen(function*() {
            const scope = yield* Scope.make()
            const fiber = yield* Effect.forkChild(Effect.andThen(
              Scope.provide(Interrupt.claim(key, options), scope),
              Effect.sync(() => order.push(name))
            ))
            // the second is queued before the third is sent
            yield* eventually(queued(i + 1))
            return { fiber, scope }
          }))
        const full = yield* Effect.exit(Scope.provide(Interrupt.claim(key, options), yield* Scope.make()))
        expect(Exit.isFailure(full) && full.cause.toString()).toContain("queue is full")
        expect(order).toEqual([])
        yield* Scope.close(firstScope, Exit.void)
        yield* Fiber.join(waiting[0].fiber)
        expect(order).toEqual(["second"])
        yield* Scope.close(waiting[0].scope, Exit.void)
        yield* Fiber.join(waiting[1].fiber)
        expect(order).toEqual(["second", "third"])
        yield* Scope.close(waiting[1].scope, Exit.void)
      }))
  })
