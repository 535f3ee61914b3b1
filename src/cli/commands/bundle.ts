/**
 * `ape bundle build <policy...> -o <dir>` and `ape bundle serve <policy...> [--listen 127.0.0.1:<port>] [--signing-key <file>]`:
 * OPA bundles at `/bundles/<policy name>.tar.gz`, written for a static server or served over OPA's bundle protocol.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { signingAlgorithm, type SigningOptions } from '../../adapters/opa/index.js';
import { BundleServer, buildBundles } from '../../distribution/index.js';
import type { CliIO } from '../io.js';
import { CliUsageError } from '../shared.js';

interface SigningFlags {
  signingKey?: string;
  signingAlg?: string;
  keyId?: string;
}

/** The default `--listen` address. */
export const DEFAULT_LISTEN = '127.0.0.1:8282';

const running = new Set<() => Promise<void>>();

/** Stops every `ape bundle serve` running in this process (what SIGINT and SIGTERM do; tests call it). */
export async function stopBundleServers(): Promise<void> {
  await Promise.all([...running].map((stop) => stop()));
}

function signing(flags: SigningFlags): SigningOptions | undefined {
  if (flags.signingKey === undefined) {
    if (flags.signingAlg !== undefined || flags.keyId !== undefined) throw new CliUsageError('--signing-alg and --key-id need --signing-key');
    return undefined;
  }
  let key: string;
  try {
    key = readFileSync(flags.signingKey, 'utf8');
  } catch {
    throw new CliUsageError(`cannot read the signing key ${flags.signingKey}`);
  }
  const algorithm = signingAlgorithm(flags.signingAlg ?? 'RS256');
  return { key: algorithm.startsWith('HS') ? key.replace(/\r?\n$/, '') : key, algorithm, keyId: flags.keyId ?? 'ape' };
}

/** Parses `host:port` (IPv6 in brackets); port 0 picks a free port. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  if (!match || host === undefined || port > 65535) throw new CliUsageError(`--listen expects host:port (e.g. ${DEFAULT_LISTEN}), got '${text}'`);
  return { host, port };
}

function addSigningFlags(command: Command): Command {
  return command
    .option('--signing-key <file>', 'sign bundles (.signatures.json) with this PEM private key (or HS* secret)')
    .option('--signing-alg <alg>', 'signing algorithm (default RS256)')
    .option('--key-id <kid>', 'key id written in the signature (default ape)');
}

/** Registers `bundle build` and `bundle serve` on the program. */
export function register(program: Command, io: CliIO): void {
  const bundle = program.command('bundle').description('build or serve OPA bundles of policies (/bundles/<policy name>.tar.gz)');

  addSigningFlags(
    bundle
      .command('build')
      .description('write <dir>/bundles/<policy name>.tar.gz for each policy (what a static web server would serve)')
      .argument('<policy...>', 'policy files')
      .requiredOption('-o, --output <dir>', 'output folder'),
  )
    .option('--json', 'print what was written as JSON')
    .addHelpText('after', '\nExample:\n  $ ape bundle build policies/*.yaml -o site --signing-key key.pem')
    .action(async (files: string[], options: SigningFlags & { output: string; json?: boolean }) => {
      const built = await buildBundles(files, options.output, signing(options));
      if (options.json) io.out(JSON.stringify(built));
      else for (const b of built) io.out(`${b.written} ${b.name} ${b.version} ${b.hash}`);
    });

  addSigningFlags(
    bundle
      .command('serve')
      .description("serve bundles over OPA's bundle protocol (ETag, 304, long polling), recompiling when a policy file changes")
      .argument('<policy...>', 'policy files')
      .option('--listen <host:port>', 'address to listen on', DEFAULT_LISTEN),
  )
    .addHelpText('after', '\nOPA configuration:\n  services: { ape: { url: http://127.0.0.1:8282 } }\n  bundles: { <policy name>: { service: ape, resource: bundles/<policy name>.tar.gz } }')
    .action(async (files: string[], options: SigningFlags & { listen: string }) => {
      const { host, port } = parseListen(options.listen);
      const sign = signing(options);
      const server = await BundleServer.start({
        policies: files,
        host,
        port,
        ...(sign ? { signing: sign } : {}),
        onEvent: (event) =>
          event.type === 'bundle.built'
            ? io.err(`rebuilt ${event.name} ${event.version} ${event.hash}`)
            : io.err(`kept the last bundle of ${event.name}: ${event.message}`),
      });
      for (const b of server.bundles()) io.out(`serving ${server.url}${b.path} ${b.version} ${b.hash}${sign ? ' (signed)' : ''}`);
      await new Promise<void>((resolve) => {
        const stop = async () => {
          running.delete(stop);
          process.removeListener('SIGINT', onSignal);
          process.removeListener('SIGTERM', onSignal);
          await server.close();
          resolve();
        };
        const onSignal = () => void stop();
        running.add(stop);
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      });
    });
}
