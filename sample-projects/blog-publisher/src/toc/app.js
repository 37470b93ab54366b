// The `toc` component: the airssys contract around toc.js.
// Built with componentize-js against wit/component.wit (world `plugin`), all
// WASI features disabled: see sample-projects/build-js.sh.
import { log, emitMetric } from 'airssys:component/host@0.1.0';
import { outline, parseConfig, TocError } from './toc.js';

let settings = null;

// A thrown plain object is the `err` of a `result`; a thrown Error would trap.
function guestError(err) {
  if (err instanceof TocError) return { kind: err.kind, message: err.message, retryable: false };
  return { kind: 'internal', message: String(err), retryable: false };
}

export const guest = {
  init(config) {
    try {
      settings = parseConfig(config);
    } catch (err) {
      throw guestError(err);
    }
  },

  execute(input) {
    if (settings === null) {
      throw { kind: 'not-initialized', message: 'execute was called before init', retryable: false };
    }
    let page;
    try {
      page = new TextDecoder('utf-8', { fatal: true }).decode(input.data);
    } catch {
      throw { kind: 'invalid-input', message: 'the page is not UTF-8', retryable: false };
    }
    let result;
    try {
      result = outline(page, settings);
    } catch (err) {
      throw guestError(err);
    }
    log('debug', `toc: ${result.headings} heading(s)`, [['request_id', input.context.requestId]]);
    emitMetric('toc_headings', result.headings, []);
    return {
      data: new TextEncoder().encode(result.html),
      metadata: [
        ['content-type', { tag: 'text', val: 'text/html' }],
        ['headings', { tag: 's64', val: BigInt(result.headings) }],
      ],
    };
  },

  shutdown() {
    settings = null;
  },

  metadata() {
    return {
      name: 'toc',
      version: '1.0.0',
      description: 'Heading anchors and a table of contents for an HTML page (JavaScript)',
      accepts: ['text/html'],
      produces: ['text/html'],
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
