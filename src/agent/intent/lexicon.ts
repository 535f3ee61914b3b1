/** The words of the deterministic intent compiler: verbs and objects of each standard action, negation and clause cues. */

/** What a verb can act on. `*-soft` objects are vague nouns that only read-like and write-like verbs may take. */
export type ObjectClass = 'file' | 'file-soft' | 'dir' | 'dir-soft' | 'web' | 'db' | 'email' | 'channel' | 'code' | 'command';

/** How the compiler recognises one action. */
export interface ActionLexicon {
  action: string;
  verbs: string[];
  /** Objects that make the verb mean this action. */
  objects: ObjectClass[];
  /** Verbs that name the action on their own (`mkdir`, `grep`, `notify`). */
  implied?: string[];
}

/** The standard actions' lexicon. Destructive actions take only hard objects (a path, a file name, `file`, `table`...). */
export const LEXICON: ActionLexicon[] = [
  { action: 'read_file', verbs: ['read', 'open', 'show', 'view', 'display', 'cat', 'print', 'summarize', 'summarise', 'review', 'inspect', 'check', 'see', 'load', 'look', 'examine', 'analyze', 'analyse', 'parse', 'get'], objects: ['file', 'file-soft'] },
  { action: 'list_directory', verbs: ['list', 'ls', 'show', 'enumerate', 'browse'], objects: ['dir', 'dir-soft', 'file'], implied: ['ls'] },
  { action: 'search_files', verbs: ['search', 'grep', 'find', 'locate'], objects: ['file', 'dir', 'dir-soft'], implied: ['grep'] },
  { action: 'write_file', verbs: ['write', 'save', 'overwrite', 'create', 'put', 'store', 'draft', 'edit', 'modify', 'update', 'change', 'replace', 'rewrite', 'fix'], objects: ['file', 'file-soft'] },
  { action: 'append_file', verbs: ['append', 'add'], objects: ['file', 'file-soft'] },
  { action: 'create_directory', verbs: ['create', 'make', 'mkdir', 'add'], objects: ['dir'], implied: ['mkdir'] },
  { action: 'delete_file', verbs: ['delete', 'remove', 'rm', 'erase', 'unlink', 'trash', 'purge', 'wipe', 'destroy'], objects: ['file'] },
  { action: 'delete_directory', verbs: ['delete', 'remove', 'rmdir', 'erase', 'purge', 'wipe', 'destroy'], objects: ['dir'], implied: ['rmdir'] },
  { action: 'http_get', verbs: ['fetch', 'download', 'get', 'retrieve', 'curl', 'visit', 'open', 'browse', 'load', 'read', 'check', 'call', 'request', 'scrape'], objects: ['web'], implied: ['curl'] },
  { action: 'http_post', verbs: ['post', 'upload', 'submit', 'send', 'push', 'publish'], objects: ['web'] },
  { action: 'query_data', verbs: ['query', 'run', 'execute', 'select', 'count', 'look', 'find', 'search', 'get', 'fetch', 'retrieve', 'list', 'show', 'read', 'check'], objects: ['db'] },
  { action: 'insert_data', verbs: ['insert', 'add', 'create'], objects: ['db'] },
  { action: 'update_data', verbs: ['update', 'modify', 'change', 'set', 'edit'], objects: ['db'] },
  { action: 'delete_data', verbs: ['delete', 'remove', 'drop', 'truncate', 'purge', 'wipe', 'erase', 'clear', 'destroy'], objects: ['db'] },
  { action: 'send_email', verbs: ['send', 'email', 'mail', 'forward', 'reply', 'compose', 'write'], objects: ['email'], implied: ['email', 'mail'] },
  { action: 'send_notification', verbs: ['notify', 'alert', 'ping', 'post', 'send', 'message', 'announce', 'tell'], objects: ['channel'], implied: ['notify', 'alert'] },
  { action: 'execute_code', verbs: ['run', 'execute', 'evaluate', 'eval', 'exec'], objects: ['code'] },
  { action: 'run_shell_command', verbs: ['run', 'execute', 'exec', 'launch'], objects: ['command'] },
];

/** Nouns and the object class each names. */
export const OBJECT_WORDS: Record<string, ObjectClass> = {
  file: 'file', files: 'file',
  document: 'file-soft', documents: 'file-soft', doc: 'file-soft', docs: 'file-soft', contents: 'file-soft', content: 'file-soft',
  readme: 'file-soft', config: 'file-soft', configuration: 'file-soft', notes: 'file-soft', report: 'file-soft', changelog: 'file-soft', log: 'file-soft', logs: 'file-soft',
  directory: 'dir', directories: 'dir', folder: 'dir', folders: 'dir', dir: 'dir', dirs: 'dir',
  workspace: 'dir-soft', repo: 'dir-soft', repository: 'dir-soft', project: 'dir-soft',
  url: 'web', urls: 'web', website: 'web', webpage: 'web', page: 'web', site: 'web', api: 'web', endpoint: 'web', webhook: 'web', link: 'web',
  table: 'db', tables: 'db', database: 'db', databases: 'db', db: 'db', records: 'db', record: 'db', rows: 'db', row: 'db', sql: 'db',
  email: 'email', emails: 'email', mail: 'email', 'e-mail': 'email',
  channel: 'channel', slack: 'channel', notification: 'channel', notifications: 'channel',
  code: 'code', script: 'code', snippet: 'code', python: 'code', javascript: 'code', program: 'code',
  command: 'command', commands: 'command', shell: 'command', terminal: 'command', bash: 'command',
};

/** Words that negate the verbs after them in a clause. */
export const NEGATIONS = new Set(['not', "don't", 'dont', "doesn't", 'never', 'no', 'without', 'avoid', "mustn't", "shouldn't", "can't", 'cannot', 'nor', 'neither', 'refrain', 'skip']);

/** Words that open a positive clause (a negation does not carry over a comma or `and` into it). */
export const POSITIVE_OPENERS = new Set(['just', 'only', 'simply', 'instead', 'please', 'then', 'but']);

/** Conjunctions that end a clause; `hard` ones also stop a negation from carrying over. */
export const CLAUSE_WORDS: Record<string, 'hard' | 'soft'> = { and: 'soft', also: 'soft', or: 'soft', plus: 'soft', then: 'hard', but: 'hard', instead: 'hard', afterwards: 'hard' };

/** Phrases in which a verb is not an action (`make sure`, `let me know`): the verb is skipped when the next words follow. */
export const IDIOMS: string[][] = [
  ['make', 'sure'], ['make', 'a', 'list'], ['make', 'a', 'note'], ['look', 'forward'], ['check', 'in'], ['drop', 'me'], ['keep', 'in'], ['run', 'into'], ['run', 'out'],
  ['run', 'through'], ['get', 'back'], ['get', 'started'], ['set', 'up'], ['post', 'a', 'summary'], ['update', 'me'], ['tell', 'me'], ['send', 'me'], ['show', 'me', 'how'],
];

/** Words skipped before a clause's verb: politeness, modals, subjects, sequencing. */
export const LEAD_WORDS = new Set([
  'please', 'kindly', 'just', 'only', 'simply', 'also', 'then', 'now', 'first', 'next', 'finally', 'can', 'could', 'would', 'will', 'you', 'i', 'we', "i'd", "we'd",
  'want', 'wants', 'need', 'needs', 'like', 'to', "let's", 'lets', 'go', 'and', 'or', 'should', 'must', 'may', 'might', 'help', 'me', 'us', 'ok', 'okay', 'so',
  'instead', 'but', 'quickly', 'carefully', 'actually', 'immediately', 'hey', 'hi', 'afterwards', 'after', 'that', 'the', 'agent', 'assistant', 'try',
  'do', 'does', 'please,', 'am', 'are', 'is', 'going', 'gonna', 'wanna', 'also,', 'again', 'once', 'really', 'still', 'ever', 'anything', 'any', 'either', 'nothing', 'both',
]);

/** Words that refer back to the previous clause's objects. */
export const PRONOUNS = new Set(['it', 'them', 'this', 'that', 'these', 'those', 'same']);

/** Every inflected form of a verb, for matching. */
export function verbForms(base: string): string[] {
  const forms = new Set([base, `${base}s`, `${base}es`, `${base}ed`, `${base}d`, `${base}ing`]);
  if (base.endsWith('e')) forms.add(`${base.slice(0, -1)}ing`);
  if (base.endsWith('y')) forms.add(`${base.slice(0, -1)}ied`).add(`${base.slice(0, -1)}ies`);
  if (/[^aeiou][aeiou][bdgmnprt]$/.test(base)) forms.add(`${base}${base.slice(-1)}ed`).add(`${base}${base.slice(-1)}ing`);
  return [...forms];
}

/** Surface form -> base verb, for every verb of the lexicon. */
export const VERB_BASE: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  for (const entry of LEXICON) for (const verb of entry.verbs) for (const form of verbForms(verb)) if (!map.has(form)) map.set(form, verb);
  // Irregular forms.
  for (const [form, base] of [['wrote', 'write'], ['written', 'write'], ['ran', 'run'], ['sent', 'send'], ['got', 'get'], ['made', 'make'], ['shown', 'show'], ['found', 'find'], ['read', 'read']] as const) map.set(form, base);
  return map;
})();
