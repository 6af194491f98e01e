import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'docs/**', 'eslint.config.mjs'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // One error path (issue 7): code a user's run or command reaches throws typed failures, so
    // workflows and profiles can branch on the type and the message names the field and the fix.
    files: ['lib/**/*.ts', 'activities/**/*.ts', 'procedures/**/*.ts', 'workflows/**/*.ts', 'scripts/commands/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          // `new Error('unreachable')` is exempt: a type-narrowing guard no input can reach.
          selector: "NewExpression[callee.name='Error']:not([arguments.0.value='unreachable'])",
          message:
            "no bare `new Error` on a user's path: throw fail(FailureType.X, …) (workflows, activities) or a TypedError / invalidInput(…) (code the CLI loads) from lib/fail.ts and lib/failure-types.ts, naming what is wrong and how to fix it; an error that never leaves its function needs an eslint-disable comment that says so",
        },
      ],
    },
  },
  {
    // Plain JavaScript shipped for users' hosts (deploy/): linted, but outside the TypeScript project.
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Workflow code is replayed deterministically in a sandbox: no Node built-ins,
    // and activities only by type.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'workflows must not import Node built-ins' })),
          patterns: [{ group: ['../activities/*'], allowTypeImports: true, message: 'import activities type-only' }],
        },
      ],
    },
  },
);
