/** Starting decisions for MCP tools: from the server's annotations (hints, not facts) or, without them, from names (marked as guesses). */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Category, Decision, RiskLevel } from '../../index.js';

/** Where a starting decision came from. */
export type ClassificationBasis = 'annotations' | 'name-guess';

/** The starting decision, category and risk of one tool, and why. */
export interface ToolClassification {
  decision: Decision;
  category: Category;
  risk: RiskLevel;
  basis: ClassificationBasis;
  /** The hints (or name words) the decision came from, e.g. `readOnlyHint=true`. */
  hints: string[];
  /** True when the tool reaches outside its server (open world): its results are external data. */
  openWorld: boolean;
  /** One line saying which hint chose the decision. */
  why: string;
}

const READ_WORDS = ['get', 'list', 'read', 'search', 'find', 'query', 'describe', 'show', 'view', 'lookup', 'fetch', 'open', 'stat', 'info', 'count', 'check', 'echo'];
const DELETE_WORDS = ['delete', 'remove', 'rm', 'drop', 'destroy', 'kill', 'purge', 'truncate', 'erase', 'wipe', 'uninstall'];
const OPEN_WORDS = ['http', 'fetch', 'url', 'web', 'browser', 'browse', 'navigate', 'download', 'upload', 'email', 'mail', 'slack', 'send', 'post', 'tweet', 'publish'];

/** Splits `read_text_file`, `getFileInfo` or `get-sum` into lower-case words. */
export function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

/** The category a tool's name suggests (names only choose a category; decisions come from hints when there are any). */
export function categoryOf(name: string, readOnly: boolean, destructive: boolean): Category {
  const w = new Set(words(name));
  const has = (...list: string[]) => list.some((x) => w.has(x));
  if (has('file', 'files', 'directory', 'directories', 'dir', 'folder', 'path', 'tree')) return readOnly ? 'file_read' : destructive && has(...DELETE_WORDS) ? 'file_delete' : 'file_write';
  if (has('sql', 'query', 'table', 'database', 'db', 'row', 'rows', 'collection', 'entities', 'entity', 'relations', 'observations', 'graph', 'nodes')) return readOnly ? 'database_read' : 'database_write';
  if (has('email', 'mail', 'message', 'slack', 'notify', 'notification', 'sms', 'chat')) return 'communication';
  if (has('http', 'fetch', 'url', 'web', 'browser', 'navigate', 'download', 'request', 'api')) return 'network';
  if (has('shell', 'exec', 'execute', 'command', 'terminal', 'process', 'run', 'script', 'eval')) return 'system';
  return 'custom';
}

/**
 * Classifies a tool. With annotations, the MCP defaults fill absent hints (not read-only,
 * destructive, open world): read-only tools are allowed, writes escalated, destructive tools
 * escalated, destructive open-world tools denied. Without annotations the name is guessed from.
 */
export function classifyTool(tool: Pick<Tool, 'name' | 'annotations'>): ToolClassification {
  const a = tool.annotations;
  if (!a || (a.readOnlyHint === undefined && a.destructiveHint === undefined && a.openWorldHint === undefined && a.idempotentHint === undefined)) {
    return classifyByName(tool.name);
  }
  const readOnly = a.readOnlyHint === true;
  const destructive = !readOnly && a.destructiveHint !== false;
  const openWorld = a.openWorldHint !== false;
  const hint = (k: string, v: boolean | undefined, dflt: boolean) => (v === undefined ? `${k}=${dflt} (MCP default)` : `${k}=${v}`);
  const category = categoryOf(tool.name, readOnly, destructive);
  const ow = hint('openWorldHint', a.openWorldHint, true);
  if (readOnly) {
    return {
      decision: 'allow', category, risk: openWorld ? 'moderate' : 'low', basis: 'annotations', openWorld,
      hints: ['readOnlyHint=true', ow],
      why: `allowed because the server says readOnlyHint=true${openWorld ? `; flagged open-world (${ow}): its results are external data` : ''}`,
    };
  }
  const ro = hint('readOnlyHint', a.readOnlyHint, false);
  const de = hint('destructiveHint', a.destructiveHint, true);
  if (!destructive) {
    return {
      decision: 'escalate', category, risk: openWorld ? 'high' : 'moderate', basis: 'annotations', openWorld,
      hints: [ro, de, ow],
      why: `escalated because the server says it writes (${ro}) without destroying (${de})${openWorld ? `; flagged open-world (${ow})` : ''}`,
    };
  }
  if (openWorld) {
    return {
      decision: 'deny', category, risk: 'critical', basis: 'annotations', openWorld, hints: [ro, de, ow],
      why: `denied because the server says it is destructive (${de}) and open-world (${ow})`,
    };
  }
  return {
    decision: 'escalate', category, risk: 'high', basis: 'annotations', openWorld, hints: [ro, de, ow],
    why: `escalated because the server says it is destructive (${de}) in a closed world (${ow})`,
  };
}

/** A guess from the tool's name alone, marked as such. */
export function classifyByName(name: string): ToolClassification {
  const w = words(name);
  const first = w[0] ?? '';
  const deleting = w.some((x) => DELETE_WORDS.includes(x));
  const reading = !deleting && READ_WORDS.includes(first);
  const openWorld = w.some((x) => OPEN_WORDS.includes(x));
  const category = categoryOf(name, reading, deleting);
  if (reading) {
    return {
      decision: 'allow', category, risk: openWorld ? 'moderate' : 'low', basis: 'name-guess', openWorld, hints: [`name starts with '${first}'`],
      why: `allowed on a guess from the name ('${first}' reads); the server gave no annotations`,
    };
  }
  if (deleting) {
    return {
      decision: 'escalate', category, risk: 'high', basis: 'name-guess', openWorld, hints: [`name has '${w.find((x) => DELETE_WORDS.includes(x)) ?? ''}'`],
      why: 'escalated on a guess from the name (it deletes); the server gave no annotations',
    };
  }
  return {
    decision: 'escalate', category, risk: openWorld ? 'high' : 'moderate', basis: 'name-guess', openWorld, hints: ['name does not say it only reads'],
    why: 'escalated on a guess from the name (it may write); the server gave no annotations',
  };
}

/** What a server's name suggests, when it is not connected to (a guess, marked as such). */
export function guessServer(name: string, command: string): { category: Category; risk: RiskLevel; why: string } {
  const text = `${name} ${command}`;
  const w = new Set(words(text));
  const has = (...list: string[]) => list.some((x) => w.has(x));
  if (has('filesystem', 'fs', 'files', 'file')) return { category: 'file_write', risk: 'moderate', why: 'the name suggests file access' };
  if (has('postgres', 'postgresql', 'sqlite', 'mysql', 'database', 'db', 'sql', 'memory', 'redis', 'mongo', 'mongodb')) return { category: 'database_write', risk: 'moderate', why: 'the name suggests a data store' };
  if (has('shell', 'terminal', 'exec', 'command', 'docker', 'kubernetes', 'kubectl')) return { category: 'system', risk: 'critical', why: 'the name suggests command execution' };
  if (has('slack', 'email', 'gmail', 'mail', 'discord', 'teams')) return { category: 'communication', risk: 'high', why: 'the name suggests messaging' };
  if (has('fetch', 'browser', 'puppeteer', 'playwright', 'http', 'web', 'github', 'gitlab', 'search')) return { category: 'network', risk: 'high', why: 'the name suggests network access' };
  return { category: 'custom', risk: 'high', why: 'the name says nothing about what it does' };
}
