// The layer rules of STYLE.md as a lint rule: imports point down the layer list only; the runtime
// reaches adapters through their public barrels; the agent, MCP, integration and distribution
// layers import the layers below only through public barrels (the package's subpath exports).
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = resolve(ROOT, 'src');

/** The layers of src/, lowest first (STYLE.md, "The layers, and which way imports go"). */
export const LAYERS = ['compiler', 'adapters', 'evaluator', 'runtime', 'verify', 'agent', 'mcp', 'integrations', 'distribution', 'cli'];
/** Layers that may import other layers only through public barrels. */
export const BARREL_ONLY = ['agent', 'mcp', 'integrations', 'distribution'];
/** Layers that may import adapters only through public barrels. */
const ADAPTER_BARRELS_ONLY = ['runtime', ...BARREL_ONLY];

/** The public barrels: the source file behind each subpath export of package.json. */
function publicBarrels() {
  const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8'));
  const out = new Set();
  for (const target of Object.values(pkg.exports ?? {})) {
    const file = typeof target === 'string' ? target : target.default ?? target.import;
    if (typeof file === 'string') out.add(file.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts'));
  }
  return out;
}

/** The layer of a file given relative to src/ (`evaluator.ts`, `errors.ts` and `index.ts` sit at the top of src/). */
function layerOf(path) {
  const [first, ...rest] = path.split('/');
  if (rest.length === 0) {
    if (first === 'evaluator.ts') return 'evaluator';
    if (first === 'errors.ts') return 'compiler'; // the error classes every layer shares
    if (first === 'index.ts') return 'evaluator'; // the root barrel: compiler, errors, evaluator, adapters
    return undefined;
  }
  return LAYERS.includes(first) ? first : undefined;
}

/** @type {import('eslint').Rule.RuleModule} */
const importDirection = {
  meta: {
    type: 'problem',
    docs: { description: 'imports follow the layers of STYLE.md' },
    schema: [],
    messages: {
      upward: "layer '{{from}}' may not import layer '{{to}}' ({{source}}): imports point down the layer list only",
      internal: "layer '{{from}}' may import '{{to}}' only through a public barrel (a subpath export), not {{source}}",
    },
  },
  create(context) {
    const file = context.filename;
    const own = relative(SRC, file);
    if (own.startsWith('..')) return {};
    const from = layerOf(own.split('\\').join('/'));
    if (from === undefined) return {};
    const barrels = publicBarrels();
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = relative(SRC, resolve(dirname(file), source)).split('\\').join('/').replace(/\.js$/, '.ts');
      if (target.startsWith('..')) return;
      const to = layerOf(target);
      if (to === undefined || to === from) return;
      if (LAYERS.indexOf(to) > LAYERS.indexOf(from)) {
        context.report({ node, messageId: 'upward', data: { from, to, source } });
        return;
      }
      const barrelOnly = BARREL_ONLY.includes(from) || (to === 'adapters' && ADAPTER_BARRELS_ONLY.includes(from));
      if (barrelOnly && !barrels.has(target)) context.report({ node, messageId: 'internal', data: { from, to, source } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};

/** The local plugin: `ape/layers`. */
export default { rules: { layers: importDirection } };
