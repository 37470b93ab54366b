// The logic of the `toc` component: heading anchors and a table of contents
// for an HTML page. Plain JavaScript with no airssys imports, so it also runs
// under Node for its unit tests (`node --test`, see toc.test.mjs).
//
// Every <h1>..<hN> (N = maxLevel) gets an `id` (kept when it already has
// one) and the page is preceded by a nested list of links to them:
//
//   <h1>Hello</h1><h2>Café &amp; tea</h2>
//   ->
//   <nav class="toc">
//   <ul>
//   <li><a href="#hello">Hello</a>
//   <ul>
//   <li><a href="#café-tea">Café &amp; tea</a></li>
//   </ul>
//   </li>
//   </ul>
//   </nav>
//   <h1 id="hello">Hello</h1><h2 id="café-tea">Café &amp; tea</h2>
//
// Slugs: the heading's text (tags removed, character references decoded),
// lower-cased; ASCII characters other than letters, digits, `-` and `_` and
// the Latin-1 and General Punctuation symbols are dropped; runs of
// whitespace and `-` become one `-`; `-` at either end is trimmed. An empty
// slug is `section`. A slug already used on the page gets `-1`, `-2`, ...
// (the first free one). A page with no heading up to maxLevel is returned
// unchanged, without a nav.

export const DEFAULT_MAX_LEVEL = 3;

/** A failure with its contract error kind (`invalid-input`, `invalid-config`). */
export class TocError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

/** Reads config pairs: `max_level` is a whole number 1..=6 (default 3). */
export function parseConfig(pairs) {
  const settings = { maxLevel: DEFAULT_MAX_LEVEL };
  for (const [key, value] of pairs) {
    if (key === 'max_level') {
      if (!/^[1-6]$/.test(value.trim())) {
        throw new TocError('invalid-config', `max_level must be a whole number from 1 to 6, got "${value}"`);
      }
      settings.maxLevel = Number(value.trim());
    }
  }
  return settings;
}

const NAMED = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeReferences(text) {
  return text.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);/g, (whole, ref) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
    }
    return NAMED[ref] ?? whole;
  });
}

function isDropped(ch) {
  const code = ch.codePointAt(0);
  if (code < 0x80) return !/[a-z0-9_\s-]/.test(ch);
  return (code >= 0xa1 && code <= 0xbf) || code === 0xd7 || code === 0xf7 || (code >= 0x2000 && code <= 0x206f);
}

/** The slug of a heading's inner HTML (see the file comment). */
export function slugify(innerHtml) {
  const text = decodeReferences(innerHtml.replace(/<[^>]*>/g, '')).toLowerCase();
  let slug = '';
  for (const ch of text) {
    if (!isDropped(ch)) slug += ch;
  }
  slug = slug.replace(/[\s-]+/g, '-').replace(/^-+|-+$/g, '');
  return slug === '' ? 'section' : slug;
}

const HEADING = /<h([1-6])(\s[^>]*)?>([\s\S]*?)<\/h\1\s*>/gi;
const ID_ATTR = /\sid\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/i;

function renderToc(entries) {
  let html = '<nav class="toc">\n<ul>\n';
  const depth = [entries[0].level];
  entries.forEach((entry, i) => {
    if (i > 0) {
      if (entry.level > depth[depth.length - 1]) {
        html += '\n<ul>\n';
        depth.push(entry.level);
      } else {
        html += '</li>\n';
        while (depth.length > 1 && entry.level <= depth[depth.length - 2]) {
          html += '</ul>\n</li>\n';
          depth.pop();
        }
      }
    }
    html += `<li><a href="#${entry.id}">${entry.text}</a>`;
  });
  html += '</li>\n';
  while (depth.length > 1) {
    html += '</ul>\n</li>\n';
    depth.pop();
  }
  return html + '</ul>\n</nav>\n';
}

/**
 * Adds anchors and a table of contents to `page` (a string of HTML).
 * Returns `{ html, headings }`, `headings` being the number of entries.
 * Throws `TocError('invalid-input', ...)` for an empty page.
 */
export function outline(page, settings) {
  if (page.trim() === '') {
    throw new TocError('invalid-input', 'the page is empty: there is no HTML to outline');
  }
  const used = new Set();
  for (const match of page.matchAll(HEADING)) {
    const id = ID_ATTR.exec(match[2] ?? '');
    if (id) used.add(id[1] ?? id[2] ?? id[3]);
  }
  const entries = [];
  const html = page.replace(HEADING, (whole, level, attrs = '', inner) => {
    if (Number(level) > settings.maxLevel) return whole;
    const existing = ID_ATTR.exec(attrs);
    let id;
    if (existing) {
      id = existing[1] ?? existing[2] ?? existing[3];
    } else {
      const base = slugify(inner);
      id = base;
      for (let n = 1; used.has(id); n++) id = `${base}-${n}`;
      used.add(id);
    }
    entries.push({ level: Number(level), id, text: inner.replace(/<[^>]*>/g, '').trim() });
    if (existing) return whole;
    const open = whole.slice(0, 3); // `<hN`, in the page's own case
    return `${open} id="${id}"${whole.slice(3)}`;
  });
  if (entries.length === 0) return { html: page, headings: 0 };
  return { html: renderToc(entries) + html, headings: entries.length };
}
