/** Where the CLI writes: the process streams, or buffers when tests drive the program in-process. */

/** Output sinks and the exit code a command sets. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  exitCode: number;
}

/** An IO writing to the process's stdout and stderr. */
export function processIO(): CliIO {
  return {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    exitCode: 0,
  };
}

/** An IO collecting output in memory (for tests). */
export function bufferIO(): CliIO & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    exitCode: 0,
    out(text: string) {
      io.stdout += text.endsWith('\n') ? text : `${text}\n`;
    },
    err(text: string) {
      io.stderr += text.endsWith('\n') ? text : `${text}\n`;
    },
  };
  return io;
}
