/**
 * The playground in a real headless Chromium (Debian's `chromium`, driven by
 * `playwright-core`) against `npm start`: every request of the page that
 * leaves its origin is refused, so the page works with no network. On a
 * failure the page's screenshot is saved in test/artifacts/.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { startRedisServer } from "./support/redis.ts"
import { nodeBin, repoRoot, type ServerProcess, startServer, useFriday, within } from "./support/server.ts"

const executablePath = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((file) => fs.existsSync(file))
const artifacts = path.join(repoRoot, "test", "artifacts")

const server = useFriday()
let browser: Browser
let page: Page
const offOrigin: Array<string> = []

beforeAll(async () => {
  if (executablePath === undefined) throw new Error("No Chromium: install Debian's chromium package (.ci/run does)")
  browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] })
})
afterAll(async () => {
  await browser?.close()
})

const open = async (url: string) => {
  const context = await browser.newContext()
  page = await context.newPage()
  // the page may reach its own origin only
  await context.route("**/*", (route) => {
    if (route.request().url().startsWith(new URL(url).origin)) return route.continue()
    offOrigin.push(route.request().url())
    return route.abort()
  })
  await page.goto(`${url}/playground`)
  return page
}

afterEach(async (test) => {
  if (test.task.result?.state === "fail" && page !== undefined) {
    fs.mkdirSync(artifacts, { recursive: true })
    await page.screenshot({ path: path.join(artifacts, `${test.task.name.replace(/\W+/g, "-").slice(0, 80)}.png`), fullPage: true })
  }
  await page?.context().close()
})

const say = async (text: string) => {
  await page.fill("#input", text)
  await page.click("#send")
}

const lastTurn = () => page.locator(".turn").last()

describe("the playground in headless Chromium", () => {
  it("streams Friday's answer with its reasoning and tool call; a second turn uses the same session", async () => {
    await open(server.url)
    expect(await page.title()).toBe("Friday · playground")
    const session = await page.textContent("#session")
    await say("My name is Ada")
    await lastTurn().locator(".status.completed").waitFor({ timeout: 15_000 })
    expect(await lastTurn().locator(".text").last().textContent()).toContain("Nice to meet you, Ada!")
    expect(await lastTurn().locator(".tool.call").textContent()).toBe(`→ word_stats({"text":"My name is Ada"})`)
    expect(await lastTurn().locator(".tool.result").textContent()).toContain(`"words":4`)
    expect(await lastTurn().locator("details.reasoning").textContent()).toContain("The user's name is Ada.")
    // reasoning folds away once complete, and opens on a click
    expect(await lastTurn().locator("details.reasoning").getAttribute("open")).toBeNull()
    await say("Who am I?")
    await lastTurn().locator(".status.completed").waitFor({ timeout: 15_000 })
    expect(await lastTurn().locator(".text").last().textContent()).toContain("Your name is Ada, I remember you.")
    expect(await page.textContent("#session")).toBe(session)
    expect(offOrigin).toEqual([])
  })

  it("the stop button cancels a long story; the page shows it canceled and the chat goes on", async () => {
    await open(server.url)
    await say("Tell me a long story")
    await page.getByText("Chapter 1.").waitFor({ timeout: 15_000 })
    await page.click("#stop")
    await lastTurn().locator(".status.canceled").waitFor({ timeout: 10_000 })
    expect(await lastTurn().textContent()).not.toContain("Chapter 12.")
    await say("Hello")
    await lastTurn().locator(".status.completed").waitFor({ timeout: 15_000 })
  })

  it("a reload redraws the session's earlier turns and rejoins a run still going; New session starts empty", async () => {
    await open(server.url)
    await say("Hello")
    await lastTurn().locator(".status.completed").waitFor({ timeout: 15_000 })
    await say("Tell me a long story")
    await page.getByText("Chapter 1.").waitFor({ timeout: 15_000 })
    await page.reload()
    // the first turn from the page's store, the story joined from the server's log to its end
    await page.locator(".turn").nth(1).locator(".status.completed").waitFor({ timeout: 30_000 })
    expect(await page.locator(".turn").count()).toBe(2)
    expect(await page.locator(".turn").first().textContent()).toContain("Hello, I am Friday!")
    expect(await page.locator(".turn").nth(1).textContent()).toContain("Chapter 12.")
    const before = await page.textContent("#session")
    await page.click("#new")
    expect(await page.locator(".turn").count()).toBe(0)
    expect(await page.textContent("#session")).not.toBe(before)
  })

  it("with auth on, the page asks for a token: without it the error is shown plainly, with it the agent answers", async () => {
    const app: ServerProcess = await startServer("npm", ["start", "--silent"], { env: { API_KEYS: "key-a=alice", FRIDAY_DELAY_MS: "5" } })
    try {
      await open(app.url)
      expect(await page.isVisible("#token")).toBe(true)
      await say("Hello")
      await lastTurn().locator(".error").waitFor({ timeout: 10_000 })
      expect(await lastTurn().locator(".error").textContent()).toContain("401")
      await page.fill("#token", "key-a")
      await say("Hello")
      await lastTurn().locator(".status.completed").waitFor({ timeout: 15_000 })
      expect(await lastTurn().textContent()).toContain("Hello, I am Friday!")
    } finally {
      app.kill("SIGTERM")
      await within(10_000, "the app to exit", app.exited)
    }
  })

  it("works on the Redis backends: a node of examples/distributed.ts answers and stops from the page", async () => {
    const redis = await startRedisServer()
    const app: ServerProcess = await startServer(nodeBin, ["--disable-warning=ExperimentalWarning", "examples/distributed.ts"], {
      env: { REDIS_URL: redis.url, REDIS_PREFIX: `pg-${crypto.randomUUID().slice(0, 8)}`, FRIDAY_DELAY_MS: "5" }
    })
    try {
      await open(app.url)
      await say("My name is Ada")
      await lastTurn().locator(".status.completed").waitFor({ timeout: 15_000 })
      await say("Tell me a long story")
      await page.getByText("Chapter 1.").waitFor({ timeout: 15_000 })
      await page.click("#stop")
      await lastTurn().locator(".status.canceled").waitFor({ timeout: 10_000 })
      await say("Who am I?")
      await lastTurn().locator(".status.completed").waitFor({ timeout: 15_000 })
      expect(await lastTurn().textContent()).toContain("Your name is Ada, I remember you.")
    } finally {
      app.kill("SIGTERM")
      await within(10_000, "the app to exit", app.exited)
      await redis.stop()
    }
  })

  it("serves one self-contained page under a strict Content-Security-Policy", async () => {
    const reply = await fetch(`${server.url}/playground`)
    expect(reply.headers.get("content-type")).toBe("text/html; charset=utf-8")
    const policy = reply.headers.get("content-security-policy")!
    expect(policy).toContain("default-src 'none'")
    expect(policy).toContain("connect-src 'self'")
    const html = await reply.text()
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\//)
  })
})
