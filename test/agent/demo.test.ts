// The `npm start` demo: allowed, denied and escalated prompts (one approved, one refused) with real file tools, and a verified audit chain.
import { describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';

describe('ape demo', () => {
  it('runs every kind of outcome and verifies the audit hash chain', async () => {
    const io = bufferIO();
    expect(await runCli(['demo'], io)).toBe(0);
    const out = io.stdout;
    expect(out).toMatch(/> Read notes\.md and config\.json[\s\S]*?status: completed/);
    expect(out).toMatch(/approver: APPROVES write_file[\s\S]*?=> completed/);
    expect(out).toMatch(/approver: REFUSES append_file[\s\S]*?=> denied \[APE_ESCALATION_DENIED\]/);
    expect(out).toMatch(/> Delete old\.log[\s\S]*?DENY \(no-destruction\) => denied/);
    expect(out).toMatch(/APE_INTENT_AMBIGUOUS/);
    expect(out).toMatch(/summary\.md = "Standup moved to 10:00"/);
    expect(out).toMatch(/workspace now: .*old\.log/);
    expect(out).toMatch(/hash chain verified: \d+ lines, head sha256:[0-9a-f]{64}/);
  });
});
