import type { Config } from 'jest';

// Three projects, one command: `npm test` runs them all.
// - unit: *.spec.ts beside the code; no services, stubs allowed.
// - integration: test/**/*.test.ts; real PostgreSQL primary + replica, Redis and the SQS server
//   (brought up by scripts/test.sh, settings read from .local/services.env).
// - terraform: infra/test/**/*.test.ts; synthesizes stacks and plans them with the real terraform binary.
const tsJest: Config['transform'] = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
};

const common: Config = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: tsJest,
  moduleFileExtensions: ['ts', 'js', 'json'],
  modulePathIgnorePatterns: ['<rootDir>/build/', '<rootDir>/dist/', '<rootDir>/cdktf.out', '<rootDir>/.local/'],
};

const config: Config = {
  // A global option (jest ignores it inside a project). Suites that plan with terraform raise it themselves.
  testTimeout: 60_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{infra,server,worker,common,scripts,bench,packaging,client}/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: [
        '<rootDir>/{server,worker,common,scripts,packaging,bench,client}/**/test/**/*.test.ts',
        '<rootDir>/test/**/*.test.ts',
      ],
      setupFiles: ['<rootDir>/scripts/testing/load-services-env.ts'],
    },
    {
      ...common,
      displayName: 'terraform',
      testMatch: ['<rootDir>/infra/**/test/**/*.test.ts'],
    },
  ],
};

export default config;
