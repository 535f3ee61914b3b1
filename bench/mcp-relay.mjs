// Bench helper: the floor of any stdio proxy process. Starts the command after it and copies bytes both ways
// (client stdin -> server stdin, server stdout -> client stdout) without reading them: one more process and pipe hop.
import { spawn } from 'node:child_process';

const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] });
process.stdin.on('data', (chunk) => child.stdin.write(chunk));
child.stdout.on('data', (chunk) => process.stdout.write(chunk));
process.stdin.on('end', () => {
  child.kill('SIGTERM');
  process.exit(0);
});
child.on('exit', () => process.exit(0));
