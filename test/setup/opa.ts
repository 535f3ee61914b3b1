/** Vitest global setup: installs the pinned OPA CLI (scripts/install-opa.sh) when it is missing, so the OPA tests run for real. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  execFileSync('bash', ['scripts/install-opa.sh'], { cwd: root, stdio: 'inherit' });
}
