/**
 * The playground page: one self-contained HTML document (its style and
 * script inline, nothing fetched but the app's own routes), with a Content
 * Security Policy that allows exactly that.
 */
import { htmlPage } from "../http/htmlPage.ts"
import { script } from "./script.ts"

const style = `
:root { color-scheme: light dark; --muted: #888; --line: #8884; --accent: #3b6ee8 }
* { box-sizing: border-box }
body { margin: 0; font: 15px/1.5 system-ui, sans-serif; max-width: 860px; margin: 0 auto; padding: 0 16px 120px }
header { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; padding: 12px 0; border-bottom: 1px solid var(--line) }
header h1 { font-size: 17px; margin: 0 auto 0 0 }
header small { color: var(--muted); font-family: ui-monospace, monospace }
.turn { padding: 12px 0; border-bottom: 1px solid var(--line) }
.user { font-weight: 600; white-space: pre-wrap }
.user::before { content: "› "; color: var(--accent) }
.answer > * { margin: 6px 0; white-space: pre-wrap }
.reasoning { color: var(--muted); font-style: italic }
.reasoning summary { cursor: pointer; font-style: normal; font-size: 13px }
.tool { font-family: ui-monospace, monospace; font-size: 13px; color: var(--muted) }
.error { color: #d33; font-weight: 600 }
.status { font-size: 12px; color: var(--muted) }
.status.canceled, .status.failed { color: #d33 }
form { position: fixed; bottom: 0; left: 0; right: 0; padding: 12px 16px; background: Canvas; border-top: 1px solid var(--line) }
form div { display: flex; gap: 8px; max-width: 828px; margin: 0 auto }
#input { flex: 1; font: inherit; padding: 8px }
button { font: inherit; padding: 6px 12px; cursor: pointer }
#notice { color: #d33; font-size: 13px }
`


/** What the page needs to know of the app: its name, its routes, whether it takes a token. */
export interface PageConfig {
  readonly name: string
  readonly process: string
  readonly stop: string | false
  readonly resume: boolean
  readonly auth: boolean
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`)

/** The page's reply; the config is JSON in a data block (`<` escaped, so that no value can close it). */
export const page = (config: PageConfig) => htmlPage(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(config.name)} · playground</title>
<style>${style}</style>
</head>
<body>
<header>
  <h1>${escapeHtml(config.name)}</h1>
  <small>session <span id="session"></span></small>
  <label id="token-label" for="token">token</label><input id="token" type="password" autocomplete="off" size="14">
  <button id="new" type="button">New session</button>
</header>
<main id="log" aria-live="polite"></main>
<form id="form">
  <div><input id="input" placeholder="Say something" autocomplete="off" autofocus>
  <button id="send" type="submit">Send</button><button id="stop" type="button">Stop</button></div>
  <div id="notice"></div>
</form>
<script type="application/json" id="config">${JSON.stringify(config).replace(/</g, "\\u003c")}</script>
<script>${script}</script>
</body>
</html>
`, { script, style })
