// Lint enforces the architecture's boundaries (DESIGN.md §5) as well as the usual hygiene.
import js from '@eslint/js';
import importPlugin from 'eslint-plugin-import';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];
const ioPackages = [
  'knex',
  'pg',
  'better-sqlite3',
  'ajv',
  'gpt-tokenizer',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
];
const capabilityFolders = [
  'activities',
  'providers',
  'retrieval',
  'governance',
  'history',
  'codec',
  'config',
  'devtools',
  'store',
  'telemetry',
  'worker',
  'client',
  'net',
];
/** The processes' entry points: they wire workflows and capabilities together. */
const entryPoints = ['worker', 'client'];
/** The HTTP front door speaks to Gatehouse as a client does. */
const frontDoorMayImport = ['client', 'governance'];

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      '.data/**',
      '.tools/**',
      'coverage/**',
      'bin/**',
      '*.config.js',
      'eslint.config.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { import: importPlugin },
    settings: { 'import/resolver': { node: { extensions: ['.ts', '.js'] } } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import/no-cycle': 'error',
      'no-console': 'error',
    },
  },
  {
    // Pure and sandbox-safe: no I/O, no Node built-ins, nothing from the capability folders.
    files: ['domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, ...ioPackages].map((name) => ({
            name,
            message: 'domain/ is pure: no I/O, no Node built-ins',
          })),
          patterns: [
            {
              group: [...capabilityFolders, 'workflows'].map((folder) => `../${folder}/*`),
              message: 'domain/ imports nothing but itself',
            },
          ],
        },
      ],
    },
  },
  {
    // Workflows run in Temporal's deterministic sandbox: domain/, @temporalio/workflow and activity *types* only.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, ...ioPackages].map((name) => ({
            name,
            message: 'workflows/ must stay deterministic',
          })),
          patterns: [
            {
              group: ['../activities/*'],
              allowTypeImports: true,
              message: 'workflows/ import activity types only',
            },
            {
              group: capabilityFolders
                .filter((folder) => folder !== 'activities')
                .map((folder) => `../${folder}/*`),
              message: 'workflows/ import domain/, @temporalio/workflow and activity types only',
            },
          ],
        },
      ],
    },
  },
  {
    // Every capability folder except the two entry points, which wire workflows in.
    files: capabilityFolders
      .filter((folder) => !entryPoints.includes(folder))
      .map((folder) => `${folder}/**/*.ts`),
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../workflows/*', '../workflows'], message: 'capabilities never import workflows/' },
          ],
        },
      ],
    },
  },
  {
    files: ['client/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../activities/*'], message: 'client/ never imports activities/' },
            {
              group: ['../workflows/*'],
              allowTypeImports: true,
              message: 'client/ imports workflow types only',
            },
          ],
        },
      ],
    },
  },
  {
    // The HTTP front door speaks to Gatehouse only as a client does: client/, domain/, governance/.
    files: ['frontdoor/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                ...capabilityFolders.filter((folder) => !frontDoorMayImport.includes(folder)),
                'workflows',
                'emulators',
              ].flatMap((folder) => [`../${folder}/*`, `../${folder}`]),
              message:
                'frontdoor/ imports client/, domain/ and governance/ only; the store comes in through FrontDoorDirectory',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
