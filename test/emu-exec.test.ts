/**
 * emu's run(): a program's output and exit code, and never a rejection: one that cannot
 * start resolves with exit 1 whether Node reports it by an 'error' event (ENOENT) or throws
 * at once (E2BIG: an argument over the kernel's MAX_ARG_STRLEN).
 */
import { run } from '../emu/exec';

describe("emu's run()", () => {
  test('gives output and exit code; a program that cannot start resolves with exit 1, never rejects', async () => {
    await expect(run('sh', ['-c', 'echo out; echo err >&2; exit 3'])).resolves.toEqual({ stdout: 'out\n', stderr: 'err\n', exitCode: 3 });
    await expect(run('cat', [], 'fed\n')).resolves.toEqual({ stdout: 'fed\n', stderr: '', exitCode: 0 });
    await expect(run('/nonexistent/program', [])).resolves.toMatchObject({ exitCode: 1 });
    const tooLong = await run('true', ['x'.repeat(200_000)]);
    expect(tooLong).toEqual({ stdout: '', stderr: expect.stringContaining('E2BIG'), exitCode: 1 });
  });
});
