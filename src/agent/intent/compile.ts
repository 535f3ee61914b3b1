/** The deterministic intent compiler: prompt -> clauses -> (verb, objects, negation) -> actions with parameters, narrowed by the policy. */
import { posix } from 'node:path';
import { standardAction, type ActionIR, type JsonObject, type PolicyIR } from '../../compiler/index.js';
import type { IntentInput } from '../../runtime/index.js';
import { AgentConfigError, IntentAmbiguityError, type IntentCandidate } from '../errors.js';
import { extractEntities, type Entity } from './entities.js';
import { CLAUSE_WORDS, IDIOMS, LEAD_WORDS, LEXICON, NEGATIONS, OBJECT_WORDS, POSITIVE_OPENERS, PRONOUNS, VERB_BASE, type ObjectClass } from './lexicon.js';

/** How the policy treats an action whatever its parameters: never allowed, only with approval, or allowed for some calls. */
export type PolicyStance = 'deny' | 'escalate' | 'allow';

/** One action the prompt asks for, with the parameters plain in the prompt. */
export interface ActionRequest {
  action: string;
  /** Parameters taken from the prompt. */
  parameters: JsonObject;
  /** Required parameters the prompt does not give (filled at run time). */
  missing: string[];
  /** The clause of the prompt that asked for it. */
  clause: string;
  /** The policy's stance on the action (`allow` without a policy unless the repository flags human review). */
  stance: PolicyStance;
}

/** The compiled prompt: the intent (never wider than the policy) and the requested calls. */
export interface CompiledIntent {
  prompt: string;
  intent: IntentInput;
  /** Calls the prompt asks for, in prompt order (including ones the policy forbids, for reporting). */
  requests: ActionRequest[];
  /** Actions the prompt itself forbids (negations). */
  negated: string[];
  /** Actions dropped because the policy never allows them. */
  denied: string[];
}

/** Options of the compiler. */
export interface IntentCompilerOptions {
  /** The policy to narrow against; without it the standard repository alone is used. */
  policy?: PolicyIR;
  /** Directory relative paths and bare file names resolve against (default `/workspace`). */
  workspace?: string;
}

const READ_ONLY = new Set(['file_read', 'database_read']);
/** Actions that change nothing (a GET may still leak data, but it is a read for ambiguity purposes). */
const isReadOnly = (action: string, category: string | undefined): boolean => action === 'http_get' || READ_ONLY.has(category ?? '');
const MAX_PROMPT = 10_000;

interface Token {
  kind: 'word' | 'punct' | 'entity';
  text: string;
  entity?: Entity;
}

interface Clause {
  text: string;
  tokens: Token[];
  /** Boundary before the clause. */
  boundary: 'start' | 'hard' | 'soft';
}

interface Reading {
  clause: string;
  verb: string | undefined;
  negated: boolean;
  /** Negated by `without`: the negation does not carry into the next clause. */
  local: boolean;
  objects: Set<ObjectClass>;
  /** Objects named by words (`folder`, `table`), before entities add theirs. */
  named: Set<ObjectClass>;
  entities: Entity[];
  tables: string[];
  words: string[];
}

/** Compiles a prompt into an intent and requested calls. Throws `IntentAmbiguityError` when there is nothing to do or several readings differ in authority. */
export function compileIntent(prompt: string, options: IntentCompilerOptions = {}): CompiledIntent {
  if (typeof prompt !== 'string' || prompt.trim().length === 0) throw new AgentConfigError('a prompt must be a non-empty string');
  if (prompt.length > MAX_PROMPT) throw new AgentConfigError(`a prompt must be at most ${MAX_PROMPT} characters`);
  const workspace = options.workspace ?? '/workspace';
  if (!workspace.startsWith('/')) throw new AgentConfigError('workspace must be an absolute path');
  const actionOf = (id: string): ActionIR | undefined => (options.policy ? (options.policy.actions[id] ?? standardAction(id)) : standardAction(id));

  const readings = readClauses(splitClauses(prompt));
  const positive = new Map<string, Omit<ActionRequest, 'stance'>[]>();
  const negated = new Set<string>();
  const unresolved: IntentCandidate[] = [];
  for (const r of readings) {
    if (!r.verb) continue;
    const matches = matchActions(r);
    if (r.negated) {
      const forbidden = matches.length > 0 ? matches : LEXICON.filter((e) => e.verbs.includes(r.verb as string)).map((e) => e.action);
      for (const a of forbidden) negated.add(a);
      continue;
    }
    if (matches.length === 0) {
      const could = LEXICON.filter((e) => e.verbs.includes(r.verb as string)).map((e) => e.action);
      if (could.some((a) => !isReadOnly(a, actionOf(a)?.category))) unresolved.push({ actions: could, reason: `'${r.clause.trim()}' does not say what to ${r.verb}` });
      continue;
    }
    if (matches.length > 1 && !matches.every((a) => isReadOnly(a, actionOf(a)?.category))) {
      throw new IntentAmbiguityError(prompt, matches.map((a) => ({ actions: [a], reason: `'${r.clause.trim()}' could mean ${a}` })), `'${r.clause.trim()}' can be read as ${matches.join(' or ')}, which differ in authority`);
    }
    for (const action of matches) {
      const list = positive.get(action) ?? [];
      for (const req of requestsFor(action, r, workspace, actionOf)) list.push(req);
      positive.set(action, list);
    }
  }
  for (const action of positive.keys()) {
    if (negated.has(action)) {
      throw new IntentAmbiguityError(prompt, [{ actions: [action], reason: 'asked for' }, { actions: [], reason: `${action} is also forbidden` }], `the prompt both asks for and forbids ${action}`);
    }
  }
  if (unresolved.length > 0) {
    throw new IntentAmbiguityError(prompt, unresolved, `${unresolved[0]?.reason ?? 'unclear'}; name the file, table, address or command`);
  }
  if (positive.size === 0) {
    throw new IntentAmbiguityError(prompt, [], 'the prompt asks for no action APE knows; nothing to do');
  }

  // Narrow by the policy.
  const requests: ActionRequest[] = [];
  const allowed: string[] = [];
  const escalation: string[] = [];
  const denied: string[] = [];
  for (const [action, list] of positive) {
    const stance = options.policy ? policyStance(options.policy, action) : actionOf(action)?.humanReview ? 'escalate' : 'allow';
    if (stance === 'deny') denied.push(action);
    else if (stance === 'escalate') escalation.push(action);
    else allowed.push(action);
    for (const req of list) requests.push({ ...req, stance });
  }
  requests.sort((a, b) => prompt.indexOf(a.clause) - prompt.indexOf(b.clause));
  const forbidden = [...new Set([...negated, ...denied])].filter((a) => !allowed.includes(a) && !escalation.includes(a));
  const intent: IntentInput = { description: prompt.slice(0, 10_000), allowed_actions: allowed, forbidden_actions: forbidden, escalation_actions: escalation };
  const scope = scopeOf(requests);
  if (scope) intent.scope = scope;
  return { prompt, intent, requests, negated: [...negated], denied };
}

/** The policy's stance on an action over every parameter value. */
export function policyStance(ir: PolicyIR, action: string): PolicyStance {
  const rules = ir.rules.filter((r) => r.actions.includes(action));
  if (rules.some((r) => r.decision === 'deny' && r.conditions.length === 0)) return 'deny';
  const canAllow = rules.some((r) => r.decision === 'allow') || ir.defaultDecision === 'allow';
  const canEscalate = rules.some((r) => r.decision === 'escalate') || ir.defaultDecision === 'escalate';
  if (!canAllow && !canEscalate) return 'deny';
  if (!canAllow || ir.riskEscalations.some((e) => e.action === action)) return 'escalate';
  if (rules.some((r) => r.decision === 'escalate' && r.conditions.length === 0)) return 'escalate';
  return 'allow';
}

// ---- clauses ----

function splitClauses(prompt: string): Clause[] {
  const { entities, masked } = extractEntities(prompt);
  const raw: { token: Token; start: number }[] = [];
  const wordRe = /[A-Za-z][A-Za-z'\u2019-]*|[.;!?\n,:]/g;
  for (let m = wordRe.exec(masked); m !== null; m = wordRe.exec(masked)) {
    const text = m[0].replace(/\u2019/g, "'");
    raw.push({ token: { kind: /^[.;!?\n,:]$/.test(text) ? 'punct' : 'word', text: text.toLowerCase() }, start: m.index });
  }
  for (const e of entities) raw.push({ token: { kind: 'entity', text: e.value, entity: e }, start: e.start });
  raw.sort((a, b) => a.start - b.start);
  const clauses: Clause[] = [];
  let current: Clause = { text: '', tokens: [], boundary: 'start' };
  let from = 0;
  const close = (end: number, next: 'hard' | 'soft') => {
    current.text = prompt.slice(from, end);
    if (current.tokens.length > 0) clauses.push(current);
    current = { text: '', tokens: [], boundary: current.tokens.length > 0 || clauses.length === 0 ? next : current.boundary === 'hard' || next === 'hard' ? 'hard' : 'soft' };
    from = end;
  };
  for (const { token, start } of raw) {
    if (token.kind === 'punct') {
      // A ':' introduces what follows; it never ends a clause.
      if (token.text === ':') continue;
      close(start, token.text === ',' ? 'soft' : 'hard');
      continue;
    }
    if (token.kind === 'word' && Object.hasOwn(CLAUSE_WORDS, token.text)) {
      close(start, CLAUSE_WORDS[token.text] as 'hard' | 'soft');
      if (token.text === 'then' || token.text === 'but' || token.text === 'instead') current.tokens.push(token);
      continue;
    }
    current.tokens.push(token);
  }
  close(prompt.length, 'hard');
  return clauses;
}

function readClauses(clauses: Clause[]): Reading[] {
  const readings: Reading[] = [];
  let previous: Reading | undefined;
  for (const clause of clauses) {
    const words = clause.tokens.filter((t) => t.kind === 'word').map((t) => t.text);
    const entities = clause.tokens.filter((t) => t.kind === 'entity').map((t) => t.entity as Entity);
    let negated = false;
    /** `without ...` negates its own clause only. */
    let local = false;
    let verb: string | undefined;
    let verbAt = -1;
    for (let i = 0; i < clause.tokens.length; i++) {
      const t = clause.tokens[i] as Token;
      if (t.kind !== 'word') {
        if (t.kind === 'entity') break;
        continue;
      }
      if (NEGATIONS.has(t.text) || t.text.endsWith("n't")) {
        negated = true;
        local = t.text === 'without';
        continue;
      }
      if (t.text === 'take' && clause.tokens[i + 1]?.text === 'a' && clause.tokens[i + 2]?.text === 'look') {
        i += 1;
        continue;
      }
      const base = VERB_BASE.get(t.text);
      if (base && !isIdiom(clause.tokens, i)) {
        verb = base;
        verbAt = i;
        break;
      }
      if (LEAD_WORDS.has(t.text)) continue;
      break;
    }
    const after = verbAt >= 0 ? clause.tokens.slice(verbAt + 1) : clause.tokens;
    if (verb && after[0]?.text === 'nothing') negated = true;
    const opener = words[0];
    const carries = previous !== undefined && clause.boundary === 'soft' && previous.negated && !previous.local && !(opener !== undefined && POSITIVE_OPENERS.has(opener));
    if (carries && !negated) negated = true;
    const objects = new Set<ObjectClass>();
    for (const t of after) {
      if (t.kind !== 'word') continue;
      const cls = OBJECT_WORDS[t.text];
      if (cls) objects.add(cls);
      if (t.text === 'files') objects.add('files' as ObjectClass);
    }
    let reading: Reading = { clause: clause.text, verb, negated, local: negated && local, objects, named: new Set(objects), entities, tables: tablesIn(clause.text), words };
    const hasPronoun = after.some((t) => t.kind === 'word' && PRONOUNS.has(t.text));
    if (previous && entities.length === 0 && reading.tables.length === 0 && (hasPronoun || (!verb && clause.boundary === 'soft'))) {
      // `... and b.md` continues the previous clause; `delete it` refers back to its objects.
      reading = {
        ...reading,
        verb: verb ?? previous.verb,
        negated: verb ? negated : previous.negated,
        objects: new Set([...previous.objects, ...objects]),
        named: new Set([...previous.named, ...objects]),
        entities: previous.entities,
        tables: previous.tables,
      };
    } else if (previous && !verb && clause.boundary === 'soft' && reading.tables.length === 0 && entities.every((e) => e.kind === 'quoted' || e.kind === 'number')) {
      // `... subject 'Q3' and body 'numbers attached'`: more values for the previous clause's call.
      previous.entities = [...previous.entities, ...entities];
      previous.words = [...previous.words, ...words];
      continue;
    } else if (previous && !verb && clause.boundary === 'soft' && (entities.length > 0 || reading.tables.length > 0)) {
      reading = { ...reading, verb: previous.verb, negated: previous.negated, objects: new Set([...previous.objects, ...objects]), named: new Set([...previous.named, ...objects]) };
    }
    for (const e of reading.entities) for (const c of entityClasses(e, reading)) reading.objects.add(c);
    readings.push(reading);
    previous = reading;
  }
  return readings;
}

function isIdiom(tokens: Token[], at: number): boolean {
  return IDIOMS.some((idiom) => idiom.every((w, k) => tokens[at + k]?.kind === 'word' && tokens[at + k]?.text === w));
}

function tablesIn(text: string): string[] {
  const out: string[] = [];
  const skip = new Set(['the', 'a', 'an', 'this', 'that', 'my', 'our', 'your', 'each', 'every', 'all', 'it', 'them', 'me', 'there', 'here', 'for', 'from', 'with', 'in', 'on', 'of', 'to', 'where', 'and', 'by', 'which', 'called', 'named', 'new', 'whole', 'entire']);
  const patterns = [/\btable\s+[`"']?([A-Za-z_][\w.]*)/gi, /\b([A-Za-z_][\w]*)\s+table\b/gi];
  for (const re of patterns) {
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const name = m[1] as string;
      if (!skip.has(name.toLowerCase()) && !VERB_BASE.has(name.toLowerCase()) && !out.includes(name)) out.push(name);
    }
  }
  return out;
}

function entityClasses(e: Entity, r: Reading): ObjectClass[] {
  switch (e.kind) {
    case 'url':
      return ['web'];
    case 'email':
      return ['email'];
    case 'channel':
      return ['channel'];
    case 'code':
      return r.named.has('db') ? ['db'] : r.named.has('code') ? ['code'] : r.named.has('command') ? ['command'] : /```/.test(r.clause) ? ['code'] : ['command'];
    case 'file':
      return ['file'];
    case 'path': {
      if (e.value.endsWith('/')) return ['dir'];
      const last = e.value.split('/').pop() ?? '';
      if (/\.[A-Za-z0-9]{1,8}$/.test(last)) return ['file'];
      if (r.named.has('dir')) return ['dir'];
      if (r.named.has('file') || r.named.has('files' as ObjectClass)) return ['file'];
      return ['file', 'dir'];
    }
    default:
      return [];
  }
}

function matchActions(r: Reading): string[] {
  const verb = r.verb as string;
  const hard = new Set<string>();
  const soft = new Set<string>();
  for (const entry of LEXICON) {
    if (!entry.verbs.includes(verb) && !entry.implied?.includes(verb)) continue;
    const objects = entry.action === 'list_directory' ? [...entry.objects.filter((o) => o !== 'file'), 'files' as ObjectClass] : entry.objects;
    const hit = objects.filter((o) => r.objects.has(o));
    if (hit.some((o) => !o.endsWith('-soft'))) hard.add(entry.action);
    else if (hit.length > 0) soft.add(entry.action);
    else if (entry.implied?.includes(verb) && r.objects.size === 0) hard.add(entry.action);
  }
  // Hard objects (a path, a file name, `table`) beat vague ones (`the notes`).
  const chosen = hard.size > 0 ? hard : soft;
  // A verb named by an action on its own (`email`, `notify`) wins over the same word read as a noun.
  return [...chosen];
}

// ---- parameters ----

function requestsFor(action: string, r: Reading, workspace: string, actionOf: (id: string) => ActionIR | undefined): Omit<ActionRequest, 'stance'>[] {
  const quoted = r.entities.filter((e) => e.kind === 'quoted').map((e) => e.value);
  const code = r.entities.filter((e) => e.kind === 'code').map((e) => e.value);
  const numbers = r.entities.filter((e) => e.kind === 'number').map((e) => Number(e.value));
  const paths = r.entities.filter((e) => e.kind === 'path' || e.kind === 'file');
  const base: JsonObject[] = [];
  const resolve = (p: string): string => {
    const expanded = p.startsWith('~/') ? p.slice(2) : p;
    return posix.normalize(expanded.startsWith('/') ? expanded : posix.join(workspace, expanded));
  };
  const dirish = action === 'list_directory' || action === 'search_files' || action === 'create_directory' || action === 'delete_directory';
  switch (action) {
    case 'read_file':
    case 'write_file':
    case 'append_file':
    case 'delete_file':
    case 'list_directory':
    case 'search_files':
    case 'create_directory':
    case 'delete_directory': {
      const fitting = paths.filter((e) => entityClasses(e, r).includes(dirish ? 'dir' : 'file') || (action === 'search_files' && e.kind === 'path'));
      const chosen = fitting.length > 0 ? fitting.map((e) => resolve(e.value)) : [];
      if (chosen.length === 0 && (action === 'list_directory' || action === 'search_files') && (r.objects.has('dir-soft') || r.objects.has('files' as ObjectClass))) chosen.push(workspace);
      const extra: JsonObject = {};
      if ((action === 'write_file' || action === 'append_file') && (quoted[0] ?? code[0]) !== undefined) extra['content'] = (quoted[0] ?? code[0]) as string;
      if (action === 'search_files' && (quoted[0] ?? code[0]) !== undefined) extra['pattern'] = (quoted[0] ?? code[0]) as string;
      if (chosen.length === 0) base.push({ ...extra });
      for (const path of chosen) base.push({ path, ...extra });
      break;
    }
    case 'http_get':
    case 'http_post': {
      const urls = r.entities.filter((e) => e.kind === 'url').map((e) => e.value);
      const extra: JsonObject = {};
      if (action === 'http_post' && quoted[0] !== undefined) extra['body'] = quoted[0];
      if (urls.length === 0) base.push(extra);
      for (const url of urls) base.push({ url, ...extra });
      break;
    }
    case 'send_email': {
      const to = r.entities.filter((e) => e.kind === 'email').map((e) => e.value);
      const extra: JsonObject = {};
      const labelled = r.entities.filter((e) => e.kind === 'quoted');
      const subject = labelled.find((e) => e.before === 'subject' || e.before === 'title');
      const body = labelled.find((e) => e !== subject && ['body', 'message', 'text', 'saying', 'content'].includes(e.before ?? ''));
      if (subject) extra['subject'] = subject.value;
      if (body) extra['body'] = body.value;
      const rest = labelled.filter((e) => e !== subject && e !== body).map((e) => e.value);
      if (!subject && !body && rest.length >= 2) {
        extra['subject'] = rest[0] as string;
        extra['body'] = rest[1] as string;
      } else if (!body && rest[0] !== undefined) extra['body'] = rest[0];
      else if (!subject && body && rest[0] !== undefined) extra['subject'] = rest[0];
      if (to.length === 0) base.push(extra);
      for (const address of to) base.push({ to: address, ...extra });
      break;
    }
    case 'send_notification': {
      const channels = r.entities.filter((e) => e.kind === 'channel').map((e) => e.value);
      const extra: JsonObject = quoted[0] !== undefined ? { message: quoted[0] } : {};
      if (channels.length === 0) base.push(extra);
      for (const channel of channels) base.push({ channel, ...extra });
      break;
    }
    case 'query_data':
    case 'insert_data':
    case 'update_data':
    case 'delete_data': {
      const params: JsonObject = {};
      if (action === 'query_data' && (code[0] ?? quoted[0]) !== undefined) params['query'] = (code[0] ?? quoted[0]) as string;
      const limitAt = r.words.findIndex((w) => w === 'limit' || w === 'top' || w === 'first');
      if (action === 'query_data' && limitAt >= 0 && numbers[0] !== undefined && Number.isInteger(numbers[0])) params['limit'] = numbers[0];
      if (r.tables.length === 0) base.push(params);
      for (const table of r.tables) base.push({ ...params, table });
      break;
    }
    case 'execute_code': {
      const language = ['python', 'javascript', 'typescript', 'node', 'ruby', 'bash'].find((l) => r.words.includes(l));
      const params: JsonObject = {};
      if (language) params['language'] = language === 'node' ? 'javascript' : language;
      if (code[0] !== undefined) params['code'] = code[0];
      base.push(params);
      break;
    }
    case 'run_shell_command': {
      if (code.length === 0) base.push({});
      for (const command of code) base.push({ command });
      break;
    }
    default:
      base.push({});
  }
  const required = requiredOf(actionOf(action));
  return base.map((parameters) => ({ action, parameters, missing: required.filter((k) => !Object.hasOwn(parameters, k)), clause: r.clause }));
}

function requiredOf(action: ActionIR | undefined): string[] {
  const required = action?.parameters['required'];
  return Array.isArray(required) ? required.filter((r): r is string => typeof r === 'string') : [];
}

function scopeOf(requests: Omit<ActionRequest, 'stance'>[]): IntentInput['scope'] | undefined {
  const paths = new Set<string>();
  const hosts = new Set<string>();
  for (const r of requests) {
    const p = r.parameters['path'];
    if (typeof p === 'string' && p.startsWith('/')) paths.add(p);
    const u = r.parameters['url'];
    if (typeof u === 'string') {
      try {
        hosts.add(new URL(u).hostname.toLowerCase());
      } catch {
        // not a URL: no host scope from it
      }
    }
  }
  const scope: NonNullable<IntentInput['scope']> = {};
  if (paths.size > 0) scope.paths = [...paths].sort();
  if (hosts.size > 0) scope.hosts = [...hosts].sort();
  return scope.paths || scope.hosts ? scope : undefined;
}
