// The integrations' public contract: one subpath export each, frameworks as optional peers, imported only under src/integrations/<framework>/.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  exports: Record<string, { types: string; default: string }>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  devDependencies: Record<string, string>;
};

const FRAMEWORKS: Record<string, string[]> = {
  'ai-sdk': ['ai'],
  'openai-agents': ['@openai/agents'],
  langchain: ['langchain', '@langchain/core', '@langchain/langgraph'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('integration packaging', () => {
  it.each(Object.entries(FRAMEWORKS))('ape-policy-engine/%s is a subpath export of its src folder, its framework an optional peer and a devDependency', async (name, deps) => {
    expect(pkg.exports[`./${name}`]).toEqual({ types: `./dist/integrations/${name}/index.d.ts`, default: `./dist/integrations/${name}/index.js` });
    expect(existsSync(join(repo, 'src', 'integrations', name, 'index.ts'))).toBe(true);
    for (const dep of deps) {
      expect(pkg.peerDependencies[dep]).toBeDefined();
      expect(pkg.peerDependenciesMeta[dep]?.optional).toBe(true);
      expect(pkg.devDependencies[dep]).toBeDefined();
    }
  });

  it('frameworks are imported only by their own integration folder', () => {
    const offenders: string[] = [];
    for (const file of files(join(repo, 'src'))) {
      const rel = relative(join(repo, 'src'), file);
      const text = readFileSync(file, 'utf8');
      for (const [name, deps] of Object.entries(FRAMEWORKS)) {
        for (const dep of deps) {
          if (new RegExp(`from '${dep.replace('/', '\\/')}(/[^']*)?'`).test(text) && !rel.startsWith(join('integrations', name))) offenders.push(`${rel} imports ${dep}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
