/**
 * `braid replay`, the pre-deploy check of "Safe deploys": histories of recent runs, fetched from the
 * real server, replay against this build's workflows; against a deliberately reordered workflow
 * (a change made without patched()) the same histories do not, and the command says which run and
 * exits 1.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { braid, expectOneLineError, server } from './cli-helpers';

const env = server();

describe('braid replay', () => {
  it("replays recent runs against this build, and fails with the run's id against an unpatched change", async () => {
    const ask = await braid(['ask', 'What is 6 times 7? Use the calculator.', '--tools', 'calculator', '--with-worker', '--json'], env);
    expect(ask.code, ask.stderr).toBe(0);
    const { workflowId } = JSON.parse(ask.stdout) as { workflowId: string };

    const ok = await braid(['replay', '--json'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ replayed: 1, failed: 0 });

    const broken = path.join(__dirname, 'fixtures', 'reordered-workflows.ts');
    const bad = await braid(['replay', '--workflows', broken], env);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`does not replay ${workflowId}: `);
    expect(bad.stdout).toMatch(/[Nn]ondeterminism|DeterminismViolation/);
    expect(bad.stdout).toMatch(/1 of 1 run\(s\) do not replay against .*reordered-workflows\.ts: guard the change with patched\(\)/);
  }, 180_000);

  it('refuses a workflows module that does not exist', async () => {
    expectOneLineError(
      await braid(['replay', '--workflows', 'no/such/workflows.ts'], env),
      2,
      /--workflows: no\/such\/workflows\.ts does not exist/,
    );
  });
});
