import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', '.cache/', 'bench-results/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/ban-ts-comment': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'it', property: 'skip' }, { object: 'describe', property: 'skip' }],
    },
  },
  {
    files: ['service/src/smpp/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['@aws-sdk/*', '../aws/*'] }] },
  },
  {
    files: ['service/src/aws/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['smpp', '../smpp/*', '../../smpp/*'] }] },
  },
  {
    // core/ holds the pure rules (docs/architecture.md §2): no AWS SDK, no PDUs, no adapters.
    files: ['service/src/core/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['@aws-sdk/*', 'smpp', '../smpp/*', '../aws/*'] }] },
  },
);
