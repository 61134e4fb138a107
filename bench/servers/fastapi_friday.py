"""The original's stack: FastAPI on uvicorn, one worker, answering /process
with Friday's reply as the same SSE frames agentapp sends (fresh ids,
timestamps and sequence numbers per request; one json.dumps per event), the
way AgentScope Runtime's AgentApp streams (a StreamingResponse of an async
generator). A request that names a session keeps its history in memory as
the original's in-memory session service does (the last 200 messages), and
Friday remembers the name the user gave in it. FRIDAY_DELAY_MS paces the
reply as Friday's. Needs Debian's python3-fastapi and python3-uvicorn.

  POST /process   Friday's reply
  GET /readiness  200
"""
import asyncio
import itertools
import json
import os
import re
import signal
import socket
import time
import uuid

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

app = FastAPI()
MAX_HISTORY = 200
histories = {}
delay = float(os.environ.get("FRIDAY_DELAY_MS", "0")) / 1000
NAME = re.compile(r"\b(?:my name is|i am|i'm|call me)\s+([A-Z][\w-]*)", re.IGNORECASE)
EVENT_FIELDS = ("sequence_number", "object", "status", "error", "index", "delta", "msg_id")


def text_of(message):
    return " ".join(part["text"] for part in message.get("content") or [] if part.get("type") == "text")


def name_in(text):
    found = NAME.search(text)
    return found.group(1) if found else None


def remembered_name(history):
    names = [name_in(text_of(message)) for message in history if message.get("role") == "user"]
    names = [name for name in names if name is not None]
    return names[-1] if names else None


def dumps(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def friday_events(body):
    turn_input = body["input"]
    said = text_of(turn_input[-1])
    named = body.get("session_id")
    session_id = named or str(uuid.uuid4())
    history = histories.get(named, []) if named else []
    response_id = f"response_{uuid.uuid4()}"
    created_at = int(time.time())
    events = []
    output = []
    sequence = itertools.count()
    next_seq = sequence.__next__

    def response(status, usage):
        terminal = status == "completed"
        events.append({"sequence_number": next_seq(), "object": "response", "status": status, "error": None,
                       "id": response_id, "created_at": created_at,
                       "completed_at": int(time.time()) if terminal else None,
                       "output": output if terminal else [], "usage": usage, "session_id": session_id})

    def message(type_, role, parts, usage):
        id_ = f"msg_{uuid.uuid4()}"
        events.append({"sequence_number": next_seq(), "object": "message", "status": "in_progress", "error": None,
                       "id": id_, "type": type_, "role": role, "content": None, "code": None, "message": None,
                       "usage": None, "metadata": None})
        content = parts(id_)
        done = {"sequence_number": next_seq(), "object": "message", "status": "completed", "error": None, "id": id_,
                "type": type_, "role": role, "content": content, "code": None, "message": None, "usage": usage,
                "metadata": None}
        events.append(done)
        output.append(done)

    def streamed(text):
        def parts(id_):
            for word in re.findall(r"\s*\S+", text):
                events.append({"sequence_number": next_seq(), "object": "content", "status": "in_progress",
                               "error": None, "type": "text", "index": 0, "delta": True, "msg_id": id_, "text": word})
            part = {"sequence_number": next_seq(), "object": "content", "status": "completed", "error": None,
                    "type": "text", "index": 0, "delta": False, "msg_id": id_, "text": text}
            events.append(part)
            return [part]
        return parts

    def whole(data):
        def parts(id_):
            part = {"sequence_number": next_seq(), "object": "content", "status": "completed", "error": None,
                    "index": 0, "delta": False, "msg_id": id_, "type": "data", "data": data}
            events.append(part)
            return [part]
        return parts

    words = len([word for word in re.split(r"\s+", said) if word])
    stats = dumps({"words": words, "characters": len(said)})
    call_id = f"call_{str(uuid.uuid4())[:8]}"
    usage = {"input_tokens": words, "output_tokens": 16}
    new_name = name_in(said)
    known_name = remembered_name(history)
    if new_name is not None:
        memory, greeting = f"The user's name is {new_name}.", f"Nice to meet you, {new_name}!"
    elif known_name is not None:
        memory = f"I remember from earlier that the user's name is {known_name}."
        greeting = f"Your name is {known_name}, I remember you."
    else:
        memory, greeting = "I do not know the user's name yet.", "Hello, I am Friday!"
    response("created", None)
    response("in_progress", None)
    message("reasoning", "assistant", streamed(
        f'The user said "{said}". {memory} I will count its words with the word_stats tool.'), None)
    message("plugin_call", "assistant", whole({"call_id": call_id, "name": "word_stats",
                                               "arguments": dumps({"text": said})}), None)
    message("plugin_call_output", "tool", whole({"call_id": call_id, "name": "word_stats", "output": stats}), None)
    message("message", "assistant", streamed(
        f"{greeting} Your message has {words} words and {len(said)} characters."), usage)
    response("completed", usage)
    if named:
        kept = history + turn_input + [history_message(done) for done in output]
        histories[named] = kept[-MAX_HISTORY:]
    return events


def history_message(done):
    message = {"id": done["id"], "type": done["type"], "role": done["role"],
               "content": [{key: value for key, value in part.items() if key not in EVENT_FIELDS}
                           for part in done["content"]]}
    if done["usage"] is not None:
        message["usage"] = done["usage"]
    return message


@app.get("/readiness")
async def readiness():
    return {"status": "ready"}


@app.post("/process")
async def process(request: Request):
    events = friday_events(await request.json())

    async def frames():
        for event in events:
            yield f"id: {event['sequence_number']}\ndata: {dumps(event)}\n\n"
            if delay and (event.get("delta") is True or event.get("type") == "data"):
                await asyncio.sleep(delay)

    return StreamingResponse(frames(), media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})


if __name__ == "__main__":
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", int(os.environ.get("PORT", "0"))))
    sock.listen(2048)  # connections wait in the backlog until uvicorn accepts
    print(f"Listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    server.run(sockets=[sock])
