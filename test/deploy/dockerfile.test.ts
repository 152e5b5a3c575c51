/**
 * The Dockerfile, read as BuildKit reads it: a build stage with every dependency that bundles the
 * workflows and prunes to production dependencies, and a pinned, non-root runtime stage that uses
 * the prebuilt bundle.
 */
import { readSettings } from '../../config/environment';
import { parseDockerfile, stageEnvironment, type DockerStage } from './support/dockerfile';
import { projectPath, readText } from './support/deploy-files';
import { imagePinProblem } from './support/image-reference';

const stages = parseDockerfile(readText('Dockerfile'));
const stageNames = new Set(
  stages.map((stage) => stage.name).filter((name): name is string => name !== undefined),
);
const runtime = stages[stages.length - 1]!;
const build = stages.find((stage) => stage.name === 'build');

const runs = (stage: DockerStage | undefined) =>
  (stage?.instructions ?? []).filter((entry) => entry.keyword === 'RUN').map((entry) => entry.args);

/** What makes an image run as root: no USER, or a USER that is root or uid 0. */
function rootProblem(stage: DockerStage): string | undefined {
  const users = stage.instructions.filter((entry) => entry.keyword === 'USER');
  const last = users[users.length - 1];
  if (last === undefined) return 'no USER: the process runs as root';
  const user = last.args.split(':')[0];
  return user === 'root' || user === '0' ? `USER ${last.args} is root` : undefined;
}

describe('Dockerfile', () => {
  it('parses as BuildKit would: comments dropped, continuations joined, one stage per FROM', () => {
    const parsed = parseDockerfile(
      '# syntax=docker/dockerfile:1\nFROM node:20.1.0 AS build\n# a comment\nRUN a \\\n  && b\nFROM build\nUSER node\nCMD ["node", "x.js"]\n',
    );
    expect(parsed).toEqual([
      {
        from: 'node:20.1.0',
        name: 'build',
        instructions: [{ keyword: 'RUN', args: 'a && b', execForm: undefined }],
      },
      {
        from: 'build',
        name: undefined,
        instructions: [
          { keyword: 'USER', args: 'node', execForm: undefined },
          { keyword: 'CMD', args: '["node", "x.js"]', execForm: ['node', 'x.js'] },
        ],
      },
    ]);
  });

  it('is multi-stage, and every base image is pinned to a version', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const images = stages.map((stage) => stage.from).filter((from) => !stageNames.has(from));
    expect(images.length).toBeGreaterThan(0);
    expect(images.map(imagePinProblem).filter(Boolean)).toEqual([]);
    expect(imagePinProblem('node:20-slim')).toMatch(/no major.minor/);
    expect(imagePinProblem('node')).toMatch(/no tag/);
  });

  it('builds with dev dependencies, bundles the workflows, then prunes to production dependencies', () => {
    expect(build).toBeDefined();
    const commands = runs(build);
    const install = commands.findIndex((command) => /\bnpm ci\b/.test(command));
    const bundle = commands.findIndex((command) => command.includes('npm run bundle:workflows'));
    const prune = commands.findIndex((command) => /\bnpm prune --omit=dev\b/.test(command));
    // npm ci without --omit=dev installs the dev dependencies the build needs.
    expect(commands[install]).not.toMatch(/--omit=dev|--production/);
    expect({
      install: install >= 0,
      bundleAfterInstall: bundle > install,
      pruneAfterBundle: prune > bundle,
    }).toEqual({
      install: true,
      bundleAfterInstall: true,
      pruneAfterBundle: true,
    });
    // Installing needs only the manifests, so source changes keep the dependency layer cached.
    const copies = build!.instructions.filter((entry) => entry.keyword === 'COPY').map((entry) => entry.args);
    expect(copies[0]).toBe('package.json package-lock.json ./');
  });

  it('runs as a non-root user, with nothing installed or built in the runtime stage', () => {
    expect(rootProblem(runtime)).toBeUndefined();
    expect(rootProblem({ from: 'x', instructions: [] })).toMatch(/no USER/);
    expect(rootProblem({ from: 'x', instructions: [{ keyword: 'USER', args: '0:0' }] })).toMatch(/is root/);
    expect(runs(runtime).filter((command) => /\bnpm (ci|install)\b|apt-get install/.test(command))).toEqual(
      [],
    );
    const copies = runtime.instructions.filter((entry) => entry.keyword === 'COPY');
    expect(copies.map((entry) => entry.args)).toContain('--from=build /app /app');
    const userIndex = runtime.instructions.findIndex((entry) => entry.keyword === 'USER');
    const cmdIndex = runtime.instructions.findIndex((entry) => entry.keyword === 'CMD');
    expect(userIndex).toBeLessThan(cmdIndex);
  });

  it('points the worker at the bundle the build stage writes, and serves health on the port it exposes', () => {
    const environment = stageEnvironment(runtime);
    const settings = readSettings(environment);
    // scripts/bundle-workflows.ts writes dist/workflow-bundle.js under the project root (= /app here).
    expect(readText('scripts/bundle-workflows.ts')).toContain(
      "path.resolve(__dirname, '..', 'dist', 'workflow-bundle.js')",
    );
    expect(settings.workflowBundlePath).toBe(projectPath('dist', 'workflow-bundle.js'));
    const exposed = runtime.instructions
      .filter((entry) => entry.keyword === 'EXPOSE')
      .flatMap((entry) => entry.args.split(/\s+/));
    expect(exposed).toContain(String(settings.worker.healthPort));
    expect(environment.NODE_ENV).toBe('production');
  });

  it('starts a worker by default, with node itself as the process that receives signals', () => {
    const cmd = runtime.instructions.find((entry) => entry.keyword === 'CMD');
    expect(cmd?.execForm).toEqual(['node', '--import', 'tsx', 'worker/start-platform.ts', 'worker']);
    expect(runtime.instructions.some((entry) => entry.keyword === 'ENTRYPOINT')).toBe(false);
  });

  it('keeps local state, secrets and dependencies out of the build context', () => {
    const ignored = readText('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    expect(ignored).toEqual(
      expect.arrayContaining(['node_modules', '.data', '.tools', '.git', '.env', 'deploy/k8s/secrets.env']),
    );
  });
});
