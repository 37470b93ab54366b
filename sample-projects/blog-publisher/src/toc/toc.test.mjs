// Unit tests of toc.js, run natively: node --test sample-projects/blog-publisher/src/toc/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outline, parseConfig, slugify, TocError } from './toc.js';

const defaults = parseConfig([]);

test('slugs are lower-case words joined by dashes, Unicode letters kept', () => {
  assert.equal(slugify('Hello, World!'), 'hello-world');
  assert.equal(slugify('Café &amp; tea'), 'café-tea');
  assert.equal(slugify('Deep <em>one</em>'), 'deep-one');
  assert.equal(slugify('&#8220;Quoted&#8221; — text'), 'quoted-text');
  assert.equal(slugify('???'), 'section');
});

test('headings get ids and a nested table of contents', () => {
  const { html, headings } = outline('<h1>A</h1>\n<h2>B</h2>\n<h3>C</h3>\n<h2>D</h2>\n<h1>E</h1>\n', defaults);
  assert.equal(headings, 5);
  assert.equal(
    html,
    '<nav class="toc">\n<ul>\n<li><a href="#a">A</a>\n<ul>\n<li><a href="#b">B</a>\n<ul>\n' +
      '<li><a href="#c">C</a></li>\n</ul>\n</li>\n<li><a href="#d">D</a></li>\n</ul>\n</li>\n' +
      '<li><a href="#e">E</a></li>\n</ul>\n</nav>\n' +
      '<h1 id="a">A</h1>\n<h2 id="b">B</h2>\n<h3 id="c">C</h3>\n<h2 id="d">D</h2>\n<h1 id="e">E</h1>\n',
  );
});

test('repeated headings get numbered slugs and existing ids are kept', () => {
  const { html } = outline('<h2>Intro</h2><h2 id="intro-1">Own</h2><h2>Intro</h2>', defaults);
  assert.match(html, /<h2 id="intro">Intro<\/h2><h2 id="intro-1">Own<\/h2><h2 id="intro-2">Intro<\/h2>$/);
  assert.match(html, /<a href="#intro-1">Own<\/a>/);
});

test('max_level limits the headings that are listed', () => {
  const { html, headings } = outline('<h1>A</h1><h2>B</h2>', parseConfig([['max_level', '1']]));
  assert.equal(headings, 1);
  assert.match(html, /<h2>B<\/h2>$/);
});

test('a page without headings is unchanged', () => {
  assert.deepEqual(outline('<p>hi</p>\n', defaults), { html: '<p>hi</p>\n', headings: 0 });
});

test('an empty page and a bad max_level are refused with their kind', () => {
  assert.throws(() => outline(' \n', defaults), (e) => e instanceof TocError && e.kind === 'invalid-input');
  assert.throws(
    () => parseConfig([['max_level', '0']]),
    (e) => e instanceof TocError && e.kind === 'invalid-config' && e.message.includes('max_level'),
  );
});
