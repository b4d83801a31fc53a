// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * Layers point one way: apps use libs, libs never use apps or scripts, no app imports another
 * (they talk over NATS), and among the libs contracts ← event-store ← common (the store knows
 * nothing of NATS or Nest); the SDK is published alone and imports nothing of the repository.
 */
const APPS = ['api', 'session-service', 'template-service', 'runner', 'metrics'];
const appsOrScripts = {
  regex: '(^|/)(apps|scripts)(/|$)|^@executor/(api|session-service|template-service|runner|metrics)(/|$)',
  message: 'a lib never imports an app or a script: move what both need into a lib',
};
const libs = (...names) => ({
  regex: `^@executor/(${names.join('|')})(/|$)|(^|/)libs/(${names.join('|')})(/|$)|^(\\.\\./)+(${names.join('|')})/src(/|$)`,
  message: `this lib sits below ${names.join(', ')}: it may not import them`,
});
const boundaries = (files, ...patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});

export default tseslint.config(
  // Generated from .proto files (npx buf generate): not ours to lint.
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.executor/**',
      'apps/api/src/e2b/third_party/envd/gen/**',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: globals.node,
    },
    rules: {
      ...tseslint.configs.disableTypeChecked.rules,
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  boundaries(['libs/contracts/**'], appsOrScripts, libs('event-store', 'common', 'sdk')),
  boundaries(['libs/event-store/**'], appsOrScripts, libs('common', 'sdk'), {
    regex: '^(nats|@nestjs/.*)$',
    message: 'the event store knows nothing of NATS or Nest: publishing and wiring live in libs/common',
  }),
  boundaries(['libs/common/**'], appsOrScripts, libs('sdk')),
  boundaries(['libs/sdk/**'], appsOrScripts, libs('contracts', 'event-store', 'common')),
  ...APPS.map((app) =>
    boundaries([`apps/${app}/**`], {
      regex: `(^|/)scripts(/|$)|(^|/)apps/|^(\\.\\./)+(${APPS.filter((a) => a !== app).join('|')})/src(/|$)`,
      message: 'an app never imports another app or a script: they talk over NATS; shared code lives in libs',
    }),
  ),
);
