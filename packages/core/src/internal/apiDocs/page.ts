/**
 * `GET /docs`: a reference page of the app's OpenAPI document, rendered in the
 * browser from `/openapi.json` (with a token, when the app has auth). One
 * document, nothing fetched from elsewhere.
 */
import { htmlPage } from "../http/htmlPage.ts"

const style = `
:root { color-scheme: light dark; --line: #8884; --muted: #888 }
body { font: 15px/1.5 system-ui, sans-serif; max-width: 960px; margin: 0 auto; padding: 16px }
h1 { font-size: 20px } h1 small { color: var(--muted); font-weight: normal }
details { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; padding: 6px 10px }
summary { cursor: pointer } .method { display: inline-block; min-width: 4em; font-weight: 700; font-family: ui-monospace, monospace }
.path { font-family: ui-monospace, monospace } .undocumented { color: #d33 }
pre { font-size: 12px; overflow: auto; max-height: 24em; background: #8881; padding: 8px }
table { border-collapse: collapse } td, th { border: 1px solid var(--line); padding: 2px 8px; text-align: left }
#error { color: #d33 }
`

const script = String.raw`
"use strict";
const $ = (id) => document.getElementById(id);
const el = (tag, text, className) => { const node = document.createElement(tag); if (text !== undefined) node.textContent = text; if (className) node.className = className; return node };
const json = (value) => el("pre", JSON.stringify(value, null, 2));
async function load() {
  const token = $("token").value.trim();
  localStorage.setItem("agentapp:token", JSON.stringify(token));
  const reply = await fetch(document.body.dataset.spec, { headers: token ? { authorization: "Bearer " + token } : {} });
  if (!reply.ok) { $("error").textContent = reply.status + ": " + (await reply.text()); return }
  $("error").textContent = "";
  const spec = await reply.json();
  $("title").textContent = spec.info.title + " ";
  $("title").append(el("small", spec.info.version));
  $("description").textContent = spec.info.description ?? "";
  const list = $("operations");
  list.replaceChildren();
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const item = el("details");
      item.className = "operation";
      const summary = el("summary");
      summary.append(el("span", method.toUpperCase(), "method"), " ", el("span", path, "path"), " ", el("span", operation.summary, operation["x-undocumented"] ? "undocumented" : ""));
      item.append(summary);
      if (operation.description) item.append(el("p", operation.description));
      if (operation.parameters) {
        const table = el("table");
        table.append(...operation.parameters.map((p) => { const row = el("tr"); row.append(el("td", p.name), el("td", p.in), el("td", p.required ? "required" : "optional"), el("td", p.description ?? "")); return row }));
        item.append(el("h4", "Parameters"), table);
      }
      if (operation.requestBody) for (const [type, media] of Object.entries(operation.requestBody.content)) item.append(el("h4", "Body: " + type), json(media.schema ?? {}));
      for (const [status, response] of Object.entries(operation.responses)) {
        item.append(el("h4", status + ": " + response.description));
        for (const [type, media] of Object.entries(response.content ?? {})) { item.append(el("div", type)); if (media.schema) item.append(json(media.schema)) }
      }
      list.append(item);
    }
  }
  if (spec.components && spec.components.schemas) for (const [name, schema] of Object.entries(spec.components.schemas)) {
    const item = el("details"); item.append(el("summary", "schema " + name), json(schema)); list.append(item);
  }
}
$("token").value = JSON.parse(localStorage.getItem("agentapp:token") ?? '""');
$("load").addEventListener("click", load);
load();
`


/** The page's reply, reading the document at `specPath`. */
export const docsPage = (specPath: string) => htmlPage(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>API reference</title><style>${style}</style></head>
<body data-spec="${specPath.replace(/[^A-Za-z0-9/._~-]/g, "")}">
<h1 id="title">API reference</h1>
<p id="description"></p>
<p><label for="token">token</label> <input id="token" type="password" autocomplete="off"> <button id="load" type="button">Load</button> <span id="error"></span></p>
<main id="operations"></main>
<script>${script}</script>
</body>
</html>
`, { script, style })
