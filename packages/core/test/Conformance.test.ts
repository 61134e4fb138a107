import { Interrupt, SessionStore, TaskQueue } from "@agentapp/core"
import { interruptBackendSuite } from "./conformance/InterruptBackend.ts"
import { sessionStoreSuite } from "./conformance/SessionStore.ts"
import { taskQueueSuite } from "./conformance/TaskQueue.ts"

interruptBackendSuite("memory", Interrupt.layerMemory({ sweepInterval: "100 millis" }))
sessionStoreSuite("memory", SessionStore.layerMemory({ maxHistory: 20 }), { maxHistory: 20 })
taskQueueSuite("memory", TaskQueue.layerMemory())
