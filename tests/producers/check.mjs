// Checks a body written by someone else with the AI SDK's own parsers, so the reference platform's
// AI SDK streams are known to be what the SDK's clients accept:
//   node check.mjs ui    < body   UI message stream: parseJsonEventStream + uiMessageChunkSchema (ai)
//   node check.mjs data  < body   v4 data stream: parseDataStreamPart on every line (ai@4)
// Prints {"types": [...part types in order], "errors": [...]} as one JSON line.
import { parseJsonEventStream, uiMessageChunkSchema } from 'ai';
import { parseDataStreamPart } from 'ai4';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const body = Buffer.concat(chunks);
const types = [];
const errors = [];

if (process.argv[2] === 'ui') {
  const stream = new Blob([body]).stream();
  for await (const result of parseJsonEventStream({ stream, schema: uiMessageChunkSchema })) {
    if (result.success) types.push(result.value.type);
    else errors.push(String(result.error?.message ?? result.error).slice(0, 300));
  }
} else if (process.argv[2] === 'data') {
  for (const line of body.toString('utf8').split('\n').filter((l) => l.length)) {
    try {
      types.push(parseDataStreamPart(line).type);
    } catch (error) {
      errors.push(`${line.slice(0, 60)}: ${String(error.message).slice(0, 200)}`);
    }
  }
} else {
  errors.push(`unknown kind ${process.argv[2]}; use ui or data`);
}
console.log(JSON.stringify({ types, errors }));
