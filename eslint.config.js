// ESLint flat config: typescript-eslint recommended rules on src, test and bench, and the layer rules on src.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import ape from './eslint/layers.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
    },
  },
  // The layer rules of STYLE.md (eslint/layers.js): compiler < adapters < evaluator < runtime < verify
  // < agent < mcp < integrations < distribution < cli, imports pointing down only, through public barrels.
  { files: ['src/**/*.ts'], plugins: { ape }, rules: { 'ape/layers': 'error' } },
);
