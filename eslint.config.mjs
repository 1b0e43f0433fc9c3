// Flat config. The one project-specific rule: provider classes are imported by deep path
// (`@cdktf/provider-aws/lib/vpc`); the package root costs ~10 s and ~800 MB per compile.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'build/', 'dist/', 'cdktf.out/', 'cdktf.out.hcl/', '.local/', '.gen/', 'coverage/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@cdktf/provider-aws',
              message:
                'Import provider classes by deep path, e.g. @cdktf/provider-aws/lib/vpc (the root import costs ~10 s and ~800 MB per compile).',
            },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The client SDK runs unchanged in a browser: its core uses no Node-only module or global. The CLI and file
    // storage (client/cli/, client/storage/file-*.ts) are the Node edge and may.
    files: ['client/**/*.ts'],
    ignores: ['client/cli/**', 'client/storage/file-*.ts', 'client/**/test/**', 'client/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          // Bare names as `paths`: a pattern 'crypto' would also match the SDK's own '../crypto' folder.
          paths: ['fs', 'path', 'crypto', 'os', 'child_process'].map((name) => ({
            name,
            message: 'browser-safe core: no Node modules',
          })),
          patterns: [{ group: ['node:*'], message: 'browser-safe core: no Node modules' }],
        },
      ],
      'no-restricted-globals': ['error', 'Buffer', 'process', 'require', '__dirname'],
    },
  },
  {
    // Tests read arbitrary JSON answers and events; typing each one would say nothing the assertions don't.
    files: ['**/test/**/*.ts', '**/*.spec.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
