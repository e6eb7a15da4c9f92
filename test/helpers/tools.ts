/**
 * Locating external command-line tools and running them from tests.
 *
 * A missing tool is a failure, never a silent skip: {@link requireTool} throws with the
 * `apt-get` line that installs it.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** Directories searched after `PATH`: daemons such as `dockerd` live in sbin. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds an executable by name on `PATH` (then in the usual bin and sbin directories).
 *
 * @param name - Command name, or an absolute path to check.
 * @param debianPackage - Debian package that provides the command, quoted in the error.
 * @returns The absolute path of the executable.
 * @throws Error naming the `apt-get install -y <package>` line when the tool is missing.
 */
export function requireTool(name: string, debianPackage: string): string {
  const candidates = isAbsolute(name)
    ? [name]
    : [...(process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== ''), ...EXTRA_DIRS].map(
        (dir) => join(dir, name),
      );
  for (const file of candidates) {
    if (isExecutable(file)) return isAbsolute(file) ? file : join(process.cwd(), file);
  }
  throw new Error(
    `required tool "${name}" was not found (PATH and sbin directories searched); ` +
      `install it with: apt-get install -y ${debianPackage}`,
  );
}

/** Options of {@link run}. */
export interface RunOptions {
  /** Kill the command (SIGKILL) after this many milliseconds; default 120 000. */
  timeoutMs?: number;
  /** Extra environment variables, merged over `process.env`. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
}

/** Captured output of a command that exited with status 0. */
export interface RunResult {
  /** Everything the command wrote to stdout. */
  stdout: string;
  /** Everything the command wrote to stderr. */
  stderr: string;
}

/**
 * Runs a command without a shell and collects its output.
 *
 * @param cmd - Executable (absolute path or name on `PATH`).
 * @param args - Arguments, passed as they are.
 * @param opts - Timeout, environment and working directory.
 * @returns stdout and stderr of the command.
 * @throws Error with the command line, exit status and stderr when the command fails, is
 *   killed or times out.
 */
export function run(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const timeout = opts.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      [...args],
      {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        timeout,
        killSignal: 'SIGKILL',
        env: { ...process.env, ...opts.env },
        cwd: opts.cwd,
      },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ stdout, stderr });
          return;
        }
        const status =
          error.killed === true && error.signal === 'SIGKILL'
            ? `timed out after ${timeout} ms`
            : error.signal
              ? `killed by ${error.signal}`
              : `exit code ${String(error.code)}`;
        reject(
          new Error(
            `command failed (${status}): ${[cmd, ...args].join(' ')}\n` +
              `stderr: ${stderr.trim()}\nstdout: ${stdout.trim().slice(-4000)}`,
          ),
        );
      },
    );
  });
}
