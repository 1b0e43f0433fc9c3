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
    // Tests read arbitrary JSON answers and events; typing each one would say nothing the assertions don't.
    files: ['**/test/**/*.ts', '**/*.spec.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
