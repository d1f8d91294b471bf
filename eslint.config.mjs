// Lint rules that guard Braid's two hard constraints: workflow code stays deterministic
// (no Node built-ins, no network/clock/randomness sources) and no promise is left floating.
import stylistic from '@stylistic/eslint-plugin';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['**/dist/**', 'node_modules/**', 'coverage/**', '**/*.mjs', '**/*.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@stylistic': stylistic },
    rules: {
      // Prettier settles layout at 140 columns; this catches what it cannot break (long comments and
      // code). A single string, template or regular expression may run past it: splitting one only
      // hides the text it holds from a search.
      '@stylistic/max-len': [
        'error',
        { code: 140, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code and the modules it imports (contracts, prompts, the public workflow API) run in
    // Temporal's deterministic sandbox. They import values only from each other and the Temporal workflow/common packages;
    // anything else in src/ (activities, flow, config, temporal, …) is reachable as types alone.
    files: ['src/workflows/**/*.ts', 'src/shared/**/*.ts', 'src/prompts/**/*.ts', 'src/api/workflow.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must not use Node built-ins.' })),
          patterns: [
            {
              group: ['../*', '!../shared', '!../shared/*', '!../prompts', '!../prompts/*', '!../workflows', '!../workflows/*'],
              allowTypeImports: true,
              message: 'Workflow code imports values only from src/shared, src/prompts and src/workflows; use `import type` for the rest.',
            },
            {
              group: ['@anthropic-ai/*', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'],
              message: 'Not allowed in workflow code.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'fetch', message: 'No network in workflow code.' },
      ],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Workflow code must be deterministic.' }],
    },
  },
);
