// Real Vercel AI SDK stream producers, so the suite's decoder is checked against the wire format the
// SDK itself writes rather than against our own idea of it. Each path runs `streamText` on the SDK's
// mock model, whose stream is `simulateReadableStream` with a known schedule (first chunk after
// INITIAL_MS, then one every CHUNK_MS), and answers with the SDK's own Response:
//
//   /ui/api/chat    ai (current major)  toUIMessageStreamResponse()   SSE UI message stream
//   /text/api/chat  ai (current major)  toTextStreamResponse()        text/plain, chunked
//   /data/api/chat  ai@4 (alias ai4)    toDataStreamResponse()        v4 data stream protocol
//   /<kind>-cut/api/chat                the same, but the socket is destroyed after CUT_AFTER body
//                                       chunks, so the chunked body is never terminated
//   /schedule       the planned schedule as JSON (the tests read their expectations from here)
//   /timings        what the server really did per path, measured where it writes: medians of the
//                   first token's write (from the request's arrival) and of the gaps between token
//                   writes; POST /timings/reset forgets them
//
// Usage: node server.mjs [port]; port 0 (the default) picks a free one. The first stdout line is
// `listening on http://127.0.0.1:PORT`.
import http from 'node:http';
import { simulateReadableStream as simulate, streamText } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { streamText as streamText4, simulateReadableStream as simulate4 } from 'ai4';
import { MockLanguageModelV1 } from 'ai4/test';

const INITIAL_MS = 200;
const CHUNK_MS = 20;
const TOKENS = 30;
const CUT_AFTER = 5;
const words = Array.from({ length: TOKENS }, (_, i) => `word${i} `);

// Current major: text-start is the first model chunk and each text-delta follows CHUNK_MS later,
// so the first token is due at INITIAL_MS + CHUNK_MS.
function currentModel() {
  const usage = {
    inputTokens: { total: 3, noCache: 3, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: TOKENS, text: TOKENS, reasoning: undefined },
  };
  const chunks = [
    { type: 'text-start', id: 't0' },
    ...words.map((delta) => ({ type: 'text-delta', id: 't0', delta })),
    { type: 'text-end', id: 't0' },
    { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage },
  ];
  return new MockLanguageModelV4({
    doStream: async () => ({
      stream: simulate({ chunks, initialDelayInMs: INITIAL_MS, chunkDelayInMs: CHUNK_MS }),
    }),
  });
}

// ai@4: the first model chunk is already a text delta, due at INITIAL_MS.
function v4Model() {
  const chunks = [
    ...words.map((textDelta) => ({ type: 'text-delta', textDelta })),
    { type: 'finish', finishReason: 'stop', usage: { promptTokens: 3, completionTokens: TOKENS } },
  ];
  return new MockLanguageModelV1({
    doStream: async () => ({
      stream: simulate4({ chunks, initialDelayInMs: INITIAL_MS, chunkDelayInMs: CHUNK_MS }),
      rawCall: { rawPrompt: null, rawSettings: {} },
    }),
  });
}

const prompt = 'hello';
const producers = {
  ui: () =>
    streamText({ model: currentModel(), prompt }).toUIMessageStreamResponse({
      // the finish part carries the usage, as an app that reports tokens does
      messageMetadata: ({ part }) => (part.type === 'finish' ? { usage: part.totalUsage } : undefined),
    }),
  text: () => streamText({ model: currentModel(), prompt }).toTextStreamResponse(),
  data: () => streamText4({ model: v4Model(), prompt }).toDataStreamResponse(),
};

const schedule = {
  ui: { first_token_ms: INITIAL_MS + CHUNK_MS, gap_ms: CHUNK_MS, tokens: TOKENS },
  text: { first_token_ms: INITIAL_MS + CHUNK_MS, gap_ms: CHUNK_MS, tokens: TOKENS },
  data: { first_token_ms: INITIAL_MS, gap_ms: CHUNK_MS, tokens: TOKENS },
  cut_after_chunks: CUT_AFTER,
};

// Which written chunks carry a token, per path (the SDK also writes start and finish parts).
const decoder = new TextDecoder();
const carriesToken = {
  ui: (text) => text.includes('"type":"text-delta"'),
  text: (text) => text.length > 0,
  data: (text) => text.startsWith('0:'),
};
let timings = {};

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : null;
}

function summary() {
  return Object.fromEntries(
    Object.entries(timings).map(([path, t]) => [
      path,
      { requests: t.first.length, first_token_ms: median(t.first), gap_ms: median(t.gaps) },
    ]),
  );
}

// Write the SDK's Response to the socket chunk by chunk, as it produces them, timing token writes.
async function send(response, res, kind, cut, arrived) {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.flushHeaders();
  const timing = (timings[kind + (cut ? '-cut' : '')] ??= { first: [], gaps: [] });
  let written = 0;
  let last = null;
  for await (const chunk of response.body) {
    res.write(chunk);
    if (carriesToken[kind](decoder.decode(chunk))) {
      const now = performance.now();
      if (last === null) timing.first.push(now - arrived);
      else timing.gaps.push(now - last);
      last = now;
    }
    written += 1;
    if (cut && written >= CUT_AFTER) {
      res.socket.destroy();
      return;
    }
  }
  res.end();
}

const server = http.createServer({ noDelay: true }, (req, res) => {
  const arrived = performance.now();
  const match = /^\/(ui|text|data)(-cut)?\/api\/chat$/.exec(req.url);
  if (req.url === '/schedule') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(schedule));
    return;
  }
  if (req.url === '/timings' || req.url === '/timings/reset') {
    if (req.method === 'POST') timings = {};
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(summary()));
    return;
  }
  if (!match || req.method !== 'POST') {
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: `no producer at ${req.method} ${req.url}` }));
    return;
  }
  req.resume(); // the request body does not matter: the mock model ignores the prompt
  req.on('end', () => {
    send(producers[match[1]](), res, match[1], Boolean(match[2]), arrived).catch((error) => {
      console.error(error);
      res.destroy();
    });
  });
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
