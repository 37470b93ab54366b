// `{{name}}`: an airssys component in JavaScript.
//
// It implements the contract in wit/component.wit (package
// airssys:component@0.1.0, world `plugin`: it exports `guest` and may import
// `host`), built with componentize-js, every WASI feature disabled (see
// build.sh): the code gets data only through `execute` and logs through the
// host's `log`.
//
// What it does: it upper-cases the ASCII letters a-z of its input and keeps
// every other byte as it is ("hello, wörld" becomes "HELLO, WöRLD"), with the
// optional config `prefix` put in front. Any other config key is an
// `invalid-config` error at `init`. The templates of `airssys new` in Rust, C
// and Python behave exactly the same.
//
// Errors: a thrown plain object `{ kind, message, retryable }` becomes the
// `err` of a result; a thrown Error would trap without a message.
import { log } from 'airssys:component/host@0.1.0';

// The `prefix` config as UTF-8 bytes: set by init, null before it and after shutdown.
let prefix = null;

export const guest = {
  init(config) {
    let found = new Uint8Array(0);
    for (const [key, value] of config) {
      if (key !== 'prefix') {
        throw { kind: 'invalid-config', message: `unknown config key \`${key}\`: the only key is \`prefix\``, retryable: false };
      }
      found = new TextEncoder().encode(value);
    }
    prefix = found;
  },

  execute(input) {
    if (prefix === null) {
      throw { kind: 'not-initialized', message: 'execute was called before init', retryable: false };
    }
    const data = new Uint8Array(prefix.length + input.data.length);
    data.set(prefix, 0);
    for (let i = 0; i < input.data.length; i++) {
      const byte = input.data[i];
      data[prefix.length + i] = byte >= 0x61 && byte <= 0x7a ? byte - 0x20 : byte;
    }
    log('debug', 'upper-cased the input', [['bytes', String(input.data.length)]]);
    return { data, metadata: [['content-type', { tag: 'text', val: 'text/plain' }]] };
  },

  shutdown() {
    prefix = null;
  },

  metadata() {
    return {
      name: '{{name}}',
      version: '0.1.0',
      description: 'Upper-cases the ASCII letters of its input',
      accepts: ['text/plain'],
      produces: ['text/plain'],
      stateful: false,
    };
  },

  requiredCapabilities() {
    return [];
  },

  health() {
    return { tag: 'healthy' };
  },
};
