// A tiny AG-UI agent whose every byte is written by the official TypeScript encoder
// (@ag-ui/encoder): a fixed run, echoing the request's thread and run ids, encoded as the
// client's Accept asks (protobuf when it admits application/vnd.ag-ui.event+proto, SSE
// otherwise: EventEncoder decides, as its users' servers do). Started by
// tests/test_official_encoder.py with NODE_PATH pointing at the folder npm installed into;
// prints "listening <port>" once it accepts connections. No logic of ours on the wire.
"use strict";

const http = require("http");
const { EventEncoder } = require("@ag-ui/encoder");

function events(input) {
  const threadId = String(input.threadId);
  const runId = String(input.runId);
  const messageId = `msg-${runId}`;
  const toolCallId = `call-${runId}`;
  return [
    { type: "RUN_STARTED", threadId, runId },
    { type: "STATE_SNAPSHOT", snapshot: input.state ?? {} },
    { type: "TEXT_MESSAGE_START", messageId, role: "assistant" },
    { type: "TEXT_MESSAGE_CONTENT", messageId, delta: "Hello from " },
    { type: "TEXT_MESSAGE_CONTENT", messageId, delta: "the official encoder." },
    { type: "TEXT_MESSAGE_END", messageId },
    { type: "TOOL_CALL_START", toolCallId, toolCallName: "lookup", parentMessageId: messageId },
    { type: "TOOL_CALL_ARGS", toolCallId, delta: '{"query":' },
    { type: "TOOL_CALL_ARGS", toolCallId, delta: '"weather"}' },
    { type: "TOOL_CALL_END", toolCallId },
    { type: "TOOL_CALL_RESULT", messageId: `result-${runId}`, toolCallId, content: "sunny", role: "tool" },
    { type: "RUN_FINISHED", threadId, runId },
  ];
}

function problem(res, status, detail) {
  res.writeHead(status, { "Content-Type": "application/problem+json" });
  res.end(JSON.stringify({ type: "about:blank", title: "Bad Request", status, detail }));
}

const server = http.createServer((req, res) => {
  if (req.method !== "POST") return problem(res, 405, "POST a RunAgentInput");
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    let input;
    try {
      input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch (err) {
      return problem(res, 400, "the body is not JSON");
    }
    if (!input || typeof input !== "object" || Array.isArray(input) || !input.threadId || !input.runId || !Array.isArray(input.messages)) {
      return problem(res, 422, "threadId, runId and messages are required");
    }
    const encoder = new EventEncoder({ accept: req.headers.accept });
    res.writeHead(200, { "Content-Type": encoder.getContentType(), "Cache-Control": "no-cache" });
    for (const event of events(input)) {
      res.write(Buffer.from(encoder.encodeBinary(event)));
    }
    res.end();
  });
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
