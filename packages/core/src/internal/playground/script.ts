/**
 * The playground's script, run in the browser: it talks to the app's own
 * routes only (`POST /process` streamed, `POST /stop`, `GET /process/{id}/events`
 * to resume), keeps the session and its turns in `localStorage`, and renders
 * events as they come. Plain ES2020, no dependency: the page has no network
 * beyond its origin.
 */
export const script = String.raw`
"use strict";
const config = JSON.parse(document.getElementById("config").textContent);
const $ = (id) => document.getElementById(id);
const store = {
  get: (key, fallback) => { try { return JSON.parse(localStorage.getItem("agentapp:" + key)) ?? fallback } catch { return fallback } },
  set: (key, value) => localStorage.setItem("agentapp:" + key, JSON.stringify(value))
};
let session = store.get("session", null) ?? newSession();
let running = null;

function newSession() {
  const id = crypto.randomUUID();
  store.set("session", id);
  store.set("turns:" + id, []);
  return id;
}

function headers(extra) {
  const token = $("token").value.trim();
  store.set("token", token);
  return Object.assign({ "content-type": "application/json" }, token ? { authorization: "Bearer " + token } : {}, extra || {});
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A turn on the page: the user's message, then the answer's parts as events arrive. */
function turnView(text) {
  const turn = el("section", "turn");
  turn.append(el("div", "user", text));
  const answer = el("div", "answer");
  turn.append(answer);
  $("log").append(turn);
  const parts = new Map();
  const status = el("div", "status", "…");
  turn.append(status);
  const scroll = () => window.scrollTo(0, document.body.scrollHeight);
  const part = (id, type) => {
    if (parts.has(id)) return parts.get(id);
    let node;
    if (type === "reasoning") {
      node = el("details", "reasoning");
      node.append(el("summary", "", "reasoning"), el("div", "body"));
      node.open = true;
    } else if (type === "function_call" || type === "plugin_call") node = el("div", "tool call");
    else if (type === "function_call_output" || type === "plugin_call_output") node = el("div", "tool result");
    else if (type === "error") node = el("div", "error");
    else node = el("div", "text");
    answer.append(node);
    parts.set(id, node);
    return node;
  };
  const target = (node) => node.tagName === "DETAILS" ? node.querySelector(".body") : node;
  return {
    event(event) {
      if (event.object === "message" && event.status === "in_progress") part(event.id, event.type);
      if (event.object === "content" && event.delta === true && event.type === "text") {
        const node = parts.get(event.msg_id) ?? part(event.msg_id, "message");
        target(node).textContent += event.text ?? "";
      }
      if (event.object === "message" && event.status === "completed") {
        const node = part(event.id, event.type);
        const data = (event.content ?? []).find((c) => c.type === "data")?.data;
        if (node.classList.contains("call") && data) node.textContent = "→ " + data.name + "(" + (data.arguments ?? "") + ")";
        else if (node.classList.contains("result") && data) node.textContent = "← " + (typeof data.output === "string" ? data.output : JSON.stringify(data.output));
        else {
          const text = (event.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("");
          if (text) target(node).textContent = text;
        }
        if (node.tagName === "DETAILS") node.open = false;
      }
      if (event.object === "response") {
        status.textContent = event.status === "in_progress" || event.status === "created" ? "…" : event.status;
        status.className = "status " + event.status;
        if (event.status === "failed") answer.append(el("div", "error", (event.error && event.error.message) || "The agent failed"));
      }
      scroll();
    },
    fail(message) {
      status.textContent = "error";
      status.className = "status failed";
      answer.append(el("div", "error", message));
      scroll();
    },
    get status() { return status.textContent; }
  };
}

/** Reads an SSE body: each event's data as JSON, and its id (the sequence number). */
async function readEvents(reply, onEvent) {
  const reader = reply.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((row) => row.startsWith("data:")).map((row) => row.slice(5).trimStart()).join("\n");
      if (data) onEvent(JSON.parse(data));
    }
  }
}

async function refusal(reply) {
  const text = await reply.text();
  try { return JSON.parse(text).error.message ?? text } catch { return text || reply.statusText }
}

/** Follows a run to its end: its events after sequence number after, saving where it got to. */
async function follow(reply, view, record) {
  await readEvents(reply, (event) => {
    view.event(event);
    if (event.object === "response" && event.id) record.id = event.id;
    if (typeof event.sequence_number === "number") record.seq = event.sequence_number;
    if (event.object === "response" && ["completed", "failed", "canceled"].includes(event.status)) record.ended = event.status;
    saveTurn(record);
  });
}

function saveTurn(record) {
  const turns = store.get("turns:" + session, []);
  const at = turns.findIndex((turn) => turn.key === record.key);
  if (at >= 0) turns[at] = record; else turns.push(record);
  store.set("turns:" + session, turns.slice(-50));
}

async function send(text) {
  const view = turnView(text);
  const record = { key: crypto.randomUUID(), text, events: [], id: null, seq: -1, ended: null };
  // what a reload redraws: every event but the deltas (a completed message carries its whole text)
  const recordEvents = (event) => { if (event.object !== "content") record.events.push(event) };
  const wrapped = { event: (event) => { recordEvents(event); view.event(event) }, fail: view.fail };
  setRunning(record);
  try {
    const reply = await fetch(config.process, {
      method: "POST",
      headers: headers(),
      body: JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text }] }], session_id: session, on_disconnect: config.resume ? "continue" : "cancel" })
    });
    if (!reply.ok) return wrapped.fail(reply.status + ": " + await refusal(reply));
    await follow(reply, wrapped, record);
  } catch (error) {
    if (config.resume && record.id && !record.ended) return resume(record, wrapped);
    wrapped.fail(String(error && error.message || error));
  } finally {
    if (running === record) setRunning(null);
  }
}

/** Joins a run that the page lost (a reload, a dropped connection) from the last event it saw. */
async function resume(record, view) {
  setRunning(record);
  try {
    const reply = await fetch(config.process + "/" + encodeURIComponent(record.id) + "/events", { headers: headers({ "last-event-id": String(record.seq) }) });
    if (!reply.ok) return view.fail(reply.status + ": " + await refusal(reply));
    await follow(reply, view, record);
  } catch (error) {
    view.fail(String(error && error.message || error));
  } finally {
    if (running === record) setRunning(null);
  }
}

function setRunning(record) {
  running = record;
  $("stop").disabled = record === null;
  $("send").disabled = record !== null;
}

async function stop() {
  const reply = await fetch(config.stop, { method: "POST", headers: headers(), body: JSON.stringify({ session_id: session }) });
  if (!reply.ok && reply.status !== 404) $("notice").textContent = "stop: " + reply.status + " " + await refusal(reply);
}

function showSession() {
  $("session").textContent = session;
  $("log").replaceChildren();
  for (const record of store.get("turns:" + session, [])) {
    const view = turnView(record.text);
    for (const event of record.events) view.event(event);
    if (!record.ended && record.id && config.resume) {
      const wrapped = { event: (event) => { if (event.object !== "content") record.events.push(event); view.event(event) }, fail: view.fail };
      resume(record, wrapped);
    }
  }
}

$("token").value = store.get("token", "");
$("token").hidden = !config.auth;
$("token-label").hidden = !config.auth;
$("form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("input").value.trim();
  if (!text || running) return;
  $("input").value = "";
  send(text);
});
$("stop").addEventListener("click", stop);
$("new").addEventListener("click", () => { session = newSession(); showSession() });
setRunning(null);
showSession();
`
