// Builds an airssys contract component from a JavaScript ES module with
// componentize-js, through its API (the `jco componentize` CLI of jco 1.35.0
// fails out of the box with "failed to get path metadata").
//
//   node componentize.mjs --wit WIT_PATH --world WORLD --out OUT.wasm SOURCE.js
//
// Every WASI feature of the engine is disabled (stdio, random, clocks, http,
// fetch-event), so the component imports only what the world imports:
// `airssys:component/host` for the contract's `plugin` world. Without stdio
// an uncaught JavaScript exception traps without a message, so a component
// reports its failures as contract errors (throw a plain
// `{ kind, message, retryable }` object, which becomes the `err` of a result).
import { componentize } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

const usage = 'usage: node componentize.mjs --wit WIT_PATH --world WORLD --out OUT.wasm SOURCE.js';
let parsed;
try {
  parsed = parseArgs({
    options: { wit: { type: 'string' }, world: { type: 'string' }, out: { type: 'string' } },
    allowPositionals: true,
  });
} catch (err) {
  console.error(`componentize: ${err.message}\n${usage}`);
  process.exit(2);
}
const { values, positionals } = parsed;
if (!values.wit || !values.world || !values.out || positionals.length !== 1) {
  console.error(`componentize: missing arguments\n${usage}`);
  process.exit(2);
}

const { component, imports } = await componentize({
  sourcePath: positionals[0],
  witPath: values.wit,
  worldName: values.world,
  disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
});
await writeFile(values.out, component);
const used = imports.map(([iface, name]) => `${iface}#${name}`).join(', ') || 'nothing';
console.log(`componentize: ${values.out}: ${component.length} bytes; the source calls ${used}`);
