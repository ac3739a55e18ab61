// TypeScript lint for src/ and test/ (npm run lint; part of npm test). The recommended
// typescript-eslint rules, so the `eslint-disable` directives in src/ name rules that run;
// an unused directive is an error, so they cannot go stale either.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'native/', 'node_modules/', 'target/', 'docs/', 'bench/', 'demo/', 'npm/', 'artifacts/', 'test/install/', 'test/fixtures/', '**/*.mjs', '**/*.js', '**/*.cjs', 'index.d.mts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_`-prefixed names are deliberately unused (a parameter kept for its position).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // The AWS SDK is an optional peer whose types are not a dependency: its responses are
    // `any` at that one boundary (S3ClientLike.send and what reads its results).
    files: ['src/store/**/*.ts', 'index.d.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
