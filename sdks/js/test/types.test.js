'use strict';

// Type-checks the shipped .d.ts/.d.mts with the TypeScript compiler: ESM and CommonJS use,
// the quick start's JavaScript (checkJs), and mistakes that must not compile. TypeScript is a
// dev dependency (npm install in sdks/js); without it the test skips.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const QUICKSTART = path.join(ROOT, '..', '..', 'templates', 'docs', 'quickstart', 'quickstart.js');

let ts = null;
try {
  ts = require('typescript');
} catch {
  ts = null;
}

const BASE_OPTIONS = {
  noEmit: true,
  strict: true,
  target: 'ES2022',
  module: 'Node16',
  moduleResolution: 'Node16',
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.asynciterable.d.ts'],
  types: [],
  allowJs: true,
  checkJs: true,
};

function typeErrors(files, extra, cache) {
  const options = ts.convertCompilerOptionsFromJson({ ...BASE_OPTIONS, ...extra }, ROOT).options;
  options.lib = BASE_OPTIONS.lib;
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile;
  host.getSourceFile = (name, ...rest) => {
    if (!cache.has(name)) cache.set(name, read.call(host, name, ...rest));
    return cache.get(name);
  };
  const program = ts.createProgram(files, options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${path.relative(ROOT, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

const skip = ts ? false : 'typescript is not installed: run `npm install` in sdks/js';
const cache = new Map();

test('the shipped types compile for ESM and CommonJS users, and catch mistakes', { skip }, () => {
  // '@petstore/sdk' resolves through package.json "exports": index.d.mts and index.d.ts.
  const files = ['usage.mts', 'usage.cts', 'mistakes.mts'].map((f) => path.join(ROOT, 'types-test', f));
  assert.deepEqual(typeErrors(files, {}, cache), []);
});

test('the JavaScript of the quick start page type-checks against them', { skip }, () => {
  const files = [QUICKSTART, path.join(ROOT, 'types-test', 'env.d.ts')];
  const paths = { baseUrl: ROOT, paths: { '@petstore/sdk': ['./index.d.ts'] } };
  assert.deepEqual(typeErrors(files, paths, cache), []);
});
