// Lint with typescript-eslint's type-checked rules. The reason it exists: the promise rules. An
// unhandled rejection ends a Node process, and only a type-aware linter sees a promise nobody
// handles (`void p.then(cb)` where cb throws, `.catch(a).then(b)` where b throws).
// Run: `npm run lint` (part of `npm test`, zero warnings allowed).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'bin/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // One TypeScript program for the repo (tsconfig.json) shared by every file: on 2 cores
        // this is what keeps a full run near 20 s.
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // `void promise` does not handle a rejection, it only hides it: every promise gets a
      // handler (`.catch`, or `.then(ok, fail)`), which is the point of this linter.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      // An `async` method that implements a Promise-returning interface without awaiting is
      // deliberate: a throw inside it becomes a rejection, which is what its callers handle.
      '@typescript-eslint/require-await': 'off',
      // With noUncheckedIndexedAccess, `xs[i] as T` after a bounds check states an invariant the
      // reader should see; the rule only judges style, and autofixing it across files other
      // branches edit would buy merge conflicts and no safety.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // A `let` a closure reads before its one assignment (a forward reference) cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // A leading underscore marks a binding that exists only for its position (`for (const _ of s)`).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests read JSON bodies (`await res.json()`, typed any) and check their shape with expect();
    // the expectations are the type check. Source files keep the no-unsafe rules.
    files: ['test/**', 'e2e/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
)
