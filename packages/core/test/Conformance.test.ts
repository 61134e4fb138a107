import { Interrupt, RunLog, SessionStore, TaskQueue } from "@agentapp/core"
import { Duration } from "effect"
import { interruptBackendSuite } from "./conformance/InterruptBackend.ts"
import { runLogSuite } from "./conformance/RunLog.ts"
import { sessionStoreSuite } from "./conformance/SessionStore.ts"
import { taskQueueSuite } from "./conformance/TaskQueue.ts"

interruptBackendSuite("memory", Interrupt.layerMemory({ sweepInterval: "100 millis" }))
sessionStoreSuite("memory", SessionStore.layerMemory({ maxHistory: 20 }), { maxHistory: 20 })
taskQueueSuite("memory", TaskQueue.layerMemory())
runLogSuite("memory", RunLog.layerMemory({ maxEvents: 50, retention: "300 millis" }), {
  maxEvents: 50,
  retention: Duration.millis(300)
})
