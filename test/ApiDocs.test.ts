/**
 * `GET /openapi.json` on `npm start`: a valid OpenAPI 3.1 document (checked by
 * an OpenAPI validator) that describes every route the server lists, so that
 * a route added without a description fails here; its request schemas are the
 * code's; `GET /docs` renders it in a headless Chromium with no network; with
 * auth, the document needs a key and names the bearer scheme.
 */
import { Validator } from "@seriousme/openapi-schema-validator"
import * as fs from "node:fs"
import { chromium } from "playwright-core"
import { describe, expect, it } from "vitest"
import { type ServerProcess, startServer, useFriday, within } from "./support/server.ts"

const server = useFriday()
const executablePath = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((file) => fs.existsSync(file))

const routesOf = async (url: string, headers: Record<string, string> = {}) =>
  (await (await fetch(`${url}/`, { headers })).json() as { routes: Array<string> }).routes

const operationsOf = (spec: any) =>
  Object.entries(spec.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ route: `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ":$1")}`, operation }))
  )

describe("the API description", () => {
  it("is valid OpenAPI 3.1 and describes every route the router serves", async () => {
    const spec: any = await (await fetch(`${server.url}/openapi.json`)).json()
    const result = await new Validator().validate(spec)
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(spec.openapi).toBe("3.1.0")
    expect(spec.info.title).toBe("Friday")
    const operations = operationsOf(spec)
    expect(operations.map(({ route }) => route).sort()).toEqual((await routesOf(server.url)).sort())
    const undocumented = operations.filter(({ operation }) => operation["x-undocumented"] === true).map(({ route }) => route)
    expect(undocumented).toEqual([])
    // the request schema is the code's: the protocol's AgentRequest, the task's payload, the endpoint's query
    expect(spec.components.schemas.AgentRequest.properties.input.type).toBe("array")
    expect(spec.paths["/process"].post.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/AgentRequest" })
    expect(spec.paths["/process"].post.responses["200"].content).toHaveProperty("text/event-stream")
    expect(spec.paths["/tasks/word_stats"].post.requestBody.content["application/json"].schema.properties.text.type).toBe("string")
    expect(spec.paths["/count"].get.parameters.map((p: any) => [p.name, p.in])).toEqual([["to", "query"]])
    expect(spec.paths["/tasks/word_stats/{task_id}"].get.parameters[0]).toMatchObject({ name: "task_id", in: "path", required: true })
  })

  it("GET /docs renders every operation in a headless Chromium, with no request off its origin", async () => {
    if (executablePath === undefined) throw new Error("No Chromium: install Debian's chromium package (.ci/run does)")
    const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] })
    try {
      const page = await browser.newPage()
      const offOrigin: Array<string> = []
      await page.route("**/*", (route) => {
        if (route.request().url().startsWith(server.url)) return route.continue()
        offOrigin.push(route.request().url())
        return route.abort()
      })
      await page.goto(`${server.url}/docs`)
      await page.locator("details.operation").first().waitFor({ timeout: 10_000 })
      expect(await page.locator("details.operation").count()).toBe((await routesOf(server.url)).length)
      expect(await page.textContent("#title")).toContain("Friday")
      await page.locator("details.operation", { hasText: "Runs the agent on a request" }).locator("summary").click()
      expect(await page.locator("details.operation[open]").textContent()).toContain("text/event-stream")
      expect(offOrigin).toEqual([])
    } finally {
      await browser.close()
    }
  })

  it("with auth: the document needs a key and names the bearer scheme; the page is open", async () => {
    const app: ServerProcess = await startServer("npm", ["start", "--silent"], { env: { API_KEYS: "key-a=alice" } })
    try {
      expect((await fetch(`${app.url}/openapi.json`)).status).toBe(401)
      expect((await fetch(`${app.url}/docs`)).status).toBe(200)
      const spec: any = await (await fetch(`${app.url}/openapi.json`, { headers: { authorization: "Bearer key-a" } })).json()
      expect(spec.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" })
      expect(spec.security).toEqual([{ bearer: [] }])
      // the routes open without credentials say so, and are the ones the server lets through
      const open = operationsOf(spec).filter(({ operation }) => Array.isArray(operation.security) && operation.security.length === 0).map(({ route }) => route)
      expect(open.sort()).toEqual(["GET /.well-known/agent-card.json", "GET /docs", "GET /health", "GET /liveness", "GET /playground", "GET /readiness"])
      for (const route of open) expect((await fetch(`${app.url}${route.split(" ")[1]}`)).status, route).toBe(200)
      expect((await fetch(`${app.url}/health`, { method: "HEAD" })).status).toBe(200)
      expect((await new Validator().validate(spec)).valid).toBe(true)
    } finally {
      app.kill("SIGTERM")
      await within(10_000, "the app to exit", app.exited)
    }
  })
})
