"""The original's stack: FastAPI on uvicorn, one worker, answering /process
with Friday's reply as the same SSE frames agentapp sends (fresh ids,
timestamps and sequence numbers per request; one json.dumps per event), the
way AgentScope Runtime's AgentApp streams (a StreamingResponse of an async
generator). Needs Debian's python3-fastapi and python3-uvicorn.

  POST /process   Friday's reply
  GET /readiness  200
"""
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


def dumps(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def friday_events(said):
    response_id = f"response_{uuid.uuid4()}"
    session_id = str(uuid.uuid4())
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
    response("created", None)
    response("in_progress", None)
    message("reasoning", "assistant", streamed(
        f'The user said "{said}". I do not know the user\'s name yet. I will count its words with the word_stats tool.'), None)
    message("plugin_call", "assistant", whole({"call_id": call_id, "name": "word_stats",
                                               "arguments": dumps({"text": said})}), None)
    message("plugin_call_output", "tool", whole({"call_id": call_id, "name": "word_stats", "output": stats}), None)
    message("message", "assistant", streamed(
        f"Hello, I am Friday! Your message has {words} words and {len(said)} characters."), usage)
    response("completed", usage)
    return events


@app.get("/readiness")
async def readiness():
    return {"status": "ready"}


@app.post("/process")
async def process(request: Request):
    body = await request.json()
    said = " ".join(part["text"] for part in body["input"][-1]["content"])

    async def frames():
        for event in friday_events(said):
            yield f"id: {event['sequence_number']}\ndata: {dumps(event)}\n\n"

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
